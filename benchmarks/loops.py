"""Converging N VMs one loop item at a time: pve.fleet.vm vs community.proxmox.proxmox_kvm.

    .venv/bin/python benchmarks/loops.py --n 10      # about 2-3 minutes on 2 busy cores
    .venv/bin/python benchmarks/loops.py --n 50      # about 6 minutes there (half of it the peer's creates)

In one run against one fake cluster (3 nodes, tasks finish at once), for both collections:
  1. create N VMs by name, no vmid (same settings, nodes round-robin): wall time, requests per guest;
  2. re-run the same loop over the N unchanged VMs (the peer with and without update: true),
     --repeat times, interleaved: wall time, per-item time, requests per guest, what it reports;
  3. drift: memory of one VM changed behind the module's back, then the same task for that VM:
     does it report a change, and is the memory put back?
  4. for scale, not a loop: one pve.fleet.guest_info task reading the config of all 2N VMs.
Prints tables; nothing is asserted.
"""

import collections
import os

import _bench

SETTINGS = dict(memory=1024, cores=2, sockets=1, ostype='l26', scsihw='virtio-scsi-single')
DISK = 'local-lvm:4'
NIC = 'virtio,bridge=vmbr0'
NODE = "{{ ['pve1', 'pve2', 'pve3'][item % 3] }}"


def fleet_task(prefix, n, **extra):
    args = dict(SETTINGS, name=prefix + '-{{ "%03d" % item }}', node=NODE, disks={'scsi0': DISK},
                nets={'net0': NIC}, **extra)
    return [{'name': 'vm', 'pve.fleet.vm': args, 'loop': '{{ range(%d) | list }}' % n}]


def peer_task(prefix, n, **extra):
    args = dict(SETTINGS, name=prefix + '-{{ "%03d" % item }}', node=NODE, scsi={'scsi0': DISK},
                net={'net0': NIC}, **extra)
    return [{'name': 'vm', 'community.proxmox.proxmox_kvm': args, 'loop': '{{ range(%d) | list }}' % n}]


def only(tasks, index):
    """The same task for one loop item."""
    task = dict(tasks[0], loop=[index])
    return [task]


def summary(run, n):
    statuses = run.statuses('vm')
    return {
        'wall': run.wall, 'task': run.task_seconds('vm'), 'item_median': _bench.median(run.item_seconds('vm')),
        'requests': len(run.requests), 'per_guest': len(run.requests) / float(n),
        'changed': statuses.get('changed', 0), 'ok': statuses.get('ok', 0), 'endpoints': dict(run.endpoints()),
    }


def vm_counts(bench, prefix, n):
    """How many VMs carry each name (a duplicate shows as 2)."""
    def count():
        names = collections.Counter(vm.name for vm in bench.cluster.vms)
        return [names.get('{0}-{1:03d}'.format(prefix, i), 0) for i in range(n)]
    return bench.call(count)


def memory_of(bench, name):
    return bench.call(lambda: [str(vm.config.get('memory')) for vm in bench.cluster.vms if vm.name == name])


def set_memory(bench, name, value):
    def change():
        for vm in bench.cluster.vms:
            if vm.name == name:
                vm.config['memory'] = str(value)
    bench.call(change)


def main():
    p = _bench.parser(__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=10, help='number of VMs (default 10)')
    p.add_argument('--repeat', type=int, default=None,
                   help='no-op re-runs per variant, interleaved (default 3 for N <= 10, else 1)')
    args = p.parse_args()
    n = args.n
    repeat = args.repeat or (3 if n <= 10 else 1)
    info = _bench.print_machine()
    out = {'machine': info, 'n': n, 'repeat': repeat, 'auth': args.auth}
    fleet_prefix, peer_prefix = 'fleet{0}'.format(n), 'peer{0}'.format(n)
    with _bench.Bench(auth=args.auth) as bench:
        variants = [
            ('pve.fleet.vm', fleet_task(fleet_prefix, n)),
            ('proxmox_kvm', peer_task(peer_prefix, n)),
            ('proxmox_kvm update: true', peer_task(peer_prefix, n, update=True)),
        ]
        # 1. create, by name, no vmid
        create = {}
        for label, tasks in variants[:2]:
            print('creating {0} VMs with {1} ...'.format(n, label), flush=True)
            run = bench.run('create ' + label, tasks).check()
            create[label] = summary(run, n)
        create_dups = {'pve.fleet.vm': vm_counts(bench, fleet_prefix, n), 'proxmox_kvm': vm_counts(bench, peer_prefix, n)}
        # 2. no-op re-runs, interleaved so a busy moment hits every variant alike
        noop = dict((label, []) for label, _tasks in variants)
        for rnd in range(repeat):
            for label, tasks in variants:
                print('no-op re-run {0}/{1} of {2} ...'.format(rnd + 1, repeat, label), flush=True)
                noop[label].append(summary(bench.run('no-op ' + label, tasks).check(), n))
        after_noop_dups = {'pve.fleet.vm': vm_counts(bench, fleet_prefix, n),
                           'proxmox_kvm': vm_counts(bench, peer_prefix, n)}
        # 3. drift on item 0 of each set
        drift = {}
        for label, tasks in variants:
            prefix = fleet_prefix if label.startswith('pve') else peer_prefix
            name = '{0}-000'.format(prefix)
            set_memory(bench, name, 2048)
            run = bench.run('drift ' + label, only(tasks, 0)).check()
            drift[label] = {'reported': run.statuses('vm').get('changed', 0) > 0,
                            'memory_after': memory_of(bench, name), 'requests': len(run.requests),
                            'endpoints': dict(run.endpoints())}
            set_memory(bench, name, 1024)
        # For scale: one task that reads every guest's config (all 2N VMs of this cluster) in one process.
        single = []
        for rnd in range(repeat):
            run = bench.run('single task', [{'name': 'vm', 'pve.fleet.guest_info': {'config': True}}]).check()
            single.append({'wall': run.wall, 'task': run.task_seconds('vm'), 'requests': len(run.requests),
                           'guests': run.results('vm')[-1].get('guests_count')})
    out.update(single=single, create=create, noop=noop, drift=drift, create_dups=create_dups, after_noop_dups=after_noop_dups,
               loadavg_end=list(os.getloadavg()))

    rows = []
    for label in ('pve.fleet.vm', 'proxmox_kvm'):
        s = create[label]
        dups = sum(1 for c in create_dups[label] if c != 1)
        rows.append([label, n, _bench.secs(s['wall'], 1), _bench.secs(s['task'], 1), _bench.secs(s['item_median']),
                     '{0:.1f}'.format(s['per_guest']), '{0}/{1}'.format(s['changed'], n), dups])
    _bench.table(['create by name, no vmid', 'N', 'play wall s', 'loop s', 'per item s (median)',
                  'requests/guest', 'changed', 'names not exactly once'], rows,
                 title='Create N VMs by name (one loop item per VM)')

    rows = []
    for label, _tasks in variants:
        runs = noop[label]
        rows.append([label, n, len(runs), _bench.secs(_bench.median([r['wall'] for r in runs]), 1),
                     _bench.secs(_bench.median([r['task'] for r in runs]), 1),
                     _bench.secs(_bench.median([r['item_median'] for r in runs])),
                     '{0:.1f}'.format(_bench.median([r['per_guest'] for r in runs])),
                     '/'.join(str(r['changed']) for r in runs) + ' of ' + str(n)])
    _bench.table(['no-op re-run', 'N', 'runs', 'play wall s (median)', 'loop s (median)', 'per item s (median)',
                  'requests/guest', 'reported changed'], rows, title='No-op re-run over N unchanged VMs')

    rows = []
    for label, _tasks in variants:
        endpoints = collections.Counter(noop[label][-1]['endpoints'])
        rows.append([label, ', '.join('{0} x{1:g}'.format(k, v / float(n)) for k, v in sorted(endpoints.items()))])
    for label in ('pve.fleet.vm', 'proxmox_kvm'):
        endpoints = collections.Counter(create[label]['endpoints'])
        rows.append(['create ' + label,
                     ', '.join('{0} x{1:g}'.format(k, v / float(n)) for k, v in sorted(endpoints.items()))])
    _bench.table(['run', 'requests per guest, by endpoint'], rows, title='Where the requests go')

    rows = [[label, 'yes' if d['reported'] else 'no', '1024 -> 2048 -> ' + ','.join(d['memory_after']),
             d['requests'], ', '.join('{0} x{1}'.format(k, v) for k, v in sorted(d['endpoints'].items()))]
            for label, d in drift.items()]
    _bench.table(['drift (memory changed behind its back)', 'reported changed', 'memory MiB after the run',
                  'requests', 'by endpoint'], rows, title='Drift on one VM')

    rows = [['pve.fleet.guest_info config: true (every VM here)', single[-1]['guests'], len(single),
             _bench.secs(_bench.median([r['wall'] for r in single]), 1),
             _bench.secs(_bench.median([r['task'] for r in single]), 2),
             _bench.median([r['requests'] for r in single])]]
    _bench.table(['one task, not a loop', 'guests', 'runs', 'play wall s (median)', 'task s (median)', 'requests'],
                 rows, title='For scale: reading every guest\'s config in a single task')
    _bench.write_json(args.json, out)


if __name__ == '__main__':
    main()
