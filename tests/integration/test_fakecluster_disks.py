"""The fake cluster's disks: resize grows (never shrinks), move_disk, container templates must exist."""

import pytest

from fakecluster.client import ResourceException, api, run

GIB = 1024 ** 3
TEMPLATE = 'local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst'


@pytest.fixture
def pve(served):
    return api(served)


@pytest.fixture
def vm(pve):
    assert run(pve, pve.nodes('pve1').qemu.post(vmid=100, name='vm100', scsi0='local-lvm:8')).ok
    return pve.nodes('pve1').qemu(100)


def content(pve, storage, node='pve1'):
    return dict((c['volid'], c) for c in pve.nodes(node).storage(storage).content.get())


# ------------------------------------------------------------------------ resize

@pytest.mark.parametrize('size, expected', [('+2G', '10G'), ('12G', '12G'), ('16384M', '16G')])
def test_resize_grows_config_and_storage_content(pve, vm, size, expected):
    task = run(pve, vm.resize.put(disk='scsi0', size=size))
    assert task.ok, task
    assert vm.config.get()['scsi0'] == 'local-lvm:vm-100-disk-0,size={0}'.format(expected)
    assert content(pve, 'local-lvm')['local-lvm:vm-100-disk-0']['size'] == int(expected[:-1]) * GIB


def test_resize_refuses_to_shrink(pve, vm):
    task = run(pve, vm.resize.put(disk='scsi0', size='4G'))
    assert task.exitstatus == 'shrinking disks is not supported'
    assert vm.config.get()['scsi0'].endswith('size=8G')
    assert content(pve, 'local-lvm')['local-lvm:vm-100-disk-0']['size'] == 8 * GIB


def test_resize_to_the_same_size_changes_nothing(pve, vm):
    assert run(pve, vm.resize.put(disk='scsi0', size='8G')).ok
    assert vm.config.get()['scsi0'].endswith('size=8G')


def test_resize_refusals(pve, vm, cluster, served):
    assert run(pve, vm.resize.put(disk='scsi1', size='+1G')).exitstatus == "disk 'scsi1' does not exist"
    served.run(cluster.store_file, 'local', 'debian-13.iso', 1024 ** 2)
    vm.config.put(ide2='local:iso/debian-13.iso,media=cdrom')
    assert run(pve, vm.resize.put(disk='ide2', size='+1G')).exitstatus == "you can't resize a cdrom"
    served.run(cluster.hold_guest_lock, 100, 'backup')
    assert run(pve, vm.resize.put(disk='scsi0', size='+1G')).exitstatus == 'VM is locked (backup)'


def test_container_resize_follows_in_storage_content(pve, cluster, served):
    served.run(cluster.store_file, 'local', TEMPLATE.rsplit('/', 1)[-1], 1024 ** 2, 'vztmpl')
    assert run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=TEMPLATE, rootfs='local-lvm:4')).ok
    ct = pve.nodes('pve1').lxc(200)
    assert run(pve, ct.resize.put(disk='rootfs', size='+1G')).ok
    assert ct.config.get()['rootfs'] == 'local-lvm:vm-200-disk-0,size=5G'
    assert content(pve, 'local-lvm')['local-lvm:vm-200-disk-0']['size'] == 5 * GIB
    with pytest.raises(ResourceException, match='unable to shrink disk size'):
        ct.resize.put(disk='rootfs', size='2G')


# -------------------------------------------------------------------------- move

def test_move_disk_keeps_the_source_as_unused(pve, vm):
    task = run(pve, vm.move_disk.post(disk='scsi0', storage='shared'))
    assert task.ok, task
    config = vm.config.get()
    assert config['scsi0'] == 'shared:100/vm-100-disk-0.raw,size=8G'
    assert config['unused0'] == 'local-lvm:vm-100-disk-0'
    assert "adding source volume 'local-lvm:vm-100-disk-0' as 'unused0' to config" in task.log
    assert 'shared:100/vm-100-disk-0.raw' in content(pve, 'shared')


def test_move_disk_with_delete_frees_the_source(pve, vm):
    assert run(pve, vm.move_disk.post(disk='scsi0', storage='shared', delete=1)).ok
    assert 'unused0' not in vm.config.get()
    assert content(pve, 'local-lvm') == {}


@pytest.mark.parametrize('options, message', [
    ({'disk': 'scsi0', 'storage': 'local-lvm'}, "you can't move to the same storage with same format"),
    ({'disk': 'scsi0', 'storage': 'local'}, "storage 'local' does not support vm images"),
    ({'disk': 'scsi5', 'storage': 'shared'}, "disk 'scsi5' does not exist"),
    ({'disk': 'scsi0', 'storage': 'nowhere'}, "storage 'nowhere' does not exist"),
    ({'disk': 'scsi0'}, "both 'storage' and 'target-vmid' missing"),
])
def test_move_disk_refusals(pve, vm, options, message):
    with pytest.raises(ResourceException) as refused:
        vm.move_disk.post(**options)
    assert message in str(refused.value)
    assert vm.config.get()['scsi0'].startswith('local-lvm:')


# ------------------------------------------------------------------ ct template

def test_container_template_must_be_in_the_storage_content(pve):
    task = run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=TEMPLATE, rootfs='local-lvm:4'))
    assert task.exitstatus == "unable to create CT 200 - can't find file '{0}'".format(TEMPLATE)
    assert [r for r in pve.cluster.resources.get(type='vm') if r['vmid'] == 200] == []


def test_container_template_on_node_local_storage_is_only_on_its_node(pve):
    task = run(pve, pve.nodes('pve1').aplinfo.post(storage='local', template=TEMPLATE.rsplit('/', 1)[-1]))
    assert task.ok, task
    assert run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=TEMPLATE, rootfs='local-lvm:4')).ok
    task = run(pve, pve.nodes('pve2').lxc.post(vmid=201, ostemplate=TEMPLATE, rootfs='local-lvm:4'))
    assert task.exitstatus == "unable to create CT 201 - can't find file '{0}'".format(TEMPLATE)


def test_container_move_volume(pve, cluster, served):
    served.run(cluster.store_file, 'local', TEMPLATE.rsplit('/', 1)[-1], 1024 ** 2, 'vztmpl')
    assert run(pve, pve.nodes('pve1').lxc.post(vmid=200, ostemplate=TEMPLATE, rootfs='local-lvm:4')).ok
    ct = pve.nodes('pve1').lxc(200)
    assert run(pve, ct.move_volume.post(volume='rootfs', storage='shared')).ok
    config = ct.config.get()
    assert config['rootfs'] == 'shared:200/vm-200-disk-0.raw,size=4G'
    assert config['unused0'] == 'local-lvm:vm-200-disk-0'
    with pytest.raises(ResourceException, match="cannot move volume 'unused0', only configured volumes"):
        ct.move_volume.post(volume='unused0', storage='local-lvm')
    assert run(pve, ct.status.start.post()).ok
    with pytest.raises(ResourceException, match='cannot move volumes of a running container'):
        ct.move_volume.post(volume='rootfs', storage='local-lvm')
