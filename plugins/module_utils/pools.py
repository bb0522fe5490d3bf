# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Resource pools: spec -> read -> plan -> apply.

Follows pve-manager's PVE/API2/Pool.pm: a pool has a comment, guests and storages as members, and
may be nested three levels deep (``parent/child``, the parent existing first). A guest belongs to
one pool at most: PVE moves it from another pool only with ``allow-move``. Members are added and
removed with PUT /pools (``delete=1`` to remove); a pool is deleted only when empty and without
child pools. Guests are named by vmid or by name and found cluster-wide (cluster/resources).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.access import no_such, text_value
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe

POOL_LEVEL = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]*$')


def check_poolid(poolid):
    """AccessControl.pm verify_poolname and Pool.pm's create: up to 3 levels, each starting with a letter."""
    levels = str(poolid or '').split('/')
    if len(levels) > 3:
        raise PveError('poolid: {0!r} is nested too deeply (PVE allows 3 levels)'.format(poolid))
    if not all(POOL_LEVEL.match(level) for level in levels):
        raise PveError('poolid: {0!r} is not a PVE pool name (each level a letter, then letters, digits, ., - or _)'
                       .format(poolid))
    return poolid


class PoolSpec:
    """A pool as the task wants it; ``guests`` holds the vms option's items (vmids and names) unresolved."""

    def __init__(self, poolid, state, comment, guests, storages, exclusive, allow_move):
        self.poolid = poolid
        self.state = state
        self.comment = comment
        self.guests = guests
        self.storages = storages
        self.exclusive = exclusive
        self.allow_move = allow_move

    @classmethod
    def from_params(cls, params):
        poolid = check_poolid(params['poolid'])
        guests = None
        if params.get('vms') is not None:
            guests = []
            for item in params['vms']:
                text = str(item).strip()
                if not text:
                    raise PveError('vms: an empty item; give vmids or guest names')
                guests.append(int(text) if text.isdigit() else text)
        storages = None
        if params.get('storage') is not None:
            storages = frozenset(str(s).strip() for s in params['storage'] if str(s).strip())
        exclusive = bool(params.get('exclusive'))
        if exclusive and guests is None and storages is None:
            raise PveError('exclusive: give vms and/or storage, the members to keep (an empty list keeps none)')
        return cls(poolid, params.get('state', 'present'), params.get('comment'), guests, storages, exclusive,
                   bool(params.get('allow_move')))


class PoolState:
    """What was read: the pool ids, this pool's comment and members, the cluster."""

    def __init__(self, poolids, pool, cluster):
        self.poolids = poolids
        self.pool = pool  # None: the pool does not exist
        self.cluster = cluster

    @property
    def vmids(self):
        return frozenset(int(m['vmid']) for m in (self.pool or {}).get('members') or [] if m.get('type') in
                         ('qemu', 'lxc', 'openvz') and m.get('vmid') is not None)

    @property
    def storages(self):
        return frozenset(m['storage'] for m in (self.pool or {}).get('members') or [] if m.get('type') == 'storage')

    @property
    def comment(self):
        return text_value((self.pool or {}).get('comment'))


def read_current(client, spec):
    """cluster/resources and the pool list (one request each, together), then the pool's members if it exists."""
    resources, pools = client.get_many(['cluster/resources', 'pools'])
    poolids = frozenset(p['poolid'] for p in pools or [])
    pool = None
    if spec.poolid in poolids:
        found = client.get('pools', poolid=spec.poolid) or []
        pool = found[0] if isinstance(found, list) and found else (found or {})
    return PoolState(poolids, pool, ClusterView(resources or []))


def resolve_guests(spec, cluster):
    """The guests the vms option names, by vmid or name, cluster-wide."""
    found = []
    for item in spec.guests or []:
        if isinstance(item, int):
            guest = cluster.find_guest(vmid=item)
            if guest is None:
                raise PveError('vms: no guest with vmid {0} in the cluster'.format(item))
        else:
            try:
                guest = cluster.find_guest(name=item)
            except PveError as exc:
                raise PveError('vms: {0}'.format(exc))
            if guest is None:
                raise no_such('guest', 'vms', item, set(g['name'] for g in cluster.guests if g.get('name')))
        found.append(guest)
    return found


def plan_pool(spec, state):
    """The plan for one pool (pure) from what read_current read."""
    plan = Plan('pool {0}'.format(spec.poolid))
    exists = state.pool is not None
    children = sorted(p for p in state.poolids if p.startswith(spec.poolid + '/'))
    if spec.state == 'absent':
        if not exists:
            return plan
        if children:
            raise PveError('poolid: pool {0!r} holds the pool(s) {1}; remove those first'.format(
                spec.poolid, ', '.join(children)))
        before = {'vms': sorted(state.vmids), 'storage': sorted(state.storages)}
        if state.comment:
            before['comment'] = state.comment
        if state.vmids or state.storages:
            plan.add(Step('leave', text='take {0} out of pool {1} (they stay as they are)'.format(
                members_text(state.vmids, state.storages), spec.poolid),
                data={'vms': state.vmids, 'storage': state.storages}))
        plan.add(Step('remove', text='remove pool {0} (its ACL entries go with it)'.format(spec.poolid)))
        plan.before = before
        return plan
    if '/' in spec.poolid and spec.poolid.rsplit('/', 1)[0] not in state.poolids:
        raise PveError('poolid: the parent pool {0!r} does not exist; make it first'.format(
            spec.poolid.rsplit('/', 1)[0]))
    guests = resolve_guests(spec, state.cluster)
    for sid in sorted(spec.storages or ()):
        if sid not in state.cluster.storages:
            raise no_such('storage', 'storage', sid, state.cluster.storages)
    wanted_comment = text_value(spec.comment)
    if not exists:
        plan.add(Step('create', text='create pool {0}'.format(spec.poolid), data={'comment': wanted_comment}),
                 after={'comment': wanted_comment} if wanted_comment else {})
    elif spec.comment is not None and wanted_comment != state.comment:
        before = {'comment': state.comment} if state.comment else {}
        after = {'comment': wanted_comment} if wanted_comment else {}
        if wanted_comment is None:
            plan.add(Step('delete', 'comment', state.comment, data={'comment': ''}), before=before)
        else:
            plan.add(Step('set', 'comment', state.comment, wanted_comment, data={'comment': wanted_comment}),
                     before=before, after=after)
    have_vms, have_storage = state.vmids, state.storages
    add_vms = sorted(set(g['vmid'] for g in guests) - have_vms)
    moving = [g for g in guests if g['vmid'] in add_vms and g.get('pool') and g['pool'] != spec.poolid]
    if moving and not spec.allow_move:
        raise PveError('vms: {0} already in another pool ({1}); set allow_move: true to move {2} here'.format(
            ', '.join(describe(g) for g in moving), ', '.join(sorted(set(g['pool'] for g in moving))),
            'it' if len(moving) == 1 else 'them'))
    add_storage = sorted((spec.storages or frozenset()) - have_storage)
    drop_vms = sorted(have_vms - set(g['vmid'] for g in guests)) if spec.exclusive and spec.guests is not None else []
    drop_storage = sorted(have_storage - spec.storages) if spec.exclusive and spec.storages is not None else []
    if add_vms or drop_vms:
        plan.before['vms'], plan.after['vms'] = sorted(have_vms), sorted((have_vms | set(add_vms)) - set(drop_vms))
    if add_storage or drop_storage:
        plan.before['storage'] = sorted(have_storage)
        plan.after['storage'] = sorted((have_storage | set(add_storage)) - set(drop_storage))
    if add_vms or add_storage:
        text = 'add {0} to pool {1}'.format(members_text(add_vms, add_storage), spec.poolid)
        if moving:
            text += ' (moving {0} from {1})'.format(', '.join(str(g['vmid']) for g in moving),
                                                    ', '.join(sorted(set(g['pool'] for g in moving))))
        plan.steps.append(Step('join', text=text, data={'vms': add_vms, 'storage': add_storage,
                                                        'allow_move': bool(moving)}))
    if drop_vms or drop_storage:
        plan.steps.append(Step('leave', text='take {0} out of pool {1}'.format(
            members_text(drop_vms, drop_storage), spec.poolid), data={'vms': drop_vms, 'storage': drop_storage}))
    return plan


def members_text(vmids, storages):
    parts = []
    if vmids:
        parts.append('guest{0} {1}'.format('s' if len(vmids) > 1 else '', ', '.join(str(v) for v in sorted(vmids))))
    if storages:
        parts.append('storage{0} {1}'.format('s' if len(storages) > 1 else '', ', '.join(sorted(storages))))
    return ' and '.join(parts)


def apply_pool(run, plan):
    """POST /pools, PUT /pools (comment; members, ``delete=1`` to take them out), DELETE /pools."""
    poolid = plan.subject.split(' ', 1)[1]
    client = run.client
    for step in plan.steps:
        if step.action == 'create':
            client.post('pools', poolid=poolid, comment=step.data['comment'])
        elif step.action in ('set', 'delete'):
            client.put('pools', poolid=poolid, comment=step.data['comment'])
        elif step.action in ('join', 'leave'):
            params = {'poolid': poolid}
            if step.data['vms']:
                params['vms'] = ','.join(str(v) for v in sorted(step.data['vms']))
            if step.data['storage']:
                params['storage'] = ','.join(sorted(step.data['storage']))
            if step.action == 'leave':
                params['delete'] = 1
            elif step.data.get('allow_move'):
                params['allow-move'] = 1
            client.put('pools', **params)
        elif step.action == 'remove':
            client.delete('pools', poolid=poolid)


def public_pool(poolid, pool):
    """The pool as results show it: comment, member vmids and storages, and PVE's member list."""
    if pool is None:
        return None
    state = PoolState(frozenset(), pool, None)
    out = {'poolid': poolid, 'vms': sorted(state.vmids), 'storage': sorted(state.storages),
           'members': pool.get('members') or []}
    if state.comment:
        out['comment'] = state.comment
    return out
