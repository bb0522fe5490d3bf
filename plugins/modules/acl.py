#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: acl
short_description: Grant and revoke roles on a path of a Proxmox VE cluster (ACL entries)
version_added: 0.1.0
description:
  - Ensures ACL entries (API C(/access/acl)) on one path. An entry gives a role to a user, a group or an API token on
    the path, and, when it propagates, on every path below it.
  - Every role in O(roles) is given to every user, group and token listed, with the one O(propagate) flag. An entry
    that exists with the other flag has it changed.
  - O(exclusive=true) makes the listed entries the only ones on exactly this path; the others there are removed (check
    mode and diff show which). Entries on other paths, below this one included, are left alone.
  - The path, roles, users, groups and tokens are checked before anything is written.
  - "How PVE combines entries: the most specific path with an entry for the user (or token) decides; a user's own
    entries there beat its groups'; V(NoAccess) beats everything; a token with privilege separation holds only what
    its own entries give and its user holds too."
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the ACL and reports the entries that would be added, changed or removed; nothing is written.
  diff_mode:
    support: full
    description: Shows, for each user, group or token whose entries change, its roles on the path before and after.
options:
  path:
    description:
      - The ACL path, for example V(/), V(/vms), V(/vms/100), V(/storage/local), V(/pool/web), V(/nodes/pve1),
        V(/access/groups/ops), V(/sdn/zones/localnetwork/vmbr0).
      - Normalized as PVE does (V(/vms/) is V(/vms)).
    type: str
    required: true
  roles:
    description:
      - The roles to give (or, with O(state=absent), to take away). Each must exist.
      - With O(state=absent) and no roles, every role of the listed principals on the path goes.
    type: list
    elements: str
  users:
    description: Users (V(alice@pve)) the entries are for. Each must exist.
    type: list
    elements: str
  groups:
    description: Groups the entries are for. Each must exist.
    type: list
    elements: str
  tokens:
    description: API tokens, by full id (V(ci@pve!deploy)), the entries are for. Each must exist.
    type: list
    elements: str
  propagate:
    description:
      - Whether the entries also count on the paths below O(path) (V(true)) or on O(path) only.
      - Ignored with O(state=absent).
    type: bool
    default: true
  state:
    description:
      - V(present) makes sure the entries exist with this O(propagate).
      - V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With V(true), the entries listed are the only ones left on O(path); every other entry on the path is removed.
      - With V(true) and no roles and no principals, every entry on the path is removed.
    type: bool
    default: false
seealso:
  - module: pve.fleet.role
  - module: pve.fleet.user
  - module: pve.fleet.group
  - module: pve.fleet.token
  - name: PVE permission management
    description: Paths, roles, propagation and privilege separation.
    link: https://pve.proxmox.com/pve-docs/chapter-pveum.html#pveum_permission_management
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Operators may power and open the console of every guest
  pve.fleet.acl:
    path: /vms
    roles: [PVEVMUser]
    groups: [ops]

- name: The CI token may deploy into the web pool only
  pve.fleet.acl:
    path: /pool/web
    roles: [Deployer]
    tokens: ["ci@pve!deploy"]

- name: Auditors see the datacenter, but not below the top level
  pve.fleet.acl:
    path: /
    roles: [PVEAuditor]
    groups: [auditors]
    propagate: false

- name: Exactly these entries on /storage/backup, nothing else
  pve.fleet.acl:
    path: /storage/backup
    roles: [PVEDatastoreUser]
    users: [backup@pve]
    exclusive: true

- name: Take every role alice has on /vms away
  pve.fleet.acl:
    path: /vms
    users: [alice@pve]
    state: absent
'''

RETURN = r'''
path:
  description: The path, normalized as PVE does.
  returned: always
  type: str
  sample: /pool/web
changes:
  description: What was done (in check mode, what would be done), one sentence per entry.
  returned: always
  type: list
  elements: str
  sample: ['grant Deployer to token ci@pve!deploy on /pool/web', 'remove PVEAdmin of user bob@pve on /pool/web']
diff:
  description: For each principal whose entries change, its roles on the path before and after, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (ACL changes run none).
  returned: always
  type: list
  elements: str
  sample: []
acl:
  description: The entries on the path after the run (in check mode, as they are now).
  returned: always
  type: list
  elements: dict
  sample: [{type: token, ugid: ci@pve!deploy, roleid: Deployer, propagate: true}]
'''

from ansible_collections.pve.fleet.plugins.module_utils.acl import (
    AclSpec, apply_acl, plan_acl, public_entries, read_current)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_acl(module, client):
    spec = AclSpec.from_params(module.params)
    acl, roles, users, groups = read_current(client, spec)
    plan = plan_acl(spec, acl, roles, users, groups)
    run = execute(client, plan, apply_acl, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        acl = client.get('access/acl') or []
    result = plan.result(run)
    result.update(path=spec.path, acl=public_entries(acl, spec.path))
    return result


def main():
    module = pve_module(dict(
        path=dict(type='str', required=True),
        roles=dict(type='list', elements='str'),
        users=dict(type='list', elements='str'),
        groups=dict(type='list', elements='str'),
        tokens=dict(type='list', elements='str', no_log=False),
        propagate=dict(type='bool', default=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        exclusive=dict(type='bool', default=False),
    ))
    run_module(module, ensure_acl)


if __name__ == '__main__':
    main()
