#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backup
short_description: Back up Proxmox VE guests with vzdump
version_added: 0.1.0
description:
  - Backs up VMs and containers chosen by id, name, pool, tag, node, or all of them, to a backup storage,
    and returns the archives it made.
  - O(vmid) and O(name) pick guests; O(node), O(pool) and O(tags) narrow the pick (or, without O(vmid) and
    O(name), pick every guest that matches them); O(all) picks every guest of the cluster.
  - The guests are found cluster-wide from one C(cluster/resources) request; one vzdump task runs per node,
    all started together, and each is waited for up to O(timeout) seconds. As in a PVE backup job, a node never
    runs two at once; its guests are backed up one after the other in its one task.
  - A backup is an action, so the task always reports a change (unless no guest matched).
  - RV(guests) reports each guest - its archive, size and how long it took, or why it failed. If any guest
    failed, the task fails after every node's task has ended, naming each failed guest.
  - Everything that can be refused (a guest that does not exist or is left out by the narrowing, a node offline,
    a storage missing on a node or not holding backups, a retention PVE would refuse) is refused before any write.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written; the result lists the guests that would be backed up and where.
  diff_mode:
    support: partial
    description: Shows the guests that would be backed up and the storage; RV(archives) says what the backup made.
options:
  vmid:
    description: Ids of the guests to back up.
    type: list
    elements: int
  name:
    description: Names of the guests to back up (a container's hostname); each must be unique in the cluster.
    type: list
    elements: str
  node:
    description: Only guests on this node (with no O(vmid)/O(name), every guest on it).
    type: str
  pool:
    description: Only guests in this resource pool (with no O(vmid)/O(name), every guest in it).
    type: str
  tags:
    description: Only guests carrying every one of these tags (with no O(vmid)/O(name), every such guest).
    type: list
    elements: str
  all:
    description: Back up every guest of the cluster (narrowed by O(node), O(pool) and O(tags) when given).
    type: bool
    default: false
  storage:
    description: The storage the archives go to. It must hold backups (content V(backup)) on every node involved.
    type: str
    required: true
  mode:
    description:
      - V(snapshot) backs a running guest up while it runs, V(suspend) pauses it, V(stop) stops it for the backup
        and starts it again. A stopped guest is always backed up in V(stop) mode.
    type: str
    choices: [snapshot, suspend, stop]
    default: snapshot
  compress:
    description: Compression of the archives; PVE's (or C(/etc/vzdump.conf)'s) default when not set.
    type: str
    choices: [none, lzo, gzip, zstd]
  notes:
    description:
      - Notes for each archive. PVE replaces C({{guestname}}), C({{node}}), C({{vmid}}) and C({{cluster}});
        mark such a string C(!unsafe) so Ansible does not template it.
    type: str
  protected:
    description: Protect the archives from pruning and removal.
    type: bool
    default: false
  prune:
    description:
      - Retention applied to each guest's backups on O(storage) right after the backup, instead of the storage's
        own C(prune-backups) setting. Older archives beyond it are removed; protected ones are kept.
      - Without it, the storage's retention applies, as in a PVE backup job.
    type: dict
    suboptions:
      keep_all:
        description: Keep every backup. Cannot be combined with a positive C(keep_*) count.
        type: bool
      keep_last:
        description: Keep the last N backups.
        type: int
      keep_hourly:
        description: Keep the newest backup of each of the last N hours that have one.
        type: int
      keep_daily:
        description: Keep the newest backup of each of the last N days that have one.
        type: int
      keep_weekly:
        description: Keep the newest backup of each of the last N weeks that have one.
        type: int
      keep_monthly:
        description: Keep the newest backup of each of the last N months that have one.
        type: int
      keep_yearly:
        description: Keep the newest backup of each of the last N years that have one.
        type: int
seealso:
  - module: pve.fleet.backup_info
  - module: pve.fleet.restore
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Back up web1 and db1 to the shared NFS storage
  pve.fleet.backup:
    name: [web1, db1]
    storage: shared
    mode: snapshot
    compress: zstd
    notes: !unsafe "{{guestname}} before the upgrade"
  register: backup

- name: Show each guest's archive, its size and how long it took
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.archive }} ({{ item.size | human_readable }}, {{ item.duration }} s)"
  loop: "{{ backup.guests }}"

- name: Nightly backup of every production guest, keeping 7 daily and 4 weekly
  pve.fleet.backup:
    tags: [prod]
    storage: shared
    prune:
      keep_daily: 7
      keep_weekly: 4

- name: Everything on pve2, stopped for a consistent archive
  pve.fleet.backup:
    node: pve2
    storage: local
    mode: stop
'''

RETURN = r'''
guests:
  description:
    - Each guest backed up (or that would be, in check mode), sorted by vmid, with how its backup went, as vzdump's
      task log and the storage's listing tell it.
    - When any guest failed the task fails, and this list still says which guests have their archive.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: The guest's id.
      type: int
      sample: 100
    name:
      description: Its name.
      type: str
      sample: web1
    node:
      description: The node it is on, where its vzdump task runs.
      type: str
      sample: pve1
    type:
      description: V(qemu) or V(lxc).
      type: str
      sample: qemu
    status:
      description:
        - V(ok) when its archive was made, V(failed) when not (RV(guests[].msg) says why); V(planned) in check mode.
      type: str
      sample: ok
    archive:
      description: The volume id of the archive made; null when none was (check mode, a failure).
      type: str
      sample: shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst
    size:
      description: The archive's size in bytes; null without an archive.
      type: int
      sample: 2148532224
    duration:
      description: How long its backup took, in seconds (vzdump's C(Finished Backup of VM ...) line); null when it
        did not finish.
      type: int
      sample: 74
    msg:
      description: Why it failed (vzdump's own words, or its node's task's); empty when it did not.
      type: str
      sample: VM is locked (migrate)
storage:
  description: The storage the archives went (or would go) to.
  returned: always
  type: str
  sample: shared
archives:
  description: The archives the backup made, sorted by vmid; empty in check mode.
  returned: always
  type: list
  elements: dict
  contains:
    volid:
      description: The archive's volume id, what O(pve.fleet.restore#module:archive) takes.
      type: str
      sample: shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst
    vmid:
      description: The id of the guest it holds.
      type: int
      sample: 100
    size:
      description: Its size in bytes.
      type: int
      sample: 2148532224
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
      description: RV(archives[].ctime) as ISO 8601 UTC.
      type: str
      sample: '2026-11-25T01:00:00Z'
    format:
      description: PVE's format of the archive.
      type: str
      sample: vma.zst
    notes:
      description: Its notes, if any.
      type: str
    protected:
      description: Whether it is protected.
      type: bool
changes:
  description: What was done (in check mode, what would be done), one sentence per node's vzdump task.
  returned: always
  type: list
  elements: str
  sample: ['back up VM 100 (web1), VM 101 (db1) on pve1 to shared (snapshot mode)']
diff:
  description: Nothing before; after, the guests backed up and the storage, as YAML text.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the vzdump tasks, one per node; empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ['UPID:pve1:00001234:00005678:6745A000:vzdump::root@pam:']
msg:
  description: Says so when no guest matched.
  returned: when no guest matched
  type: str
'''

from ansible_collections.pve.fleet.plugins.module_utils.backup import (
    BackupSpec, apply_backup, backup_failure, plan_backup, planned_report)
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute, read_until_unlocked
from ansible_collections.pve.fleet.plugins.module_utils.prune import PRUNE_OPTIONS


def backup(module, client):
    spec = BackupSpec.from_params(module.params)
    # A guest another task holds (a backup, a migration) is waited for within timeout; vzdump would fail it.
    plan = read_until_unlocked(lambda: plan_backup(spec, ClusterView.read(client)),
                               lambda plan: [g for g in plan.guests if g.get('lock')], module.params['timeout'])
    run = execute(client, plan, apply_backup, module.check_mode, module.params['timeout'])
    result = plan.result(run)
    report = getattr(run, 'report', None) or planned_report(plan.guests)
    result.update(guests=report, storage=spec.storage, archives=getattr(run, 'archives', []))
    if not plan.guests:
        result['msg'] = 'no guest matched: nothing to back up'
    failure = backup_failure(report)
    if failure:
        module.fail_json(msg=failure, **result)
    return result


def main():
    module = pve_module(
        dict(
            vmid=dict(type='list', elements='int'),
            name=dict(type='list', elements='str'),
            node=dict(type='str'),
            pool=dict(type='str'),
            tags=dict(type='list', elements='str'),
            all=dict(type='bool', default=False),
            storage=dict(type='str', required=True),
            mode=dict(type='str', default='snapshot', choices=['snapshot', 'suspend', 'stop']),
            compress=dict(type='str', choices=['none', 'lzo', 'gzip', 'zstd']),
            notes=dict(type='str'),
            protected=dict(type='bool', default=False),
            prune=dict(type='dict', options=PRUNE_OPTIONS),
        ),
        mutually_exclusive=[('all', 'vmid'), ('all', 'name')],
    )
    run_module(module, backup)


if __name__ == '__main__':
    main()
