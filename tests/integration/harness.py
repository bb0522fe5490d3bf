"""Run real ansible-playbook processes against the fake cluster and read their results as data."""

import json
import os
import subprocess
import sys

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
        proc_env.update(env or {})
        proc = subprocess.run(argv, cwd=self.workdir, env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600, check=False)
        records = []
        if os.path.exists(record):
            with open(record) as lines:
                records = [json.loads(line) for line in lines if line.strip()]
        return PlayResult(proc.returncode, proc.stdout, records)

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
