# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Moving a guest to another node: PVE's precondition answer turned into reasons, then the migration.

``plan_migration`` reads ``GET .../migrate`` (PVE's own precondition check) and either
returns what would be done or raises a PveError listing every reason the guest cannot
move, so a user fixes them all at once instead of reading a task log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.selection import (describe, guest_path, require_online,
                                                                          require_unlocked)
from ansible_collections.pve.fleet.plugins.module_utils.tasks import wait_for_task


def _precondition(client, guest, target):
    """PVE's answer, with the LXC spelling (allowed-nodes) read as the QEMU one (allowed_nodes)."""
    answer = client.get(guest_path(guest, 'migrate'), target=target) or {}
    return dict(
        running=bool(answer.get('running')),
        not_allowed=answer.get('not_allowed_nodes', answer.get('not-allowed-nodes')) or {},
        local_disks=answer.get('local_disks') or [],
        local_resources=answer.get('local_resources') or [],
    )


def _disk_name(disk):
    name = disk.get('volid', '?')
    if disk.get('drivename'):
        name = '{0} ({1})'.format(name, disk['drivename'])
    return name


def plan_migration(client, cluster, guest, params):
    """What migrating the guest to params['target'] would do, as a dict; a PveError with every reason if it cannot."""
    target = params['target']
    require_online(cluster, target, 'target')
    require_unlocked(guest, 'migrate')
    pre = _precondition(client, guest, target)
    running = pre['running'] or guest['status'] == 'running'
    reasons = []
    online = params.get('online')
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
    if refused.get('unavailable_storages') and not params.get('target_storage'):
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
    if mode == 'online' and attached and not params.get('with_local_disks'):
        reasons.append('it has local disks ({0}): set with_local_disks=true to copy them during the live '
                       'migration'.format(', '.join(_disk_name(d) for d in attached)))
    if reasons:
        raise PveError('cannot migrate {0} to {1}: {2}'.format(describe(guest), target, '; '.join(reasons)))
    return dict(mode=mode, online=mode == 'online', local_disks=[d.get('volid') for d in local])


def migrate(client, guest, plan, params, timeout):
    """Start the migration the plan describes and wait for it; returns the UPID."""
    target = params['target']
    if guest['type'] == 'qemu':
        body = dict(target=target, online=1 if plan['online'] else None,
                    targetstorage=params.get('target_storage'))
        if plan['online'] and plan['local_disks'] and params.get('with_local_disks'):
            body['with-local-disks'] = 1
    else:
        body = {'target': target, 'target-storage': params.get('target_storage')}
        if plan['mode'] == 'restart':
            body['restart'] = 1
            body['timeout'] = params.get('shutdown_timeout')
    upid = client.post(guest_path(guest, 'migrate'), **body)
    wait_for_task(client, upid, timeout)
    return upid
