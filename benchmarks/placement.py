"""The placement planner's speed: evacuating one node of 64, and rebalancing 10,000 guests on 64 nodes.

    .venv/bin/python benchmarks/placement.py                 # about half a minute
    .venv/bin/python benchmarks/placement.py --repeat 9 --json out.json

Pure planning, no cluster: a synthetic state (seeded, so every run plans the same cluster) of
--nodes nodes (512 GiB, 64 cores each; a node-local local-lvm and a shared ceph on every node,
an nfs on every other node) and --guests guests (VMs and containers, a fifth stopped, a third
with node-local disks, some in affinity pairs, anti-affinity trios, pinned, no-balance, HA
rules). Each plan runs --repeat times; the figures are the median and the range, in seconds,
including parsing the state and compiling the rules. Not a test: nothing here asserts a time
(see docs/benchmarks.md).
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), '.collections'))

from ansible_collections.pve.fleet.plugins.module_utils import placement  # noqa: E402  pylint: disable=wrong-import-position

GIB = 1024 ** 3


def make_state(nodes, guests, skew, seed=14):
    """A cluster of the given size, about 40 % of its memory in use; with skew, the first quarter of the
    nodes also gets a third of the guests on top of an even share (about 80 % full, the rest about 25 %)."""
    rng = random.Random(seed)
    names = ['pve{0:02d}'.format(i + 1) for i in range(nodes)]
    node_items = [dict(node=n, status='online', maxmem=512 * GIB, mem=8 * GIB, maxcpu=64, cpu=0.02) for n in names]
    storages = []
    for i, name in enumerate(names):
        storages.append(dict(node=name, storage='local-lvm', shared=0, content='images,rootdir', status='available'))
        storages.append(dict(node=name, storage='ceph', shared=1, content='images,rootdir', status='available'))
        if i % 2 == 0:
            storages.append(dict(node=name, storage='nfs', shared=1, content='images,rootdir,iso,backup'))
    crowded = names[:max(1, nodes // 4)]
    guest_items, ha_rules = [], []
    for k in range(guests):
        vmid = 1000 + k
        if skew:
            node = rng.choice(crowded) if rng.random() < 0.35 else rng.choice(names)
        else:
            node = names[k % nodes]
        kind = 'lxc' if rng.random() < 0.25 else 'qemu'
        running = rng.random() < 0.8
        maxmem = rng.choice((1, 1, 2, 2, 4)) * GIB
        maxcpu = rng.choice((1, 1, 2, 4))
        storage = rng.choice(('local-lvm', 'ceph', 'ceph', 'nfs' if names.index(node) % 2 == 0 else 'ceph'))
        tags = []
        roll = rng.random()
        if roll < 0.04:
            tags.append('affinity-app{0}'.format(k // 2))
        elif roll < 0.07:
            tags.append('anti-affinity-web{0}'.format(k // 3))
        elif roll < 0.08:
            tags.append('pin-{0}'.format(rng.choice(names)))
        elif roll < 0.09:
            tags.append('no-balance')
        item = dict(vmid=vmid, name='guest{0}'.format(vmid), type=kind, node=node,
                    status='running' if running else 'stopped', maxmem=maxmem,
                    mem=int(maxmem * rng.uniform(0.2, 0.9)) if running else 0, maxcpu=maxcpu,
                    cpu=rng.uniform(0.01, 0.15) if running else 0, tags=';'.join(tags),
                    template=1 if rng.random() < 0.005 else 0,
                    disks=[dict(key='scsi0' if kind == 'qemu' else 'rootfs', storage=storage)])
        if rng.random() < 0.05:
            item['hastate'] = 'started'
        guest_items.append(item)
    ha = [g for g in guest_items if g.get('hastate')]
    for i in range(0, min(len(ha), 60), 3):
        sids = ','.join('{0}:{1}'.format('vm' if g['type'] == 'qemu' else 'ct', g['vmid']) for g in ha[i:i + 3])
        if i % 2:
            ha_rules.append({'rule': 'apart{0}'.format(i), 'type': 'resource-affinity', 'affinity': 'negative',
                             'resources': sids})
        else:
            ha_rules.append({'rule': 'prefer{0}'.format(i), 'type': 'node-affinity', 'resources': sids,
                             'nodes': '{0}:2,{1}:1'.format(names[i % nodes], names[(i + 1) % nodes])})
    for node in node_items:
        node['mem'] += sum(g['mem'] for g in guest_items if g['node'] == node['node'])
        used = sum(g['cpu'] * g['maxcpu'] for g in guest_items if g['node'] == node['node'])
        node['cpu'] = min(1.0, node['cpu'] + used / node['maxcpu'])
    return dict(nodes=node_items, storages=storages, guests=guest_items, ha_rules=ha_rules)


def timed(repeat, func):
    times, result = [], None
    for _run in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return times, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--nodes', type=int, default=64)
    parser.add_argument('--guests', type=int, default=10000)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--json', help='also write the raw figures here')
    args = parser.parse_args()

    print('# {0}: {1} CPUs, load average {2}; Python {3}'.format(
        time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()), os.cpu_count(),
        ' '.join('{0:.2f}'.format(x) for x in os.getloadavg()), platform.python_version()))
    even = make_state(args.nodes, args.guests, skew=False)
    skewed = make_state(args.nodes, args.guests, skew=True)
    source = even['nodes'][args.nodes // 2]['node']
    on_source = sum(1 for g in even['guests'] if g['node'] == source)
    local = dict(with_local_disks=True)
    cases = [
        ('evacuate {0} ({1} guests), memory/used'.format(source, on_source), even,
         lambda state: placement.plan_evacuation(state, source, options=local)),
        ('evacuate {0} ({1} guests), cpu/assigned'.format(source, on_source), even,
         lambda state: placement.plan_evacuation(state, source, options=dict(local, metric='cpu', mode='assigned'))),
        ('rebalance skewed, memory/used', skewed, lambda state: placement.plan_rebalance(state, local)),
        ('rebalance skewed, cpu/used', skewed, lambda state: placement.plan_rebalance(state, dict(local, metric='cpu'))),
        ('rebalance skewed, memory/assigned, balanciness 5', skewed,
         lambda state: placement.plan_rebalance(state, dict(local, mode='assigned', balanciness=5))),
    ]
    rows, raw = [], []
    again = placement.planned_state(skewed, placement.plan_rebalance(skewed, local))
    cases.append(('rebalance its planned result again (memory/used)', again,
                  lambda state: placement.plan_rebalance(state, local)))
    for label, state, plan in cases:
        times, result = timed(args.repeat, lambda: plan(state))  # pylint: disable=cell-var-from-loop
        rows.append((label, statistics.median(times), min(times), max(times), len(result.moves),
                     len(result.blocked), result.spread['before'], result.spread['after']))
        raw.append(dict(case=label, seconds=times, moves=len(result.moves), blocked=len(result.blocked),
                        spread=result.spread))
    print('{0} nodes, {1} guests; {2} runs each; seconds'.format(args.nodes, args.guests, args.repeat))
    print('| plan | median s | min s | max s | moves | blocked | spread before | spread after |')
    print('|---|---|---|---|---|---|---|---|')
    for row in rows:
        print('| {0} | {1:.3f} | {2:.3f} | {3:.3f} | {4} | {5} | {6} | {7} |'.format(*row))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(dict(nodes=args.nodes, guests=args.guests, runs=raw, loadavg=os.getloadavg()), out, indent=1)


if __name__ == '__main__':
    main()
