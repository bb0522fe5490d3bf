"""pve.fleet.backup, backup_info and restore through ansible-playbook against the fake cluster
(vzdump, pruning and restore from tests/fakecluster/backup.py and restore.py)."""

import pytest
import yaml

ARCHIVE_NAME = r'^{0}:backup/vzdump-{1}-{2}-\d{{4}}_\d\d_\d\d-\d\d_\d\d_\d\d\.{3}$'


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve1', status='running',
                   config={'scsi0': 'shared:100/vm-100-disk-0.raw,size=8G', 'memory': '2048', 'tags': 'prod;web',
                           'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
    cluster.add_vm(101, 'db1', node='pve2', status='stopped',
                   config={'scsi0': 'local-lvm:vm-101-disk-0,size=4G', 'tags': 'prod'})
    cluster.add_vm(102, 'batch1', node='pve2', status='stopped',
                   config={'scsi0': 'local-lvm:vm-102-disk-0,size=4G'})
    cluster.add_ct(200, 'cache1', node='pve3', status='running')
    return cluster


def task(module, **options):
    return [{'name': module, 'pve.fleet.' + module: options}]


def check_then_run(ansible, served, module, **options):
    """Check mode writes nothing and says what the run then does (a backup or restore always changes)."""
    tasks = task(module, **options)
    check = ansible.assert_check_mode_writes_nothing(tasks, env=served.env).assert_ok()
    done = ansible.run(tasks, env=served.env).assert_ok()
    assert check.task(module)['changes'] == done.task(module)['changes'] != []
    assert check.task(module)['tasks'] == []
    return done


def failure(result):
    assert result.rc != 0, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    return msg


# -------------------------------------------------------------------- backup

def test_backup_by_name_returns_archives(ansible, guests, served):
    result = check_then_run(ansible, served, 'backup', name=['web1', 'cache1'], storage='shared', compress='zstd',
                            notes='before upgrade', protected=True)
    done = result.task('backup')
    assert done['changed']
    assert [(g['vmid'], g['node']) for g in done['guests']] == [(100, 'pve1'), (200, 'pve3')]
    assert done['changes'] == ['back up VM 100 (web1) on pve1 to shared (snapshot mode)',
                               'back up CT 200 (cache1) on pve3 to shared (snapshot mode)']
    assert len(done['tasks']) == 2 and all(':vzdump:' in u for u in done['tasks'])
    archives = done['archives']
    assert [a['vmid'] for a in archives] == [100, 200]
    import re
    assert re.match(ARCHIVE_NAME.format('shared', 'qemu', 100, r'vma\.zst'), archives[0]['volid'])
    assert re.match(ARCHIVE_NAME.format('shared', 'lxc', 200, r'tar\.zst'), archives[1]['volid'])
    for archive in archives:
        assert archive['size'] > 0 and archive['shared'] and archive['node'] is None
        assert archive['notes'] == 'before upgrade' and archive['protected']
    assert [a['type'] for a in archives] == ['qemu', 'lxc']


def test_backup_is_always_changed(ansible, guests, served):
    for attempt in range(2):
        result = ansible.run(task('backup', vmid=101, storage='local'), env=served.env).assert_ok()
        assert result.changed == ['backup']
        archive, = result.task('backup')['archives']
        assert archive['node'] == 'pve2' and not archive['shared'] and archive['storage'] == 'local'


@pytest.mark.parametrize('options, expected', [
    ({'tags': ['prod']}, [100, 101]),
    ({'node': 'pve2'}, [101, 102]),
    ({'all': True}, [100, 101, 102, 200]),
    ({'all': True, 'node': 'pve2', 'tags': ['prod']}, [101]),
    ({'vmid': [102, 100]}, [100, 102]),
])
def test_selection_in_check_mode_writes_nothing(ansible, guests, served, options, expected):
    result = ansible.assert_check_mode_writes_nothing(task('backup', storage='shared', **options),
                                                      env=served.env).assert_ok()
    done = result.task('backup')
    assert done['changed'] and done['archives'] == [] and done['tasks'] == []
    assert [g['vmid'] for g in done['guests']] == expected
    assert yaml.safe_load(done['diff']['after'])['backups'][0].startswith('VM {0} '.format(expected[0]))


def test_pool_selection(ansible, guests, served):
    guests.add_vm(103, 'pooled', node='pve1', status='stopped', pool='backups',
                  config={'scsi0': 'shared:103/vm-103-disk-0.raw,size=1G'})
    result = ansible.run(task('backup', pool='backups', storage='shared'), env=served.env).assert_ok()
    assert [a['vmid'] for a in result.task('backup')['archives']] == [103]


def test_prune_keeps_last_n(ansible, guests, served):
    for attempt in range(3):
        ansible.run(task('backup', vmid=102, storage='shared'), env=served.env).assert_ok()
        guests.advance_clock(3600)
    result = check_then_run(ansible, served, 'backup', vmid=102, storage='shared', prune={'keep_last': 2})
    assert result.task('backup')['changes'] == [
        'back up VM 102 (batch1) on pve2 to shared (snapshot mode, then prune to keep-last=2)']
    new = result.task('backup')['archives'][0]['volid']
    listed = ansible.run(task('backup_info', vmid=102), env=served.env).assert_ok().task('backup_info')['backups']
    assert len(listed) == 2 and listed[-1]['volid'] == new


def test_no_match_is_not_a_change(ansible, guests, served):
    result = ansible.run(task('backup', tags=['nothing-tagged-so'], storage='shared'), env=served.env).assert_ok()
    assert result.changed == [] and result.task('backup')['msg'] == 'no guest matched: nothing to back up'
    assert result.task('backup')['changes'] == [] and result.task('backup')['tasks'] == []


@pytest.mark.parametrize('options, expected', [
    ({'vmid': [999], 'storage': 'shared'}, 'vmid 999: no such guest in the cluster'),
    ({'name': ['nope'], 'storage': 'shared'}, "name 'nope': no guest of that name in the cluster"),
    ({'vmid': [100], 'storage': 'local-lvm'}, "storage: storage 'local-lvm' does not hold backup (its content: "),
    ({'vmid': [100], 'storage': 'nfs9'}, "storage: storage 'nfs9' does not exist (storages: "),
    ({'storage': 'shared'}, 'one of vmid, name, node, pool, tags or all=true is required'),
    ({'vmid': [100], 'node': 'pve2', 'storage': 'shared'}, 'VM 100 (web1) on pve1 was named by vmid/name but is not'),
    ({'vmid': [100], 'storage': 'shared', 'prune': {}}, 'prune: give at least one keep_* option'),
    ({'vmid': [100], 'storage': 'shared', 'prune': {'keep_all': True, 'keep_last': 2}},
     'prune: keep_all cannot be set together with other keep_* options'),
    ({'vmid': [100], 'storage': 'shared', 'prune': {'keep_daily': -1}}, 'prune: keep_daily must be 0 or more'),
])
def test_backup_refusals(ansible, guests, served, options, expected):
    guests.clear_log()
    msg = failure(ansible.run(task('backup', **options), env=served.env))
    assert msg.startswith(expected), msg
    assert guests.writes() == []


def test_failed_backup_reports_task_log(ansible, guests, served):
    served.run(guests.hold_guest_lock, 102, 'migrate')
    result = ansible.run(task('backup', vmid=102, storage='shared', timeout=8), env=served.env)
    msg = failure(result)
    assert msg == 'backup failed for 1 of 1 guest(s): VM 102 (batch1) on pve2: VM is locked (migrate)', msg
    report, = result.failed[0]['result']['guests']
    assert report['status'] == 'failed' and report['archive'] is None and report['msg'] == 'VM is locked (migrate)'


def test_each_guest_reported_with_archive_size_and_duration(ansible, guests, served):
    guests.clear_log()
    result = ansible.run(task('backup', all=True, storage='shared'), env=served.env).assert_ok()
    done = result.task('backup')
    # One vzdump per node, never two: pve2's two guests go one after the other in its one task.
    posts = sorted(e['path'] for e in guests.writes() if e['path'].endswith('/vzdump'))
    assert posts == ['/api2/json/nodes/pve1/vzdump', '/api2/json/nodes/pve2/vzdump', '/api2/json/nodes/pve3/vzdump']
    archives = dict((a['vmid'], a) for a in done['archives'])
    assert [(g['vmid'], g['node'], g['status']) for g in done['guests']] == [
        (100, 'pve1', 'ok'), (101, 'pve2', 'ok'), (102, 'pve2', 'ok'), (200, 'pve3', 'ok')]
    for report in done['guests']:
        assert report['archive'] == archives[report['vmid']]['volid']
        assert report['size'] == archives[report['vmid']]['size'] > 0
        assert isinstance(report['duration'], int) and report['duration'] >= 0 and report['msg'] == ''


def test_one_guest_failing_fails_the_task_and_the_others_keep_their_archives(ansible, guests, served):
    served.run(guests.hold_guest_lock, 101, 'snapshot')
    result = ansible.run(task('backup', all=True, storage='shared', timeout=8), env=served.env)
    msg = failure(result)
    assert msg == 'backup failed for 1 of 4 guest(s): VM 101 (db1) on pve2: VM is locked (snapshot)', msg
    reports = dict((g['vmid'], g) for g in result.failed[0]['result']['guests'])
    assert [v for v, g in sorted(reports.items()) if g['status'] == 'ok'] == [100, 102, 200]
    assert reports[102]['archive'].startswith('shared:backup/vzdump-qemu-102-')  # its node's task went on
    listed = ansible.run(task('backup_info'), env=served.env).assert_ok().task('backup_info')['backups']
    assert sorted(b['vmid'] for b in listed) == [100, 102, 200]


def test_check_mode_reports_every_guest_planned(ansible, guests, served):
    result = ansible.assert_check_mode_writes_nothing(task('backup', tags=['prod'], storage='shared'),
                                                      env=served.env).assert_ok()
    assert [(g['vmid'], g['status'], g['archive']) for g in result.task('backup')['guests']] == [
        (100, 'planned', None), (101, 'planned', None)]


# --------------------------------------------------------------- backup_info

def test_backup_info_lists_across_storages_and_latest(ansible, guests, served):
    ansible.run(task('backup', vmid=[100, 101], storage='shared'), env=served.env).assert_ok()
    guests.advance_clock(60)
    ansible.run(task('backup', vmid=[101], storage='local'), env=served.env).assert_ok()
    guests.clear_log()
    result = ansible.run(task('backup_info'), env=served.env).assert_ok()
    listed = result.task('backup_info')['backups']
    assert [(b['vmid'], b['storage'], b['node']) for b in listed] == [
        (100, 'shared', None), (101, 'shared', None), (101, 'local', 'pve2')]
    first = listed[0]
    assert first['type'] == 'qemu' and first['time'].endswith('Z') and first['size'] > 0
    assert first['protected'] is False
    # one cluster/resources, shared listed once, local on each of the three nodes
    paths = [e['path'] for e in guests.request_log]
    assert paths.count('/api2/json/cluster/resources') == 1 and len(paths) == 5

    latest = ansible.run(task('backup_info', latest=True), env=served.env).assert_ok().task('backup_info')
    assert [(b['vmid'], b['storage']) for b in latest['backups']] == [(100, 'shared'), (101, 'local')]
    by_name = ansible.run(task('backup_info', name='db1', storage='shared'), env=served.env).assert_ok()
    assert [b['vmid'] for b in by_name.task('backup_info')['backups']] == [101]
    on_node = ansible.run(task('backup_info', node='pve1', type='qemu'), env=served.env).assert_ok()
    assert [b['storage'] for b in on_node.task('backup_info')['backups']] == ['shared', 'shared']


# ------------------------------------------------------------------- restore

def test_backup_then_info_then_restore_to_new_vmid(ansible, guests, served):
    tasks = [
        {'name': 'backup', 'pve.fleet.backup': {'name': ['web1'], 'storage': 'shared'}, 'register': 'backup'},
        {'name': 'info', 'pve.fleet.backup_info': {'name': 'web1', 'latest': True}, 'register': 'info'},
        {'name': 'restore', 'pve.fleet.restore': {'archive': '{{ info.backups[0].volid }}', 'target_vmid': 150,
                                                  'unique': True, 'start': True}},
    ]
    result = ansible.run(tasks, env=served.env, diff=True).assert_ok()
    archive = result.task('backup')['archives'][0]['volid']
    assert result.task('info')['backups'][0]['volid'] == archive
    restored = result.task('restore')
    assert restored['changed'] and (restored['vmid'], restored['node'], restored['type']) == (150, 'pve1', 'qemu')
    assert restored['archive'] == archive and restored['source_vmid'] == 100 and not restored['overwritten']
    task_id, = restored['tasks']
    assert ':qmrestore:150:' in task_id
    assert restored['changes'] == ['restore VM 150 on pve1 from {0}, with new MAC addresses, and start it'.format(archive)]
    assert restored['diff']['before'] == ''
    assert yaml.safe_load(restored['diff']['after']) == dict(vmid=150, node='pve1', type='qemu', archive=archive,
                                                             name=None)
    vm = guests.vm(150)
    assert vm.node == 'pve1' and vm.status == 'running' and vm.config['memory'] == '2048'
    assert vm.config['net0'] != guests.vm(100).config['net0']  # unique: a new MAC
    assert vm.config['scsi0'].startswith('shared:')


def test_restore_latest_by_vmid_of_a_destroyed_container(ansible, guests, served):
    ansible.run(task('backup', vmid=200, storage='local'), env=served.env).assert_ok()
    guests.advance_clock(60)
    second = ansible.run(task('backup', vmid=200, storage='local'), env=served.env).assert_ok()
    newest = second.task('backup')['archives'][0]['volid']
    served.run(guests._drop, guests.ct(200))
    assert guests.ct(200) is None
    result = check_then_run(ansible, served, 'restore', vmid=200)
    restored = result.task('restore')
    assert (restored['archive'], restored['node'], restored['type']) == (newest, 'pve3', 'lxc')
    ct = guests.ct(200)
    assert ct.node == 'pve3' and ct.config['rootfs'].startswith('local-lvm:')
    assert len(restored['tasks']) == 1 and ':vzrestore:200:' in restored['tasks'][0] and restored['name'] is None
    # The container's volumes go where its root disk was, as the archive says (read before planning).
    assert restored['changes'] == ['restore CT 200 on pve3 from {0} onto storage local-lvm'.format(newest)]


def test_restored_vm_renamed_then_started(ansible, guests, served):
    made = ansible.run(task('backup', vmid=100, storage='shared'), env=served.env).assert_ok()
    archive = made.task('backup')['archives'][0]['volid']
    result = check_then_run(ansible, served, 'restore', archive=archive, target_vmid=150, target_name='web1-copy',
                            start=True)
    restored = result.task('restore')
    assert restored['name'] == 'web1-copy' and ':qmstart:150:' in restored['tasks'][1]
    assert restored['changes'][1:] == ['set name: web1-copy', 'start VM 150']
    vm = guests.vm(150)
    assert vm.config['name'] == 'web1-copy' and vm.status == 'running'


def test_restored_container_renamed_before_it_starts(ansible, guests, served):
    made = ansible.run(task('backup', vmid=200, storage='shared'), env=served.env).assert_ok()
    archive = made.task('backup')['archives'][0]['volid']
    result = ansible.run(task('restore', archive=archive, target_vmid=250, target_name='cache2', start=True,
                              storage='local-lvm'), env=served.env).assert_ok()
    restored = result.task('restore')
    assert (restored['vmid'], restored['node'], restored['type']) == (250, 'pve3', 'lxc')
    ct = guests.ct(250)
    assert ct.config['hostname'] == 'cache2' and ct.status == 'running'
    assert guests.ct(200).config['hostname'] == 'cache1'


def test_existing_target_needs_force_and_a_stopped_guest(ansible, guests, served):
    made = ansible.run(task('backup', vmid=101, storage='shared'), env=served.env).assert_ok()
    archive = made.task('backup')['archives'][0]['volid']
    guests.clear_log()
    msg = failure(ansible.run(task('restore', archive=archive), env=served.env))
    assert msg == ('target_vmid 101 exists (VM 101 (db1) on pve2): set force=true to overwrite it with the backup, '
                   'or give another target_vmid')
    guests.vm(101).config['memory'] = '8192'
    result = check_then_run(ansible, served, 'restore', archive=archive, force=True)
    assert result.task('restore')['overwritten'] and result.task('restore')['node'] == 'pve2'
    assert result.task('restore')['changes'][0].endswith(', overwriting VM 101 (db1) on pve2')
    assert 'memory' not in guests.vm(101).config
    msg = failure(ansible.run(task('restore', archive=archive, target_vmid=100, force=True), env=served.env))
    assert msg == 'cannot overwrite VM 100 (web1) on pve1: it is running; stop it first'
    msg = failure(ansible.run(task('restore', archive=archive, target_vmid=200, force=True), env=served.env))
    assert 'the archive holds a VM: PVE cannot overwrite one kind with the other' in msg


def test_restore_check_mode_writes_nothing(ansible, guests, served):
    made = ansible.run(task('backup', vmid=102, storage='local'), env=served.env).assert_ok()
    archive = made.task('backup')['archives'][0]['volid']
    result = ansible.assert_check_mode_writes_nothing(task('restore', archive=archive, target_vmid=160),
                                                      env=served.env).assert_ok()
    planned = result.task('restore')
    assert planned['changed'] and (planned['vmid'], planned['node']) == (160, 'pve2') and planned['tasks'] == []
    assert guests.vm(160) is None


@pytest.mark.parametrize('options, expected', [
    ({'vmid': 102}, 'vmid 102: no backup of this guest on any storage'),
    ({'archive': 'shared:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst'},
     "archive: 'shared:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst' is not on any online node"),
    ({'archive': 'nothing'}, "archive: 'nothing' is not a volume id"),
])
def test_restore_refusals(ansible, guests, served, options, expected):
    msg = failure(ansible.run(task('restore', **options), env=served.env))
    assert msg.startswith(expected), msg


def test_local_archive_restores_only_on_its_node(ansible, guests, served):
    made = ansible.run(task('backup', vmid=102, storage='local'), env=served.env).assert_ok()
    archive = made.task('backup')['archives'][0]['volid']
    msg = failure(ansible.run(task('restore', archive=archive, target_vmid=170, node='pve1'), env=served.env))
    assert msg.startswith("node: '{0}' is on the local storage of pve2, not of pve1".format(archive))


def test_guest_on_offline_node_is_refused_before_writing(ansible, guests, served):
    served.run(guests.set_node_offline, 'pve3')
    guests.clear_log()
    msg = failure(ansible.run(task('backup', all=True, storage='shared'), env=served.env))
    assert msg == 'node pve3 is offline: its guests (200) cannot be backed up now'
    assert guests.writes() == []


def test_backup_info_reads_only_in_check_mode(ansible, guests, served):
    ansible.run(task('backup', vmid=100, storage='shared'), env=served.env).assert_ok()
    result = ansible.assert_check_mode_writes_nothing(task('backup_info', vmid=100), env=served.env).assert_ok()
    assert [b['vmid'] for b in result.task('backup_info')['backups']] == [100]
    assert result.changed == []
