"""Shared machinery of the benchmarks: a fake cluster, timed ansible-playbook runs, request counts, tables.

Not a test: nothing here asserts a time. Every figure is printed for a person to read
(and re-measure); see docs/benchmarks.md.
"""

import argparse
import collections
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

BIN = os.path.dirname(sys.executable)
CALLBACKS = os.path.join(HERE, 'callback')
LIBRARY = os.path.join(HERE, 'library')  # bench_floor, the floor of a one-task drift check
NODES = ('pve1', 'pve2', 'pve3')


def peer_version():
    """community.proxmox's version, from the MANIFEST.json of the copy ansible-playbook will load."""
    import ansible_collections.community.proxmox as peer
    with open(os.path.join(list(peer.__path__)[0], 'MANIFEST.json')) as manifest:
        return json.load(manifest)['collection_info']['version']


def ansible_core_version():
    from ansible.release import __version__
    return __version__


def git_commit():
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'plugins'], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout.strip()
        return out + (' (plugins/ modified in the work tree)' if dirty else '')
    except OSError:
        return 'unknown'


def machine():
    """What the figures were measured on, including how busy the machine was."""
    model = platform.processor() or 'unknown'
    try:
        with open('/proc/cpuinfo') as info:
            for line in info:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        'cpus': os.cpu_count(), 'cpu_model': model, 'loadavg': os.getloadavg(),
        'python': platform.python_version(), 'ansible_core': ansible_core_version(),
        'community_proxmox': peer_version(), 'pve_fleet_commit': git_commit(),
        'date': time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
    }


def print_machine(info=None):
    info = info or machine()
    print('# {date}: {cpus} CPUs ({cpu_model}), load average {load}; Python {python}, ansible-core '
          '{ansible_core}, community.proxmox {community_proxmox}, pve.fleet at {pve_fleet_commit}'.format(
              load=' '.join('{0:.2f}'.format(x) for x in info['loadavg']), **info), flush=True)
    return info


_ID = re.compile(r'^\d+$')


def endpoint(entry):
    """'GET nodes/{node}/qemu/{vmid}/config' from a request-log entry: which call, not which guest."""
    parts = entry['path'].split('/')[3:]  # drop '', 'api2', 'json'
    out = []
    for index, part in enumerate(parts):
        prev = parts[index - 1] if index else None
        if prev == 'nodes':
            part = '{node}'
        elif prev in ('qemu', 'lxc') or _ID.match(part):
            part = '{vmid}'
        elif part.startswith('UPID:'):
            part = '{upid}'
        out.append(part)
    return '{0} {1}'.format(entry['method'], '/'.join(out))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Run(object):
    """One ansible-playbook run: its wall time, task timings, per-item results and the API requests it made."""

    def __init__(self, label, rc, output, wall, events, requests):
        self.label = label
        self.rc = rc
        self.output = output
        self.wall = wall
        self.events = events
        self.requests = requests

    def _task_events(self, task):
        return [e for e in self.events if task is None or e['task'] == task]

    def task_seconds(self, task=None):
        """From the task's start to its end (all loop items), as the controller saw it."""
        events = self._task_events(task)
        starts = [e['t'] for e in events if e['event'] == 'task_start']
        ends = [e['t'] for e in events if e['event'] in ('task_end', 'item')]
        if not starts or not ends:
            return None
        return max(ends) - min(starts)

    def items(self, task=None):
        return [e for e in self._task_events(task) if e['event'] == 'item']

    def item_seconds(self, task=None):
        """Seconds each loop item took: the gaps between consecutive item results (the first from the task start)."""
        events = self._task_events(task)
        start = [e['t'] for e in events if e['event'] == 'task_start']
        times = [e['t'] for e in events if e['event'] == 'item']
        if not start or not times:
            return []
        marks = [min(start)] + times
        return [b - a for a, b in zip(marks, marks[1:])]

    def statuses(self, task=None):
        items = self.items(task)
        if items:
            return collections.Counter(e['status'] for e in items)
        return collections.Counter(e['status'] for e in self._task_events(task) if e['event'] == 'task_end')

    def results(self, task=None):
        return [e['result'] for e in self._task_events(task) if e['event'] in ('item', 'task_end')]

    def failed(self):
        return self.rc != 0 or any(e['status'] in ('failed', 'unreachable') for e in self.events
                                   if e['event'] in ('item', 'task_end'))

    def endpoints(self):
        return collections.Counter(endpoint(r) for r in self.requests)

    def check(self):
        if self.failed():
            sys.stderr.write('--- {0} failed (rc {1}):\n{2}\n'.format(self.label, self.rc, self.output[-6000:]))
            raise SystemExit('benchmark run {0!r} failed; output above'.format(self.label))
        return self


class Bench(object):
    """A fake cluster (three nodes, tasks instant) and a way to run plays against it with both collections."""

    def __init__(self, auth='password'):
        self.auth = auth
        self.workdir = tempfile.mkdtemp(prefix='pve-fleet-bench-')
        if os.path.join(REPO, 'tests') not in sys.path:
            sys.path.insert(0, os.path.join(REPO, 'tests'))
        served_cluster = importlib.import_module('fakecluster').ServedCluster
        self.served = served_cluster(os.path.join(self.workdir, 'pki'), host='127.0.0.1', port=0)
        self.cluster = self.served.cluster
        self.count = 0
        self.runs = []

    def close(self):
        try:
            self.served.stop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- connection options, set once per play with module_defaults

    def fleet_connection(self):
        env = self.served.env
        conn = dict(api_host=env['PROXMOX_HOST'], api_port=int(env['PROXMOX_PORT']), ca_path=env['PROXMOX_CA_PATH'])
        if self.auth == 'token':
            conn.update(api_token_id=env['PROXMOX_TOKEN_ID'], api_token_secret=env['PROXMOX_TOKEN_SECRET'])
        else:
            conn.update(api_user=env['PROXMOX_USER'], api_password=env['PROXMOX_PASSWORD'])
        return conn

    def peer_connection(self):
        """community.proxmox takes the same option names; it verifies TLS against ca_path like pve.fleet."""
        env = self.served.env
        conn = dict(api_host=env['PROXMOX_HOST'], api_port=int(env['PROXMOX_PORT']), ca_path=env['PROXMOX_CA_PATH'],
                    validate_certs=True, api_user=env['PROXMOX_USER'])
        if self.auth == 'token':
            # The peer wants api_user plus the token's bare name.
            conn.update(api_token_id=env['PROXMOX_TOKEN_ID'].partition('!')[2],
                        api_token_secret=env['PROXMOX_TOKEN_SECRET'])
        else:
            conn.update(api_password=env['PROXMOX_PASSWORD'])
        return conn

    def play(self, tasks, vars=None):
        play = {'name': 'benchmark', 'hosts': 'localhost', 'gather_facts': False,
                'module_defaults': {'group/pve.fleet.pve': self.fleet_connection(),
                                    'group/community.proxmox.proxmox': self.peer_connection()},
                'tasks': tasks}
        if vars:
            play['vars'] = vars
        return [play]

    def run(self, label, tasks, vars=None, env=None, timeout=900):
        """Run the tasks in one ansible-playbook process; the request log covers exactly this run."""
        self.count += 1
        record = os.path.join(self.workdir, 'record-{0}.jsonl'.format(self.count))
        playbook = os.path.join(self.workdir, 'play-{0}.yml'.format(self.count))
        with open(playbook, 'w') as out:
            json.dump(self.play(tasks, vars), out)  # JSON is YAML
        env = self._env(dict({'PVE_FLEET_BENCH_RECORD': record}, **(env or {})))
        argv = [os.path.join(BIN, 'ansible-playbook'), playbook]
        self.cluster.clear_log()
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=self.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        wall = time.monotonic() - started
        requests = list(self.cluster.request_log)
        events = []
        if os.path.exists(record):
            with open(record) as lines:
                events = [json.loads(line) for line in lines if line.strip()]
        run = Run(label, proc.returncode, proc.stdout, wall, events, requests)
        self.runs.append(run)
        return run

    @staticmethod
    def _env(extra):
        """The environment of an Ansible process: this checkout's ansible.cfg, none of the caller's PROXMOX_* or
        ANSIBLE_* variables, the timing callback and the benchmark-only modules."""
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_')))
        env.update({
            'ANSIBLE_CONFIG': os.path.join(REPO, 'ansible.cfg'),
            'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
            'ANSIBLE_CALLBACKS_ENABLED': 'bench_timing',
            'ANSIBLE_LIBRARY': LIBRARY,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_DEPRECATION_WARNINGS': '0',
            'PATH': BIN + os.pathsep + os.environ.get('PATH', ''),
        })
        env.update(extra or {})
        return env

    def inventory(self, label, filename, config, env=None, timeout=900):
        """One ``ansible-inventory --list`` over an inventory source (``config``, a dict written to ``filename``).
        The run's ``hosts`` counts the hosts, ``guest_hosts`` those with a ``*_vmid`` variable (the peer also makes
        its nodes hosts); the request log covers exactly this run."""
        self.count += 1
        directory = os.path.join(self.workdir, 'inventory-{0}'.format(self.count))
        os.makedirs(directory)
        source = os.path.join(directory, filename)
        with open(source, 'w') as out:
            json.dump(config, out)  # JSON is YAML
        argv = [os.path.join(BIN, 'ansible-inventory'), '-i', source, '--list']
        self.cluster.clear_log()
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=directory, env=self._env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout, check=False)
        wall = time.monotonic() - started
        run = Run(label, proc.returncode, proc.stderr, wall, [], list(self.cluster.request_log))
        try:
            listed = json.loads(proc.stdout) if proc.returncode == 0 else {'_meta': {'hostvars': {}}}
        except ValueError:
            run.rc, listed = run.rc or 1, {'_meta': {'hostvars': {}}}
        hostvars = listed['_meta']['hostvars']  # hosts without variables are only in their groups
        run.hosts = len(set(hostvars).union(*(g.get('hosts', []) for k, g in listed.items() if k != '_meta')))
        run.guest_hosts = sum(1 for v in hostvars.values() if any(k.endswith('_vmid') for k in v))
        self.runs.append(run)
        return run

    # -- state behind the modules' backs

    def call(self, func, *args):
        return self.served.run(func, *args)

    def find_vm(self, name):
        def find():
            found = [vm for vm in self.cluster.vms if vm.name == name]
            return found[0] if len(found) == 1 else found
        return self.call(find)


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--auth', choices=('password', 'token'), default='password',
                   help='how both collections authenticate (default: password, a login per module run)')
    p.add_argument('--json', metavar='FILE', help='also write the figures as JSON')
    return p


def table(headers, rows, title=None):
    """A plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in headers]] + [['' if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    if title:
        lines.append('')
        lines.append('## ' + title)
        lines.append('')

    def fmt(row):
        return '| ' + ' | '.join(c.ljust(w) for c, w in zip(row, widths)) + ' |'
    lines.append(fmt(cells[0]))
    lines.append('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    lines.extend(fmt(r) for r in cells[1:])
    text = '\n'.join(lines)
    print(text, flush=True)
    return text


def secs(value, digits=2):
    return '' if value is None else '{0:.{1}f}'.format(value, digits)


def write_json(path, data):
    if path:
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as out:
            json.dump(data, out, indent=1, sort_keys=True, default=str)
