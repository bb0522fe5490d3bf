#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: migrate
short_description: Move a Proxmox VE guest to another node of the cluster
version_added: 0.1.0
description:
  - Migrates one VM or container, chosen by O(vmid) or O(name) anywhere in the cluster, to the node O(target).
  - A guest already on O(target) is left alone (ok, unchanged), so the task is idempotent.
  - A running VM migrates live (O(online)); a stopped VM or container migrates offline, copying its disks on
    node-local storage; a running container migrates in restart mode (shut down, moved, started again).
  - Before anything moves, PVE's own precondition check is read and every reason the guest cannot move (a storage
    missing on the target, local devices, local disks without O(with_local_disks), a CD-ROM on local storage, a
    lock, an offline target) is reported in one message.
  - The module waits for the migration task up to O(timeout) seconds; raise it for guests with large local disks.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Runs PVE's precondition check (a read) and reports whether and how the guest would move; writes nothing.
  diff_mode:
    support: full
    description: Shows the guest's node before and after.
options:
  vmid:
    description:
      - The id of the guest.
      - One of O(vmid) or O(name) is required; with both, they must name the same guest.
    type: int
  name:
    description: The name of the guest (a container's hostname); it must be unique in the cluster.
    type: str
  target:
    description: The node to move the guest to. It must be in the cluster and online.
    type: str
    required: true
  online:
    description:
      - For a VM, migrate it live while it runs. When not set, a running VM migrates live and a stopped one offline;
        V(false) for a running VM is refused (stop it first).
      - Containers cannot migrate live; V(true) for a container is refused.
    type: bool
  with_local_disks:
    description:
      - Copy the disks of a running VM that are on node-local storage during the live migration.
        Without it, a running VM with local disks is refused. An offline migration always copies local disks.
    type: bool
    default: false
  target_storage:
    description:
      - Where node-local disks go on the target, either one storage for all (V(local-lvm)) or a map
        V(source:target,source2:target2), as PVE's C(targetstorage) takes it.
      - Without it, each local disk goes to the storage of the same name on the target.
    type: str
  shutdown_timeout:
    description: For a running container (restart mode), seconds PVE waits for it to shut down (PVE's default is 180).
    type: int
notes:
  - Moving a guest between nodes needs the cluster quorate and the guest unlocked.
seealso:
  - module: pve.fleet.guest_info
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Live-migrate web1 to pve2
  pve.fleet.migrate:
    name: web1
    target: pve2

- name: Move a VM with local disks, copying them to local-lvm on pve3
  pve.fleet.migrate:
    vmid: 100
    target: pve3
    with_local_disks: true
    target_storage: local-lvm
    timeout: 1800

- name: Move a container (restarted on the target if it runs)
  pve.fleet.migrate:
    vmid: 200
    target: pve1
'''

RETURN = r'''
vmid:
  description: The guest's id.
  returned: always
  type: int
  sample: 100
type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: qemu
node:
  description: The node the guest is on after the task (the target, unless check mode or nothing to do).
  returned: always
  type: str
  sample: pve2
source_node:
  description: The node the guest was on before.
  returned: always
  type: str
  sample: pve1
target:
  description: The target node.
  returned: always
  type: str
  sample: pve2
mode:
  description:
    - How the guest moves (or would), V(online) (live), V(offline), or V(restart) (a running container).
      V(none) when it is already on the target.
  returned: always
  type: str
  sample: online
local_disks:
  description: The guest's volumes on node-local storage, which are copied to the target.
  returned: always
  type: list
  elements: str
  sample: ['local-lvm:vm-100-disk-0']
changes:
  description: What was done (in check mode, what would be done); empty when the guest is on the target already.
  returned: always
  type: list
  elements: str
  sample: ['migrate VM 100 (web1) on pve1 to pve2 (live)']
diff:
  description: The guest's node before and after, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPID of the migration task, in a list; empty in check mode and when nothing moved.
  returned: always
  type: list
  elements: str
  sample: ['UPID:pve1:00001234:00005678:6745A000:qmigrate:100:root@pam:']
'''

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.migration import (
    MigrationSpec, apply_migration, plan_migration, read_current)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute, read_until_unlocked


def move(module, client):
    spec = MigrationSpec.from_params(module.params)
    # A guest another task holds (a backup, a migration) is waited for within timeout, then refused naming the lock.
    cluster = read_until_unlocked(lambda: ClusterView.read(client),
                                  lambda cluster: (cluster.find_guest(vmid=spec.vmid, name=spec.name) or {}).get('lock'),
                                  module.params['timeout'])
    cluster, guest, precondition = read_current(client, spec, cluster)
    plan = plan_migration(spec, cluster, guest, precondition)
    run = execute(client, plan, apply_migration, module.check_mode, module.params['timeout'])
    result = plan.result(run)
    result.update(vmid=guest['vmid'], type=guest['type'], source_node=guest['node'], target=spec.target,
                  node=spec.target if plan.changed and not module.check_mode else guest['node'],
                  mode=plan.mode, local_disks=plan.local_disks)
    return result


def main():
    module = pve_module(
        dict(
            vmid=dict(type='int'),
            name=dict(type='str'),
            target=dict(type='str', required=True),
            online=dict(type='bool'),
            with_local_disks=dict(type='bool', default=False),
            target_storage=dict(type='str'),
            shutdown_timeout=dict(type='int'),
        ),
        required_one_of=[('vmid', 'name')],
    )
    run_module(module, move)


if __name__ == '__main__':
    main()
