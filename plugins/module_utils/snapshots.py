# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Guest snapshots: read them, plan what ``state`` asks for (with retention), apply the plan.

``plan_snapshots`` is pure: its steps are ``create``, ``describe``, ``delete`` and ``rollback``
(each names its snapshot in ``key``), and the plan also says what the snapshot list and the
guest's ``current`` snapshot will be after the run, as PVE re-parents them (so check mode
shows what the run will leave). ``apply_snapshots`` is the only code that writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, guest_path
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step, flat
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe, require_unlocked, select_guest

# PVE's names that are not snapshots ('current' is the "You are here!" entry of the list).
RESERVED = ('current', 'pending', 'vzdump')
# PVE's pve-configid format, which snapshot names follow.
SNAPNAME = re.compile(r'^[a-z][a-z0-9_]+$', re.IGNORECASE)


class SnapshotSpec:
    """What the task asks for, validated without a request."""

    def __init__(self, vmid, name, state, snapname, description, vmstate, retention, prefix, start):
        self.vmid = vmid
        self.name = name
        self.state = state
        self.snapname = snapname
        self.description = description.rstrip('\n') if description is not None else None
        self.vmstate = vmstate
        self.retention = retention
        self.prefix = prefix
        self.start = start

    @classmethod
    def from_params(cls, params):
        snapname = params.get('snapname')
        state = params.get('state') or 'present'
        if snapname is not None and snapname.lower() in RESERVED:
            raise PveError('snapname {0!r} is a name PVE reserves ({1})'.format(snapname, ', '.join(RESERVED)))
        if snapname is not None and not SNAPNAME.match(snapname):
            raise PveError('snapname {0!r}: a snapshot name is a letter, then letters, digits or _ '
                           '(two characters at least)'.format(snapname))
        if params.get('retention') is not None:
            if state != 'present':
                raise PveError('retention: only used with state=present (got state={0})'.format(state))
            if params['retention'] < 1:
                raise PveError('retention: keep at least 1 snapshot (got {0})'.format(params['retention']))
        return cls(params.get('vmid'), params.get('name'), state, snapname, params.get('description'),
                   bool(params.get('vmstate')), params.get('retention'), params.get('prefix'), bool(params.get('start')))


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


def read_current(client, spec):
    """The guest (one cluster/resources request) and its snapshots (one more): (guest, snapshots, current)."""
    guest = select_guest(ClusterView.read(client), spec.vmid, spec.name)
    snaps, current = read_snapshots(client, guest)
    return guest, snaps, current


def retention_victims(snaps, prefix, keep, new_name=None):
    """Names of the snapshots starting with prefix beyond the newest ``keep`` (a new one counts as newest)."""
    matching = [s for s in snaps if s['name'].startswith(prefix)]
    matching.sort(key=lambda s: (s['snaptime'], s['name']), reverse=True)
    names = [s['name'] for s in matching]
    if new_name is not None and new_name.startswith(prefix) and new_name not in names:
        names.insert(0, new_name)
    return sorted(names[keep:])


class SnapshotPlan(Plan):
    """The steps for one guest's snapshots, and the list and ``current`` they leave (``snapshots``, ``current``)."""

    def __init__(self, guest, snaps, current):
        super(SnapshotPlan, self).__init__('snapshots of {0}'.format(describe(guest)))
        self.guest = guest
        self.snapshots = [dict(s) for s in snaps]
        self.current = current
        self._names_before = [s['name'] for s in snaps]
        self._current_before = current

    @property
    def created(self):
        return [s.key for s in self.steps if s.action == 'create']

    @property
    def removed(self):
        return [s.key for s in self.steps if s.action == 'delete']

    def take(self, name, description, vmstate):
        text = 'take snapshot {0}{1}'.format(name, ' with the RAM state' if vmstate else '')
        self.add(Step('create', name, text=text, data=dict(description=description, vmstate=vmstate)))
        self.snapshots.append(dict(name=name, description=description or '', snaptime=None, vmstate=vmstate,
                                   parent=self.current))
        self.current = name
        self._show_list()

    def describe_snapshot(self, name, before, after):
        text = 'set the description of snapshot {0}: {1} -> {2}'.format(name, flat(before) or '(none)', flat(after))
        key = 'description of {0}'.format(name)
        self.add(Step('describe', name, before, after, text=text, data=dict(description=after)),
                 before={key: before}, after={key: after})
        for snap in self.snapshots:
            if snap['name'] == name:
                snap['description'] = after
        self._show_list()

    def delete(self, name, why=''):
        self.add(Step('delete', name, text='remove snapshot {0}{1}'.format(name, why)))
        # As PVE does: what was taken on top of the removed snapshot now derives from its parent.
        gone = [s for s in self.snapshots if s['name'] == name][0]
        self.snapshots = [s for s in self.snapshots if s['name'] != name]
        for snap in self.snapshots:
            if snap['parent'] == name:
                snap['parent'] = gone['parent']
        if self.current == name:
            self.current = gone['parent']
        self._show_list()

    def rollback(self, name, start):
        text = 'roll back {0} to snapshot {1}{2}'.format(describe(self.guest), name, ', then start it' if start else '')
        self.add(Step('rollback', name, text=text, data=dict(start=start)),
                 before={'current': self._current_before}, after={'current': name})
        self.current = name
        self._show_list()

    def _show_list(self):
        """The diff shows the snapshot names before and after whatever the steps do."""
        self.before['snapshots'] = self._names_before
        self.after['snapshots'] = [s['name'] for s in self.snapshots]


def plan_snapshots(spec, guest, snaps, current):
    """The plan that brings the guest's snapshots to what the spec asks for (pure: no request).

    Everything that can be refused is refused here, before any write: a snapshot name the guest
    does not have for a rollback, RAM state for a container, a config lock held by another job.
    """
    plan = SnapshotPlan(guest, snaps, current)
    by_name = dict((s['name'], s) for s in snaps)
    name = spec.snapname
    if spec.state == 'present':
        if spec.vmstate and guest['type'] != 'qemu':
            raise PveError('vmstate: {0} is a container; only VMs save their RAM state'.format(describe(guest)))
        if name is not None:
            if name not in by_name:
                # PVE saves the RAM only of a running VM; a stopped one gets a snapshot without it.
                plan.take(name, spec.description, spec.vmstate and guest['status'] == 'running')
            elif spec.description is not None and by_name[name]['description'] != spec.description:
                plan.describe_snapshot(name, by_name[name]['description'], spec.description)
        if spec.retention is not None:
            why = ' (retention: the newest {0} {1}* are kept)'.format(spec.retention, spec.prefix)
            for victim in retention_victims(snaps, spec.prefix, spec.retention, name):
                plan.delete(victim, why)
    elif spec.state == 'absent':
        if name in by_name:
            plan.delete(name)
    elif spec.state == 'rollback':
        if name not in by_name:
            raise PveError('snapname {0!r}: {1} has no such snapshot (snapshots: {2})'.format(
                name, describe(guest), ', '.join(sorted(by_name)) or 'none'))
        plan.rollback(name, spec.start)
    if plan.changed:
        require_unlocked(guest, 'change the snapshots of')
    return plan


def apply_snapshots(run, plan):
    """Run the steps in order, waiting for each task."""
    client, guest = run.client, plan.guest
    for step in plan.steps:
        name = step.key
        if step.action == 'create':
            body = dict(snapname=name, description=step.data['description'])
            if step.data['vmstate']:
                body['vmstate'] = 1
            run.wait(client.post(guest_path(guest, 'snapshot'), **body))
        elif step.action == 'describe':
            client.put(guest_path(guest, 'snapshot', name, 'config'), description=step.data['description'])
        elif step.action == 'delete':
            run.wait(client.delete(guest_path(guest, 'snapshot', name)))
        elif step.action == 'rollback':
            run.wait(client.post(guest_path(guest, 'snapshot', name, 'rollback'),
                                 start=1 if step.data['start'] else None))
