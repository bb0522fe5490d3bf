"""pve.fleet.migrate through ansible-playbook against the fake cluster (tests/fakecluster/migration.py)."""

import pytest
import yaml


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve1', status='running',
                   config={'scsi0': 'shared:100/vm-100-disk-0.raw,size=8G', 'memory': '2048'})
    cluster.add_vm(101, 'db1', node='pve1', status='running',
                   config={'scsi0': 'local-lvm:vm-101-disk-0,size=8G'})
    cluster.add_vm(102, 'batch1', node='pve2', status='stopped',
                   config={'scsi0': 'local-lvm:vm-102-disk-0,size=4G'})
    cluster.add_vm(103, 'usb1', node='pve1', status='running',
                   config={'scsi0': 'shared:103/vm-103-disk-0.raw,size=8G', 'usb0': 'host=1234:5678'})
    cluster.add_ct(200, 'cache1', node='pve2', status='running')
    return cluster


def mig(**options):
    return [{'name': 'migrate', 'pve.fleet.migrate': options}]


def converge(ansible, served, tasks, diff=False):
    """Check mode writes nothing and says what the run then does; the run moves the guest, a second run nothing."""
    check = ansible.assert_check_mode_writes_nothing(tasks, env=served.env, diff=diff).assert_ok()
    first, second = ansible.assert_idempotent(tasks, env=served.env, diff=diff)
    assert check.task('migrate')['changes'] == first.task('migrate')['changes'] != []
    assert check.task('migrate')['mode'] == first.task('migrate')['mode']
    return first, second


def failure(result):
    assert result.rc != 0, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    return msg


def test_running_vm_on_shared_storage_migrates_online_and_is_idempotent(ansible, guests, served):
    first, second = converge(ansible, served, mig(name='web1', target='pve2'), diff=True)
    moved = first.task('migrate')
    assert moved['changed'] and moved['mode'] == 'online' and moved['local_disks'] == []
    assert (moved['vmid'], moved['source_node'], moved['node'], moved['target']) == (100, 'pve1', 'pve2', 'pve2')
    task, = moved['tasks']
    assert ':qmigrate:100:' in task and task.startswith('UPID:pve1:')
    assert moved['changes'] == ['migrate VM 100 (web1) on pve1 to pve2 (live)']
    assert (yaml.safe_load(moved['diff']['before']), yaml.safe_load(moved['diff']['after'])) == (
        {'node': 'pve1'}, {'node': 'pve2'})
    assert guests.vm(100).node == 'pve2' and guests.vm(100).status == 'running'
    again = second.task('migrate')
    assert again['mode'] == 'none' and again['node'] == 'pve2' and again['tasks'] == [] and again['changes'] == []


def test_one_request_to_decide_and_one_to_move(ansible, guests, served):
    guests.clear_log()
    ansible.run(mig(vmid=100, target='pve3'), env=served.env).assert_ok()
    calls = [(e['method'], e['path'].replace('/api2/json/', '')) for e in guests.request_log
             if '/tasks/' not in e['path']]
    assert calls == [('GET', 'cluster/resources'), ('GET', 'nodes/pve1/qemu/100/migrate'),
                     ('POST', 'nodes/pve1/qemu/100/migrate')]


def test_running_vm_with_local_disks_needs_with_local_disks(ansible, guests, served):
    guests.clear_log()
    msg = failure(ansible.run(mig(vmid=101, target='pve2'), env=served.env))
    assert msg == ('cannot migrate VM 101 (db1) on pve1 to pve2: it has local disks '
                   '(local-lvm:vm-101-disk-0 (scsi0)): set with_local_disks=true to copy them during the live '
                   'migration')
    assert guests.writes() == []
    moved = converge(ansible, served, mig(vmid=101, target='pve2', with_local_disks=True))[0].task('migrate')
    assert moved['mode'] == 'online' and moved['local_disks'] == ['local-lvm:vm-101-disk-0']
    assert moved['changes'] == ['migrate VM 101 (db1) on pve1 to pve2 (live), copying local-lvm:vm-101-disk-0']
    assert guests.vm(101).node == 'pve2'


def test_stopped_vm_with_local_disk_migrates_offline(ansible, guests, served):
    moved = converge(ansible, served, mig(name='batch1', target='pve3'))[0].task('migrate')
    assert moved['mode'] == 'offline' and moved['local_disks'] == ['local-lvm:vm-102-disk-0']
    assert guests.vm(102).node == 'pve3' and guests.vm(102).status == 'stopped'


def test_running_container_moves_in_restart_mode(ansible, guests, served):
    first = converge(ansible, served, mig(name='cache1', target='pve1'))[0]
    moved = first.task('migrate')
    assert moved['mode'] == 'restart' and moved['type'] == 'lxc' and ':vzmigrate:200:' in moved['tasks'][0]
    assert moved['changes'] == ['migrate CT 200 (cache1) on pve2 to pve1 (restart mode)']
    assert guests.ct(200).node == 'pve1' and guests.ct(200).status == 'running'


def test_check_mode_writes_nothing(ansible, guests, served):
    result = ansible.assert_check_mode_writes_nothing(mig(vmid=101, target='pve3', with_local_disks=True),
                                                      env=served.env).assert_ok()
    task = result.task('migrate')
    assert task['changed'] and task['mode'] == 'online' and task['node'] == 'pve1' and task['tasks'] == []
    assert guests.vm(101).node == 'pve1'
    msg = failure(ansible.assert_check_mode_writes_nothing(mig(vmid=101, target='pve3'), env=served.env))
    assert 'with_local_disks=true' in msg


@pytest.mark.parametrize('options, expected', [
    ({'vmid': 100, 'target': 'pve9'}, "target: node 'pve9' is not in the cluster (nodes: pve1, pve2, pve3)"),
    ({'vmid': 100, 'target': 'pve2', 'online': False},
     'cannot migrate VM 100 (web1) on pve1 to pve2: it is running: set online=true for a live migration, '
     'or stop it first'),
    ({'vmid': 103, 'target': 'pve2'},
     'cannot migrate VM 103 (usb1) on pve1 to pve2: it uses local devices (usb0), which cannot move'),
    ({'vmid': 200, 'target': 'pve1', 'online': True},
     'cannot migrate CT 200 (cache1) on pve2 to pve1: containers cannot migrate live'),
    ({'vmid': 999, 'target': 'pve1'}, 'vmid 999: no such guest in the cluster'),
])
def test_refusals_with_reasons(ansible, guests, served, options, expected):
    guests.clear_log()
    msg = failure(ansible.run(mig(**options), env=served.env))
    assert msg.startswith(expected), msg
    assert guests.writes() == []


def test_storage_missing_on_target_is_a_reason(ansible, guests, served):
    guests.storages['shared']['nodes'] = 'pve1,pve2'
    msg = failure(ansible.run(mig(vmid=100, target='pve3'), env=served.env))
    assert msg == ('cannot migrate VM 100 (web1) on pve1 to pve3: storage shared is not available on pve3: '
                   'give target_storage, or make the storage available there')


def test_offline_target_is_refused(ansible, guests, served):
    served.run(guests.set_node_offline, 'pve3')
    msg = failure(ansible.run(mig(vmid=100, target='pve3'), env=served.env))
    assert msg == "target: node 'pve3' is offline"


def test_locked_guest_is_refused(ansible, guests, served):
    served.run(guests.hold_guest_lock, 100, 'backup')
    # A held lock is waited for within timeout: a short one.
    msg = failure(ansible.run(mig(vmid=100, target='pve3', timeout=8), env=served.env))
    assert msg.startswith('cannot migrate VM 100 (web1) on pve1: it is locked (backup)')


def test_failed_task_reports_its_log_tail(ansible, guests, served):
    served.run(guests.fail_next_task, 'qmigrate', 'target node exploded')
    msg = failure(ansible.run(mig(vmid=100, target='pve2'), env=served.env))
    # The status once, then what else the log says (the last line, 'TASK ERROR: <status>', is not repeated).
    assert msg.startswith('task qmigrate failed: target node exploded')
    assert msg.count('target node exploded') == 1, msg
    assert guests.vm(100).node == 'pve1'


def test_target_storage_maps_local_disks(ansible, guests, served):
    result = ansible.run(mig(vmid=102, target='pve1', target_storage='shared'), env=served.env).assert_ok()
    assert result.task('migrate')['mode'] == 'offline'
    assert result.task('migrate')['changes'] == [
        'migrate VM 102 (batch1) on pve2 to pve1 (offline), copying local-lvm:vm-102-disk-0 to shared']
    vm = guests.vm(102)
    assert vm.node == 'pve1' and vm.config['scsi0'].startswith('shared:')
