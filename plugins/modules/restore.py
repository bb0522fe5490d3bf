#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: restore
short_description: Restore a Proxmox VE guest from a vzdump backup
version_added: 0.1.0
description:
  - Restores a VM or container from the archive O(archive), or from the newest backup of the guest named by O(vmid)
    or O(name) on any of the cluster's storages.
  - Restores to the same vmid or to a new one (O(target_vmid)). A guest that already has the target vmid is only
    overwritten with O(force=true), and only when it is stopped; without O(force), the task fails and changes nothing.
  - A restore is an action, so the task always reports a change; it is not repeated safely without O(force).
  - The module waits for the restore task up to O(timeout) seconds.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written; the result says which archive would be restored, as which vmid, on which node.
  diff_mode:
    support: full
    description: Shows the target guest before (absent, or the one overwritten) and after.
options:
  archive:
    description:
      - The archive's volume id, for example V(shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst), as
        M(pve.fleet.backup) and M(pve.fleet.backup_info) return it.
      - One of O(archive), O(vmid) or O(name) is required.
    type: str
  vmid:
    description:
      - Without O(archive), restore the newest backup of the guest with this id (it need not exist any more).
      - Also the default O(target_vmid).
    type: int
  name:
    description: Without O(archive), restore the newest backup of the guest with this name; it must exist.
    type: str
  target_vmid:
    description: The vmid of the restored guest; by default O(vmid), else the vmid the archive was made from.
    type: int
  target_name:
    description:
      - The name (a container's hostname) of the restored guest; by default the one in the archive.
      - Give one when restoring beside the original, so that guests stay unique by name.
    type: str
  node:
    description:
      - The node to restore on. By default the node of the guest overwritten, else of the guest the archive was made
        from, else the first online node; an archive on node-local storage is restored on its own node.
    type: str
  storage:
    description:
      - The storage for the restored disks. By default a VM's disks each go to the storage they were backed up from,
        and a container's volumes to the storage its root disk was on.
    type: str
  unique:
    description: Give the restored guest new MAC addresses (and a VM a new SMBIOS UUID), so it can run beside the original.
    type: bool
    default: false
  start:
    description: Start the guest once it is restored.
    type: bool
    default: false
  force:
    description: Overwrite an existing (stopped) guest with the target vmid; its disks are replaced by the backup's.
    type: bool
    default: false
seealso:
  - module: pve.fleet.backup
  - module: pve.fleet.backup_info
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Restore the newest backup of web1 as a new guest 150 beside it, and start it
  pve.fleet.restore:
    name: web1
    target_vmid: 150
    target_name: web1-restored
    unique: true
    start: true

- name: Roll guest 100 back to an archive, overwriting it (it must be stopped)
  pve.fleet.restore:
    archive: shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst
    force: true

- name: Bring back a destroyed container from its newest backup, on pve3's local-lvm
  pve.fleet.restore:
    vmid: 200
    node: pve3
    storage: local-lvm
'''

RETURN = r'''
vmid:
  description: The restored guest's id.
  returned: always
  type: int
  sample: 150
node:
  description: The node it was (or would be) restored on.
  returned: always
  type: str
  sample: pve1
type:
  description: V(qemu) or V(lxc).
  returned: always
  type: str
  sample: qemu
archive:
  description: The archive restored.
  returned: always
  type: str
  sample: shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst
name:
  description: The name given to the restored guest (O(target_name)); null when it keeps the archive's.
  returned: always
  type: str
  sample: web1-restored
source_vmid:
  description: The vmid the archive was made from.
  returned: always
  type: int
  sample: 100
overwritten:
  description: Whether an existing guest was (or would be) overwritten.
  returned: always
  type: bool
changes:
  description: What was done (in check mode, what would be done) - the restore, then the rename and the start
    when O(target_name) is set.
  returned: always
  type: list
  elements: str
  sample: ['restore VM 150 on pve1 from shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst, with new MAC addresses',
           'set name: web1-restored', 'start VM 150']
diff:
  description: The target guest before (nothing, or the guest overwritten) and after, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the tasks the module ran, the restore first (then the start, when O(target_name) and
    O(start) are set); empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ['UPID:pve1:00001234:00005678:6745A000:qmrestore:150:root@pam:']
'''

from ansible_collections.pve.fleet.plugins.module_utils.backup import (
    RestoreSpec, apply_restore, plan_restore, read_restore)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute


def restore(module, client):
    spec = RestoreSpec.from_params(module.params)
    cluster, copies, root_storage = read_restore(client, spec)
    plan = plan_restore(spec, cluster, copies, root_storage)
    run = execute(client, plan, apply_restore, module.check_mode, module.params['timeout'])
    result = plan.result(run)
    result.update(vmid=plan.vmid, node=plan.node, type=plan.type, archive=plan.archive, source_vmid=plan.source_vmid,
                  overwritten=plan.overwrite is not None, name=plan.name)
    return result


def main():
    module = pve_module(
        dict(
            archive=dict(type='str'),
            vmid=dict(type='int'),
            name=dict(type='str'),
            target_vmid=dict(type='int'),
            target_name=dict(type='str'),
            node=dict(type='str'),
            storage=dict(type='str'),
            unique=dict(type='bool', default=False),
            start=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
        ),
        required_one_of=[('archive', 'vmid', 'name')],
    )
    run_module(module, restore)


if __name__ == '__main__':
    main()
