"""The placement planner: invariants under hypothesis, and PVE's rules by example.

The checks here recompute what they assert from the input state (loads, storages, tag rules)
with code of their own, so a planner bug cannot hide behind the planner's own bookkeeping.
"""

import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.pve.fleet.plugins.module_utils import placement
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.placement import (
    check_options, plan_evacuation, plan_rebalance, plan_return, planned_state)

GIB = 1024 ** 3
NAMES = ['pve1', 'pve2', 'pve3', 'pve4', 'pve5']
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- an independent reading of the state ------------------------------------------------------

def tags_of(guest):
    tags = guest.get('tags') or ''
    return [t for t in tags.split(';') if t]


def is_active(guest):
    return guest.get('status') == 'running' and not guest.get('template')


def guest_weight(guest, mode, metric):
    if guest.get('template'):
        return 0
    if metric == 'memory':
        if mode == 'used':
            return guest.get('mem', 0) if is_active(guest) else 0
        return guest.get('maxmem', 0)
    if mode == 'used':
        return int(round(guest.get('cpu', 0) * guest.get('maxcpu', 0) * 1000)) if is_active(guest) else 0
    return int(round(guest.get('maxcpu', 0) * 1000))


def node_loads(state, mode, metric):
    """Each node's load in the metric: its own use (node use minus its running guests') plus its guests' weights."""
    out = {}
    for node in state['nodes']:
        here = [g for g in state['guests'] if g['node'] == node['node']]
        if metric == 'memory':
            own = max(0, node.get('mem', 0) - sum(guest_weight(g, 'used', 'memory') for g in here))
        else:
            own = max(0, int(round(node.get('cpu', 0) * node.get('maxcpu', 0) * 1000))
                      - sum(guest_weight(g, 'used', 'cpu') for g in here))
        out[node['node']] = own + sum(guest_weight(g, mode, metric) for g in here)
    return out


def capacity(node, metric):
    return node.get('maxmem', 0) if metric == 'memory' else int(round(node.get('maxcpu', 0) * 1000))


def eligible(node):
    return node.get('status') == 'online' and not node.get('maintenance') and node.get('maxmem', 0) > 0


def spread_of(state, options):
    metric, mode = options.get('metric', 'memory'), options.get('mode', 'used')
    loads = node_loads(state, mode, metric)
    shares = [loads[n['node']] * 100.0 / capacity(n, metric) for n in state['nodes']
              if eligible(n) and capacity(n, metric) > 0]
    return max(shares) - min(shares) if shares else None


def storage_ok(state, guest, target):
    for disk in guest.get('disks') or []:
        content = disk.get('content') or ('images' if guest['type'] == 'qemu' else 'rootdir')
        entries = [s for s in state['storages'] if s['node'] == target and s['storage'] == disk['storage']]
        if not entries:
            return False
        entry = entries[0]
        if not entry.get('enabled', True) or entry.get('status', 'available') != 'available':
            return False
        if entry.get('content') is not None and content not in entry['content'].split(','):
            return False
    return True


def groups(state, prefix):
    out = {}
    for guest in state['guests']:
        for tag in tags_of(guest):
            if tag.startswith(prefix):
                out.setdefault(tag, set()).add(guest['vmid'])
    return out


def applied(result, label):
    """A tag group the planner applies (it drops contradicting ones, saying so)."""
    return not any(label in w and 'contradict' in w for w in result.warnings)


def pins_of(guest):
    return [t[len('pin-'):] for t in tags_of(guest) if t.startswith('pin-')]


def replay(state, result, options):
    """Walk the moves in order against the state, asserting what each move must respect."""
    mode = options.get('mode', 'used')
    reserve = options.get('memory_reserve', 10)
    by_vmid = dict((g['vmid'], g) for g in state['guests'])
    nodes = dict((n['node'], n) for n in state['nodes'])
    where = dict((g['vmid'], g['node']) for g in state['guests'])
    mem = node_loads(state, mode, 'memory')
    apart = dict((k, v) for k, v in groups(state, 'anti-affinity-').items() if applied(result, k))
    for move in result.moves:
        guest = by_vmid[move['vmid']]
        assert where[move['vmid']] == move['source']
        target = move['target']
        assert target != move['source']
        assert eligible(nodes[target]), move
        assert storage_ok(state, guest, target), move
        w = guest_weight(guest, mode, 'memory')
        mem[move['source']] -= w
        mem[target] += w
        assert mem[target] <= nodes[target]['maxmem'] * (100 - reserve) / 100.0 + 1e-6, move
        for label, members in apart.items():
            if guest['vmid'] in members:
                others = [v for v in members if v != guest['vmid'] and where[v] == target]
                assert not others, (move, label, others)
        pins = [p for p in pins_of(guest) if p in nodes]
        if pins:
            assert target in pins, move
        if guest['type'] == 'lxc':
            assert move['mode'] in ('restart', 'offline')
        if guest.get('status') != 'running':
            assert move['mode'] == 'offline'
        else:
            assert move['mode'] == ('online' if guest['type'] == 'qemu' else 'restart')
        if move['mode'] == 'online' and move['with_local_disks']:
            assert options.get('with_local_disks')
        assert move['ha'] == bool(guest.get('hastate'))
        assert move['reason']
        where[move['vmid']] = target
    return where


def assert_rules_hold(state, result, where):
    """Valid input stays valid: affinity groups together, anti-affinity apart, pins on pin nodes."""
    for label, members in groups(state, 'affinity-').items():
        if applied(result, label):
            assert len(set(where[v] for v in members)) == 1, (label, members)
    for label, members in groups(state, 'anti-affinity-').items():
        if applied(result, label):
            assert len(set(where[v] for v in members)) == len(members), (label, members)
    names = set(n['node'] for n in state['nodes'])
    for guest in state['guests']:
        pins = [p for p in pins_of(guest) if p in names]
        if pins:
            assert where[guest['vmid']] in pins


# -- states ------------------------------------------------------------------------------------

@st.composite
def states(draw, max_nodes=5, max_guests=24, ha_rules=True):
    names = NAMES[:min(max_nodes, draw(st.sampled_from([3, 4, 5, 2, 1])))]
    nodes, storages = [], []
    for name in names:
        nodes.append(dict(node=name, status=draw(st.sampled_from(['online'] * 9 + ['offline'])),
                          maintenance=draw(st.sampled_from([False] * 9 + [True])),
                          maxmem=draw(st.sampled_from([8, 16, 32])) * GIB, mem=draw(st.integers(0, 3)) * GIB,
                          maxcpu=draw(st.sampled_from([4, 8, 4, 8, 0])), cpu=draw(st.sampled_from([0, 0.05]))))
        storages.append(dict(node=name, storage='local', shared=0, content='images,rootdir'))
        if draw(st.sampled_from([True] * 6 + [False])):
            storages.append(dict(node=name, storage='ceph', shared=1, content='images,rootdir',
                                 enabled=draw(st.sampled_from([True] * 6 + [False]))))
        if draw(st.booleans()):
            storages.append(dict(node=name, storage='nfs', shared=1,
                                 content=draw(st.sampled_from(['images', 'images,rootdir', 'iso']))))
    guests = []
    vmids = draw(st.lists(st.integers(100, 140), unique=True, max_size=max_guests))
    crowded = names[:1] * 2 + names  # skewed on purpose: more to balance
    for vmid in vmids:
        node = draw(st.sampled_from(crowded))
        kind = draw(st.sampled_from(['qemu', 'qemu', 'lxc']))
        running = draw(st.sampled_from([True, True, True, False]))
        maxmem = draw(st.sampled_from([1, 2, 4, 6])) * GIB
        here = sorted(s['storage'] for s in storages if s['node'] == node)
        disks = [dict(storage=s, key='disk{0}'.format(i)) for i, s in enumerate(draw(st.lists(
            st.sampled_from(here + ['ceph'] * 3 if 'ceph' in here else here), max_size=2)))]
        tags = [draw(st.sampled_from(['', '', 'affinity-a', 'affinity-b'])),
                draw(st.sampled_from(['', '', '', 'anti-affinity-x', 'anti-affinity-y'])),
                draw(st.sampled_from([''] * 3 * len(names) + ['pin-' + n for n in names] + ['pin-pve9'])),
                draw(st.sampled_from([''] * 9 + ['no-balance']))]
        guest = dict(vmid=vmid, name='g{0}'.format(vmid), type=kind, node=node,
                     status='running' if running else 'stopped', maxmem=maxmem,
                     mem=draw(st.integers(0, maxmem // GIB)) * GIB if running else 0,
                     maxcpu=draw(st.sampled_from([1, 2])), cpu=draw(st.sampled_from([0, 0.25, 0.5])) if running else 0,
                     tags=';'.join(t for t in tags if t), template=draw(st.sampled_from([0] * 12 + [1])), disks=disks)
        if draw(st.sampled_from([False] * 5 + [True])):
            guest['hastate'] = 'started'
        guests.append(guest)
    for node in nodes:
        node['mem'] += sum(g['mem'] for g in guests if g['node'] == node['node'] and is_active(g))
    rules = []
    if ha_rules and vmids and draw(st.booleans()):
        for i in range(draw(st.integers(1, 3))):
            chosen = draw(st.lists(st.sampled_from(vmids), unique=True, min_size=1, max_size=3))
            resources = ','.join('vm:{0}'.format(v) for v in chosen)
            if draw(st.booleans()):
                rules.append({'rule': 'n{0}'.format(i), 'type': 'node-affinity', 'resources': resources,
                              'nodes': ','.join('{0}:{1}'.format(n, draw(st.integers(0, 2))) for n in draw(
                                  st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3))),
                              'strict': draw(st.sampled_from([0, 1]))})
            else:
                rules.append({'rule': 'r{0}'.format(i), 'type': 'resource-affinity', 'resources': resources,
                              'affinity': draw(st.sampled_from(['positive', 'negative']))})
    return dict(nodes=nodes, storages=storages, guests=guests, ha_rules=rules)


def make_valid(state):
    """Move guests (and drop tags) until every tag rule holds, as a cluster that follows its rules would."""
    names = [n['node'] for n in state['nodes']]
    placed = {}
    for guest in sorted(state['guests'], key=lambda g: g['vmid']):
        tags = tags_of(guest)
        pins = [p for p in pins_of(guest) if p in names]
        allowed = pins or names
        for tag in [t for t in tags if t.startswith('affinity-')]:
            if tag in placed:
                if placed[tag] in allowed:
                    allowed = [placed[tag]]
                else:
                    tags.remove(tag)
        guest['tags'] = ';'.join(tags)
        guest['node'] = allowed[0] if guest['node'] not in allowed else guest['node']
        for tag in [t for t in tags if t.startswith('affinity-')]:
            placed.setdefault(tag, guest['node'])
    # Anti-affinity: keep a tag only where no other member runs on that node (and not in a shared affinity group).
    seen = {}
    for guest in sorted(state['guests'], key=lambda g: g['vmid']):
        tags = tags_of(guest)
        for tag in [t for t in tags if t.startswith('anti-affinity-')]:
            if guest['node'] in seen.setdefault(tag, set()):
                tags.remove(tag)
            else:
                seen[tag].add(guest['node'])
        guest['tags'] = ';'.join(tags)
    for guest in state['guests']:  # volumes only where the guest's own node can hold them
        guest['disks'] = [d for d in guest['disks'] if storage_ok(state, dict(guest, disks=[d]), guest['node'])]
    for node in state['nodes']:
        node['mem'] = node['mem'] % GIB + sum(g['mem'] for g in state['guests']
                                              if g['node'] == node['node'] and is_active(g))
    state['ha_rules'] = []
    return state


valid_states = states(ha_rules=False).map(make_valid)
option_sets = st.fixed_dictionaries({}, optional={
    'metric': st.sampled_from(['memory', 'cpu']), 'mode': st.sampled_from(['used', 'assigned']),
    'memory_reserve': st.sampled_from([0, 10, 25]), 'balanciness': st.sampled_from([0, 5, 10, 30]),
    'with_local_disks': st.booleans(), 'max_moves': st.sampled_from([None, 1, 3, 50])})


# -- properties --------------------------------------------------------------------------------

@PROPERTY
@given(states(), option_sets, st.data())
def test_evacuation_moves_or_explains_every_guest(state, options, data):
    node = data.draw(st.sampled_from([n['node'] for n in state['nodes']]))
    before = copy.deepcopy(state)
    result = plan_evacuation(state, node, options=options)
    assert state == before  # pure: the input is not touched
    replay(state, result, options)
    on_node = set(g['vmid'] for g in state['guests'] if g['node'] == node)
    moved = set(m['vmid'] for m in result.moves)
    blocked = set(b['vmid'] for b in result.blocked)
    assert moved | blocked == on_node and not moved & blocked
    assert all(m['source'] == node and m['target'] != node for m in result.moves)
    assert all(b['reason'] for b in result.blocked)
    assert all(m['wave'] == 1 for m in result.moves)
    assert plan_evacuation(state, node, options=options).to_result() == result.to_result()


@PROPERTY
@given(states(), option_sets)
def test_rebalance_respects_everything_and_never_raises_the_spread(state, options):
    result = plan_rebalance(state, options)
    replay(state, result, options)
    by_vmid = dict((g['vmid'], g) for g in state['guests'])
    for move in result.moves:
        guest = by_vmid[move['vmid']]
        assert not guest.get('template') and 'no-balance' not in tags_of(guest)
    after = planned_state(state, result)
    spread_before, spread_after = spread_of(state, options), spread_of(after, options)
    if spread_before is not None:
        assert spread_after <= spread_before + 1e-9
        assert abs(result.spread['before'] - spread_before) < 0.01
        assert abs(result.spread['after'] - spread_after) < 0.01
    if options.get('max_moves') is not None:
        assert len(result.moves) <= options['max_moves']
    if not result.truncated:
        assert plan_rebalance(after, options).moves == []


@PROPERTY
@given(states(ha_rules=False), option_sets)
def test_each_rebalance_step_lowers_the_spread_or_its_ties(state, options):
    result = plan_rebalance(state, options)
    current = state
    last = spread_of(state, options)
    steps = {}
    for move in result.moves:  # a group moves as one step: its members share source, target and reason
        steps.setdefault((move['reason'], move['source'], move['target']), []).append(move)
    done = []
    for key in sorted(steps, key=lambda k: min(result.moves.index(m) for m in steps[k])):
        done.extend(steps[key])
        partial = placement.Placement('rebalance', check_options(options))
        partial.moves = list(done)
        current = planned_state(state, partial)
        now = spread_of(current, options)
        assert now <= last + 1e-9
        last = now


@PROPERTY
@given(valid_states, option_sets, st.data())
def test_valid_clusters_stay_valid_and_evacuated_guests_can_return(state, options, data):
    rebalanced = plan_rebalance(state, options)
    assert_rules_hold(state, rebalanced, replay(state, rebalanced, options))

    node = data.draw(st.sampled_from([n['node'] for n in state['nodes']]))
    evacuated = plan_evacuation(state, node, options=options)
    where = replay(state, evacuated, options)
    assert_rules_hold(state, evacuated, where)

    after = planned_state(state, evacuated)
    origins = dict((m['vmid'], m['source']) for m in evacuated.moves)
    back = plan_return(after, origins, options)
    replay(after, back, options)
    assert set(m['vmid'] for m in back.moves) | set(b['vmid'] for b in back.blocked) == set(origins)
    source = [n for n in state['nodes'] if n['node'] == node][0]
    limit = source['maxmem'] * (100 - options.get('memory_reserve', 10)) / 100.0
    if eligible(source) and node_loads(state, options.get('mode', 'used'), 'memory')[node] <= limit:
        assert sorted(m['vmid'] for m in back.moves) == sorted(origins), back.blocked
        assert all(m['target'] == node for m in back.moves)


@PROPERTY
@given(states(), option_sets, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_input_order(state, options, rng):
    shuffled = copy.deepcopy(state)
    for key in ('nodes', 'storages', 'guests', 'ha_rules'):
        rng.shuffle(shuffled[key])
    assert plan_rebalance(shuffled, options).to_result() == plan_rebalance(state, options).to_result()


# -- storage, modes, capacity ------------------------------------------------------------------

def cluster(guests, nodes=3, mem=None, storages=None, ha_rules=None):
    names = ['pve{0}'.format(i + 1) for i in range(nodes)]
    state = dict(nodes=[dict(node=n, status='online', maxmem=64 * GIB, mem=(mem or {}).get(n, 2 * GIB), maxcpu=16,
                             cpu=0.0) for n in names],
                 storages=storages if storages is not None else
                 [dict(node=n, storage=s, shared=int(s == 'ceph'), content='images,rootdir')
                  for n in names for s in ('local-lvm', 'ceph')],
                 guests=[], ha_rules=ha_rules or [])
    for vmid, spec in sorted(guests.items()):
        guest = dict(vmid=vmid, name='g{0}'.format(vmid), type='qemu', node='pve1', status='running',
                     maxmem=4 * GIB, mem=2 * GIB, maxcpu=2, cpu=0.1, tags='', disks=[dict(key='scsi0', storage='ceph')])
        guest.update(spec)
        state['guests'].append(guest)
    for node in state['nodes']:
        node['mem'] += sum(g['mem'] for g in state['guests'] if g['node'] == node['node'] and is_active(g))
    return state


def moves_of(result):
    return dict((m['vmid'], m) for m in result.moves)


def blocked_of(result):
    return dict((b['vmid'], b['reason']) for b in result.blocked)


def test_node_local_disks_go_only_where_that_storage_is():
    storages = [dict(node='pve1', storage='zfs', shared=0), dict(node='pve3', storage='zfs', shared=0),
                dict(node='pve2', storage='ceph', shared=1), dict(node='pve3', storage='ceph', shared=1),
                dict(node='pve1', storage='ceph', shared=1)]
    state = cluster({100: dict(status='stopped', mem=0, disks=[dict(key='scsi0', storage='zfs')])},
                    mem={'pve3': 40 * GIB}, storages=storages)
    move = moves_of(plan_evacuation(state, 'pve1'))[100]
    assert move['target'] == 'pve3'  # pve2 is emptier but has no zfs
    assert move['mode'] == 'offline' and move['with_local_disks'] and move['local_storages'] == ['zfs']


def test_a_running_vm_with_local_disks_moves_live_only_with_with_local_disks():
    state = cluster({100: dict(disks=[dict(key='scsi0', storage='local-lvm')])})
    reason = blocked_of(plan_evacuation(state, 'pve1'))[100]
    assert 'with_local_disks' in reason and 'scsi0 on local-lvm' in reason
    move = moves_of(plan_evacuation(state, 'pve1', options=dict(with_local_disks=True)))[100]
    assert move['mode'] == 'online' and move['with_local_disks']


def test_containers_restart_and_stopped_guests_move_offline():
    state = cluster({100: dict(type='lxc'), 101: dict(type='lxc', status='stopped', mem=0),
                     102: dict(status='stopped', mem=0), 103: dict()})
    modes = dict((v, m['mode']) for v, m in moves_of(plan_evacuation(state, 'pve1')).items())
    assert modes == {100: 'restart', 101: 'offline', 102: 'offline', 103: 'online'}


def test_a_disabled_or_missing_shared_storage_rules_a_node_out():
    storages = [dict(node='pve1', storage='ceph', shared=1), dict(node='pve2', storage='ceph', shared=1, enabled=False),
                dict(node='pve3', storage='nfs', shared=1)]
    state = cluster({100: dict()}, storages=storages)
    reason = blocked_of(plan_evacuation(state, 'pve1'))[100]
    assert reason.startswith('no node can take it') and 'pve2, pve3: no usable storage ceph' in reason


def test_content_type_must_match():
    storages = [dict(node=n, storage='nfs', shared=1, content='images' if n != 'pve1' else 'images,rootdir')
                for n in ('pve1', 'pve2', 'pve3')]
    state = cluster({100: dict(type='lxc', disks=[dict(key='rootfs', storage='nfs')])}, storages=storages)
    assert 'for rootdir' in blocked_of(plan_evacuation(state, 'pve1'))[100]


def test_locks_devices_and_local_cdroms_block():
    state = cluster({100: dict(lock='backup'), 101: dict(local_resources=['hostpci0']),
                     102: dict(disks=[dict(key='ide2', storage='local-lvm', cdrom=True)])})
    blocked = blocked_of(plan_evacuation(state, 'pve1', options=dict(with_local_disks=True)))
    assert 'locked (backup)' in blocked[100]
    assert 'hostpci0' in blocked[101]
    assert 'CD-ROM ide2' in blocked[102]


def test_memory_reserve_is_never_crossed():
    state = cluster({100: dict(mem=20 * GIB, maxmem=24 * GIB)}, nodes=2, mem={'pve2': 40 * GIB})
    assert 'not enough memory above the 10 % reserve' in blocked_of(plan_evacuation(state, 'pve1'))[100]
    assert moves_of(plan_evacuation(state, 'pve1', options=dict(memory_reserve=5)))[100]['target'] == 'pve2'


def test_assigned_mode_counts_stopped_guests_at_their_size():
    state = cluster({100: dict(status='stopped', mem=0, maxmem=30 * GIB)}, nodes=2, mem={'pve2': 30 * GIB})
    assert 100 in moves_of(plan_evacuation(state, 'pve1'))
    assert 100 in blocked_of(plan_evacuation(state, 'pve1', options=dict(mode='assigned')))


def test_stopped_guests_spread_out_by_their_size_in_used_mode():
    state = cluster(dict((v, dict(status='stopped', mem=0)) for v in range(100, 106)), nodes=4)
    targets = [m['target'] for m in plan_evacuation(state, 'pve1').moves]
    assert sorted(set(targets)) == ['pve2', 'pve3', 'pve4']


# -- tag rules ---------------------------------------------------------------------------------

def test_an_affinity_group_moves_to_one_target_even_when_only_one_is_selected():
    state = cluster({100: dict(tags='affinity-db'), 101: dict(tags='affinity-db'), 102: dict()})
    result = plan_evacuation(state, 'pve1', selection=[100])
    moves = moves_of(result)
    assert sorted(moves) == [100, 101] and moves[100]['target'] == moves[101]['target']
    assert moves[101]['group'] == 'affinity-db' and 'moves together with 100' in moves[101]['reason']


def test_an_affinity_group_member_joins_the_rest_of_its_group():
    state = cluster({100: dict(tags='affinity-db'), 101: dict(tags='affinity-db', node='pve3'),
                     102: dict(tags='affinity-db', node='pve3')}, mem={'pve3': 40 * GIB})
    move = moves_of(plan_evacuation(state, 'pve1'))[100]
    assert move['target'] == 'pve3' and 'joins the rest of affinity-db' in move['reason']


def test_anti_affinity_keeps_apart_and_says_why_when_it_cannot():
    state = cluster({100: dict(tags='anti-affinity-web'), 101: dict(tags='anti-affinity-web', node='pve2'),
                     102: dict(tags='anti-affinity-web', node='pve3')})
    reason = blocked_of(plan_evacuation(state, 'pve1'))[100]
    assert 'pve2, pve3: a member of anti-affinity-web runs there' in reason


def test_pins_limit_targets():
    state = cluster({100: dict(tags='pin-pve1;pin-pve3'), 101: dict(tags='pin-pve1')}, mem={'pve3': 30 * GIB})
    result = plan_evacuation(state, 'pve1')
    assert moves_of(result)[100]['target'] == 'pve3'
    assert 'pinned to pve1' in blocked_of(result)[101]


def test_unknown_pin_nodes_and_contradicting_groups_are_warned_about():
    state = cluster({100: dict(tags='pin-pve9'), 101: dict(tags='affinity-a;anti-affinity-b'),
                     102: dict(tags='affinity-a;anti-affinity-b')})
    result = plan_evacuation(state, 'pve1')
    assert any('pin-pve9 names no node' in w for w in result.warnings)
    assert any('affinity-a and anti-affinity-b contradict' in w for w in result.warnings)
    assert 'pinned to no node' in blocked_of(result)[100]
    assert moves_of(result)[101]['group'] is None


def test_no_balance_is_kept_by_rebalance_but_evacuated():
    state = cluster(dict((v, dict(tags='no-balance' if v == 100 else '', mem=8 * GIB)) for v in range(100, 106)))
    assert 'no-balance' in blocked_of(plan_rebalance(state))[100]
    assert 100 in moves_of(plan_evacuation(state, 'pve1'))


def test_rebalance_leaves_templates_and_says_why():
    state = cluster({100: dict(template=1, status='stopped', mem=0), 101: dict(mem=30 * GIB, maxmem=32 * GIB)})
    result = plan_rebalance(state)
    assert 'template' in blocked_of(result)[100] and 'cannot change the balance' in blocked_of(result)[100]
    assert 101 in moves_of(plan_evacuation(state, 'pve1'))


# -- PVE 9 HA rules ------------------------------------------------------------------------------

def test_strict_node_affinity_limits_targets():
    rules = [dict(rule='db-on-3', type='node-affinity', resources='vm:100', nodes='pve1,pve3', strict=1)]
    state = cluster({100: dict(hastate='started')}, mem={'pve3': 40 * GIB}, ha_rules=rules)
    move = moves_of(plan_evacuation(state, 'pve1'))[100]
    assert move['target'] == 'pve3' and move['ha'] and 'through HA' in move['reason']


def test_non_strict_node_affinity_prefers_the_highest_priority_then_falls_back():
    rules = [dict(rule='pref', type='node-affinity', resources='vm:100', nodes='pve1:3,pve3:2,pve2:1')]
    state = cluster({100: dict(mem=20 * GIB, maxmem=20 * GIB)}, nodes=4, mem={'pve3': 30 * GIB}, ha_rules=rules)
    assert moves_of(plan_evacuation(state, 'pve1'))[100]['target'] == 'pve3'
    state['nodes'][2]['maintenance'] = True
    assert moves_of(plan_evacuation(state, 'pve1'))[100]['target'] == 'pve2'
    state['nodes'][1]['status'] = 'offline'
    assert moves_of(plan_evacuation(state, 'pve1'))[100]['target'] == 'pve4'


def test_positive_resource_affinity_moves_the_group_to_one_node():
    rules = [dict(rule='pair', type='resource-affinity', affinity='positive', resources='vm:100,ct:101')]
    state = cluster({100: dict(), 101: dict(type='lxc')}, ha_rules=rules)
    moves = moves_of(plan_evacuation(state, 'pve1'))
    assert moves[100]['target'] == moves[101]['target'] and moves[100]['group'] == "HA rule 'pair'"


def test_negative_resource_affinity_keeps_apart():
    rules = [dict(rule='apart', type='resource-affinity', affinity='negative', resources='vm:100,vm:101')]
    state = cluster({100: dict(), 101: dict(node='pve2')}, ha_rules=rules, mem={'pve3': 40 * GIB})
    assert moves_of(plan_evacuation(state, 'pve1'))[100]['target'] == 'pve3'


def test_a_positive_group_inherits_its_members_negative_rules():
    rules = [dict(rule='pair', type='resource-affinity', affinity='positive', resources='vm:100,vm:101'),
             dict(rule='apart', type='resource-affinity', affinity='negative', resources='vm:101,vm:102')]
    state = cluster({100: dict(), 101: dict(), 102: dict(node='pve2')}, ha_rules=rules, mem={'pve3': 40 * GIB})
    moves = moves_of(plan_evacuation(state, 'pve1'))
    assert moves[100]['target'] == moves[101]['target'] == 'pve3'


def test_rules_pve_drops_are_dropped_with_a_warning():
    rules = [dict(rule='a', type='node-affinity', resources='vm:100', nodes='pve3', strict=1),
             dict(rule='b', type='node-affinity', resources='vm:100,vm:101', nodes='pve2', strict=1),
             dict(rule='off', type='node-affinity', resources='vm:102', nodes='pve3', strict=1, disable=1),
             dict(rule='lonely', type='resource-affinity', affinity='negative', resources='vm:103'),
             dict(rule='both+', type='resource-affinity', affinity='positive', resources='vm:104,vm:105'),
             dict(rule='both-', type='resource-affinity', affinity='negative', resources='vm:104,vm:105')]
    state = cluster(dict((v, dict()) for v in range(100, 106)), ha_rules=rules)
    result = plan_evacuation(state, 'pve1')
    dropped = sorted(w.split("'")[1] for w in result.warnings if "is not applied, as PVE's HA manager" in w)
    assert dropped == ['a', 'b', 'both+', 'both-', 'lonely']
    assert 'off' not in ' '.join(result.warnings)
    assert len(moves_of(result)) == 6


def test_pves_own_rule_errors_and_the_read_ha_rules_shape_are_understood():
    rules = [dict(rule='bad', type='node-affinity', resources=['vm:100'], nodes={'pve3': 0}, strict=True,
                  errors={'resources': ["resource 'vm:100' is already used in another node affinity rule"]}),
             dict(rule='good', type='node-affinity', resources=['vm:101'], nodes={'pve2': 1, 'pve3': 2},
                  strict=True, disabled=False),
             dict(rule='off', type='node-affinity', resources=['vm:102'], nodes={'pve3': 0}, strict=True,
                  disabled=True)]
    state = cluster({100: dict(), 101: dict(), 102: dict()}, mem={'pve3': 40 * GIB}, ha_rules=rules)
    result = plan_evacuation(state, 'pve1')
    assert result.warnings == ["HA rule 'bad' is not applied, as PVE's HA manager drops it: resource 'vm:100' "
                               "is already used in another node affinity rule"]
    moves = moves_of(result)
    assert moves[100]['target'] == 'pve2' and moves[101]['target'] == 'pve3' and moves[102]['target'] == 'pve2'


def test_rebalance_never_moves_an_ha_guest_to_a_lower_priority_node():
    rules = [dict(rule='pref', type='node-affinity', resources='vm:100', nodes='pve1:2,pve2:2,pve3:1')]
    state = cluster({100: dict(mem=20 * GIB, maxmem=20 * GIB), 101: dict(mem=20 * GIB, maxmem=20 * GIB)},
                    mem={'pve2': 20 * GIB}, ha_rules=rules)
    moves = moves_of(plan_rebalance(state))
    assert 100 not in moves or moves[100]['target'] == 'pve2'
    assert moves[101]['target'] == 'pve3'


# -- evacuation, return, rebalance details ----------------------------------------------------------

def test_an_offline_node_cannot_be_evacuated_and_offline_or_maintenance_nodes_take_nothing():
    state = cluster({100: dict()})
    state['nodes'][0]['status'] = 'offline'
    assert 'offline' in blocked_of(plan_evacuation(state, 'pve1'))[100]
    state = cluster({100: dict()})
    state['nodes'][1]['status'] = 'offline'
    state['nodes'][2]['maintenance'] = True
    assert blocked_of(plan_evacuation(state, 'pve1'))[100] == 'no other node is online and out of maintenance'


def test_selection_errors_and_guests_elsewhere():
    state = cluster({100: dict(), 101: dict(node='pve2')})
    with pytest.raises(PveError, match='selection: no guest 999'):
        plan_evacuation(state, 'pve1', selection=[999])
    with pytest.raises(PveError, match='node: pve7 is not a node'):
        plan_evacuation(state, 'pve7')
    result = plan_evacuation(state, 'pve1', selection=['100', 101])
    assert list(moves_of(result)) == [100]
    assert result.skipped == [dict(vmid=101, name='g101', node='pve2', reason='not on pve1: nothing to evacuate')]


def test_return_brings_guests_home_or_says_why_not():
    state = cluster({100: dict(node='pve2'), 101: dict(node='pve3', lock='migrate'), 102: dict(node='pve2')})
    result = plan_return(state, [dict(vmid=100, node='pve1'), dict(vmid=101, node='pve1'),
                                 dict(vmid=102, node='pve2'), dict(vmid=103, node='pve1')])
    assert moves_of(result)[100]['target'] == 'pve1'
    blocked = blocked_of(result)
    assert 'locked (migrate)' in blocked[101] and 'no longer exists' in blocked[103]
    assert [s['vmid'] for s in result.skipped] == [102]
    state['nodes'][0]['maintenance'] = True
    assert 'cannot go back to pve1: in maintenance' in blocked_of(plan_return(state, {100: 'pve1'}))[100]


def test_rebalance_evens_out_and_respects_max_moves():
    state = cluster(dict((v, dict(mem=6 * GIB, maxmem=8 * GIB)) for v in range(100, 108)))
    result = plan_rebalance(state)
    assert result.spread['before'] > 10 >= result.spread['after']
    assert not result.truncated
    short = plan_rebalance(state, dict(max_moves=2))
    assert len(short.moves) == 2 and short.truncated
    assert [m['vmid'] for m in short.moves] == [m['vmid'] for m in result.moves[:2]]


def test_rebalance_waves_wait_for_room_freed_earlier():
    moves = [dict(vmid=1, source='a', target='b', group=None), dict(vmid=2, source='b', target='c', group=None),
             dict(vmid=3, source='c', target='b', group=None), dict(vmid=2, source='c', target='d', group=None)]
    placement._waves(moves)
    assert [m['wave'] for m in moves] == [1, 1, 2, 2]


def test_evacuation_spread_is_over_the_nodes_that_stay_and_a_node_without_cpu_data_comes_last():
    state = cluster({100: dict(), 101: dict(status='stopped', mem=0)}, mem={'pve2': 30 * GIB})
    state['nodes'][2]['maxcpu'] = 0
    result = plan_evacuation(state, 'pve1', options=dict(metric='cpu'))
    assert [m['target'] for m in result.moves] == ['pve2', 'pve2']
    assert 'cpu n/a' not in result.moves[0]['reason']
    assert result.spread == dict(before=0.0, after=0.0)  # pve3 has no cpu capacity: only pve2 counts
    state['nodes'][1]['status'] = 'offline'
    assert moves_of(plan_evacuation(state, 'pve1', options=dict(metric='cpu')))[100]['reason'].endswith(
        'least loaded node that fits (cpu n/a after the move)')


def test_planned_state_moves_node_use_with_the_guests():
    state = cluster({100: dict(mem=10 * GIB, cpu=0.5, maxcpu=4)})
    after = planned_state(state, plan_evacuation(state, 'pve1'))
    nodes = dict((n['node'], n) for n in after['nodes'])
    assert nodes['pve1']['mem'] == 2 * GIB and nodes['pve1']['cpu'] == 0
    target = [g for g in after['guests'] if g['vmid'] == 100][0]['node']
    assert nodes[target]['mem'] == 12 * GIB and nodes[target]['cpu'] == pytest.approx(2 / 16.0)


# -- input and options -----------------------------------------------------------------------------

@pytest.mark.parametrize('options, message', [
    (dict(balanciness=150), 'balanciness: must be between 0 and 100'),
    (dict(memory_reserve=-1), 'memory_reserve: must be between 0 and 100'),
    (dict(metric='disk'), 'metric: must be one of memory, cpu'),
    (dict(mode='max'), 'mode: must be one of used, assigned'),
    (dict(max_moves=-1), 'max_moves: must be a whole number'),
    (dict(with_local_disks='yes'), 'with_local_disks: must be true or false'),
    (dict(parallel=4), 'options: unknown option parallel'),
])
def test_options_are_checked(options, message):
    with pytest.raises(PveError, match=message):
        check_options(options)


@pytest.mark.parametrize('change, message', [
    (lambda s: s['guests'].append(dict(s['guests'][0])), r'guests\[1\].vmid: 100 is listed twice'),
    (lambda s: s['guests'][0].update(node='pve9'), r"guests\[vmid 100\].node: 'pve9' is not among the nodes"),
    (lambda s: s['guests'][0].update(mem=-1), r'guests\[vmid 100\].mem: must be a number of at least 0'),
    (lambda s: s['storages'].append(dict(node='pve9', storage='x')), r'storages\[6\].node: pve9 is not among'),
    (lambda s: s['ha_rules'].append(dict(rule='r', type='resource-affinity', resources='vm:1,vm:2',
                                         affinity='maybe')), r'ha_rules\[r\].affinity: must be positive or negative'),
])
def test_bad_input_names_the_field(change, message):
    state = cluster({100: dict()})
    change(state)
    with pytest.raises(PveError, match=message):
        plan_rebalance(state)


def random_cluster(seed, nodes=6, guests=90):
    """A medium cluster, skewed onto its first two nodes, with every kind of guest and tag rule."""
    rng = random.Random(seed)
    names = ['pve{0}'.format(i + 1) for i in range(nodes)]
    specs = {}
    for vmid in range(100, 100 + guests):
        running = rng.random() < 0.8
        maxmem = rng.choice((1, 2, 4)) * GIB
        tags = []
        if rng.random() < 0.1:
            tags.append('affinity-{0}'.format(vmid // 3))
        if rng.random() < 0.1:
            tags.append('anti-affinity-{0}'.format(vmid % 4))
        if rng.random() < 0.05:
            tags.append('pin-' + rng.choice(names))
        if rng.random() < 0.05:
            tags.append('no-balance')
        specs[vmid] = dict(node=rng.choice(names[:2] + names), type=rng.choice(('qemu', 'qemu', 'lxc')),
                           status='running' if running else 'stopped', maxmem=maxmem,
                           mem=int(maxmem * rng.uniform(0.2, 1)) if running else 0, maxcpu=rng.choice((1, 2, 4)),
                           cpu=rng.uniform(0, 0.8) if running else 0, tags=';'.join(tags),
                           disks=[dict(key='scsi0', storage=rng.choice(('ceph', 'ceph', 'local-lvm')))])
    state = make_valid(cluster(specs, nodes=nodes))
    for node in state['nodes']:
        node['maxmem'] = 48 * GIB
    return state


@pytest.mark.parametrize('seed', range(12))
@pytest.mark.parametrize('options', [dict(), dict(metric='cpu'), dict(mode='assigned', balanciness=3),
                                     dict(with_local_disks=True, memory_reserve=30)])
def test_medium_clusters_hold_every_invariant(seed, options):
    state = random_cluster(seed)
    result = plan_rebalance(state, options)
    assert_rules_hold(state, result, replay(state, result, options))
    after = planned_state(state, result)
    assert spread_of(after, options) <= spread_of(state, options)
    assert result.truncated or plan_rebalance(after, options).moves == []
    node = 'pve{0}'.format(seed % 6 + 1)
    evacuated = plan_evacuation(state, node, options=options)
    assert_rules_hold(state, evacuated, replay(state, evacuated, options))
    left = set(g['vmid'] for g in planned_state(state, evacuated)['guests'] if g['node'] == node)
    assert left == set(b['vmid'] for b in evacuated.blocked)


def test_medium_clusters_are_really_rebalanced():
    moved = [len(plan_rebalance(random_cluster(seed)).moves) for seed in range(12)]
    assert sum(1 for m in moved if m >= 5) >= 8, moved
