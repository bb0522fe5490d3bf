"""`make cluster` (python -m fakecluster): the env file it writes works from any directory."""

import os
import shlex
import signal
import subprocess
import sys
import time

from harness import BIN, REPO

HOST = '127.0.0.79'  # its own address: other tests and a developer's `make cluster` use 127.0.0.1-3


def read_env(path):
    env = {}
    with open(path) as lines:
        for line in lines:
            if line.startswith('export '):
                key, _sep, value = line[len('export '):].strip().partition('=')
                env[key] = shlex.split(value)[0]
    return env


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert proc.poll() is None, 'the fake cluster exited: {0}'.format(proc.communicate())
        assert time.monotonic() < deadline, 'no {0} after {1}s'.format(path, seconds)
        time.sleep(0.1)


def test_env_file_holds_absolute_paths_whatever_the_options_and_cwd(tmp_path):
    start = tmp_path / 'start'
    start.mkdir()
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_')))
    env['PYTHONPATH'] = os.path.join(REPO, 'tests')
    # Relative --env-file and --pki-dir, as the Makefile passes them.
    proc = subprocess.Popen([sys.executable, '-m', 'fakecluster', '--env-file', 'cluster.env',
                             '--pki-dir', 'pki', '--host', HOST, '--port', '0'],
                            cwd=str(start), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    envfile = str(start / 'cluster.env')
    try:
        wait_for(envfile, proc)
        cluster_env = read_env(envfile)
        assert os.path.isabs(cluster_env['PROXMOX_CA_PATH']), cluster_env
        assert cluster_env['PROXMOX_CA_PATH'] == str(start / 'pki' / 'fakecluster.crt')
        assert os.path.isfile(cluster_env['PROXMOX_CA_PATH'])

        # A module run from another directory (modules never run where the file was sourced).
        run_env = dict(env, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                       **cluster_env)
        ran = subprocess.run([os.path.join(BIN, 'ansible'), 'localhost', '-m', 'pve.fleet.guest_info'],
                             cwd=str(elsewhere), env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=120, check=False)
        assert ran.returncode == 0, ran.stdout
        assert '"guests": []' in ran.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert not os.path.exists(envfile)  # removed when it stops
    assert 'connection settings in {0}'.format(envfile) in output
