#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: snapshot
short_description: Take, remove, roll back and prune snapshots of Proxmox VE guests
version_added: 0.1.0
description:
  - Manages the snapshots of one VM or container, chosen by O(vmid) or O(name) anywhere in the cluster.
  - Idempotent by snapshot name; with O(retention), keeps the newest snapshots whose names start with
    O(prefix) and removes the older ones.
  - Every PVE task the module starts is waited for, up to O(timeout) seconds each.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Nothing is written; the result says which snapshots would be taken, removed or rolled back to.
  diff_mode:
    support: full
    description: Shows the guest's snapshot names before and after.
options:
  vmid:
    description:
      - The id of the guest.
      - One of O(vmid) or O(name) is required; with both, they must name the same guest.
    type: int
  name:
    description: The name of the guest (a container's hostname); it must be unique in the cluster.
    type: str
  snapname:
    description:
      - The snapshot's name, a letter and then letters, digits or V(_) (two characters at least), as PVE requires.
      - Required with O(state=absent) and O(state=rollback).
      - With O(state=present) and neither O(snapname) nor O(retention), the module changes nothing and only
        returns the snapshots.
    type: str
  state:
    description:
      - V(present) takes the snapshot unless one of that name exists (and updates its O(description)).
      - V(absent) removes it if it exists.
      - V(rollback) rolls the guest back to it; the guest stops unless the snapshot holds the RAM state
        or O(start=true). A rollback is an action and always reports a change.
    type: str
    choices: [present, absent, rollback]
    default: present
  description:
    description: The snapshot's description. On an existing snapshot, a different description is updated.
    type: str
  vmstate:
    description:
      - Save the RAM of a running VM with the snapshot, so a rollback resumes it. VMs only.
      - Only used when the snapshot is taken.
    type: bool
    default: false
  retention:
    description:
      - With O(state=present), keep this many of the newest snapshots whose names start with O(prefix)
        and remove the older ones (oldest by the time they were taken). The snapshot O(snapname) counts
        as the newest.
      - Requires O(prefix).
    type: int
  prefix:
    description: The name prefix of the snapshots O(retention) counts, for example V(daily_).
    type: str
  start:
    description: With O(state=rollback), start the guest after the rollback.
    type: bool
    default: false
seealso:
  - module: pve.fleet.backup
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: Snapshot web1 before the upgrade
  pve.fleet.snapshot:
    name: web1
    snapname: before_upgrade
    description: before the PHP 8.4 upgrade

- name: A daily snapshot with its RAM, keeping the newest seven
  pve.fleet.snapshot:
    vmid: 100
    snapname: "daily_{{ now(utc=true, fmt='%Y%m%d') }}"
    vmstate: true
    prefix: daily_
    retention: 7

- name: Roll back and start again
  pve.fleet.snapshot:
    name: web1
    snapname: before_upgrade
    state: rollback
    start: true

- name: Remove the snapshot
  pve.fleet.snapshot:
    name: web1
    snapname: before_upgrade
    state: absent

- name: List the snapshots
  pve.fleet.snapshot:
    vmid: 100
  register: snaps
'''

RETURN = r'''
vmid:
  description: The guest's id.
  returned: always
  type: int
  sample: 100
node:
  description: The node the guest is on.
  returned: always
  type: str
  sample: pve1
type:
  description: V(qemu) for a VM, V(lxc) for a container.
  returned: always
  type: str
  sample: qemu
snapname:
  description: The snapshot named by O(snapname).
  returned: when O(snapname) is set
  type: str
  sample: before_upgrade
created:
  description: Names of the snapshots taken (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [daily_20261125]
removed:
  description: Names of the snapshots removed (or that would be), by O(state=absent) or O(retention).
  returned: always
  type: list
  elements: str
  sample: [daily_20261117]
rolled_back:
  description: The snapshot the guest was rolled back to (or would be).
  returned: when O(state=rollback)
  type: str
  sample: before_upgrade
current:
  description: The snapshot the guest's current state derives from, if any (after the change).
  returned: always
  type: str
  sample: before_upgrade
snapshots:
  description:
    - The guest's snapshots after the change, oldest first. In check mode, what they would be
      (a snapshot still to be taken has no RV(snapshots[].snaptime)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The snapshot's name.
      type: str
      sample: before_upgrade
    description:
      description: Its description.
      type: str
      sample: before the PHP 8.4 upgrade
    snaptime:
      description: When it was taken, in seconds since the epoch.
      type: int
      sample: 1764028800
    vmstate:
      description: Whether it holds the VM's RAM.
      type: bool
    parent:
      description: The snapshot it was taken on top of, if any.
      type: str
changes:
  description: What was done (in check mode, what would be done), one sentence per snapshot taken, described,
    removed or rolled back to.
  returned: always
  type: list
  elements: str
  sample: ['take snapshot daily_20261125 with the RAM state',
           'remove snapshot daily_20261117 (retention: the newest 7 daily_* are kept)']
diff:
  description:
    - The snapshot names before and after as YAML text, with the guest's C(current) snapshot for a rollback and
      the old and new description of a snapshot whose description changes.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (take, remove and rollback), in order; empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ['UPID:pve1:00001234:00005678:6745A000:qmsnapshot:100:root@pam:']
'''

from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute, read_until_unlocked
from ansible_collections.pve.fleet.plugins.module_utils.snapshots import (
    SnapshotSpec, apply_snapshots, plan_snapshots, read_current, read_snapshots)


def manage(module, client):
    spec = SnapshotSpec.from_params(module.params)
    guest, snaps, current = read_until_unlocked(lambda: read_current(client, spec), lambda state: state[0].get('lock'),
                                                module.params['timeout'])
    plan = plan_snapshots(spec, guest, snaps, current)
    run = execute(client, plan, apply_snapshots, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        snaps, current = read_snapshots(client, guest)
    else:
        snaps, current = plan.snapshots, plan.current  # in check mode: what the run would leave
    result = plan.result(run)
    result.update(vmid=guest['vmid'], node=guest['node'], type=guest['type'], created=plan.created,
                  removed=plan.removed, current=current, snapshots=snaps)
    if spec.snapname is not None:
        result['snapname'] = spec.snapname
    if spec.state == 'rollback':
        result['rolled_back'] = spec.snapname
    return result


def main():
    module = pve_module(
        dict(
            vmid=dict(type='int'),
            name=dict(type='str'),
            snapname=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent', 'rollback']),
            description=dict(type='str'),
            vmstate=dict(type='bool', default=False),
            retention=dict(type='int'),
            prefix=dict(type='str'),
            start=dict(type='bool', default=False),
        ),
        required_one_of=[('vmid', 'name')],
        required_if=[
            ('state', 'absent', ['snapname']),
            ('state', 'rollback', ['snapname']),
        ],
        required_by={'retention': 'prefix'},
    )
    run_module(module, manage)


if __name__ == '__main__':
    main()
