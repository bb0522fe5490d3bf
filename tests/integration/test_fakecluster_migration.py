"""The fake cluster migrates VMs and containers as PVE 9 does: preconditions, refusals, task logs."""

import time

import pytest

from fakecluster.client import ResourceException, api, run


@pytest.fixture
def pve(served):
    return api(served)


def create_vm(pve, vmid=100, node='pve1', **config):
    config.setdefault('scsi0', 'local-lvm:8')
    config.setdefault('net0', 'virtio,bridge=vmbr0')
    assert run(pve, pve.nodes(node).qemu.post(vmid=vmid, name='vm{0}'.format(vmid), **config)).ok
    return pve.nodes(node).qemu(vmid)


def start(pve, node, vmid, kind='qemu'):
    assert run(pve, getattr(pve.nodes(node), kind)(vmid).status.start.post()).ok


def where(pve, vmid):
    return [r['node'] for r in pve.cluster.resources.get(type='vm') if r['vmid'] == vmid]


def add_storage(pve, storage, **options):
    pve.storage.post(storage=storage, **options)


# ------------------------------------------------------------------ precondition

def test_precondition_lists_local_disks_resources_and_nodes(pve, cluster, served):
    served.run(cluster.store_file, 'local', 'debian-13.iso', 1024 ** 2)
    vm = create_vm(pve, ide2='local:iso/debian-13.iso,media=cdrom', usb0='host=1234:5678', serial0='socket')
    check = vm.migrate.get()
    assert check['running'] == 0
    assert check['allowed_nodes'] == ['pve2', 'pve3']
    assert check['not_allowed_nodes'] == {}
    assert check['local_resources'] == ['usb0']
    disks = dict((d['volid'], d) for d in check['local_disks'])
    assert disks['local-lvm:vm-100-disk-0']['size'] == 8 * 1024 ** 3
    assert disks['local:iso/debian-13.iso']['cdrom'] == 1


def test_precondition_names_storages_a_node_lacks(pve):
    add_storage(pve, 'fast', type='lvmthin', vgname='fast', thinpool='data', nodes='pve1,pve2')
    vm = create_vm(pve, scsi0='fast:4')
    check = vm.migrate.get()
    assert check['allowed_nodes'] == ['pve2']
    assert check['not_allowed_nodes'] == {'pve3': {'unavailable_storages': ['fast']}}
    with pytest.raises(ResourceException) as refused:
        vm.migrate.post(target='pve3')
    assert refused.value.status_code == 500
    assert "storage 'fast' is not available on node 'pve3'" in str(refused.value)


def test_precondition_shared_disk_is_not_local(pve):
    vm = create_vm(pve, scsi0='shared:4')
    assert vm.migrate.get()['local_disks'] == []


# ---------------------------------------------------------------------- offline

def test_offline_migration_copies_local_disks_and_moves_the_vm(pve):
    vm = create_vm(pve)
    task = run(pve, vm.migrate.post(target='pve2'))
    assert task.ok, task
    assert where(pve, 100) == ['pve2']
    assert pve.nodes('pve2').qemu(100).config.get()['scsi0'].startswith('local-lvm:vm-100-disk-0,')
    assert any("starting migration of VM 100 to node 'pve2' (192.0.2.12)" in line for line in task.log)
    assert any("found local disk 'local-lvm:vm-100-disk-0' (attached)" in line for line in task.log)
    assert any('migration finished successfully' in line for line in task.log)
    # The disk went with it: pve2's local-lvm lists it, pve1's no longer does.
    assert [c['volid'] for c in pve.nodes('pve2').storage('local-lvm').content.get()] == ['local-lvm:vm-100-disk-0']
    assert pve.nodes('pve1').storage('local-lvm').content.get() == []


def test_targetstorage_moves_local_disks_to_another_storage(pve):
    vm = create_vm(pve)
    assert run(pve, vm.migrate.post(target='pve3', targetstorage='shared')).ok
    scsi0 = pve.nodes('pve3').qemu(100).config.get()['scsi0']
    assert scsi0.startswith('shared:100/vm-100-disk-0.raw,') and 'size=8G' in scsi0


def test_vm_is_locked_migrate_while_the_task_runs(pve, cluster, served):
    vm = create_vm(pve)

    def slow():
        cluster.time_scale, cluster.migrate_secs = 0.01, 50
    served.run(slow)
    upid = vm.migrate.post(target='pve2')
    assert vm.status.current.get()['lock'] == 'migrate'
    assert vm.config.get()['lock'] == 'migrate'
    with pytest.raises(ResourceException, match='VM is locked \\(migrate\\)'):
        vm.config.put(description='changed meanwhile')
    for _round in range(100):
        if pve.nodes('pve1').tasks(upid).status.get()['status'] == 'stopped':
            break
        time.sleep(0.02)
    assert pve.nodes('pve1').tasks(upid).status.get()['exitstatus'] == 'OK'
    assert 'lock' not in pve.nodes('pve2').qemu(100).config.get()


# ----------------------------------------------------------------------- online

def test_running_vm_needs_online(pve):
    vm = create_vm(pve, scsi0='shared:4')
    start(pve, 'pve1', 100)
    with pytest.raises(ResourceException) as refused:
        vm.migrate.post(target='pve2')
    assert refused.value.status_code == 500
    assert "can't migrate running VM without --online" in str(refused.value)


def test_online_migration_keeps_the_vm_running(pve):
    vm = create_vm(pve, scsi0='shared:4')
    start(pve, 'pve1', 100)
    task = run(pve, vm.migrate.post(target='pve2', online=1))
    assert task.ok, task
    assert pve.nodes('pve2').qemu(100).status.current.get()['status'] == 'running'


def test_online_migration_of_local_disks_needs_with_local_disks(pve):
    vm = create_vm(pve)
    start(pve, 'pve1', 100)
    task = run(pve, vm.migrate.post(target='pve2', online=1))
    assert task.exitstatus == 'migration aborted'
    assert any("can't migrate local disk 'local-lvm:vm-100-disk-0': can't live migrate attached local disks "
               "without with-local-disks option" in line for line in task.log), task.log
    assert any("Problem found while scanning volumes - can't migrate VM - check log" in line for line in task.log)
    assert where(pve, 100) == ['pve1']
    assert 'lock' not in vm.config.get()
    task = run(pve, vm.migrate.post(target='pve2', online=1, **{'with-local-disks': 1}))
    assert task.ok, task
    assert where(pve, 100) == ['pve2']


def test_local_cdrom_iso_blocks_migration(pve, cluster, served):
    served.run(cluster.store_file, 'local', 'debian-13.iso', 1024 ** 2)
    vm = create_vm(pve, scsi0='shared:4', ide2='local:iso/debian-13.iso,media=cdrom')
    task = run(pve, vm.migrate.post(target='pve2'))
    assert task.exitstatus == 'migration aborted'
    assert any("can't migrate local disk 'local:iso/debian-13.iso': local cdrom image" in line for line in task.log)
    assert where(pve, 100) == ['pve1']


def test_local_devices_block_migration_unless_root_forces_it(pve, served):
    vm = create_vm(pve, scsi0='shared:4', usb0='host=1234:5678')
    task = run(pve, vm.migrate.post(target='pve2'))
    assert any("can't migrate VM which uses local devices: usb0" in line for line in task.log), task.log
    with pytest.raises(ResourceException, match='Only root may use this option'):
        vm.migrate.post(target='pve2', force=1)  # a token of root@pam is not root@pam
    root = api(served, auth='password')
    assert run(root, root.nodes('pve1').qemu(100).migrate.post(target='pve2', force=1)).ok


# ---------------------------------------------------------------------- targets

def test_same_node_and_unknown_node_are_refused(pve):
    vm = create_vm(pve)
    with pytest.raises(ResourceException) as refused:
        vm.migrate.post(target='pve1')
    assert refused.value.status_code == 400
    assert 'target is local node.' in str(refused.value)
    with pytest.raises(ResourceException) as refused:
        vm.migrate.post(target='pve9')
    assert "no such cluster node 'pve9'" in str(refused.value)


def test_offline_target_aborts_the_migration(pve, cluster, served):
    vm = create_vm(pve, scsi0='shared:4')
    served.run(cluster.set_node_offline, 'pve3')
    task = run(pve, vm.migrate.post(target='pve3'))
    assert task.exitstatus == 'migration aborted'
    assert any("Can't connect to destination address using public key" in line for line in task.log)
    assert where(pve, 100) == ['pve1']


def test_locked_vm_is_refused(pve, cluster, served):
    vm = create_vm(pve)
    served.run(cluster.hold_guest_lock, 100, 'backup')
    with pytest.raises(ResourceException, match='VM is locked \\(backup\\)'):
        vm.migrate.post(target='pve2')
    with pytest.raises(ResourceException, match='VM is locked \\(backup\\)'):
        vm.migrate.get()


# -------------------------------------------------------------------------- LXC

def create_ct(pve, cluster, served, vmid=200, node='pve1', **config):
    served.run(cluster.store_file, 'local', 'debian-13-standard_13.1-2_amd64.tar.zst', 1024 ** 2, 'vztmpl')
    config.setdefault('rootfs', 'local-lvm:4')
    upid = pve.nodes(node).lxc.post(vmid=vmid, ostemplate='local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst',
                                    hostname='ct{0}'.format(vmid), **config)
    assert run(pve, upid).ok
    return pve.nodes(node).lxc(vmid)


def test_running_container_migrates_only_in_restart_mode(pve, cluster, served):
    ct = create_ct(pve, cluster, served)
    start(pve, 'pve1', 200, 'lxc')
    with pytest.raises(ResourceException, match="can't migrate running container without --online or --restart"):
        ct.migrate.post(target='pve2')
    task = run(pve, ct.migrate.post(target='pve2', online=1))
    assert task.exitstatus == 'migration aborted'
    assert any('lxc live migration is currently not implemented' in line for line in task.log)
    task = run(pve, ct.migrate.post(target='pve2', restart=1))
    assert task.ok, task
    assert pve.nodes('pve2').lxc(200).status.current.get()['status'] == 'running'
    assert any('shutdown CT 200' in line for line in task.log)


def test_container_storage_rules(pve, cluster, served):
    add_storage(pve, 'fast', type='lvmthin', vgname='fast', thinpool='data', nodes='pve1,pve2',
                content='rootdir,images')
    ct = create_ct(pve, cluster, served, rootfs='fast:4')
    check = ct.migrate.get()
    assert check['allowed-nodes'] == ['pve2']
    assert check['not-allowed-nodes'] == {'pve3': {'unavailable_storages': ['fast']}}
    task = run(pve, ct.migrate.post(target='pve3'))
    assert any("storage 'fast' is not available on node 'pve3'" in line for line in task.log), task.log
    assert run(pve, ct.migrate.post(target='pve3', **{'target-storage': 'shared'})).ok
    assert pve.nodes('pve3').lxc(200).config.get()['rootfs'].startswith('shared:')


def test_container_bind_mount_blocks_migration(cluster, served):
    pve = api(served, auth='password')  # only root@pam may bind-mount host paths
    ct = create_ct(pve, cluster, served, mp0='/srv/data,mp=/data')
    task = run(pve, ct.migrate.post(target='pve2'))
    assert any("cannot migrate local bind mount point 'mp0'" in line for line in task.log), task.log
