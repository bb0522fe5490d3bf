"""The guest engine's planning as pure functions: a spec, what was read, the cluster view -> a plan."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pve.fleet.plugins.module_utils import lxc, qemu
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView, FactNotLoaded
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.guest import GuestState, locate, plan_guest

GIB = 1024 ** 3


def resources(guests=(), free=None):
    """cluster/resources of three online nodes (64 GiB, ``free`` GiB free each), local/local-lvm/shared."""
    free = free or {}
    out = []
    for node in ('pve1', 'pve2', 'pve3'):
        out.append(dict(type='node', node=node, status='online', maxmem=64 * GIB,
                        mem=(64 - free.get(node, 60)) * GIB))
        out.append(dict(type='storage', node=node, storage='local', content='iso,vztmpl,backup'))
        out.append(dict(type='storage', node=node, storage='local-lvm', content='images,rootdir'))
        out.append(dict(type='storage', node=node, storage='shared', content='images,rootdir,vztmpl', shared=1))
    out.extend(guests)
    return out


def cluster_of(guests=(), free=None, bridges=True, nextid=100):
    cluster = ClusterView(resources(guests, free))
    if bridges:
        for node in ('pve1', 'pve2', 'pve3'):
            cluster._facts[('bridges', node, None, None)] = frozenset(['vmbr0'])
    if nextid is not None:
        cluster._facts[('nextid', None, None, None)] = nextid
    return cluster


def spec(kind_module, **params):
    """A GuestSpec from module parameters, defaults filled in as AnsibleModule fills them."""
    checked = ArgumentSpecValidator(kind_module.ARGUMENT_SPEC).validate(params)
    assert not checked.error_messages, checked.error_messages
    return kind_module.spec_from_params(checked.validated_parameters)


def vm_record(vmid, name, node='pve1', status='stopped', **extra):
    return dict(dict(type='qemu', vmid=vmid, name=name, node=node, status=status), **extra)


def plan_for(guest_spec, cluster, config=None, pending=None):
    guest, source = locate(guest_spec, cluster)
    if guest is not None:
        state = GuestState(guest, config or {}, pending or {})
    elif source is not None:
        state = GuestState(None, source=source, source_config=config or {})
    else:
        state = GuestState(None)
    return plan_guest(guest_spec, state, cluster)


def test_an_unchanged_vm_plans_nothing():
    cluster = cluster_of([vm_record(100, 'web1')])
    config = {'name': 'web1', 'memory': '2048', 'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
              'scsi0': 'local-lvm:vm-100-disk-0,size=8G', 'hotplug': 'disk,network,usb', 'tags': 'b;a'}
    plan = plan_for(spec(qemu, name='web1', memory=2048, nets={'net0': {'bridge': 'vmbr0'}},
                         disks={'scsi0': {'storage': 'local-lvm', 'size': '8G'}}, hotplug='network,disk,usb',
                         tags=['A', 'b']), cluster, config)
    assert plan.steps == [] and not plan.changed


def test_a_change_plans_exactly_its_keys_and_the_diff_shows_them():
    cluster = cluster_of([vm_record(100, 'web1')])
    config = {'name': 'web1', 'memory': '1024', 'cores': '2', 'scsi0': 'local-lvm:vm-100-disk-0,size=8G'}
    plan = plan_for(spec(qemu, name='web1', memory=2048, cores=2, disks={'scsi0': {'storage': 'local-lvm',
                                                                                   'size': 16}}), cluster, config)
    assert plan.changes == ['set memory: 1024 -> 2048', 'grow scsi0: 8G -> 16G']
    assert [s.action for s in plan.steps] == ['set', 'resize']
    assert plan.diff()['before'] == 'memory: 1024\nscsi0.size: 8G\n'


def test_a_new_vm_goes_to_the_node_with_most_free_memory_and_takes_the_next_id():
    cluster = cluster_of([vm_record(100, 'other')], free={'pve1': 10, 'pve2': 40, 'pve3': 20}, nextid=100)
    plan = plan_for(spec(qemu, name='web2', memory=1024), cluster)
    assert (plan.node, plan.vmid, plan.status) == ('pve2', 101, 'stopped')
    assert plan.changes[0] == 'create VM web2 (vmid 101) on pve2'


def test_a_batch_of_new_guests_spreads_and_gets_distinct_ids():
    cluster = cluster_of(free={'pve1': 8, 'pve2': 8, 'pve3': 8})
    plans = [plan_for(spec(qemu, name='n{0}'.format(i), memory=4096), cluster) for i in range(6)]
    assert [p.vmid for p in plans] == [100, 101, 102, 103, 104, 105]
    assert sorted(p.node for p in plans) == ['pve1', 'pve1', 'pve2', 'pve2', 'pve3', 'pve3']


def test_placement_skips_nodes_without_what_the_guest_needs():
    cluster = cluster_of(free={'pve1': 50, 'pve2': 10, 'pve3': 5}, bridges=False)
    cluster._facts[('bridges', 'pve1', None, None)] = frozenset(['vmbr0'])
    cluster._facts[('bridges', 'pve2', None, None)] = frozenset(['vmbr0', 'vmbr9'])
    cluster._facts[('bridges', 'pve3', None, None)] = frozenset(['vmbr0'])
    plan = plan_for(spec(qemu, name='x', nets={'net0': {'bridge': 'vmbr9'}}), cluster)
    assert plan.node == 'pve2'


def test_a_fact_not_read_yet_is_asked_for_all_nodes_at_once():
    cluster = cluster_of(bridges=False)
    with pytest.raises(FactNotLoaded) as asked:
        plan_for(spec(qemu, name='x', nets={'net0': {'bridge': 'vmbr0'}}), cluster)
    assert sorted(n.node for n in asked.value.needs) == ['pve1', 'pve2', 'pve3']


def test_no_vmid_claimed_twice_even_when_asked_for():
    cluster = cluster_of()
    plan_for(spec(qemu, vmid=150, name='a'), cluster)
    with pytest.raises(PveError, match='vmid: 150 is given to two new guests'):
        plan_for(spec(qemu, vmid=150, name='b'), cluster)


def test_a_clone_is_planned_against_what_it_will_hold():
    cluster = cluster_of([vm_record(9000, 'tmpl', node='pve2', template=1)])
    source = {'name': 'tmpl', 'memory': '1024', 'scsi0': 'local-lvm:base-9000-disk-0,size=4G',
              'net0': 'virtio=BC:24:11:00:90:00,bridge=vmbr0'}
    plan = plan_for(spec(qemu, name='c1', clone='tmpl', memory=1024, cipassword='pw', target_storage='shared',
                         nets={'net0': {'bridge': 'vmbr0', 'macaddr': 'BC:24:11:00:90:00'}},
                         disks={'scsi0': {'storage': 'shared', 'size': 4}}), cluster, source)
    assert plan.changes == ['clone VM tmpl (9000) to c1 (vmid 100) on pve2 (full)', 'add cipassword: (hidden)',
                            'set net0: virtio,bridge=vmbr0 -> virtio=BC:24:11:00:90:00,bridge=vmbr0']
    assert 'pw' not in str(plan.diff())


def test_a_container_clone_refuses_what_pve_sets_only_from_a_template():
    cluster = cluster_of([dict(type='lxc', vmid=9100, name='ct-tmpl', node='pve1', status='stopped', template=1)])
    refused = ((dict(password='x'), 'password'), (dict(ssh_public_keys=['ssh-ed25519 A b']), 'ssh_public_keys'))
    for options, option in refused:
        with pytest.raises(PveError, match='^{0}: PVE sets it only when'.format(option)):
            plan_for(spec(lxc, hostname='c', clone='ct-tmpl', **options), cluster, {'unprivileged': '1'})


def test_power_steps_follow_the_state():
    cluster = cluster_of([vm_record(100, 'a', status='running'), vm_record(101, 'b')])
    named = {'name': 'a'}
    assert plan_for(spec(qemu, name='a', state='stopped'), cluster, named).changes == ['shutdown VM a']
    assert plan_for(spec(qemu, name='b', state='started'), cluster, {'name': 'b'}).changes == ['start VM b']
    assert plan_for(spec(qemu, name='a', state='started'), cluster, named).changes == []
    with pytest.raises(PveError, match='needs force: true'):
        plan_for(spec(qemu, name='a', state='absent'), cluster)
    removal = plan_for(spec(qemu, name='a', state='absent', force=True), cluster)
    assert removal.changes == ['stop VM a', 'destroy VM a (100) and its disks'] and removal.status == 'absent'


def test_restart_for_pending_reboots_only_when_needed():
    cluster = cluster_of([vm_record(100, 'a', status='running')])
    waiting = plan_for(spec(qemu, name='a', restart_for_pending=True), cluster, {'name': 'a', 'memory': '1024'},
                       {'memory': '2048'})
    assert waiting.changes == ['reboot VM a']
    change = plan_for(spec(qemu, name='a', memory=4096, restart_for_pending=True), cluster,
                      {'name': 'a', 'memory': '1024'})
    assert change.changes == ['set memory: 1024 -> 4096', 'reboot VM a if the changes wait for a restart']


@pytest.mark.parametrize('options, message', [
    (dict(name='a', disks={'scsi0': {'storage': 'local-lvm', 'size': 4}}), 'disks.scsi0: size 4G is smaller'),
    (dict(name='a', disks={'scsi0': {'storage': 'shared', 'size': 8}}), 'disks.scsi0: the disk is local-lvm:'),
])
def test_disks_only_grow_and_never_move(options, message):
    cluster = cluster_of([vm_record(100, 'a')])
    with pytest.raises(PveError, match='^' + message):
        plan_for(spec(qemu, **options), cluster, {'scsi0': 'local-lvm:vm-100-disk-0,size=8G'})


def test_a_node_local_template_places_the_container_where_it_is():
    cluster = cluster_of()
    volid = 'local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst'
    for node in ('pve1', 'pve2', 'pve3'):
        cluster._facts[('volumes', node, 'local', 'vztmpl')] = frozenset([volid] if node == 'pve3' else [])
    plan = plan_for(spec(lxc, hostname='c1', ostemplate=volid), cluster)
    assert plan.node == 'pve3'
    assert 'add ostemplate: {0}'.format(volid) in plan.changes and 'add rootfs: local-lvm:4' in plan.changes
