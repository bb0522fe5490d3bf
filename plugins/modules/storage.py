#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: storage
short_description: Define, change and remove storages of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Ensures a storage definition of the cluster (an entry of C(/etc/pve/storage.cfg), API C(/storage))
    exists with the options given, or is removed.
  - Manages the storage types V(dir), V(nfs), V(lvm), V(lvmthin) and V(iscsi). The options keep PVE's
    own names; only the options that are set are compared, after PVE's normalization (content types
    and nodes are sets, flags are true or false), so a second run changes nothing.
  - Some options are fixed by PVE when the storage is created (O(path) of a V(dir) or V(nfs) storage,
    O(server) and O(export) of V(nfs), O(vgname), O(thinpool), O(portal), O(target)). Asking for another
    value of such an option on an existing storage fails, naming the option, before anything is written.
    So does asking for another O(type).
  - A storage is only removed with O(state=absent). Removing a definition leaves the data on the device
    or share alone, as PVE does.
  - "DRBD: PVE has no DRBD storage type of its own any more; a DRBD device is used as LVM. Outside PVE,
    set up the DRBD resource (for example C(/dev/drbd0)) on its nodes, primary on each of them
    (dual-primary) so that guests can migrate, keep the backing disk out of LVM's scan (a C(filter) in
    C(lvm.conf)), and create a volume group on the DRBD device once (C(vgcreate drbdvg /dev/drbd0)).
    Then define a V(lvm) storage with O(vgname=drbdvg), O(shared=true) and O(nodes) set to the nodes of
    the resource. See the examples."
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the storage and reports what would change; nothing is written.
  diff_mode:
    support: full
    description: Shows the options that change, before and after, in the module's own spelling.
options:
  name:
    description:
      - The storage's id (V(local), V(backup-nfs), ...).
    type: str
    required: true
    aliases: [storage]
  type:
    description:
      - The storage type.
      - Needed to create a storage. For an existing storage it may be left out; given, it must be the
        storage's type (PVE cannot change the type of a storage).
    type: str
    choices: [dir, nfs, lvm, lvmthin, iscsi]
  state:
    description:
      - V(present) defines the storage or brings its options to the values given.
      - V(absent) removes the storage definition.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - File system path of a V(dir) storage (required for it), or the mount point of an V(nfs) storage
        (PVE uses C(/mnt/pve/<name>) when it is not set).
      - Fixed at creation.
    type: str
  server:
    description:
      - NFS server, an IP address or DNS name. Required for V(nfs); fixed at creation.
    type: str
  export:
    description:
      - NFS export path. Required for V(nfs); fixed at creation.
    type: str
  vgname:
    description:
      - LVM volume group. Required for V(lvm) and V(lvmthin); fixed at creation.
    type: str
  thinpool:
    description:
      - LVM thin pool (a logical volume of O(vgname)). Required for V(lvmthin); fixed at creation.
    type: str
  portal:
    description:
      - iSCSI portal, an IP address or DNS name with an optional port. Required for V(iscsi); fixed at creation.
    type: str
  target:
    description:
      - iSCSI target (its IQN). Required for V(iscsi); fixed at creation.
    type: str
  content:
    description:
      - The content types the storage holds, compared as a set.
      - V(images) are VM disks, V(rootdir) container volumes, V(vztmpl) container templates, V(iso) ISO
        images, V(backup) backups, V(snippets) snippet files, V(import) files to import guests from.
      - V(dir) and V(nfs) can hold them all; V(lvm) and V(lvmthin) only V(images) and V(rootdir);
        V(iscsi) only V(images). V(dir) and V(iscsi) also take V(none) (alone), as does an empty list.
      - When it is not set, a new storage gets PVE's default for its type and an existing one keeps its content.
    type: list
    elements: str
    choices: [images, rootdir, vztmpl, iso, backup, snippets, import, none]
  nodes:
    description:
      - The nodes the storage is available on, compared as a set. An empty list means every node.
      - Each must be a node of the cluster.
    type: list
    elements: str
  shared:
    description:
      - Marks the storage as having the same content on every node (or every node of O(nodes)), so
        guests on it can migrate without copying their disks. It does not share anything by itself.
      - For V(dir) and V(lvm). V(nfs) and V(iscsi) storages are always shared, so V(true) changes
        nothing for them and V(false) is refused.
    type: bool
  prune_backups:
    description:
      - The backup retention of a V(dir) or V(nfs) storage, PVE's C(prune-backups) (compared as a whole).
      - Without any positive C(keep_*) count, PVE keeps every backup.
      - An empty dict removes the setting, so the retention of the backup job or of C(vzdump.conf) applies.
    type: dict
    suboptions:
      keep_all:
        description: Keep every backup. Cannot be combined with a positive C(keep_*) count.
        type: bool
      keep_last:
        description: Keep the last N backups.
        type: int
      keep_hourly:
        description: Keep the latest backup of each of the last N hours that have one.
        type: int
      keep_daily:
        description: Keep the latest backup of each of the last N days that have one.
        type: int
      keep_weekly:
        description: Keep the latest backup of each of the last N weeks that have one.
        type: int
      keep_monthly:
        description: Keep the latest backup of each of the last N months that have one.
        type: int
      keep_yearly:
        description: Keep the latest backup of each of the last N years that have one.
        type: int
  disable:
    description:
      - V(true) disables the storage (PVE neither activates nor uses it), V(false) enables it again.
    type: bool
notes:
  - None of the types this module manages takes a password in the storage definition (iSCSI CHAP
    credentials live in C(/etc/iscsi/iscsid.conf) on the nodes, not in PVE's storage configuration).
  - PVE keeps a storage definition cluster-wide; the module talks to any one node.
seealso:
  - name: PVE storage documentation
    description: The storage types and their options.
    link: https://pve.proxmox.com/pve-docs/chapter-pvesm.html
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Backups on a local directory, the last 7 daily ones kept
  pve.fleet.storage:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve_password }}"
    ca_path: /etc/ssl/pve-root-ca.pem
    name: backup
    type: dir
    path: /srv/backup
    content: [backup]
    prune_backups:
      keep_last: 3
      keep_daily: 7

- name: Templates and ISO images on NFS, for every node
  pve.fleet.storage:
    name: media
    type: nfs
    server: 192.0.2.50
    export: /export/media
    content: [iso, vztmpl]

- name: A thin pool for guest disks, on pve1 and pve2 only
  pve.fleet.storage:
    name: fast
    type: lvmthin
    vgname: nvme
    thinpool: data
    content: [images, rootdir]
    nodes: [pve1, pve2]

- name: An iSCSI LUN set, used directly by VMs
  pve.fleet.storage:
    name: san
    type: iscsi
    portal: 192.0.2.60
    target: iqn.2003-01.org.example:storage.lun1
    content: [images]

- name: DRBD - LVM on the DRBD device /dev/drbd0, whose volume group drbdvg exists on pve1 and pve2
  pve.fleet.storage:
    name: drbd
    type: lvm
    vgname: drbdvg
    shared: true
    nodes: [pve1, pve2]
    content: [images, rootdir]

- name: Take a storage out of use for maintenance
  pve.fleet.storage:
    name: media
    disable: true

- name: Remove a storage definition (the data stays on the share)
  pve.fleet.storage:
    name: media
    state: absent
'''

RETURN = r'''
name:
  description: The storage's id.
  returned: always
  type: str
  sample: backup
type:
  description: The storage's type; null when an absent storage stays absent and no type was given.
  returned: always
  type: str
  sample: dir
changes:
  description: What was done (in check mode, what would be done), one sentence per change.
  returned: always
  type: list
  elements: str
  sample: ['set content: images -> backup, images', 'add prune_backups: keep_daily=7']
diff:
  description: Before and after of exactly the options that change, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (storage definitions run none).
  returned: always
  type: list
  elements: str
  sample: []
storage:
  description:
    - The storage's configuration as PVE returns it after the run (without its digest).
    - In check mode, the configuration as it is now. Null when the storage does not exist (any more).
  returned: always
  type: dict
  sample: {storage: backup, type: dir, path: /srv/backup, content: backup, prune-backups: 'keep-daily=7,keep-last=3'}
'''

from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute
from ansible_collections.pve.fleet.plugins.module_utils.prune import PRUNE_OPTIONS
from ansible_collections.pve.fleet.plugins.module_utils.storage import (
    StorageSpec, apply_plan, find_storage, plan_storage, public_config, read_current)

CONTENT_TYPES = ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import', 'none']


def ensure_storage(module, client):
    spec = StorageSpec.from_params(module.params)
    config, cluster = read_current(client, spec)
    plan = plan_storage(spec, module.params['state'], config, cluster)
    run = execute(client, plan, apply_plan, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        config = find_storage(client, spec.name) if plan.action != 'remove' else None
    result = plan.result(run)
    result.update(name=spec.name, type=plan.type, storage=public_config(config))
    return result


def main():
    module = pve_module(dict(
        name=dict(type='str', required=True, aliases=['storage']),
        type=dict(type='str', choices=['dir', 'nfs', 'lvm', 'lvmthin', 'iscsi']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        path=dict(type='str'),
        server=dict(type='str'),
        export=dict(type='str'),
        vgname=dict(type='str'),
        thinpool=dict(type='str'),
        portal=dict(type='str'),
        target=dict(type='str'),
        content=dict(type='list', elements='str', choices=CONTENT_TYPES),
        nodes=dict(type='list', elements='str'),
        shared=dict(type='bool'),
        prune_backups=dict(type='dict', options=PRUNE_OPTIONS),
        disable=dict(type='bool'),
    ))
    run_module(module, ensure_storage)


if __name__ == '__main__':
    main()
