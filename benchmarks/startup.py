"""Module start-up: a trivial info call on an empty cluster, pve.fleet vs community.proxmox.

    .venv/bin/python benchmarks/startup.py          # about 1 minute

--repeat (default 5) ansible-playbook runs of each, interleaved, on an empty fake cluster:
ansible.builtin.ping (what any module costs: ansible-playbook itself, AnsiballZ, a Python
process), pve.fleet.guest_info, community.proxmox.proxmox_vm_info. Medians of the play's wall
time and of the task's own time; the module's start-up is its task time minus ping's. Then,
--import-repeat times each, the import time of each module from the very AnsiballZ payload
Ansible ships (kept with ANSIBLE_KEEP_REMOTE_FILES), in a fresh Python with -X importtime:
zipimport compiles every .py from source on every run, so this is the part of start-up a
module's own code (and what it imports) decides.
"""

import ast
import base64
import os
import re
import subprocess
import sys
import zipfile

import _bench

VARIANTS = [
    ('ansible.builtin.ping (floor)', [{'name': 'info', 'ansible.builtin.ping': {}}]),
    ('pve.fleet.guest_info', [{'name': 'info', 'pve.fleet.guest_info': {}}]),
    ('community.proxmox.proxmox_vm_info', [{'name': 'info', 'community.proxmox.proxmox_vm_info': {}}]),
]

LINE = re.compile(r'^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)')
FLOOR_IMPORT = 'ansible.module_utils.basic'
IMPORTS = [
    ('ansible.module_utils.basic (floor)', 'ansible.builtin.ping', FLOOR_IMPORT),
    ('pve.fleet.guest_info', 'pve.fleet.guest_info', 'ansible_collections.pve.fleet.plugins.modules.guest_info'),
    ('pve.fleet.vm', 'pve.fleet.vm', 'ansible_collections.pve.fleet.plugins.modules.vm'),
    ('community.proxmox.proxmox_vm_info', 'community.proxmox.proxmox_vm_info',
     'ansible_collections.community.proxmox.plugins.modules.proxmox_vm_info'),
    ('community.proxmox.proxmox_kvm', 'community.proxmox.proxmox_kvm',
     'ansible_collections.community.proxmox.plugins.modules.proxmox_kvm'),
]


def payload(bench, module):
    """The AnsiballZ zip Ansible ships for module: run it once with ANSIBLE_KEEP_REMOTE_FILES and take it apart."""
    tmp = os.path.join(bench.workdir, 'remote-' + module)
    bench.run('payload ' + module, [{'name': 'info', module: {}, 'ignore_errors': True}],
              env={'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': tmp})
    for root, _dirs, files in os.walk(tmp):
        for name in files:
            if name.startswith('AnsiballZ_') and name.endswith('.py'):
                with open(os.path.join(root, name)) as wrapper:
                    tree = ast.parse(wrapper.read())
                data = max((n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)),
                           key=len)
                path = os.path.join(bench.workdir, 'payload-{0}.zip'.format(module))
                with open(path, 'wb') as out:
                    out.write(base64.b64decode(data))
                return path
    raise SystemExit('no AnsiballZ payload kept for ' + module)


PARTS = ('ansible.module_utils.basic', 'requests', 'proxmoxer', 'concurrent.futures')


def import_ms(zip_path, module):
    """Import time (ms) of module from its payload zip in a fresh Python, as AnsiballZ imports it:
    zipimport compiles every .py from source on every run. Also the cumulative ms of the big parts
    it pulls in (PARTS), where it imports them."""
    code = 'import sys; sys.path.insert(0, {0!r}); import {1}'.format(zip_path, module)
    proc = subprocess.run([sys.executable, '-X', 'importtime', '-c', code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=True)
    total, parts = None, {}
    for line in proc.stderr.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        cumulative, name = int(match.group(2)) / 1000.0, match.group(4)
        if name == module:
            total = cumulative
        elif name in PARTS and name not in parts:
            parts[name] = cumulative
    return total, parts


def payload_size(zip_path, marker):
    """.py files and bytes of source in the payload, and those of the collection itself."""
    with zipfile.ZipFile(zip_path) as z:
        sizes = [(n, z.getinfo(n).file_size) for n in z.namelist() if n.endswith('.py')]
    own = [s for n, s in sizes if marker and marker in n]
    return len(sizes), sum(s for _path, s in sizes), len(own), sum(own)


def main():
    p = _bench.parser(__doc__.splitlines()[0])
    p.add_argument('--repeat', type=int, default=5, help='ansible-playbook runs of each, interleaved (default 5)')
    p.add_argument('--import-repeat', type=int, default=15, help='import-time runs of each (default 15)')
    args = p.parse_args()
    info = _bench.print_machine()
    out = {'machine': info, 'repeat': args.repeat, 'auth': args.auth, 'runs': {}, 'imports': {}}
    bench = _bench.Bench(auth=args.auth)
    try:
        measure(bench, args, out)
    finally:
        bench.close()
    _bench.write_json(args.json, out)


def measure(bench, args, out):
    results = dict((label, []) for label, _tasks in VARIANTS)
    for rnd in range(args.repeat):
        for label, tasks in VARIANTS:
            print('{0} run {1}/{2} ...'.format(label, rnd + 1, args.repeat), flush=True)
            run = bench.run(label, tasks).check()
            results[label].append({'wall': run.wall, 'task': run.task_seconds('info'),
                                   'requests': len(run.requests)})
    out['runs'] = results
    floor = _bench.median([r['task'] for r in results[VARIANTS[0][0]]])
    rows = []
    for label, _tasks in VARIANTS:
        runs = results[label]
        task = _bench.median([r['task'] for r in runs])
        rows.append([label, len(runs), _bench.secs(_bench.median([r['wall'] for r in runs])), _bench.secs(task),
                     _bench.secs(task - floor) if label != VARIANTS[0][0] else '',
                     _bench.median([r['requests'] for r in runs])])
    _bench.table(['task on an empty cluster', 'runs', 'play wall s (median)', 'task s (median)',
                  'task s over ping', 'requests'], rows, title='Start-up: one trivial task per ansible-playbook run')

    zips = dict((label, payload(bench, module)) for label, module, _name in IMPORTS)
    rows = []
    for label, module, name in IMPORTS:
        measured = sorted((import_ms(zips[label], name) for _run in range(args.import_repeat)), key=lambda m: m[0])
        total = _bench.median([m[0] for m in measured])
        top = dict((part, _bench.median([m[1].get(part) for m in measured])) for part in PARTS
                   if any(part in m[1] for m in measured))
        marker = '/'.join(module.split('.')[:2]) if not module.startswith('ansible.') else None
        files, size, own_files, own_size = payload_size(zips[label], marker)
        out['imports'][label] = {'ms': total, 'min_ms': measured[0][0], 'top': top, 'payload_files': files,
                                 'payload_bytes': size, 'collection_files': own_files, 'collection_bytes': own_size}
        rows.append([label, args.import_repeat, '{0:.0f}'.format(total), '{0:.0f}'.format(measured[0][0]),
                     '{0} / {1:.0f} KB'.format(files, size / 1024.0),
                     '{0} / {1:.0f} KB'.format(own_files, own_size / 1024.0) if marker else '',
                     ', '.join('{0} {1:.0f}'.format(part, ms) for part, ms in top.items() if part != name)])
    out['loadavg_end'] = list(os.getloadavg())
    _bench.table(['module (AnsiballZ payload)', 'runs', 'import ms (median)', 'min', 'payload .py files / source',
                  'of which the collection\'s', 'within it, ms (median)'], rows,
                 title='Import time of each module from its AnsiballZ payload, in a fresh Python')


if __name__ == '__main__':
    main()
