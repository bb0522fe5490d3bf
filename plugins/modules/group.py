#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: group
short_description: Manage user groups of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Ensures a group of users (API C(/access/groups)) exists with the comment given, or is removed.
  - Members join and leave a group through the user's O(pve.fleet.user#module:groups); permissions go to a group with
    M(pve.fleet.acl).
  - Removing a group leaves its members as users and removes the group's ACL entries, as PVE does.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the groups and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the comment before and after; a removed group shows its members.
options:
  groupid:
    description: The group's name (letters, digits, C(.), C(-) and C(_)).
    type: str
    required: true
    aliases: [name]
  state:
    description: V(present) creates the group or sets its comment; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description: The group's comment. An empty string removes it; left out, an existing comment stays.
    type: str
seealso:
  - module: pve.fleet.user
  - module: pve.fleet.acl
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The operators' group
  pve.fleet.group:
    groupid: ops
    comment: Operators (VM power and console)

- name: Give the group its permissions
  pve.fleet.acl:
    path: /vms
    roles: [PVEVMUser]
    groups: [ops]

- name: Remove a group (its members stay users)
  pve.fleet.group:
    groupid: interns
    state: absent
'''

RETURN = r'''
groupid:
  description: The group's name.
  returned: always
  type: str
  sample: ops
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['create group ops']
diff:
  description: Before and after of what changes, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (group changes run none).
  returned: always
  type: list
  elements: str
  sample: []
group:
  description: The group after the run (in check mode, as it is now), with its members; null when it does not exist.
  returned: always
  type: dict
  sample: {groupid: ops, comment: Operators, users: [alice@pve]}
'''

from ansible_collections.pve.fleet.plugins.module_utils.access import (
    GroupSpec, apply_group, plan_group, public_group, read_groups)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def ensure_group(module, client):
    spec = GroupSpec.from_params(module.params)
    groups = read_groups(client)
    plan = plan_group(spec, groups)
    run = execute(client, plan, apply_group, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        groups = read_groups(client)
    result = plan.result(run)
    result.update(groupid=spec.groupid, group=public_group(spec.groupid, groups))
    return result


def main():
    module = pve_module(dict(
        groupid=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        comment=dict(type='str'),
    ))
    run_module(module, ensure_group)


if __name__ == '__main__':
    main()
