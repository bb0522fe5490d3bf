"""Listing a big cluster: pve.fleet.guest_info vs community.proxmox.proxmox_vm_info.

    .venv/bin/python benchmarks/guest_info.py          # about 2-4 minutes on 2 busy cores

One fake cluster (3 nodes): 1,000 VMs, then 9,000 more (10,000). For each size both modules
list every guest (--repeat runs each, interleaved; medians), and at 1,000 each also reads
every guest's config (pve.fleet: config: true; the peer: config: current). Prints the wall
time of the playbook, the task's own time, the requests and how many guests came back.
"""

import os

import _bench


def add_vms(bench, first, count):
    """count stopped VMs with a plausible config, spread over the nodes, straight into the fake's state."""
    def add():
        for vmid in range(first, first + count):
            node = _bench.NODES[vmid % 3]
            bench.cluster.add_vm(vmid, 'bulk-{0}'.format(vmid), node=node, config={
                'memory': '2048', 'cores': 2, 'sockets': 1, 'ostype': 'l26', 'scsihw': 'virtio-scsi-single',
                'net0': 'virtio=BC:24:11:{0:02X}:{1:02X}:{2:02X},bridge=vmbr0'.format(
                    (vmid >> 16) & 255, (vmid >> 8) & 255, vmid & 255),
                'scsi0': 'local-lvm:vm-{0}-disk-0,size=8G'.format(vmid), 'tags': 'bulk'})
        return len(bench.cluster.vms)
    return bench.call(add)


def fleet(config=False):
    args = {'config': True} if config else {}
    return [{'name': 'info', 'pve.fleet.guest_info': args, 'register': 'found'}]


def peer(config=False):
    args = {'config': 'current'} if config else {}
    return [{'name': 'info', 'community.proxmox.proxmox_vm_info': args, 'register': 'found'}]


def summary(run):
    result = run.results('info')[-1]
    count = result.get('guests_count', result.get('proxmox_vms_count'))
    with_config = result.get('guests_with_config', result.get('proxmox_vms_with_config'))
    return {'wall': run.wall, 'task': run.task_seconds('info'), 'requests': len(run.requests),
            'endpoints': dict(run.endpoints()), 'guests': count, 'with_config': with_config}


def main():
    p = _bench.parser(__doc__.splitlines()[0])
    p.add_argument('--repeat', type=int, default=3, help='runs per module and size, interleaved (default 3)')
    p.add_argument('--sizes', default='1000,10000', help='cluster sizes, ascending (default 1000,10000)')
    p.add_argument('--config-size', type=int, default=1000, help='size at which config is read too (default 1000)')
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    info = _bench.print_machine()
    out = {'machine': info, 'repeat': args.repeat, 'auth': args.auth, 'sizes': {}}
    rows = []
    with _bench.Bench(auth=args.auth) as bench:
        have = 0
        for size in sizes:
            have = add_vms(bench, 100 + have, size - have)
            variants = [('pve.fleet.guest_info', fleet()), ('proxmox_vm_info', peer())]
            if size == args.config_size:
                variants += [('pve.fleet.guest_info config: true', fleet(True)),
                             ('proxmox_vm_info config: current', peer(True))]
            results = dict((label, []) for label, _tasks in variants)
            for rnd in range(args.repeat):
                for label, tasks in variants:
                    print('{0} guests: {1} run {2}/{3} ...'.format(size, label, rnd + 1, args.repeat), flush=True)
                    results[label].append(summary(bench.run('{0} {1}'.format(size, label), tasks).check()))
            out['sizes'][size] = results
            for label, _tasks in variants:
                runs = results[label]
                last = runs[-1]
                rows.append([label, size, len(runs), _bench.secs(_bench.median([r['wall'] for r in runs])),
                             _bench.secs(_bench.median([r['task'] for r in runs])),
                             _bench.median([r['requests'] for r in runs]),
                             '{0} ({1} with config)'.format(last['guests'], last['with_config']),
                             ', '.join('{0} x{1}'.format(k, v) for k, v in sorted(last['endpoints'].items()))])
    out['loadavg_end'] = list(os.getloadavg())
    _bench.table(['module', 'guests', 'runs', 'play wall s (median)', 'task s (median)', 'requests',
                  'guests returned', 'requests by endpoint'], rows, title='Listing every guest')
    _bench.write_json(args.json, out)


if __name__ == '__main__':
    main()
