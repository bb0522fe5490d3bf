"""Snapshot rollback in the fake cluster follows qemu-server: a snapshot with RAM resumes the VM."""

import pytest

from fakecluster.client import api, run


@pytest.fixture
def pve(served):
    return api(served)


@pytest.fixture
def vm(pve):
    node = pve.nodes('pve1')
    assert run(pve, node.qemu.post(vmid=100, name='vm100', scsi0='local-lvm:8', memory=2048,
                                   vmgenid='c773c261-d800-4348-9f5d-167fab8a9b7b')).ok
    assert run(pve, node.qemu(100).status.start.post()).ok
    return node.qemu(100)


def status(vm):
    return vm.status.current.get()['status']


def test_rollback_to_a_snapshot_with_ram_resumes_the_vm(pve, vm):
    assert run(pve, vm.snapshot.post(snapname='live', vmstate=1)).ok
    assert [s['vmstate'] for s in vm.snapshot.get() if s['name'] == 'live'] == [1]
    vm.config.put(memory=4096)
    assert run(pve, vm.status.stop.post()).ok
    task = run(pve, vm.snapshot('live').rollback.post())
    assert task.ok, task
    assert status(vm) == 'running'  # PVE starts it from the saved state, `start` or not
    config = vm.config.get()
    assert config['memory'] == '2048' or config['memory'] == 2048
    assert config['parent'] == 'live'
    assert 'vmstate' not in config and 'snapstate' not in config and 'snaptime' not in config
    assert config['vmgenid'] != 'c773c261-d800-4348-9f5d-167fab8a9b7b'  # a new generation


def test_rollback_to_a_disk_only_snapshot_leaves_the_vm_stopped(pve, vm):
    assert run(pve, vm.snapshot.post(snapname='disks')).ok
    assert run(pve, vm.snapshot('disks').rollback.post()).ok
    assert status(vm) == 'stopped'
    assert run(pve, vm.snapshot('disks').rollback.post(start=1)).ok
    assert status(vm) == 'running'


def test_a_ram_snapshot_of_a_stopped_vm_holds_no_ram(pve, vm):
    assert run(pve, vm.status.stop.post()).ok
    assert run(pve, vm.snapshot.post(snapname='cold', vmstate=1)).ok
    assert run(pve, vm.snapshot('cold').rollback.post()).ok
    assert status(vm) == 'stopped'


def test_rollback_keeps_description_and_unused_disks(pve, vm):
    vm.config.put(description='before')
    assert run(pve, vm.snapshot.post(snapname='s1', vmstate=1)).ok
    assert run(pve, vm.status.stop.post()).ok  # (on a running VM the change would wait as pending)
    vm.config.put(description='now', unused0='local-lvm:vm-100-disk-9')
    assert run(pve, vm.snapshot('s1').rollback.post()).ok
    config = vm.config.get()
    assert config['description'].strip() == 'now' and config['unused0'] == 'local-lvm:vm-100-disk-9'
