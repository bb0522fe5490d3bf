"""The fake cluster's vzdump, pruning and restore, driven over the API as a client would."""

import re

import pytest

from fakecluster.client import ResourceException, api, run

DAY = 86400
TEMPLATE = 'debian-13-standard_13.1-2_amd64.tar.zst'
ARCHIVE_NAME = r'vzdump-{0}-{1}-\d{{4}}_\d\d_\d\d-\d\d_\d\d_\d\d\.{2}'


@pytest.fixture
def pve(served):
    return api(served)


@pytest.fixture
def vm(pve):
    upid = pve.nodes('pve1').qemu.post(vmid=100, name='web1', memory=2048, cores=2, scsi0='local-lvm:8',
                                       net0='virtio,bridge=vmbr0', description='the web server', tags='prod')
    assert run(pve, upid).ok
    return pve.nodes('pve1').qemu(100)


@pytest.fixture
def ct(pve, cluster, served):
    served.run(cluster.store_file, 'shared', TEMPLATE, 1024 ** 2, 'vztmpl')
    upid = pve.nodes('pve1').lxc.post(vmid=200, ostemplate='shared:vztmpl/' + TEMPLATE, hostname='cache1',
                                      rootfs='local-lvm:4', memory=1024, net0='name=eth0,bridge=vmbr0,ip=dhcp')
    assert run(pve, upid).ok
    return pve.nodes('pve1').lxc(200)


def vzdump(pve, node='pve1', **options):
    return run(pve, pve.nodes(node).vzdump.post(**options))


def backups(pve, storage='shared', node='pve1', **filters):
    return pve.nodes(node).storage(storage).content.get(content='backup', **filters)


def later(cluster, served, seconds=DAY):
    served.run(cluster.advance_clock, seconds)


def comparable(config):
    """A config without what PVE renews on every restore (vmgenid) and the digest."""
    return dict((k, v) for k, v in config.items() if k not in ('digest', 'vmgenid'))


# ------------------------------------------------------------------------ vzdump

def test_vzdump_writes_a_qemu_archive_with_pve_name(pve, vm):
    task = vzdump(pve, vmid=100, storage='shared', compress='zstd')
    assert task.ok, task
    [backup] = backups(pve)
    assert re.fullmatch('shared:backup/' + ARCHIVE_NAME.format('qemu', 100, 'vma.zst'), backup['volid'])
    expected = ('qemu', 100, 'vma.zst', 'backup')
    assert (backup['subtype'], backup['vmid'], backup['format'], backup['content']) == expected
    assert backup['size'] > 0 and backup['ctime'] > 0
    assert 'INFO: Starting Backup of VM 100 (qemu)' in task.log
    assert 'INFO: Backup job finished successfully' in task.log
    assert any(re.fullmatch(r"INFO: creating vzdump archive '/mnt/pve/shared/dump/vzdump-qemu-100-.*\.vma\.zst'",
                            line) for line in task.log), task.log


def test_vzdump_of_a_container_is_a_tar(pve, ct):
    assert vzdump(pve, vmid=200, storage='shared').ok
    [backup] = backups(pve)
    assert re.fullmatch('shared:backup/' + ARCHIVE_NAME.format('lxc', 200, 'tar'), backup['volid'])
    assert backup['subtype'] == 'lxc'


def test_vzdump_keeps_the_config_of_backup_time(pve, vm):
    assert vzdump(pve, vmid=100, storage='shared').ok
    vm.config.put(memory=4096)
    [backup] = backups(pve)
    text = pve.nodes('pve1').vzdump.extractconfig.get(volume=backup['volid'])
    assert 'memory: 2048' in text.splitlines()
    assert '#the web server' in text.splitlines()


def test_vzdump_notes_template_and_protected(pve, vm):
    task = vzdump(pve, vmid=100, storage='shared', protected=1,
                  **{'notes-template': '{{guestname}} on {{node}} ({{cluster}}), id {{vmid}}'})
    assert task.ok, task
    [backup] = backups(pve)
    assert backup['notes'] == 'web1 on pve1 (fakecluster), id 100'
    assert backup['protected'] == 1
    upid = pve.nodes('pve1').storage('shared').content(backup['volid']).delete()
    assert run(pve, upid).exitstatus.startswith('cannot remove protected volume')
    with pytest.raises(ResourceException, match="found unknown: variable 'hostname'"):
        pve.nodes('pve1').vzdump.post(vmid=100, storage='shared', **{'notes-template': '{{hostname}}'})


def test_protected_backups_are_limited_per_guest(pve, vm):
    pve.storage('shared').put(**{'max-protected-backups': 1})
    assert vzdump(pve, vmid=100, storage='shared', protected=1).ok
    task = vzdump(pve, vmid=100, storage='shared', protected=1)
    assert task.exitstatus == 'job errors'
    assert ("ERROR: Backup of VM 100 failed - The number of protected backups per guest is limited to 1 "
            "on storage 'shared'") in task.log


def test_stop_mode_stops_and_restarts_a_running_guest(pve, vm):
    assert run(pve, vm.status.start.post()).ok
    task = vzdump(pve, vmid=100, storage='shared', mode='stop')
    assert task.ok, task
    assert 'INFO: stopping virtual guest' in task.log and 'INFO: restarting vm' in task.log
    assert vm.status.current.get()['status'] == 'running'


@pytest.mark.parametrize('mode', ['snapshot', 'suspend'])
def test_live_modes_keep_the_guest_running(pve, vm, mode):
    assert run(pve, vm.status.start.post()).ok
    task = vzdump(pve, vmid=100, storage='shared', mode=mode)
    assert 'INFO: backup mode: ' + mode in task.log
    assert vm.status.current.get()['status'] == 'running'


def test_a_stopped_guest_is_backed_up_in_stop_mode(pve, vm):
    task = vzdump(pve, vmid=100, storage='shared', mode='snapshot')
    assert 'INFO: backup mode: stop' in task.log
    assert vm.status.current.get()['status'] == 'stopped'


def test_a_locked_guest_fails_the_job(pve, vm, cluster, served):
    served.run(cluster.hold_guest_lock, 100, 'snapshot')
    task = vzdump(pve, vmid=100, storage='shared')
    assert task.exitstatus == 'job errors'
    assert 'ERROR: Backup of VM 100 failed - VM is locked (snapshot)' in task.log
    assert backups(pve) == []


def test_guests_of_other_nodes_are_skipped(pve, vm):
    task = vzdump(pve, node='pve2', vmid=100, storage='shared')
    assert 'INFO: skip external VMs: 100' in task.log
    assert backups(pve) == []


def test_backup_on_node_local_storage_is_only_on_that_node(pve, vm):
    assert vzdump(pve, vmid=100, storage='local').ok
    assert len(backups(pve, 'local', 'pve1')) == 1
    assert backups(pve, 'local', 'pve2') == []


@pytest.mark.parametrize('options, message', [
    ({'vmid': 100, 'storage': 'local-lvm'}, "can't use storage 'local-lvm' for backups - wrong content type"),
    ({'storage': 'shared'}, 'property is missing'),
    ({'vmid': 100, 'all': 1}, "option conflicts with option 'vmid'"),
])
def test_vzdump_refusals(pve, vm, options, message):
    with pytest.raises(ResourceException, match=re.escape(message)):
        pve.nodes('pve1').vzdump.post(**options)


# ------------------------------------------------------------------------- prune

def test_prune_backups_keep_last(pve, vm, cluster, served):
    for _round in range(3):
        assert vzdump(pve, vmid=100, storage='shared').ok
        later(cluster, served)
    first = sorted(b['volid'] for b in backups(pve))[0]
    task = vzdump(pve, vmid=100, storage='shared', **{'prune-backups': 'keep-last=2'})
    assert task.ok, task
    assert 'INFO: prune older backups with retention: keep-last=2' in task.log
    assert 'INFO: pruned 2 backup(s) not covered by keep-retention policy' in task.log
    remaining = sorted(b['volid'] for b in backups(pve))
    assert len(remaining) == 2 and first not in remaining


def test_prune_keep_daily_keeps_the_newest_of_each_day_and_the_protected(pve, vm, cluster, served):
    assert vzdump(pve, vmid=100, storage='shared', protected=1).ok
    later(cluster, served, 60)
    assert vzdump(pve, vmid=100, storage='shared').ok
    later(cluster, served, 60)
    assert vzdump(pve, vmid=100, storage='shared').ok
    newest_today = max(backups(pve), key=lambda b: b['ctime'])['volid']
    later(cluster, served, DAY)
    assert vzdump(pve, vmid=100, storage='shared', **{'prune-backups': 'keep-daily=2'}).ok
    left = backups(pve)
    assert len(left) == 3
    assert newest_today in [b['volid'] for b in left]
    assert [b.get('protected') for b in left].count(1) == 1


def test_storage_prune_backups_option_applies(pve, vm, cluster, served):
    pve.storage('shared').put(**{'prune-backups': 'keep-last=1'})
    for _round in range(2):
        assert vzdump(pve, vmid=100, storage='shared').ok
        later(cluster, served)
    assert len(backups(pve)) == 1


def test_prunebackups_endpoints(pve, vm, cluster, served):
    for _round in range(3):
        assert vzdump(pve, vmid=100, storage='shared').ok
        later(cluster, served)
    store = pve.nodes('pve1').storage('shared')
    marks = store.prunebackups.get(**{'prune-backups': 'keep-last=1', 'vmid': 100})
    assert [m['mark'] for m in marks] == ['keep', 'remove', 'remove']
    assert len(backups(pve)) == 3  # a dry run
    assert run(pve, store.prunebackups.delete(**{'prune-backups': 'keep-last=1', 'vmid': 100})).ok
    assert len(backups(pve)) == 1
    with pytest.raises(ResourceException, match="no prune-backups options configured for storage 'shared'"):
        store.prunebackups.get()


# ----------------------------------------------------------------------- restore

def test_backup_destroy_restore_round_trip_returns_the_same_config(pve, vm):
    before = vm.config.get()
    assert vzdump(pve, vmid=100, storage='shared', compress='zstd').ok
    [backup] = backups(pve)
    assert run(pve, vm.delete()).ok
    assert pve.nodes('pve1').storage('local-lvm').content.get() == []
    task = run(pve, pve.nodes('pve1').qemu.post(vmid=100, archive=backup['volid'], storage='local-lvm'))
    assert task.ok, task
    after = vm.config.get()
    assert comparable(after) == comparable(before)
    assert after['vmgenid'] != before['vmgenid']
    assert 'lock' not in vm.status.current.get()
    vm.config.put(name='web1-restored')  # not locked any more
    assert run(pve, vm.status.start.post()).ok
    assert [c['volid'] for c in pve.nodes('pve1').storage('local-lvm').content.get()] == ['local-lvm:vm-100-disk-0']


def test_restore_brings_back_the_config_of_backup_time(pve, vm):
    assert vzdump(pve, vmid=100, storage='shared').ok
    vm.config.put(memory=4096)
    [backup] = backups(pve)
    assert run(pve, pve.nodes('pve1').qemu.post(vmid=100, archive=backup['volid'], force=1)).ok
    assert vm.config.get()['memory'] == '2048'


def test_restore_refuses_an_existing_vmid_unless_forced(pve, vm):
    assert vzdump(pve, vmid=100, storage='shared').ok
    [backup] = backups(pve)
    with pytest.raises(ResourceException) as refused:
        pve.nodes('pve1').qemu.post(vmid=100, archive=backup['volid'])
    assert "unable to restore VM 100 - VM 100 already exists on node 'pve1'" in str(refused.value)
    assert run(pve, vm.status.start.post()).ok
    task = run(pve, pve.nodes('pve1').qemu.post(vmid=100, archive=backup['volid'], force=1))
    assert task.exitstatus == 'unable to restore VM 100 - vm is running'


def test_restore_unique_gives_new_macs(pve, vm):
    assert vzdump(pve, vmid=100, storage='shared').ok
    [backup] = backups(pve)
    assert run(pve, pve.nodes('pve2').qemu.post(vmid=101, archive=backup['volid'], unique=1,
                                                storage='local-lvm')).ok
    old, new = vm.config.get(), pve.nodes('pve2').qemu(101).config.get()
    assert old['net0'].split(',')[0] != new['net0'].split(',')[0]
    assert new['net0'].split(',')[1:] == old['net0'].split(',')[1:]
    assert new['scsi0'].startswith('local-lvm:vm-101-disk-0,')


def test_restore_of_a_missing_archive_fails_clearly(pve, vm):
    missing = 'shared:backup/vzdump-qemu-100-2020_01_01-00_00_00.vma.zst'
    with pytest.raises(ResourceException, match="can't find file '{0}'".format(re.escape(missing))):
        pve.nodes('pve1').qemu.post(vmid=101, archive=missing)
    assert vzdump(pve, vmid=100, storage='local').ok
    [backup] = backups(pve, 'local')
    with pytest.raises(ResourceException, match="can't find file"):
        pve.nodes('pve2').qemu.post(vmid=101, archive=backup['volid'])  # pve1's local disk


def test_container_round_trip(pve, ct):
    before = ct.config.get()
    assert vzdump(pve, vmid=200, storage='shared').ok
    [backup] = backups(pve)
    assert run(pve, ct.delete()).ok
    with pytest.raises(ResourceException, match="storage 'local' does not support container directories"):
        pve.nodes('pve1').lxc.post(vmid=200, ostemplate=backup['volid'], restore=1)
    task = run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=backup['volid'], restore=1,
                                               storage='local-lvm'))
    assert task.ok, task
    assert comparable(ct.config.get()) == comparable(before)
    assert 'lock' not in ct.status.current.get()
    assert run(pve, ct.status.start.post()).ok


def test_container_restore_force_and_unique(pve, ct):
    assert vzdump(pve, vmid=200, storage='shared').ok
    [backup] = backups(pve)
    with pytest.raises(ResourceException, match="CT 200 already exists on node 'pve1'"):
        pve.nodes('pve1').lxc.post(vmid=200, ostemplate=backup['volid'], restore=1, storage='local-lvm')
    old_mac = re.search(r'hwaddr=([^,]+)', ct.config.get()['net0']).group(1)
    task = run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=backup['volid'], restore=1, force=1,
                                               unique=1, storage='local-lvm'))
    assert task.ok, task
    assert re.search(r'hwaddr=([^,]+)', ct.config.get()['net0']).group(1) != old_mac
    task = run(pve, pve.nodes('pve1').lxc.post(vmid=201, ostemplate='shared:backup/vzdump-lxc-9-x.tar', restore=1,
                                               storage='local-lvm'))
    assert task.exitstatus == "unable to restore CT 201 - can't find file 'shared:backup/vzdump-lxc-9-x.tar'"
