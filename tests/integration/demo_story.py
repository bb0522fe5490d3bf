"""What `make demo` must show: both passes, end to end, and a second pass that changes nothing.

test_docs_examples runs the README's `make demo` verbatim in a fresh clone and checks its output with
assert_the_demo_story (one run of the demo serves both).
"""

import json
import re

SUMMARY_TASK = 'TASK [What the demo did] '
GUEST_LINE = re.compile(r'^  (\S+) \((qemu|lxc) (\d+)\) on (pve\d), (\w+)$')
FIRST_PASS_CHANGED = ('This pass changed: storage, template, guests, snapshot, backup, restore, evacuation, undo, '
                      'skew, rebalance')
SECOND_PASS_CHANGED = ('This pass changed nothing: every step found its result in place (rebalance: balanced, '
                       '0 moves; nothing recorded to undo)')


def summaries_of(output):
    """The lines of each closing summary the demo printed (one per pass), as the debug task printed them."""
    found = []
    at = output.find(SUMMARY_TASK)
    while at != -1:
        start = output.index('ok: [localhost] => ', at) + len('ok: [localhost] => ')
        found.append(json.JSONDecoder().raw_decode(output[start:])[0]['msg'])
        at = output.find(SUMMARY_TASK, start)
    return found


def placement(lines):
    """{name: (type, vmid, node, status)} from a summary's 'Where each guest runs' lines."""
    rows = [GUEST_LINE.match(line) for line in lines[lines.index('Where each guest runs:') + 1:]]
    assert all(rows), lines
    return dict((m.group(1), (m.group(2), int(m.group(3)), m.group(4), m.group(5))) for m in rows)


def assert_the_demo_story(out):
    """The demo's output tells the whole story: two clean passes, what was made, where it runs, what to try next."""
    # It opens with the cluster and the play, not with inventory or templating warnings.
    assert '[WARNING]' not in out and 'No inventory was parsed' not in out, out
    recaps = re.findall(r'^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)', out, re.M)
    assert len(recaps) == 2 and recaps[1] == ('0', '0') and recaps[0][1] == '0', recaps
    assert 'Second run: 0 of 5 guests changed' in out

    first, second = summaries_of(out)
    for lines in (first, second):
        assert re.match(r'^Made: storage nas \(NFS\) holding the template debian-12-standard_\S+\.tar\.zst$', lines[0])
        assert lines[1] == ('Guests, in one pve.fleet.fleet task: VMs web1, web2, db1; containers cache1, cache2 '
                            "(converged again in PVE's raw strings: 0 of 5 changed)")
        assert lines[3] == 'Backups on nas: 5 guests, by pve.fleet.backup (one vzdump task per node)'
    runs = placement(first)
    assert sorted(runs) == ['cache1', 'cache2', 'db1', 'web1', 'web1-restored', 'web2'], first
    assert all(status == 'running' for _type, _vmid, _node, status in runs.values()), first
    assert runs['cache1'][0] == 'lxc' and runs['web1-restored'][:2] == ('qemu', 900)
    assert len(set(node for _t, _v, node, _s in runs.values())) > 1  # rebalanced: not all on pve1 any more
    assert first[2] == 'Snapshot: before_change of web1 (vmid {0})'.format(runs['web1'][1])
    assert first[4] == "Restored: web1's newest backup as web1-restored (vmid 900), running on {0}".format(
        runs['web1-restored'][2])
    evacuated = re.match(r'^Evacuated pve2: (.+); the undo brought them back$', first[5])
    assert evacuated and all(re.match(r'^\S+ to pve[13]$', m) for m in evacuated.group(1).split(', ')), first
    skew = re.match(r'^Skewed: every demo guest onto pve1; rebalanced with (\d+) moves \(memory spread (\d+) -> (\d+) '
                    r'points\)$', first[6])
    assert skew and int(skew.group(1)) > 0 and int(skew.group(3)) < int(skew.group(2)) <= 100, first
    assert first[7] == FIRST_PASS_CHANGED

    # The second pass: the same guests where they were, and not one change.
    assert SECOND_PASS_CHANGED in second and not any(line.startswith(('Evacuated', 'Skewed')) for line in second)
    assert placement(second) == runs

    # The inventory sees what it made, and the demo ends with what to run next.
    assert '@pve_lxc:' in out and 'web1-restored' in out
    tail = out.rstrip().splitlines()[-7:]
    assert tail[0].startswith('== try it yourself')
    assert [line.split('#')[0].strip() for line in tail[1:]] == [
        'make cluster &', 'source .cluster.env', '.venv/bin/ansible-playbook playbooks/demo.yml',
        '.venv/bin/ansible-playbook pve.fleet.evacuate -e node=pve1 --check',
        '.venv/bin/ansible-inventory -i playbooks/fleet.pve.yml --graph', '.venv/bin/ansible-doc pve.fleet.vm']
