#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: user
short_description: Manage users of the pam and pve realms of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Ensures a user of the C(pam) or C(pve) realm (API C(/access/users)) exists with the settings given, or is
    removed.
  - Only the options that are set are compared, after PVE's normalization (an empty text is no value, C(expire) 0 is
    never); a second run changes nothing.
  - A password is set when the user is created, or on every run with O(update_password=always). It is never read,
    compared or returned.
  - A user of the C(pam) realm is a Linux account of the nodes; PVE does not create that account. Setting its
    password needs the account on the node that answers the API.
  - API tokens of the user are managed with M(pve.fleet.token), its permissions with M(pve.fleet.acl).
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the user and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the settings that change, before and after. Passwords never appear; O(keys) shows as stars.
options:
  userid:
    description:
      - The user with its realm, V(alice@pve) or V(deploy@pam).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates the user or brings its settings to the values given.
      - V(absent) removes the user, with its API tokens and its ACL entries (as PVE does).
    type: str
    choices: [present, absent]
    default: present
  enable:
    description:
      - V(false) disables the account, so it cannot log in and its API tokens stop working; V(true) enables it.
      - PVE enables a new user unless this says otherwise.
    type: bool
  expire:
    description:
      - When the account expires, in seconds since the epoch; V(0) means never.
    type: int
  email:
    description: The user's email address. An empty string removes it.
    type: str
  firstname:
    description: First name. An empty string removes it.
    type: str
  lastname:
    description: Last name. An empty string removes it.
    type: str
  comment:
    description: A comment. An empty string removes it.
    type: str
  keys:
    description:
      - Keys for two-factor authentication (Yubico key ids or OATH secrets), as PVE's C(keys). An empty string
        removes them.
      - Treated as a secret; diffs show stars.
    type: str
  groups:
    description:
      - The groups the user belongs to. Each must exist (see M(pve.fleet.group)).
      - With O(append=false) the user belongs to exactly these (an empty list takes it out of every group); with
        O(append=true) it joins these and stays in the others.
    type: list
    elements: str
  append:
    description:
      - Whether O(groups) is added to the user's groups (V(true)) or replaces them (V(false)).
    type: bool
    default: false
  password:
    description:
      - The user's password, 8 to 64 characters.
      - Set when the user is created; for an existing user only with O(update_password=always).
      - "Changing the password of an existing user needs a login with a password (O(api_user) and O(api_password)):
        PVE does not let API tokens change passwords. A login other than C(root@pam) confirms with its own
        O(api_password), as PVE asks."
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created.
      - V(always) sets it on every run (PVE never shows a password, so it cannot be compared); such a run always
        reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - Users of LDAP, Active Directory and OpenID realms come from their realm's sync and are not managed here.
seealso:
  - module: pve.fleet.group
  - module: pve.fleet.token
  - module: pve.fleet.acl
  - name: PVE user management
    description: Users, realms, groups, API tokens and permissions.
    link: https://pve.proxmox.com/pve-docs/chapter-pveum.html
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: An operator of the pve realm, in the ops group, with an initial password
  pve.fleet.user:
    userid: alice@pve
    email: alice@example.org
    firstname: Alice
    lastname: Example
    groups: [ops]
    password: "{{ vault_alice_initial_password }}"

- name: A Linux account of the nodes as a PVE user, expiring at the end of 2027
  pve.fleet.user:
    userid: contractor@pam
    expire: 1830297600
    comment: until the end of the project

- name: Also put alice into the auditors group, keeping her other groups
  pve.fleet.user:
    userid: alice@pve
    groups: [auditors]
    append: true

- name: Lock an account without removing it
  pve.fleet.user:
    userid: contractor@pam
    enable: false

- name: Remove a user (its API tokens and ACL entries go too)
  pve.fleet.user:
    userid: contractor@pam
    state: absent
'''

RETURN = r'''
userid:
  description: The user's id.
  returned: always
  type: str
  sample: alice@pve
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['set email: old@example.org -> alice@example.org', 'groups: join auditors']
diff:
  description: Before and after of exactly the settings that change, as YAML text. No password appears in it.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (user changes run none).
  returned: always
  type: list
  elements: str
  sample: []
user:
  description:
    - The user as PVE holds it after the run (in check mode, as it is now); null when it does not exist.
    - Its O(keys) and any password are left out; C(tokens) lists the ids of its API tokens.
  returned: always
  type: dict
  sample: {userid: alice@pve, enable: true, expire: 0, email: alice@example.org, groups: [ops], tokens: [ci]}
'''

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    UserSpec, apply_user, plan_user, public_user, read_groups, read_users)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_user(module, client):
    params = module.params
    spec = UserSpec.from_params(params)
    users = read_users(client)
    groups = read_groups(client) if spec.groups and spec.state == 'present' else {}
    token_login = bool(params.get('api_token_id') and params.get('api_token_secret'))
    login = (params.get('api_user') or '').split('!')[0]
    confirm = params.get('api_password') if not token_login and login != 'root@pam' else None
    plan = plan_user(spec, users.get(spec.userid), groups, token_login=token_login, confirm_password=confirm)
    run = execute(client, plan, apply_user, module.check_mode, params['timeout'])
    if plan.changed and not module.check_mode:
        users = read_users(client)
    result = plan.result(run)
    result.update(userid=spec.userid, user=public_user(spec.userid, users.get(spec.userid)))
    return result


def main():
    module = pve_module(dict(
        userid=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        enable=dict(type='bool'),
        expire=dict(type='int'),
        email=dict(type='str'),
        firstname=dict(type='str'),
        lastname=dict(type='str'),
        comment=dict(type='str'),
        keys=dict(type='str', no_log=True),
        groups=dict(type='list', elements='str'),
        append=dict(type='bool', default=False),
        password=dict(type='str', no_log=True),
        update_password=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
    ))
    run_module(module, ensure_user)


if __name__ == '__main__':
    main()
