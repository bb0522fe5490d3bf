"""`make demo` keeps working: the demo script, its fake cluster and playbooks/demo.yml, end to end."""

import os
import subprocess
import sys

from harness import REPO


def test_demo_runs_and_its_second_converge_changes_nothing():
    env = dict(os.environ, FAKECLUSTER_HOST='127.0.0.77', ANSIBLE_NOCOLOR='1')
    env = dict((k, v) for k, v in env.items() if not k.startswith('PROXMOX_'))
    proc = subprocess.run([os.path.join(REPO, 'tests', 'bin', 'demo'), sys.executable], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    assert 'Second run: 0 of 3 VMs changed' in proc.stdout
    assert 'failed=0' in proc.stdout
    assert '@pve_lxc:' in proc.stdout and 'web1-restored' in proc.stdout  # the inventory sees what it made
