"""pve.fleet.snapshot through ansible-playbook against the fake cluster."""

import pytest
import yaml


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve2', status='running',
                   config={'memory': '2048', 'scsi0': 'local-lvm:vm-100-disk-0,size=8G'})
    cluster.add_vm(101, 'nfs1', node='pve3', status='stopped',
                   config={'scsi0': 'shared:101/vm-101-disk-0.raw,size=8G'})
    cluster.add_ct(200, 'cache1', node='pve1', status='running')
    return cluster


def snap(**options):
    return [{'name': 'snap', 'pve.fleet.snapshot': options}]


def names(result, task='snap'):
    return [s['name'] for s in result.task(task)['snapshots']]


def untimed(result):
    return [dict(s, snaptime=None) for s in result.task('snap')['snapshots']]


def converge(ansible, served, tasks):
    """Check mode writes nothing and says what the run then does; the run changes, a second run nothing."""
    check = ansible.assert_check_mode_writes_nothing(tasks, env=served.env).assert_ok()
    first, second = ansible.assert_idempotent(tasks, env=served.env)
    assert check.task('snap')['changes'] == first.task('snap')['changes'] != []
    # What check mode predicts is what the run leaves (a snapshot still to be taken has no time yet).
    assert untimed(check) == untimed(first)
    assert check.task('snap')['current'] == first.task('snap')['current']
    return first, second


def diff(result, task='snap'):
    shown = result.task(task)['diff']
    return yaml.safe_load(shown['before']) or {}, yaml.safe_load(shown['after']) or {}


def test_lifecycle_take_idempotent_then_remove(ansible, guests, served):
    tasks = snap(name='web1', snapname='before_upgrade', description='before the upgrade')
    first, second = converge(ansible, served, tasks)
    created = first.task('snap')
    assert created['changed'] and created['created'] == ['before_upgrade']
    assert created['changes'] == ['take snapshot before_upgrade']
    assert (created['vmid'], created['node'], created['type']) == (100, 'pve2', 'qemu')
    assert len(created['tasks']) == 1
    assert created['tasks'][0].startswith('UPID:pve2:') and ':qmsnapshot:100:' in created['tasks'][0]
    assert created['snapshots'][0]['description'] == 'before the upgrade'
    assert created['current'] == 'before_upgrade'
    assert second.task('snap')['created'] == [] and second.task('snap')['tasks'] == []
    assert second.task('snap')['changes'] == []
    assert list(guests.vm(100).snapshots) == ['before_upgrade']

    gone, again = converge(ansible, served, snap(vmid=100, snapname='before_upgrade', state='absent'))
    assert gone.task('snap')['removed'] == ['before_upgrade']
    assert gone.task('snap')['changes'] == ['remove snapshot before_upgrade']
    assert gone.task('snap')['snapshots'] == [] and gone.task('snap')['current'] is None
    assert again.task('snap')['removed'] == []
    assert guests.vm(100).snapshots == {}


def test_container_snapshot_and_rollback(ansible, guests, served):
    ansible.run(snap(name='cache1', snapname='clean'), env=served.env).assert_ok()
    guests.ct(200).config['memory'] = 1024
    result = ansible.run(snap(vmid=200, snapname='clean', state='rollback', start=True), env=served.env).assert_ok()
    rolled = result.task('snap')
    assert rolled['changed'] and rolled['rolled_back'] == 'clean' and rolled['type'] == 'lxc'
    assert ':vzrollback:200:' in rolled['tasks'][0]
    assert rolled['changes'] == ['roll back CT 200 (cache1) on pve1 to snapshot clean, then start it']
    assert guests.ct(200).config['memory'] == 512
    assert guests.ct(200).status == 'running'


def test_vm_rollback_restores_config(ansible, guests, served):
    ansible.run(snap(vmid=100, snapname='s1', vmstate=True), env=served.env).assert_ok()
    assert guests.vm(100).snapshots['s1']['vmstate']
    guests.vm(100).config['memory'] = '4096'
    result = ansible.run(snap(vmid=100, snapname='s1', state='rollback'), env=served.env, diff=True).assert_ok()
    assert guests.vm(100).config['memory'] == '2048'
    assert diff(result) == ({'current': 's1', 'snapshots': ['s1']}, {'current': 's1', 'snapshots': ['s1']})


def test_vmstate_only_of_a_running_vm(ansible, guests, served):
    # PVE saves no RAM of a stopped VM: the plan says so, and the run agrees.
    guests.add_vm(102, 'cold1', node='pve1', status='stopped', config={'scsi0': 'local-lvm:vm-102-disk-0,size=4G'})
    first, _second = converge(ansible, served, snap(vmid=102, snapname='cold', vmstate=True))
    assert first.task('snap')['changes'] == ['take snapshot cold']
    assert not guests.vm(102).snapshots['cold'].get('vmstate')


def test_description_of_existing_snapshot_is_updated(ansible, guests, served):
    ansible.run(snap(vmid=100, snapname='s1', description='old'), env=served.env).assert_ok()
    guests.clear_log()
    changed = converge(ansible, served, snap(vmid=100, snapname='s1', description='new'))[0]
    assert changed.task('snap')['changed'] and changed.task('snap')['created'] == []
    assert changed.task('snap')['changes'] == ['set the description of snapshot s1: old -> new']
    assert changed.task('snap')['tasks'] == []  # PVE runs no task for a description
    assert guests.vm(100).snapshots['s1']['description'] == 'new'


def test_retention_keeps_newest_with_prefix(ansible, guests, served):
    vm = guests.vm(100)
    for i, name in enumerate(['daily_1', 'daily_2', 'daily_3', 'daily_4', 'manual']):
        vm.snapshots[name] = {'snaptime': 1000 + i, 'description': ''}
    tasks = snap(vmid=100, snapname='daily_5', prefix='daily_', retention=3)
    first, second = converge(ansible, served, tasks)
    assert first.task('snap')['created'] == ['daily_5']
    assert first.task('snap')['removed'] == ['daily_1', 'daily_2']
    assert first.task('snap')['changes'] == ['take snapshot daily_5',
                                             'remove snapshot daily_1 (retention: the newest 3 daily_* are kept)',
                                             'remove snapshot daily_2 (retention: the newest 3 daily_* are kept)']
    assert len(first.task('snap')['tasks']) == 3
    assert sorted(vm.snapshots) == ['daily_3', 'daily_4', 'daily_5', 'manual']
    assert second.task('snap')['removed'] == []


def test_retention_alone_prunes(ansible, guests, served):
    vm = guests.vm(100)
    for i in range(4):
        vm.snapshots['hourly_{0}'.format(i)] = {'snaptime': 1000 + i, 'description': ''}
    result = converge(ansible, served, snap(vmid=100, prefix='hourly_', retention=1))[0]
    assert result.task('snap')['removed'] == ['hourly_0', 'hourly_1', 'hourly_2']
    assert list(vm.snapshots) == ['hourly_3']


def test_list(ansible, guests, served):
    guests.vm(100).snapshots['a'] = {'snaptime': 5, 'description': 'first\n'}
    result = ansible.run(snap(vmid=100), env=served.env).assert_ok()
    assert result.task('snap')['snapshots'] == [
        {'name': 'a', 'description': 'first', 'snaptime': 5, 'vmstate': False, 'parent': None}]
    assert not result.task('snap')['changed']


def test_check_mode_writes_nothing_and_predicts(ansible, guests, served):
    vm = guests.vm(100)
    for i in range(3):
        vm.snapshots['d_{0}'.format(i)] = {'snaptime': 1000 + i, 'description': ''}
    result = ansible.assert_check_mode_writes_nothing(
        snap(vmid=100, snapname='d_9', prefix='d_', retention=2), env=served.env, diff=True).assert_ok()
    task = result.task('snap')
    assert task['changed'] and task['created'] == ['d_9'] and task['removed'] == ['d_0', 'd_1']
    assert [s['name'] for s in task['snapshots']] == ['d_2', 'd_9']
    assert task['current'] == 'd_9' and task['tasks'] == []
    assert diff(result) == ({'snapshots': ['d_0', 'd_1', 'd_2']}, {'snapshots': ['d_2', 'd_9']})
    assert sorted(vm.snapshots) == ['d_0', 'd_1', 'd_2']
    for state in ('absent', 'rollback'):
        result = ansible.assert_check_mode_writes_nothing(snap(vmid=100, snapname='d_1', state=state),
                                                          env=served.env).assert_ok()
        assert result.task('snap')['changed']


def failure(result):
    assert result.rc != 0, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    return msg


@pytest.mark.parametrize('options, expected', [
    ({'vmid': 999, 'snapname': 's1'}, 'vmid 999: no such guest in the cluster'),
    ({'name': 'nope', 'snapname': 's1'}, "name 'nope': no guest of that name in the cluster"),
    ({'vmid': 100, 'name': 'cache1', 'snapname': 's1'}, "vmid 100 is VM 100 (web1) on pve2, not named 'cache1'"),
    ({'vmid': 100, 'snapname': 'nope', 'state': 'rollback'}, "snapname 'nope': VM 100 (web1) on pve2 has no such"),
    ({'vmid': 200, 'snapname': 's1', 'vmstate': True}, 'vmstate: CT 200 (cache1) on pve1 is a container'),
    ({'vmid': 100, 'snapname': 'current'}, "snapname 'current' is a name PVE reserves"),
    ({'vmid': 100, 'retention': 2}, 'retention'),
    ({'vmid': 100, 'state': 'rollback'}, 'snapname'),
    ({'vmid': 100, 'snapname': 's1', 'state': 'absent', 'prefix': 'd_', 'retention': 1},
     'retention: only used with state=present (got state=absent)'),
    ({'vmid': 100, 'state': 'absent'}, 'snapname'),
    ({'vmid': 100, 'snapname': 'a-b'}, "snapname 'a-b': a snapshot name is a letter, then letters, digits or _"),
    ({'vmid': 101, 'snapname': 'snap1'}, 'task qmsnapshot failed: snapshot feature is not available'),
])
def test_refusals_name_the_option(ansible, guests, served, options, expected):
    guests.clear_log()
    msg = failure(ansible.run(snap(**options), env=served.env))
    assert expected in msg


def test_locked_guest_fails_before_writing(ansible, guests, served):
    served.run(guests.hold_guest_lock, 100, 'backup')
    guests.clear_log()
    msg = failure(ansible.run(snap(vmid=100, snapname='s1', timeout=8), env=served.env))
    assert msg == ('cannot change the snapshots of VM 100 (web1) on pve2: it is locked (backup); '
                   'wait for that job to end or unlock it')
    assert guests.writes() == []
