"""make bench: pve.fleet.fleet against loops and the floor, the inventory plugins, and fleet at 5,000 guests.

    make bench                                              # all of it: about 30-40 minutes on 2 busy cores
    .venv/bin/python benchmarks/fleet.py --sizes 50 --scale 0 --inventory ''    # a quick look (~8 minutes)

One run (one process), three fake clusters of one setup (tests/fakecluster: 3 nodes, tasks finish at
once, local-lvm made big enough for every disk), a fresh one for each part, so each part starts from
the same state whatever ran before it:

  1. converge, at each of --sizes (50 and 500), in one cluster: pve.fleet.fleet (one task), a loop of
     pve.fleet.vm and a loop of community.proxmox.proxmox_kvm, each on its own N VMs (the same
     settings as loops.py, nodes round-robin): create them, re-run unchanged (no-op), change one
     setting on all (memory 1024 -> 2048; the peer needs update: true for that). Beside the no-op runs
     the floor (benchmarks/library/bench_floor.py): one task that logs in, reads cluster/resources
     once and each guest's config 8 at a time, and nothing else. The floor and the fleet no-op are
     interleaved --repeat times (medians); the loops run once each. Above --sample guests the loops
     run on a sample, every (N / sample)-th VM, the others made beforehand with fleet; their times
     are then extrapolated to N (each item is its own module run, so a loop's time is its per-item
     time times N), and the table says so.
  2. scale: pve.fleet.fleet alone at --scale guests (5,000): create, no-op beside the floor, change.
  3. inventory: ansible-inventory --list over a *.pve.yml (pve.fleet.pve) and a *.proxmox.yml
     (community.proxmox.proxmox), with no option but the connection, at each of --inventory sizes
     (stopped VMs put straight into the fake), --inventory-repeat runs each, interleaved (medians);
     beside them Ansible alone (benchmarks/inventory_plugins/bench_hosts.py: as many hosts, shaped
     like ours, from no API and no work, with our 13 variables and with none).

Prints one table, then the targets of issue 13 and whether each was met. Asserts nothing.
"""

import collections
import os
import time

import _bench
from loops import DISK, NIC, SETTINGS

TASK = 'converge'
FLEET, VM_LOOP, PEER_LOOP, FLOOR = 'pve.fleet.fleet', 'pve.fleet.vm loop', 'proxmox_kvm loop', 'floor'
INVENTORY_OURS, INVENTORY_PEER = 'pve.fleet.pve', 'community.proxmox.proxmox'
ANSIBLE_ALONE = 'Ansible alone: bench_hosts, {0} variables'  # benchmarks/inventory_plugins/bench_hosts.py
INVENTORY_PLUGINS = os.path.join(_bench.HERE, 'inventory_plugins')
LONG_RUN = 3600  # seconds an ansible-playbook run may take (fleet creating 5,000 guests on the fake)


# ------------------------------------------------------------------------------------------ plays

def guest_items(prefix, n, indices=None, memory=1024, peer=False):
    """The VMs of one variant: the list fleet takes, and the one a loop goes over."""
    items = []
    for i in range(n) if indices is None else indices:
        item = dict(SETTINGS, name='{0}-{1:04d}'.format(prefix, i), node=_bench.NODES[i % 3], memory=memory)
        if peer:
            item.update(scsi={'scsi0': DISK}, net={'net0': NIC})
        else:
            item.update(disks={'scsi0': DISK}, nets={'net0': NIC})
        items.append(item)
    return items


def fleet_task():
    return [{'name': TASK, 'pve.fleet.fleet': {'guests': '{{ guests }}'}}]


def floor_task(bench):
    return [{'name': TASK, 'bench_floor': dict(bench.fleet_connection(), guests='{{ guests }}')}]


def loop_task(module, items, **extra):
    """A loop over the same list, each option taken from the item (a loop users write today)."""
    args = dict((key, '{{{{ item.{0} }}}}'.format(key)) for key in items[0])
    args.update(extra)
    return [{'name': TASK, module: args, 'loop': '{{ guests }}'}]


# --------------------------------------------------------------------------------------- figures

def summary(run, n, sample=None):
    """One run's figures. With ``sample`` (items measured of n), the times are extrapolated to n."""
    task = run.task_seconds(TASK)
    measured = sample or n
    items = run.items(TASK)
    last = run.results(TASK)[-1] if run.results(TASK) else {}
    if items:
        changed, of = run.statuses(TASK).get('changed', 0), len(items)
    elif 'summary' in last:
        changed, of = last['summary']['changed'], last['summary']['total']
    else:
        changed, of = None, last.get('guests_read')
    out = {'n': n, 'sample': sample, 'wall': run.wall, 'task': task, 'measured_wall': run.wall, 'measured_task': task,
           'requests': len(run.requests), 'per_guest': len(run.requests) / float(measured),
           'changed': changed, 'of': of, 'endpoints': dict(run.endpoints())}
    if sample and task is not None:
        out['task'] = task * n / float(sample)
        out['wall'] = run.wall - task + out['task']
    return out


def median_of(runs):
    """The median run's figures (by task time) of interleaved repeats, with every run's times kept."""
    ordered = sorted(runs, key=lambda r: r['task'])
    out = dict(ordered[len(ordered) // 2])
    out.update(wall=_bench.median([r['wall'] for r in runs]), task=_bench.median([r['task'] for r in runs]),
               runs=[(r['wall'], r['task']) for r in runs])
    return out


def cluster_vms(bench, prefix, memory=None):
    """How many VMs of a variant the fake holds (with that memory, when given): what a run left behind."""
    def count():
        vms = [vm for vm in bench.cluster.vms if (vm.name or '').startswith(prefix + '-')]
        if memory is not None:
            vms = [vm for vm in vms if str(vm.config.get('memory')) == str(memory)]
        return len(vms)
    return bench.call(count)


def roomy(bench):
    """Disk space for every VM of the run (the fake's local-lvm holds 400 GiB; 6,650 VMs of 4 GiB need more)."""
    bench.call(lambda: bench.cluster.storages['local-lvm'].__setitem__('avail', 1 << 50))


class Log(object):
    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, text):
        elapsed = time.monotonic() - self.started
        print('[{0:02d}:{1:02d}] {2}'.format(int(elapsed // 60), int(elapsed % 60), text), flush=True)


# ------------------------------------------------------------------------------------------ parts

def converge(bench, n, sample, repeat, log):
    """Create, no-op and change at n, for fleet, the two loops and the floor; their figures by (scenario, variant)."""
    out = {}
    indices = None if n <= sample else list(range(0, n, n // sample))[:sample]
    measured = None if indices is None else len(indices)
    fleet_items = guest_items('fleet{0}'.format(n), n)
    vm_items = guest_items('vm{0}'.format(n), n, indices)
    peer_items = guest_items('peer{0}'.format(n), n, indices, peer=True)

    def timed(label, tasks, items, size=n, part=None, check=True):
        log('{0} ({1} guests{2}) ...'.format(label, size, '' if part is None else ', {0} measured'.format(part)))
        run = bench.run(label, tasks, vars={'guests': items}, timeout=LONG_RUN)
        if check:
            run.check()
        return summary(run, size, part)

    # 1. create
    out['create', FLEET] = timed('create with fleet', fleet_task(), fleet_items)
    if indices is not None:
        rest = [i for i in range(n) if i not in set(indices)]
        for prefix in ('vm', 'peer'):
            log('making the {0} {1} VMs outside the sample with fleet ...'.format(len(rest), prefix))
            bench.run('prepare', fleet_task(), vars={'guests': guest_items('{0}{1}'.format(prefix, n), n, rest)},
                      timeout=LONG_RUN).check()
    out['create', VM_LOOP] = timed('create with a pve.fleet.vm loop', loop_task('pve.fleet.vm', vm_items), vm_items,
                                   part=measured)
    out['create', PEER_LOOP] = timed('create with a proxmox_kvm loop', loop_task('community.proxmox.proxmox_kvm',
                                                                                 peer_items), peer_items, part=measured)
    for variant, prefix in ((FLEET, 'fleet'), (VM_LOOP, 'vm'), (PEER_LOOP, 'peer')):
        out['create', variant]['after'] = '{0} VMs'.format(cluster_vms(bench, '{0}{1}'.format(prefix, n)))

    # 2. no-op, the floor beside it
    out.update(noop_beside_floor(bench, timed, fleet_items, repeat))
    out['no-op', VM_LOOP] = timed('no-op with a pve.fleet.vm loop', loop_task('pve.fleet.vm', vm_items), vm_items,
                                  part=measured)
    out['no-op', PEER_LOOP] = timed('no-op with a proxmox_kvm loop', loop_task('community.proxmox.proxmox_kvm',
                                                                               peer_items), peer_items, part=measured)

    # 3. one setting changed on all
    changed = dict((key, [dict(item, memory=2048) for item in items])
                   for key, items in (('fleet', fleet_items), ('vm', vm_items), ('peer', peer_items)))
    out['change', FLEET] = timed('change with fleet', fleet_task(), changed['fleet'])
    out['change', VM_LOOP] = timed('change with a pve.fleet.vm loop', loop_task('pve.fleet.vm', changed['vm']),
                                   changed['vm'], part=measured)
    out['change', PEER_LOOP] = timed('change with a proxmox_kvm loop (update: true)',
                                     loop_task('community.proxmox.proxmox_kvm', changed['peer'], update=True),
                                     changed['peer'], part=measured)
    for variant, prefix, items in ((FLEET, 'fleet', fleet_items), (VM_LOOP, 'vm', vm_items),
                                   (PEER_LOOP, 'peer', peer_items)):
        out['change', variant]['after'] = '{0} of {1} at 2048 MiB'.format(
            cluster_vms(bench, '{0}{1}'.format(prefix, n), memory=2048), len(items))
    return out


def noop_beside_floor(bench, timed, items, repeat):
    """The median no-op fleet run and the median floor, interleaved so a busy moment hits both alike.

    ``timed(label, tasks, items)`` runs and summarises one play."""
    floors, fleets = [], []
    for rnd in range(repeat):
        floors.append(timed('floor {0}/{1}'.format(rnd + 1, repeat), floor_task(bench), items))
        fleets.append(timed('no-op with fleet {0}/{1}'.format(rnd + 1, repeat), fleet_task(), items))
    return {('no-op', FLOOR): median_of(floors), ('no-op', FLEET): median_of(fleets)}


def scale(bench, n, repeat, log):
    """fleet alone at n: create, no-op beside the floor, change."""
    items = guest_items('fleet{0}'.format(n), n)

    def timed(label, tasks, guests):
        log('{0} ({1} guests) ...'.format(label, n))
        return summary(bench.run(label, tasks, vars={'guests': guests}, timeout=LONG_RUN).check(), n)

    out = {('create', FLEET): timed('create with fleet', fleet_task(), items)}
    out['create', FLEET]['after'] = '{0} VMs'.format(cluster_vms(bench, 'fleet{0}'.format(n)))
    out.update(noop_beside_floor(bench, timed, items, repeat))
    out['change', FLEET] = timed('change with fleet', fleet_task(), [dict(item, memory=2048) for item in items])
    out['change', FLEET]['after'] = '{0} of {1} at 2048 MiB'.format(
        cluster_vms(bench, 'fleet{0}'.format(n), memory=2048), n)
    return out


def inventory_sources(bench, size):
    """(label, file name, config, environment) of both inventory plugins, connection only, and of the plugin
    that makes ``size`` hosts shaped like ours from nothing (with our 13 variables, and with none)."""
    env = bench.served.env
    ours_env = dict((k, env[k]) for k in ('PROXMOX_HOST', 'PROXMOX_PORT', 'PROXMOX_CA_PATH'))
    ours_env.update((k, env[k]) for k in (('PROXMOX_TOKEN_ID', 'PROXMOX_TOKEN_SECRET') if bench.auth == 'token'
                                          else ('PROXMOX_USER', 'PROXMOX_PASSWORD')))
    ours_env['ANSIBLE_INVENTORY_ENABLED'] = 'pve.fleet.pve'
    peer = {'plugin': 'community.proxmox.proxmox', 'validate_certs': True, 'user': env['PROXMOX_USER'],
            'url': 'https://{0}:{1}'.format(env['PROXMOX_HOST'], env['PROXMOX_PORT'])}
    if bench.auth == 'token':
        peer.update(token_id=env['PROXMOX_TOKEN_ID'].partition('!')[2], token_secret=env['PROXMOX_TOKEN_SECRET'])
    else:
        peer['password'] = env['PROXMOX_PASSWORD']
    # The peer has no ca_path: requests verifies against REQUESTS_CA_BUNDLE, so TLS is checked for both.
    peer_env = {'ANSIBLE_INVENTORY_ENABLED': 'community.proxmox.proxmox', 'REQUESTS_CA_BUNDLE': env['PROXMOX_CA_PATH']}
    alone_env = {'ANSIBLE_INVENTORY_ENABLED': 'bench_hosts', 'ANSIBLE_INVENTORY_PLUGINS': INVENTORY_PLUGINS}
    return [(INVENTORY_OURS, 'bench.pve.yml', {'plugin': 'pve.fleet.pve'}, ours_env),
            (INVENTORY_PEER, 'bench.proxmox.yml', peer, peer_env)] + [
        (ANSIBLE_ALONE.format(count), 'bench.hosts.yml', {'plugin': 'bench_hosts', 'hosts': size, 'variables': count},
         alone_env) for count in (13, 0)]


def inventory(bench, sizes, repeat, log):
    import guest_info
    out = {}
    have = 0
    for size in sizes:
        have = guest_info.add_vms(bench, 100 + have, size - have)
        runs = collections.defaultdict(list)
        for rnd in range(repeat):
            for label, filename, config, env in inventory_sources(bench, size):
                log('inventory of {0} guests: {1} {2}/{3} ...'.format(size, label, rnd + 1, repeat))
                run = bench.inventory(label, filename, config, env).check()
                runs[label].append({'n': size, 'wall': run.wall, 'requests': len(run.requests), 'hosts': run.hosts,
                                    'guest_hosts': run.guest_hosts, 'endpoints': dict(run.endpoints())})
        for label, results in runs.items():
            best = dict(results[-1])
            best.update(wall=_bench.median([r['wall'] for r in results]), runs=[r['wall'] for r in results])
            out['inventory', label, size] = best
    return out


# ------------------------------------------------------------------------------------------ table

def ratio(a, b):
    return None if not a or not b else a / b


def fmt_ratio(value):
    return '' if value is None else '{0:.2f}x'.format(value) if value < 10 else '{0:.0f}x'.format(value)


def rows_of(results, sizes, scale_n):
    rows = []
    for n in list(sizes) + ([scale_n] if scale_n else []):
        part = results.get(n, {})
        floor = part.get(('no-op', FLOOR))
        for scenario in ('create', 'no-op', 'change'):
            peer = part.get((scenario, PEER_LOOP))
            for variant in (FLOOR, FLEET, VM_LOOP, PEER_LOOP):
                s = part.get((scenario, variant))
                if s is None:
                    continue
                sampled = s.get('sample')
                name = variant + (' (~{0} of {1} measured, times x{2:g})'.format(
                    sampled, n, n / float(sampled)) if sampled else '')
                if s.get('runs'):
                    name += ' (median of {0})'.format(len(s['runs']))
                changed = '' if s['changed'] is None else '{0}/{1}'.format(s['changed'], s['of'])
                rows.append([n, scenario, name, _bench.secs(s['wall'], 1), _bench.secs(s['task'], 2),
                             '{0:.1f}'.format(1000.0 * s['task'] / n),
                             fmt_ratio(ratio(s['task'], floor['task'])) if floor and scenario == 'no-op' else '',
                             fmt_ratio(ratio(peer['wall'], s['wall'])) if peer and variant != PEER_LOOP else '',
                             '{0:.2f}'.format(s['per_guest']), changed, s.get('after', '')])
    return rows


def inventory_rows(results, sizes):
    rows = []
    for size in sizes:
        peer = results.get(('inventory', INVENTORY_PEER, size))
        for label in (INVENTORY_OURS, INVENTORY_PEER, ANSIBLE_ALONE.format(13), ANSIBLE_ALONE.format(0)):
            s = results.get(('inventory', label, size))
            if s is None:
                continue
            rows.append([size, 'inventory --list', '{0} (median of {1})'.format(label, len(s['runs'])),
                         _bench.secs(s['wall'], 2), '', '{0:.2f}'.format(1000.0 * s['wall'] / size), '',
                         fmt_ratio(ratio(peer['wall'], s['wall'])) if label != INVENTORY_PEER else '',
                         '{0} in all'.format(s['requests']), '', '{0} hosts'.format(s['hosts'])])
    return rows


def targets(results, sizes, inventory_sizes):
    """Issue 13's targets, each with its figures and whether it was met."""
    lines = []

    def check(ok, text):
        lines.append('- [{0}] {1}'.format('met' if ok else 'NOT met', text))
    for n in sizes:
        part = results.get(n, {})
        fleet, floor, peer = part.get(('no-op', FLEET)), part.get(('no-op', FLOOR)), part.get(('no-op', PEER_LOOP))
        if fleet and floor:
            r = fleet['task'] / floor['task']
            check(r <= 1.25, 'no-op of {0}: fleet within 1.25x of the floor: task {1:.2f} s against {2:.2f} s = {3:.2f}x '
                  '(play wall {4:.1f} s against {5:.1f} s = {6:.2f}x)'.format(
                      n, fleet['task'], floor['task'], r, fleet['wall'], floor['wall'], fleet['wall'] / floor['wall']))
            check(fleet['per_guest'] <= 1.1, 'no-op of {0}: <= 1.1 requests per guest: {1:.3f} ({2} requests)'.format(
                n, fleet['per_guest'], fleet['requests']))
        want = 12 if n <= 50 else 50
        if fleet and peer:
            r = peer['wall'] / fleet['wall']
            check(r >= want, 'no-op of {0}: >= {1}x faster than the peer\'s loop (play wall): {2:.1f} s against '
                  '{3:.1f} s{4} = {5:.1f}x (task time: {6:.0f}x)'.format(
                      n, want, fleet['wall'], peer['wall'], ' (extrapolated)' if peer.get('sample') else '', r,
                      peer['task'] / fleet['task']))
        create, peer_create = part.get(('create', FLEET)), part.get(('create', PEER_LOOP))
        if n == 50 and create and peer_create:
            r = peer_create['wall'] / create['wall']
            text = ('create of 50: >= 10x faster than the peer\'s loop (play wall): {0:.1f} s against {1:.1f} s = '
                    '{2:.1f}x (task time: {3:.0f}x)')
            check(r >= 10, text.format(create['wall'], peer_create['wall'], r, peer_create['task'] / create['task']))
    for size in inventory_sizes:
        s = results.get(('inventory', INVENTORY_OURS, size))
        if s and size >= 10000:
            check(s['wall'] < 3 and s['requests'] == 2, 'inventory of {0}: < 3 s with 2 requests: {1:.2f} s, {2} '
                  'requests'.format(size, s['wall'], s['requests']))
    return lines


def main():
    p = _bench.parser(__doc__.splitlines()[0])
    p.add_argument('--sizes', default='50,500', help='fleet/loop/floor sizes (default 50,500)')
    p.add_argument('--sample', type=int, default=100,
                   help='loops above this many guests run on this many of them, extrapolated (default 100)')
    p.add_argument('--scale', type=int, default=5000, help='fleet alone beside the floor at this size (0: skip)')
    p.add_argument('--inventory', default='1000,10000', help="inventory sizes, ascending ('' to skip)")
    p.add_argument('--repeat', type=int, default=5, help='interleaved runs of the fleet no-op and the floor (default 5)')
    p.add_argument('--scale-repeat', type=int, default=2, help='the same at --scale (default 2)')
    p.add_argument('--inventory-repeat', type=int, default=3, help='interleaved runs of each inventory (default 3)')
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(',') if s.strip()]
    inventory_sizes = [int(s) for s in args.inventory.split(',') if s.strip()]
    info = _bench.print_machine()
    log = Log()
    results = {}
    if sizes:
        with _bench.Bench(auth=args.auth) as bench:
            roomy(bench)
            for n in sizes:
                results[n] = converge(bench, n, args.sample, args.repeat, log)
    if args.scale:
        with _bench.Bench(auth=args.auth) as bench:
            roomy(bench)
            results[args.scale] = scale(bench, args.scale, args.scale_repeat, log)
    if inventory_sizes:
        with _bench.Bench(auth=args.auth) as bench:
            results.update(inventory(bench, inventory_sizes, args.inventory_repeat, log))
    log('done')
    rows = rows_of(results, sizes, args.scale) + inventory_rows(results, inventory_sizes)
    _bench.table(['N', 'scenario', 'variant', 'play wall s', 'task s', 'ms per guest', 'task / floor',
                  'peer loop / this', 'requests / guest', 'changed', 'in the cluster after'], rows,
                 title='pve.fleet.fleet, loops, the floor and the inventory (auth: {0})'.format(args.auth))
    print('')
    lines = targets(results, sizes, inventory_sizes)
    print('\n'.join(['Targets of issue 13:'] + lines), flush=True)
    info['loadavg_end'] = list(os.getloadavg())
    _bench.write_json(args.json, {'machine': info, 'args': vars(args), 'targets': lines, 'results': [
        dict(key=list(k) if isinstance(k, tuple) else [k], **v) for k, v in _flatten(results)]})


def _flatten(results):
    for key, value in results.items():
        if isinstance(key, int):
            for inner, figures in value.items():
                yield (key,) + inner, figures
        else:
            yield key, value


if __name__ == '__main__':
    main()
