# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Moving a guest to another node: PVE's precondition answer turned into reasons, then the migration.

``read_precondition`` asks PVE's own precondition check (``GET .../migrate``); the pure
``plan_migration`` turns its answer into a plan or raises a PveError listing every reason the
guest cannot move, so a user fixes them all at once instead of reading a task log.
``apply_migration`` is the only code that writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, guest_path
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe, require_unlocked, select_guest


class MigrationSpec:
    """What the task asks for: the guest, the target node and how to move it."""

    def __init__(self, vmid, name, target, online=None, with_local_disks=False, target_storage=None,
                 shutdown_timeout=None):
        self.vmid = vmid
        self.name = name
        self.target = target
        self.online = online
        self.with_local_disks = bool(with_local_disks)
        self.target_storage = target_storage
        self.shutdown_timeout = shutdown_timeout

    @classmethod
    def from_params(cls, params):
        return cls(params.get('vmid'), params.get('name'), params['target'], params.get('online'),
                   params.get('with_local_disks'), params.get('target_storage'), params.get('shutdown_timeout'))


def check_movable(cluster, guest, target):
    """What is refused before PVE is even asked: a target that is not an online node of the cluster, a lock."""
    cluster.require_online(target, 'target')
    require_unlocked(guest, 'migrate')


def read_precondition(client, guest, target):
    """PVE's answer, with the LXC spelling (allowed-nodes) read as the QEMU one (allowed_nodes)."""
    answer = client.get(guest_path(guest, 'migrate'), target=target) or {}
    return dict(
        running=bool(answer.get('running')),
        not_allowed=answer.get('not_allowed_nodes', answer.get('not-allowed-nodes')) or {},
        local_disks=answer.get('local_disks') or [],
        local_resources=answer.get('local_resources') or [],
    )


def read_current(client, spec, cluster=None):
    """(cluster, guest, precondition): one cluster/resources request (none when ``cluster`` is given), then PVE's
    precondition check, which is not asked when the guest is on the target already (None) or cannot move for a
    reason known without it."""
    cluster = cluster or ClusterView.read(client)
    guest = select_guest(cluster, spec.vmid, spec.name)
    if guest['node'] == spec.target:
        return cluster, guest, None
    check_movable(cluster, guest, spec.target)
    return cluster, guest, read_precondition(client, guest, spec.target)


def _disk_name(disk):
    name = disk.get('volid', '?')
    if disk.get('drivename'):
        name = '{0} ({1})'.format(name, disk['drivename'])
    return name


class MigrationPlan(Plan):
    """Moving one guest (or not): ``mode`` is online, offline, restart, or none when it is on the target already."""

    def __init__(self, guest, target, mode='none', local_disks=()):
        super(MigrationPlan, self).__init__(describe(guest))
        self.guest = guest
        self.target = target
        self.mode = mode
        self.local_disks = list(local_disks)


def plan_migration(spec, cluster, guest, pre):
    """The plan for moving the guest to ``spec.target`` from PVE's precondition answer ``pre`` (pure: no request);
    a PveError with every reason when it cannot move."""
    target = spec.target
    if guest['node'] == target:
        return MigrationPlan(guest, target)
    check_movable(cluster, guest, target)
    running = pre['running'] or guest['status'] == 'running'
    reasons = []
    online = spec.online
    if guest['type'] == 'qemu':
        if online is None:
            online = running
        elif running and not online:
            reasons.append('it is running: set online=true for a live migration, or stop it first')
        mode = 'online' if online and running else 'offline'
    else:
        if online:
            reasons.append('containers cannot migrate live: leave online unset (or false) and a running '
                           'container moves in restart mode')
        mode = 'restart' if running else 'offline'

    refused = pre['not_allowed'].get(target) or {}
    if refused.get('unavailable_storages') and not spec.target_storage:
        reasons.append('storage {0} is not available on {1}: give target_storage, or make the storage '
                       'available there'.format(', '.join(refused['unavailable_storages']), target))
    for ha in refused.get('blocking-ha-resources') or []:
        reasons.append('HA resource {0} blocks it ({1})'.format(ha.get('sid'), ha.get('cause')))
    if pre['local_resources']:
        reasons.append('it uses local devices ({0}), which cannot move'.format(', '.join(pre['local_resources'])))

    local = []
    for disk in pre['local_disks']:
        if disk.get('volid') == 'cdrom':
            reasons.append('a physical CD-ROM drive is attached ({0}): remove it'.format(disk.get('drivename')))
        elif disk.get('cdrom'):
            reasons.append('the CD-ROM {0} is an image on node-local storage: eject it or put it on shared '
                           'storage'.format(_disk_name(disk)))
        else:
            local.append(disk)
    attached = [d for d in local if not d.get('is_unused')]
    if mode == 'online' and attached and not spec.with_local_disks:
        reasons.append('it has local disks ({0}): set with_local_disks=true to copy them during the live '
                       'migration'.format(', '.join(_disk_name(d) for d in attached)))
    if reasons:
        raise PveError('cannot migrate {0} to {1}: {2}'.format(describe(guest), target, '; '.join(reasons)))

    volumes = [d.get('volid') for d in local]
    plan = MigrationPlan(guest, target, mode, volumes)
    plan.add(Step('migrate', target, guest['node'], target, text=_sentence(guest, target, mode, volumes, spec),
                  data=dict(body=migrate_body(guest['type'], mode, target, bool(volumes) and spec.with_local_disks,
                                              spec.target_storage, spec.shutdown_timeout))),
             before={'node': guest['node']}, after={'node': target})
    return plan


def _sentence(guest, target, mode, volumes, spec):
    how = {'online': 'live', 'offline': 'offline', 'restart': 'restart mode'}[mode]
    text = 'migrate {0} to {1} ({2})'.format(describe(guest), target, how)
    if volumes:
        text += ', copying {0}'.format(', '.join(volumes))
        if spec.target_storage:
            text += ' to {0}'.format(spec.target_storage)
    return text


def migrate_body(guest_type, mode, target, with_local_disks=False, target_storage=None, shutdown_timeout=None):
    """What PVE's migrate call is sent for a move in ``mode`` (the QEMU and LXC spellings differ); also what
    evacuate and rebalance send (moves.py)."""
    if guest_type == 'qemu':
        body = dict(target=target, online=1 if mode == 'online' else None, targetstorage=target_storage)
        if mode == 'online' and with_local_disks:
            body['with-local-disks'] = 1
        return body
    body = {'target': target, 'target-storage': target_storage}
    if mode == 'restart':
        body['restart'] = 1
        body['timeout'] = shutdown_timeout
    return body


def apply_migration(run, plan):
    """Start the migration and wait for it."""
    for step in plan.steps:
        run.wait(run.client.post(guest_path(plan.guest, 'migrate'), **step.data['body']))
