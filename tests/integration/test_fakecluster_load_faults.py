"""The fake cluster's node load follows the running guests; faults tests inject on demand."""

import pytest

from fakecluster.client import ResourceException, api, run

GIB = 1024 ** 3
MIB = 1024 ** 2


@pytest.fixture
def pve(served):
    return api(served)


def node_resources(pve):
    return dict((r['node'], r) for r in pve.cluster.resources.get(type='node'))


def create_vm(pve, vmid, node='pve1', memory=4096, cores=2):
    upid = pve.nodes(node).qemu.post(vmid=vmid, memory=memory, cores=cores, scsi0='shared:4')
    assert run(pve, upid).ok
    return pve.nodes(node).qemu(vmid)


# -------------------------------------------------------------------------- load

def test_node_memory_follows_running_guests(pve):
    idle = node_resources(pve)['pve1']['mem']
    vm = create_vm(pve, 100, memory=4096)
    assert node_resources(pve)['pve1']['mem'] == idle  # stopped guests hold nothing
    assert run(pve, vm.status.start.post()).ok
    nodes = node_resources(pve)
    assert nodes['pve1']['mem'] == idle + 4096 * MIB
    assert nodes['pve2']['mem'] == idle
    status = pve.nodes('pve1').status.get()
    assert status['memory']['used'] == idle + 4096 * MIB
    assert status['memory']['total'] == nodes['pve1']['maxmem']
    assert [n for n in pve.nodes.get() if n['node'] == 'pve1'][0]['mem'] == idle + 4096 * MIB
    assert run(pve, vm.migrate.post(target='pve2', online=1)).ok
    nodes = node_resources(pve)
    assert (nodes['pve1']['mem'], nodes['pve2']['mem']) == (idle, idle + 4096 * MIB)


def test_node_cpu_follows_guest_cpu_and_node_size(pve, cluster, served):
    vm = create_vm(pve, 100, cores=4)
    assert run(pve, vm.status.start.post()).ok

    def busy():
        cluster.vm(100).stats['cpu'] = 0.5
        cluster.nodes['pve1']['maxcpu'] = 8
    served.run(busy)
    nodes = node_resources(pve)
    assert nodes['pve1']['maxcpu'] == 8
    assert nodes['pve1']['cpu'] == pytest.approx(0.01 + 0.5 * 4 / 8)
    assert nodes['pve1']['cpu'] > nodes['pve2']['cpu']


def test_containers_count_too(pve, cluster, served):
    idle = node_resources(pve)['pve2']['mem']
    served.run(cluster.add_ct, 200, 'cache', 'pve2', 'running', {'memory': 1024})
    assert node_resources(pve)['pve2']['mem'] == idle + 1024 * MIB


# ------------------------------------------------------------------------ faults

def test_fail_next_task_of_a_kind(pve, cluster, served):
    vm = create_vm(pve, 100)
    served.run(cluster.fail_next_task, 'qmigrate', 'migration aborted')
    task = run(pve, vm.migrate.post(target='pve2'))
    assert task.exitstatus == 'migration aborted'
    assert [r['node'] for r in pve.cluster.resources.get(type='vm')] == ['pve1']
    assert run(pve, vm.migrate.post(target='pve2')).ok  # only the next one


def test_fail_next_task_hits_fakepves_own_tasks(pve, cluster, served):
    vm = create_vm(pve, 100)
    served.run(cluster.fail_next_task, 'qmstart', 'start failed: QEMU exited with code 1', 'pve1', 100)
    assert run(pve, vm.status.start.post()).exitstatus == 'start failed: QEMU exited with code 1'
    assert vm.status.current.get()['status'] == 'stopped'
    assert run(pve, vm.status.start.post()).ok


def test_node_goes_offline_mid_migration(pve, cluster, served):
    vm = create_vm(pve, 100)
    served.run(cluster.node_offline_during_next_task, 'qmigrate', 'pve2')
    task = run(pve, vm.migrate.post(target='pve2'))
    assert task.exitstatus == 'migration aborted'
    assert any("Can't connect to destination address using public key" in line for line in task.log)
    assert node_resources(pve)['pve2']['status'] == 'offline'
    with pytest.raises(ResourceException) as refused:
        pve.nodes('pve2').status.get()
    assert refused.value.status_code == 595


def test_hold_and_release_a_guest_lock(pve, cluster, served):
    vm = create_vm(pve, 100)
    served.run(cluster.hold_guest_lock, 100, 'backup')
    assert vm.config.get()['lock'] == 'backup'
    with pytest.raises(ResourceException, match='VM is locked \\(backup\\)'):
        vm.config.put(memory=1024)
    served.run(cluster.release_guest_lock, 100)
    vm.config.put(memory=1024)
    assert vm.config.get()['memory'] == '1024'


def test_the_request_log_sees_the_new_routes(pve, cluster):
    vm = create_vm(pve, 100)
    cluster.clear_log()
    assert run(pve, vm.migrate.post(target='pve2')).ok
    assert [(e['method'], e['path'], e['status']) for e in cluster.writes()] == [
        ('POST', '/api2/json/nodes/pve1/qemu/100/migrate', 200)]
