"""Load: 200 guests converged by one fleet task with faults sprinkled through the run (create tasks that fail,
a flaky network, a guest held by another task): every failure reported per guest, nothing lost, the re-run
converges. Then 50 ansible-playbook processes against one cluster, 10 at a time, each creating guests by name
without a vmid: no duplicate vmid or name."""

import os

import yaml

from reliability import assert_consistent, duplicate_names, locked_guests, orphaned_volumes, start_playbook

GUESTS = 200
FAILED_CREATES = 5
PROCESSES = 50
AT_ONCE = 10


def fleet_items():
    items = []
    for i in range(GUESTS):
        if i % 10 == 9:
            items.append({'type': 'ct', 'hostname': 'load-ct{0}'.format(i), 'memory': 256,
                          'ostemplate': 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
                          'rootfs': 'local-lvm:1'})
        else:
            items.append({'type': 'vm', 'name': 'load-vm{0}'.format(i), 'memory': 256,
                          'disks': {'scsi0': 'local-lvm:1'} if i % 3 == 0 else None})
    items.append({'type': 'vm', 'name': 'busy', 'memory': 1024})  # exists, held by a backup
    return [dict((k, v) for k, v in item.items() if v is not None) for item in items]


def test_200_guests_with_faults_every_failure_reported_nothing_lost_rerun_converges(ansible, served, cluster):
    cluster.store_file('local', 'debian-12-standard_12.12-1_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')
    cluster.add_vm(99999, 'busy', node='pve2', config={'memory': '512'})
    task = [{'name': 'fleet', 'pve.fleet.fleet': {'guests': fleet_items(), 'timeout': 3}}]

    def faults():
        for n in range(FAILED_CREATES):
            cluster.fail_next_task('qmcreate', 'create failed (injected {0})'.format(n),
                                   lines=['error: injected create failure'])
        cluster.fail_next_task('vzcreate', 'create failed (injected ct)')
        cluster.flaky_network(drop_rate=0.02)
        cluster._random.seed(200)  # the same drops each run
        cluster.hold_guest_lock(99999, 'backup')
    served.run(faults)
    first = ansible.run(task)
    assert first.rc != 0 and 'Traceback' not in first.output
    result = first.task('fleet')
    reported = result['guests']
    assert len(reported) == GUESTS + 1  # one entry per guest, failed or not
    failed = [g for g in reported if g['failed']]
    injected = [g for g in failed if 'injected' in g['msg']]
    assert len(injected) == FAILED_CREATES + 1, [g['msg'] for g in failed]
    assert [g['name'] for g in failed if 'locked (backup)' in g['msg']] == ['busy']
    assert result['summary']['failed'] == len(failed) and result['msg'].startswith('{0} of {1} guests failed'.format(
        len(failed), GUESTS + 1))
    # Nothing lost: every guest reported done exists, once; a failed create left nothing behind.
    made = set(g.name for g in cluster.vms) | set(g.config.get('hostname') for g in cluster.cts)
    for guest in reported:
        if not guest['failed']:
            assert guest['name'] in made, guest
    # (the one lock left is the backup's, held by "another task": ours left none)
    assert duplicate_names(cluster) == [] and orphaned_volumes(cluster) == []
    assert locked_guests(cluster) == [(99999, 'backup')]

    def heal():
        cluster.flaky_network(0)
        cluster.release_guest_lock(99999)
        del cluster.task_faults[:]
    served.run(heal)
    again = ansible.run(task).assert_ok()
    names = sorted(g.name for g in cluster.vms) + sorted(g.config.get('hostname') for g in cluster.cts)
    assert len(names) == GUESTS + 1 and len(set(names)) == GUESTS + 1
    assert str(cluster.vm(99999).config['memory']) == '1024'
    assert ansible.run(task).assert_ok().changed == [], again.output
    assert_consistent(cluster)


def test_50_playbooks_at_once_make_no_duplicate_vmid_or_name(ansible, cluster):
    def playbook(n):
        tasks = [{'name': 'vm {0}'.format(i), 'pve.fleet.vm': {'name': 'p{0}-g{1}'.format(n, i), 'memory': 256}}
                 for i in range(2)]
        path = os.path.join(ansible.workdir, 'p{0}.yml'.format(n))
        with open(path, 'w') as out:
            yaml.safe_dump(ansible.play(tasks), out, sort_keys=False)
        return path
    paths = [playbook(n) for n in range(PROCESSES)]
    codes, outputs = [], []
    for start in range(0, PROCESSES, AT_ONCE):  # bounded: AT_ONCE processes at a time, on loopback
        running = [start_playbook(ansible, path)[0] for path in paths[start:start + AT_ONCE]]
        for proc in running:
            outputs.append(proc.communicate(timeout=600)[0])
            codes.append(proc.returncode)
    failures = [line for c, o in zip(codes, outputs) if c for line in o.splitlines() if line.startswith('fatal:')]
    assert codes == [0] * PROCESSES, '\n'.join(failures) or [o for c, o in zip(codes, outputs) if c][:2]
    vmids = [g.vmid for g in cluster.vms]
    names = [g.name for g in cluster.vms]
    assert len(vmids) == 2 * PROCESSES and len(set(vmids)) == len(vmids) and len(set(names)) == len(names)
    assert sorted(names) == sorted('p{0}-g{1}'.format(n, i) for n in range(PROCESSES) for i in range(2))
    assert_consistent(cluster)
