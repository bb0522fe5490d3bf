#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backup_info
short_description: List the backup archives on a Proxmox VE cluster's storages
version_added: 0.1.0
description:
  - Lists vzdump archives across every storage that holds backups, optionally only those of one guest, one storage
    or one node, or only each guest's newest.
  - A shared storage is listed once; a node-local one (such as V(local)) on each online node, since each node has
    its own. The listings run eight at a time after one C(cluster/resources) request.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is no difference to show.
options:
  vmid:
    description: Only archives of the guest with this id (the guest need not exist any more).
    type: int
  name:
    description: Only archives of the guest with this name; it must exist in the cluster.
    type: str
  type:
    description: Only archives of VMs (V(qemu)) or of containers (V(lxc)).
    type: str
    choices: [qemu, lxc]
  storage:
    description: Only archives on this storage.
    type: str
  node:
    description: Only this node's view (its node-local storages and the shared ones).
    type: str
  latest:
    description: Only the newest archive of each guest.
    type: bool
    default: false
seealso:
  - module: pve.fleet.backup
  - module: pve.fleet.restore
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The newest backup of web1
  pve.fleet.backup_info:
    name: web1
    latest: true
  register: latest

- name: Restore it as a new guest
  pve.fleet.restore:
    archive: "{{ latest.backups[0].volid }}"
    target_vmid: 150
  when: latest.backups | length > 0

- name: Every archive on the shared storage
  pve.fleet.backup_info:
    storage: shared
  register: on_shared
'''

RETURN = r'''
backups:
  description: The archives found, sorted by vmid, then oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    volid:
      description: The archive's volume id.
      type: str
      sample: shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst
    vmid:
      description: The id of the guest it holds.
      type: int
      sample: 100
    type:
      description: V(qemu) or V(lxc).
      type: str
      sample: qemu
    storage:
      description: Its storage.
      type: str
      sample: shared
    node:
      description: The node whose local storage holds it; null on shared storage.
      type: str
    shared:
      description: Whether the storage is shared by the nodes.
      type: bool
    ctime:
      description: When it was made, seconds since the epoch.
      type: int
      sample: 1764032400
    time:
      description: RV(backups[].ctime) as ISO 8601 UTC.
      type: str
      sample: '2026-11-25T01:00:00Z'
    size:
      description: Its size in bytes.
      type: int
      sample: 2148532224
    format:
      description: PVE's format of the archive.
      type: str
      sample: vma.zst
    notes:
      description: The first line of its notes, if any.
      type: str
    protected:
      description: Whether it is protected from pruning and removal.
      type: bool
'''

from ansible_collections.pve.fleet.plugins.module_utils.backup import latest_per_guest, list_archives
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.selection import select_guest


def info(module, client):
    params = module.params
    cluster = ClusterView.read(client)
    vmid = params['vmid']
    if params['name'] is not None:
        vmid = select_guest(cluster, vmid, params['name'])['vmid']
    if params['node'] is not None:
        cluster.require_node(params['node'])
    archives = list_archives(client, cluster, params['storage'], params['node'], vmid)
    if vmid is not None:
        archives = [a for a in archives if a['vmid'] == vmid]
    if params['type'] is not None:
        archives = [a for a in archives if a['type'] == params['type']]
    if params['latest']:
        archives = latest_per_guest(archives)
    archives.sort(key=lambda a: (a['vmid'] is None, a['vmid'] or 0, a['ctime'], a['volid']))
    return dict(changed=False, backups=archives)


def main():
    module = pve_module(dict(
        vmid=dict(type='int'),
        name=dict(type='str'),
        type=dict(type='str', choices=['qemu', 'lxc']),
        storage=dict(type='str'),
        node=dict(type='str'),
        latest=dict(type='bool', default=False),
    ))
    run_module(module, info)


if __name__ == '__main__':
    main()
