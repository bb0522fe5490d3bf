"""Run real ansible-playbook processes against the fake cluster and read their results as data."""

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
CALLBACKS = os.path.join(REPO, 'tests', 'integration', 'plugins', 'callback')


class PlayResult:
    """The outcome of one ansible-playbook run: exit code, output, and each task's result."""

    def __init__(self, rc, output, records):
        self.rc = rc
        self.output = output
        self.records = records

    @property
    def tasks(self):
        return self.records

    def task(self, name):
        """The result dict of the task with this name (the last one, if it ran more than once)."""
        found = [r for r in self.records if r['task'] == name]
        assert found, 'no task named {0!r} ran; ran: {1}\n{2}'.format(name, [r['task'] for r in self.records],
                                                                      self.output)
        return found[-1]['result']

    def status(self, name):
        return [r for r in self.records if r['task'] == name][-1]['status']

    @property
    def changed(self):
        return [r['task'] for r in self.records if r['status'] == 'changed']

    @property
    def failed(self):
        return [r for r in self.records if r['status'] in ('failed', 'unreachable')]

    def assert_ok(self):
        assert self.rc == 0 and not self.failed, 'play failed (rc {0}):\n{1}'.format(self.rc, self.output)
        return self


TIMEOUT = 600


def run_playbook(argv, cwd, env, output_path, server_env=None):
    """(exit code, output) of one ansible-playbook run: forked from the prefork server when its
    configuration environment is the run's and it is free, else exec'd (see prefork.py).
    ``server_env``: the environment to start the server with, if this is the first run."""
    server = PreforkServer.for_env(env, server_env or env)
    if server is not None:
        try:
            return server.run(argv, cwd, env, output_path)
        finally:
            server.busy.release()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=TIMEOUT, check=False)
    return proc.returncode, proc.stdout


class PreforkServer:
    """One prefork.py server per test process, started with the first run's environment."""

    _instance = None
    _start = threading.Lock()

    def __init__(self, env):
        self.busy = threading.Lock()
        self.proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), 'prefork.py')],
                                     cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0)  # unbuffered: select() sees every line still unread
        hello = self._read(60)
        self.names = hello['names']
        self.config_env = hello['config_env']
        atexit.register(self.stop)

    @classmethod
    def for_env(cls, env, server_env):
        """The server, reserved for one run, if a run with this environment may be forked from it."""
        if os.environ.get('PVE_FLEET_TEST_EXEC') == '1':
            return None
        with cls._start:
            if cls._instance is None:
                cls._instance = cls(server_env)
            server = cls._instance
        if server.proc.poll() is not None or not server.busy.acquire(blocking=False):
            return None
        if dict((name, env[name]) for name in server.names if name in env) != server.config_env:
            server.busy.release()
            return None
        return server

    def _read(self, timeout):
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired('prefork.py', timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError('the prefork server exited (rc {0})'.format(self.proc.poll()))
        return json.loads(line)

    def run(self, argv, cwd, env, output_path):
        self.proc.stdin.write((json.dumps({'argv': argv, 'cwd': cwd, 'env': env, 'output': output_path}) + '\n')
                              .encode())
        self.proc.stdin.flush()
        pid = self._read(60)['pid']
        try:
            rc = self._read(TIMEOUT)['rc']
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self._read(60)
            raise subprocess.TimeoutExpired(argv, TIMEOUT)
        with open(output_path) as output:
            return rc, output.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


class PlaybookRunner:
    """Writes a play for localhost with the connection set once in module_defaults and runs it.

    ``auth`` is 'password' or 'token'; ``connection`` overrides any connection option.
    """

    def __init__(self, served, workdir):
        self.served = served
        self.workdir = str(workdir)
        self.count = 0

    def connection(self, auth='token', **overrides):
        env = self.served.env
        conn = dict(api_host=env['PROXMOX_HOST'], api_port=int(env['PROXMOX_PORT']), ca_path=env['PROXMOX_CA_PATH'])
        if auth == 'token':
            conn.update(api_token_id=env['PROXMOX_TOKEN_ID'], api_token_secret=env['PROXMOX_TOKEN_SECRET'])
        elif auth == 'password':
            conn.update(api_user=env['PROXMOX_USER'], api_password=env['PROXMOX_PASSWORD'])
        conn.update(overrides)
        return dict((k, v) for k, v in conn.items() if v is not None)

    def play(self, tasks, auth='token', connection=None, vars=None):
        """The play as data: localhost, no facts, connection options for group/pve.fleet.pve."""
        conn = self.connection(auth, **(connection or {}))
        play = {'name': 'pve.fleet test play', 'hosts': 'localhost', 'gather_facts': False,
                'module_defaults': {'group/pve.fleet.pve': conn}, 'tasks': tasks}
        if vars:
            play['vars'] = vars
        return [play]

    def run(self, tasks, check=False, diff=False, auth='token', connection=None, vars=None, env=None, playbook=None,
            extra_args=()):
        """Run the tasks (or a playbook file) with ansible-playbook; returns a PlayResult."""
        self.count += 1
        record = os.path.join(self.workdir, 'record-{0}.jsonl'.format(self.count))
        if playbook is None:
            playbook = os.path.join(self.workdir, 'play-{0}.yml'.format(self.count))
            with open(playbook, 'w') as out:
                yaml.safe_dump(self.play(tasks, auth, connection, vars), out, sort_keys=False)
        argv = [os.path.join(BIN, 'ansible-playbook'), playbook]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        argv.extend(extra_args)
        proc_env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_'))
        proc_env.update({
            'ANSIBLE_CONFIG': os.path.join(REPO, 'ansible.cfg'),
            'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
            'ANSIBLE_CALLBACKS_ENABLED': 'record',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'PVE_FLEET_RECORD': record,
            'PATH': BIN + os.pathsep + os.environ.get('PATH', ''),
        })
        base_env = dict(proc_env)
        proc_env.update(env or {})
        rc, output = run_playbook(argv, self.workdir, proc_env, os.path.join(self.workdir, 'output-{0}.txt'.format(
            self.count)), server_env=base_env)
        records = []
        if os.path.exists(record):
            with open(record) as lines:
                records = [json.loads(line) for line in lines if line.strip()]
        return PlayResult(rc, output, records)

    # -- the checks every module test makes

    def assert_idempotent(self, tasks, **kwargs):
        """Run twice: the first run may change, the second must change nothing. Returns both results."""
        first = self.run(tasks, **kwargs).assert_ok()
        second = self.run(tasks, **kwargs).assert_ok()
        assert second.changed == [], 'second run changed {0}:\n{1}'.format(second.changed, second.output)
        return first, second

    def assert_check_mode_writes_nothing(self, tasks, **kwargs):
        """Run in check mode: no POST/PUT/DELETE may reach the API. Returns the result."""
        log = self.served.cluster
        log.clear_log()
        result = self.run(tasks, check=True, **kwargs)
        assert log.writes() == [], 'check mode wrote: {0}'.format(log.writes())
        return result
