#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: token
short_description: Manage API tokens of Proxmox VE users
version_added: 0.1.0
description:
  - Ensures an API token of a user (API C(/access/users/{userid}/token/{tokenid})) exists with the settings given,
    or is removed.
  - PVE answers a token's secret once, when the token is made. This module returns it then, in RV(secret), and never
    again; the task's output is hidden whenever it holds a secret (as with C(no_log)), while a C(register)ed result
    keeps it. Store it where it belongs (a vault, the CI system's secrets) in the next task.
  - An existing token keeps its secret. O(regenerate=true) makes PVE issue a new secret (PVE's C(regenerate); the token
    keeps its settings and ACL entries, the old secret stops working) on every run that sets it.
  - A token with privilege separation (O(privsep=true), PVE's default) holds only the privileges its own ACL entries
    give (see M(pve.fleet.acl), O(pve.fleet.acl#module:tokens)), and never more than its user holds. Without it, the
    token acts with its user's privileges.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the token and reports what would change; nothing is written and no secret is made.
  diff_mode:
    support: full
    description: Shows the settings that change, before and after. The secret never appears in a diff.
options:
  userid:
    description: The user the token belongs to (V(ci@pve)). It must exist (see M(pve.fleet.user)).
    type: str
    required: true
  tokenid:
    description: The token's name (a letter, then letters, digits, C(.), C(-) or C(_)); the full id is C(userid!tokenid).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) makes the token or brings its settings to the values given.
      - V(absent) removes it; its ACL entries go with it.
    type: str
    choices: [present, absent]
    default: present
  privsep:
    description:
      - Privilege separation. V(true) limits the token to its own ACL entries (within its user's privileges);
        V(false) gives it its user's privileges.
      - PVE makes a new token with privilege separation unless this says otherwise.
    type: bool
  expire:
    description:
      - When the token expires, in seconds since the epoch; V(0) means never.
      - Left out, a new token expires with its user.
    type: int
  comment:
    description: A comment. An empty string removes it.
    type: str
  regenerate:
    description:
      - Have PVE issue a new secret for an existing token (returned in RV(secret)). Every run with V(true) does it, so
        set it for the run that should rotate the secret only.
    type: bool
    default: false
seealso:
  - module: pve.fleet.user
  - module: pve.fleet.acl
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The CI pipeline's user
  pve.fleet.user:
    userid: ci@pve
    comment: CI pipeline

- name: Its token, with privilege separation
  pve.fleet.token:
    userid: ci@pve
    tokenid: deploy
    comment: GitLab deploy jobs
  register: ci_token

- name: What the token may do - deploy into the web pool
  pve.fleet.acl:
    path: /pool/web
    roles: [PVEVMUser]
    tokens: ["{{ ci_token.full_tokenid }}"]

- name: The user needs those privileges too, a privilege-separated token never exceeds its user
  pve.fleet.acl:
    path: /pool/web
    roles: [PVEVMUser]
    users: [ci@pve]

- name: Keep the secret, shown this once only
  ansible.builtin.copy:
    content: "{{ ci_token.secret }}"
    dest: /root/.ci-token
    mode: "0600"
  when: ci_token.secret is defined
  no_log: true

- name: Rotate the secret
  pve.fleet.token:
    userid: ci@pve
    tokenid: deploy
    regenerate: true
  register: rotated

- name: Remove the token
  pve.fleet.token:
    userid: ci@pve
    tokenid: deploy
    state: absent
'''

RETURN = r'''
full_tokenid:
  description: The token's full id, as O(api_token_id) takes it.
  returned: always
  type: str
  sample: ci@pve!deploy
secret:
  description:
    - The token's secret, as O(api_token_secret) takes it.
    - Only when this run made the token or regenerated its secret (not in check mode). PVE never shows it again.
    - The task's output is hidden when this is returned; the registered result holds it.
  returned: when the token was made or its secret regenerated
  type: str
  sample: 2f1b7f4e-93c4-4c39-9a10-0e2ad1a7c1a5
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['create API token ci@pve!deploy (its secret is returned once)']
diff:
  description: Before and after of exactly the settings that change, as YAML text. Never the secret.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (token changes run none).
  returned: always
  type: list
  elements: str
  sample: []
token:
  description: The token's settings after the run (in check mode, as they are now); null when it does not exist.
  returned: always
  type: dict
  sample: {userid: ci@pve, tokenid: deploy, full_tokenid: ci@pve!deploy, privsep: true, expire: 0, comment: CI}
'''

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    TokenSpec, apply_token, plan_token, public_token, read_users)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_token(module, client):
    spec = TokenSpec.from_params(module.params)
    users = read_users(client)
    plan = plan_token(spec, users)
    run = execute(client, plan, apply_token, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        users = read_users(client)
    result = plan.result(run)
    result.update(full_tokenid=spec.full_tokenid, token=public_token(spec, users))
    if getattr(run, 'secret', None):
        result['secret'] = run.secret
    return result


def main():
    module = pve_module(dict(
        userid=dict(type='str', required=True),
        tokenid=dict(type='str', required=True, aliases=['name'], no_log=False),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        privsep=dict(type='bool'),
        expire=dict(type='int'),
        comment=dict(type='str'),
        regenerate=dict(type='bool', default=False),
    ))
    run_module(module, ensure_token)


if __name__ == '__main__':
    main()
