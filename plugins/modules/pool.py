#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pool
short_description: Manage resource pools of a Proxmox VE cluster and their members
version_added: 0.1.0
description:
  - Ensures a resource pool (API C(/pools)) exists with the comment and members given, or is removed.
  - Members are guests, named by vmid or by name and found across the cluster, and storages. Permissions given on
    C(/pool/<poolid>) (see M(pve.fleet.acl)) hold for every member.
  - Without O(exclusive), the members listed are added and the others stay; with O(exclusive=true) the pool holds
    exactly the listed guests (when O(vms) is given) and storages (when O(storage) is given).
  - A guest belongs to one pool at most. One that is in another pool is moved only with O(allow_move=true); without it
    the task fails, naming the guest and its pool, before anything is written.
  - Pools nest up to three levels (V(dept/team/project)); the parent must exist first.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the pool and the cluster and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the comment and the member vmids and storages before and after.
options:
  poolid:
    description: The pool's name, up to three levels separated by C(/), each starting with a letter.
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates the pool or brings its comment and members to what is given.
      - V(absent) takes every member out of the pool (the guests and storages stay as they are) and removes the pool
        and its ACL entries. A pool with child pools is not removed.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description: The pool's comment. An empty string removes it; left out, an existing comment stays.
    type: str
  vms:
    description:
      - Guests (VMs and containers) that are members, each by vmid (a number) or by name. Each must exist.
      - A name must name one guest; when two guests share it, give the vmid.
    type: list
    elements: raw
  storage:
    description: Storages that are members. Each must exist.
    type: list
    elements: str
  exclusive:
    description:
      - With V(true), members not listed are taken out of the pool, for the kinds of members given (O(vms),
        O(storage)); an empty list takes out every member of its kind.
    type: bool
    default: false
  allow_move:
    description: Move a guest listed in O(vms) from the pool it is in now (PVE's C(allow-move)).
    type: bool
    default: false
seealso:
  - module: pve.fleet.acl
  - module: pve.fleet.backup_job
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The web tier's pool, its guests by name, and its storage
  pve.fleet.pool:
    poolid: web
    comment: Web tier
    vms: [web1, web2, 105]
    storage: [web-data]

- name: Exactly these guests, no others
  pve.fleet.pool:
    poolid: web
    vms: [web1, web2]
    exclusive: true

- name: Move db1 here from the pool it is in
  pve.fleet.pool:
    poolid: databases
    vms: [db1]
    allow_move: true

- name: A team pool inside a department's
  pve.fleet.pool:
    poolid: engineering/platform

- name: Remove the pool (its guests stay, outside any pool)
  pve.fleet.pool:
    poolid: web
    state: absent
'''

RETURN = r'''
poolid:
  description: The pool's name.
  returned: always
  type: str
  sample: web
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['create pool web', 'add guests 100, 101 and storage web-data to pool web']
diff:
  description: Before and after of the comment and the members that change, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (pool changes run none).
  returned: always
  type: list
  elements: str
  sample: []
pool:
  description:
    - The pool after the run (in check mode, as it is now); null when it does not exist.
    - C(vms) and C(storage) are the member vmids and storage ids; C(members) is PVE's own member list.
  returned: always
  type: dict
  sample: {poolid: web, comment: Web tier, vms: [100, 101], storage: [web-data], members: []}
'''

from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute
from ansible_collections.pve.fleet.plugins.module_utils.pools import (
    PoolSpec, apply_pool, plan_pool, public_pool, read_current)


def ensure_pool(module, client):
    spec = PoolSpec.from_params(module.params)
    state = read_current(client, spec)
    plan = plan_pool(spec, state)
    run = execute(client, plan, apply_pool, module.check_mode, module.params['timeout'])
    pool = state.pool
    if plan.changed and not module.check_mode:
        pool = read_current(client, spec).pool
    result = plan.result(run)
    result.update(poolid=spec.poolid, pool=public_pool(spec.poolid, pool))
    return result


def main():
    module = pve_module(dict(
        poolid=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        comment=dict(type='str'),
        vms=dict(type='list', elements='raw'),
        storage=dict(type='list', elements='str'),
        exclusive=dict(type='bool', default=False),
        allow_move=dict(type='bool', default=False),
    ))
    run_module(module, ensure_pool)


if __name__ == '__main__':
    main()
