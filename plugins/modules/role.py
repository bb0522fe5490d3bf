#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: role
short_description: Manage roles (sets of privileges) of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Ensures a role of your own (API C(/access/roles)) exists with the privileges given, or is removed.
  - Every privilege is checked against the cluster's own list (the privileges of its C(Administrator) role) before
    anything is written; an unknown one fails, naming it and the closest known names.
  - PVE's built-in roles (C(Administrator), C(PVEVMAdmin), C(PVEAuditor), ...) cannot be changed or removed; a task
    that asks for their own privileges changes nothing, one that asks for others fails. Names starting with C(PVE)
    are PVE's.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the roles and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the privileges before and after.
options:
  roleid:
    description: The role's name (letters, digits, C(.), C(-) and C(_)).
    type: str
    required: true
    aliases: [name]
  state:
    description: V(present) creates the role or sets its privileges; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  privs:
    description:
      - The role's privileges, for example V(VM.Audit), V(VM.PowerMgmt), V(Datastore.AllocateSpace).
      - With O(append=false) the role holds exactly these (compared as a set); with O(append=true) they are added
        to the ones it has.
      - Left out, a new role has none and an existing role keeps its own.
    type: list
    elements: str
  append:
    description: Whether O(privs) is added to the role's privileges (V(true)) or replaces them (V(false)).
    type: bool
    default: false
notes:
  - Removing a role leaves the ACL entries that name it in PVE's file, where PVE ignores them.
seealso:
  - module: pve.fleet.acl
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: A role for the CI pipeline - power and console, clone from templates
  pve.fleet.role:
    roleid: Deployer
    privs:
      - VM.Audit
      - VM.PowerMgmt
      - VM.Console
      - VM.Clone
      - VM.Config.Options
      - Datastore.AllocateSpace

- name: Let it take snapshots too, keeping what it has
  pve.fleet.role:
    roleid: Deployer
    privs: [VM.Snapshot]
    append: true

- name: Remove a role
  pve.fleet.role:
    roleid: OldRole
    state: absent
'''

RETURN = r'''
roleid:
  description: The role's name.
  returned: always
  type: str
  sample: Deployer
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['privs: add VM.Snapshot']
diff:
  description: Before and after of the privileges, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (role changes run none).
  returned: always
  type: list
  elements: str
  sample: []
role:
  description: The role after the run (in check mode, as it is now); null when it does not exist.
  returned: always
  type: dict
  sample: {roleid: Deployer, privs: [VM.Audit, VM.PowerMgmt], special: false}
'''

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    RoleSpec, apply_role, plan_role, public_role, read_roles)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_role(module, client):
    spec = RoleSpec.from_params(module.params)
    roles = read_roles(client)
    plan = plan_role(spec, roles)
    run = execute(client, plan, apply_role, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        roles = read_roles(client)
    result = plan.result(run)
    result.update(roleid=spec.roleid, role=public_role(spec.roleid, roles))
    return result


def main():
    module = pve_module(dict(
        roleid=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        privs=dict(type='list', elements='str'),
        append=dict(type='bool', default=False),
    ))
    run_module(module, ensure_role)


if __name__ == '__main__':
    main()
