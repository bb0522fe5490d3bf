"""`make demo` keeps working: the demo script, its fake cluster and playbooks/demo.yml, end to end."""

import json
import os
import re
import subprocess
import sys

from harness import REPO

SUMMARY_TASK = 'TASK [What the demo did] '


def summary_of(output):
    """The lines of the demo's closing summary, as the debug task printed them."""
    assert SUMMARY_TASK in output, output
    after = output[output.index(SUMMARY_TASK):]
    start = after.index('ok: [localhost] => ') + len('ok: [localhost] => ')
    return json.JSONDecoder().raw_decode(after[start:])[0]['msg']


def test_demo_runs_and_tells_its_story():
    env = dict(os.environ, FAKECLUSTER_HOST='127.0.0.77', ANSIBLE_NOCOLOR='1')
    env = dict((k, v) for k, v in env.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_CONFIG')))
    proc = subprocess.run([os.path.join(REPO, 'tests', 'bin', 'demo'), sys.executable], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
                          check=False)
    out = proc.stdout
    assert proc.returncode == 0, out
    assert 'failed=0' in out
    # It opens with the cluster and the play, not with inventory warnings.
    assert '[WARNING]' not in out and 'No inventory was parsed' not in out, out
    assert 'Second run: 0 of 3 VMs changed' in out

    lines = summary_of(out)
    text = '\n'.join(lines)
    made = re.search(r'^Made: VMs web1 \(vmid (\d+)\), web2 \(vmid (\d+)\), db1 \(vmid (\d+)\); '
                     r'containers cache1 \(vmid (\d+)\), cache2 \(vmid (\d+)\)$', text, re.M)
    assert made, text
    assert lines[1] == 'Where each guest runs:'
    runs = dict((m.group(1), (m.group(2), int(m.group(3)), m.group(4), m.group(5))) for m in re.finditer(
        r'^  (\S+) \((qemu|lxc) (\d+)\) on (pve\d), (\w+)$', text, re.M))
    assert sorted(runs) == ['cache1', 'cache2', 'db1', 'web1', 'web1-restored', 'web2'], text
    assert [runs[n][1] for n in ('web1', 'web2', 'db1', 'cache1', 'cache2')] == [int(v) for v in made.groups()]
    assert runs['cache1'][0] == 'lxc' and runs['web1-restored'][1] == 900
    assert "Second pass (the same VMs in PVE's raw strings): 0 of 3 changed" in lines
    assert 'Snapshot: before_change of web1 (vmid {0})'.format(runs['web1'][1]) in lines
    archive = re.search(r'^Backup archives on shared: (shared:backup/vzdump-qemu-{0}-\S+\.vma\.zst), '
                        r'shared:backup/vzdump-qemu-{1}-'.format(runs['web1'][1], runs['web2'][1]), text, re.M)
    assert archive, text
    assert 'Restored: {0} as vmid 900 (web1-restored) on {1}'.format(archive.group(1), runs['web1-restored'][2]) \
        in lines
    moved = re.search(r'^Migrated: web2 \(vmid {0}\) from (pve\d) to (pve\d) \(online\), copying local-lvm:'
                      .format(runs['web2'][1]), text, re.M)
    assert moved and moved.group(1) != moved.group(2), text
    assert runs['web2'][2] == moved.group(2)  # where it went is where it runs

    # The inventory sees what it made, and the demo ends with what to run next.
    assert '@pve_lxc:' in out and 'web1-restored' in out
    tail = out.rstrip().splitlines()[-6:]
    assert tail[0].startswith('== try it yourself')
    assert [line.split('#')[0].strip() for line in tail[1:]] == [
        'make cluster &', 'source .cluster.env', '.venv/bin/ansible-playbook playbooks/demo.yml',
        '.venv/bin/ansible-inventory -i playbooks/fleet.pve.yml --graph', '.venv/bin/ansible-doc pve.fleet.vm']
