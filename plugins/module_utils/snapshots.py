# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Guest snapshots: read them, plan what ``state`` asks for (with retention), apply the plan.

A plan is a list of steps ``(action, snapname)`` with action ``create``, ``describe``,
``delete`` or ``rollback``; check mode stops at the plan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe, guest_path, require_unlocked
from ansible_collections.pve.fleet.plugins.module_utils.tasks import wait_for_task

# PVE's names that are not snapshots ('current' is the "You are here!" entry of the list).
RESERVED = ('current', 'pending', 'vzdump')
# PVE's pve-configid format, which snapshot names follow.
SNAPNAME = re.compile(r'^[a-z][a-z0-9_]+$', re.IGNORECASE)


def snapshot_record(item):
    """One snapshot as the module returns it."""
    return dict(name=item['name'], description=(item.get('description') or '').rstrip('\n'),
                snaptime=int(item.get('snaptime') or 0), vmstate=bool(item.get('vmstate')),
                parent=item.get('parent'))


def read_snapshots(client, guest):
    """(snapshots oldest first, the snapshot the current state derives from or None)."""
    items = client.get(guest_path(guest, 'snapshot')) or []
    current = None
    snaps = []
    for item in items:
        if item.get('name') == 'current':
            current = item.get('parent')
        else:
            snaps.append(snapshot_record(item))
    snaps.sort(key=lambda s: (s['snaptime'], s['name']))
    return snaps, current


def retention_victims(snaps, prefix, keep, new_name=None):
    """Names of the snapshots starting with prefix beyond the newest ``keep`` (a new one counts as newest)."""
    matching = [s for s in snaps if s['name'].startswith(prefix)]
    matching.sort(key=lambda s: (s['snaptime'], s['name']), reverse=True)
    names = [s['name'] for s in matching]
    if new_name is not None and new_name.startswith(prefix) and new_name not in names:
        names.insert(0, new_name)
    return sorted(names[keep:])


def plan(guest, snaps, params):
    """The steps that bring the guest's snapshots to what params ask for."""
    state = params['state']
    snapname = params.get('snapname')
    by_name = dict((s['name'], s) for s in snaps)
    steps = []
    if snapname is not None and snapname.lower() in RESERVED:
        raise PveError('snapname {0!r} is a name PVE reserves ({1})'.format(snapname, ', '.join(RESERVED)))
    if snapname is not None and not SNAPNAME.match(snapname):
        raise PveError('snapname {0!r}: a snapshot name is a letter, then letters, digits or _ '
                       '(two characters at least)'.format(snapname))
    if params.get('retention') is not None and state != 'present':
        raise PveError('retention: only used with state=present (got state={0})'.format(state))
    if state == 'present':
        if params.get('vmstate') and guest['type'] != 'qemu':
            raise PveError('vmstate: {0} is a container; only VMs save their RAM state'.format(describe(guest)))
        if snapname is not None:
            if snapname not in by_name:
                steps.append(('create', snapname))
            elif params.get('description') is not None and \
                    by_name[snapname]['description'] != params['description'].rstrip('\n'):
                steps.append(('describe', snapname))
        if params.get('retention') is not None:
            if params['retention'] < 1:
                raise PveError('retention: keep at least 1 snapshot (got {0})'.format(params['retention']))
            for name in retention_victims(snaps, params['prefix'], params['retention'], snapname):
                steps.append(('delete', name))
    elif state == 'absent':
        if snapname in by_name:
            steps.append(('delete', snapname))
    elif state == 'rollback':
        if snapname not in by_name:
            raise PveError('snapname {0!r}: {1} has no such snapshot (snapshots: {2})'.format(
                snapname, describe(guest), ', '.join(sorted(by_name)) or 'none'))
        steps.append(('rollback', snapname))
    return steps


def predict(snaps, steps, params):
    """The snapshot list after the steps, for check mode."""
    after = [dict(s) for s in snaps]
    for action, name in steps:
        if action == 'create':
            after.append(dict(name=name, description=(params.get('description') or '').rstrip('\n'),
                              snaptime=None, vmstate=bool(params.get('vmstate')), parent=None))
        elif action == 'delete':
            after = [s for s in after if s['name'] != name]
        elif action == 'describe':
            for snap in after:
                if snap['name'] == name:
                    snap['description'] = params['description'].rstrip('\n')
    return after


def apply(client, guest, steps, params, timeout):
    """Run the steps in order, waiting for each task; returns the task UPIDs."""
    upids = []
    if steps:
        require_unlocked(guest, 'change the snapshots of')
    for action, name in steps:
        if action == 'create':
            body = dict(snapname=name, description=params.get('description'))
            if guest['type'] == 'qemu' and params.get('vmstate'):
                body['vmstate'] = 1
            upid = client.post(guest_path(guest, 'snapshot'), **body)
        elif action == 'describe':
            client.put(guest_path(guest, 'snapshot', name, 'config'), description=params['description'])
            continue
        elif action == 'delete':
            upid = client.delete(guest_path(guest, 'snapshot', name))
        else:
            upid = client.post(guest_path(guest, 'snapshot', name, 'rollback'),
                               start=1 if params.get('start') else None)
        wait_for_task(client, upid, timeout)
        upids.append(upid)
    return upids
