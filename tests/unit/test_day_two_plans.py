"""The day-two planners are pure: snapshot, migrate, backup, restore and template plans from what was read."""

import pytest

from ansible_collections.pve.fleet.plugins.module_utils.backup import (
    BackupSpec, RestoreSpec, plan_backup, plan_restore)
from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.migration import MigrationSpec, plan_migration
from ansible_collections.pve.fleet.plugins.module_utils.snapshots import SnapshotSpec, plan_snapshots
from ansible_collections.pve.fleet.plugins.module_utils.templates import TemplateSpec, plan_template


def node(name, status='online'):
    return dict(type='node', node=name, status=status, maxmem=8 << 30, mem=1 << 30)


def storage(sid, on, content, shared=0):
    return dict(type='storage', storage=sid, node=on, content=content, shared=shared, status='available')


def guest(vmid, name, on, kind='qemu', status='running', **extra):
    return dict(type=kind, vmid=vmid, name=name, node=on, status=status, **extra)


RESOURCES = ([node('pve1'), node('pve2'), node('pve3', 'offline')]
             + [storage('shared', n, 'images,backup,iso,vztmpl', 1) for n in ('pve1', 'pve2', 'pve3')]
             + [storage('local', n, 'backup,iso,vztmpl') for n in ('pve1', 'pve2', 'pve3')]
             + [storage('local-lvm', n, 'images,rootdir') for n in ('pve1', 'pve2', 'pve3')]
             + [guest(100, 'web1', 'pve1', tags='prod;web'), guest(101, 'db1', 'pve2', status='stopped', tags='prod'),
                guest(102, 'batch1', 'pve2', status='stopped', pool='batch'),
                guest(200, 'cache1', 'pve1', kind='lxc'), guest(300, 'far1', 'pve3', status='stopped')])


def cluster():
    return ClusterView(RESOURCES)


def by_vmid(vmid):
    return cluster().find_guest(vmid=vmid)


# ------------------------------------------------------------------------------------------- snapshot

def snap_spec(**params):
    params.setdefault('state', 'present')
    return SnapshotSpec.from_params(params)


def snaps(*names_and_parents):
    return [dict(name=n, description='', snaptime=1000 + i, vmstate=False, parent=p)
            for i, (n, p) in enumerate(names_and_parents)]


def test_snapshot_plan_predicts_what_pve_leaves():
    # s1 <- s2 <- (current); removing s2 re-parents the current state onto s1, as PVE does.
    two = snaps(('s1', None), ('s2', 's1'))
    plan = plan_snapshots(snap_spec(snapname='s3', vmstate=True), by_vmid(100), two, 's2')
    assert plan.changes == ['take snapshot s3 with the RAM state']
    assert plan.current == 's3' and plan.snapshots[-1]['parent'] == 's2'
    plan = plan_snapshots(snap_spec(snapname='s2', state='absent'), by_vmid(100), two, 's2')
    assert plan.removed == ['s2'] and plan.current == 's1'
    assert plan.before == {'snapshots': ['s1', 's2']} and plan.after == {'snapshots': ['s1']}


def test_snapshot_of_a_stopped_vm_keeps_no_ram():
    plan = plan_snapshots(snap_spec(snapname='s3', vmstate=True), by_vmid(101), [], None)
    assert plan.changes == ['take snapshot s3'] and plan.steps[0].data['vmstate'] is False


def test_snapshot_retention_counts_the_new_one_and_spares_other_names():
    existing = snaps(('d_1', None), ('d_2', 'd_1'), ('manual', 'd_2'), ('d_3', 'manual'))
    plan = plan_snapshots(snap_spec(snapname='d_4', prefix='d_', retention=2), by_vmid(100), existing, 'd_3')
    assert plan.created == ['d_4'] and plan.removed == ['d_1', 'd_2']
    assert [s['name'] for s in plan.snapshots] == ['manual', 'd_3', 'd_4']
    assert [s['parent'] for s in plan.snapshots] == [None, 'manual', 'd_3']


def test_snapshot_nothing_to_do_is_an_empty_plan_even_when_locked():
    locked = dict(by_vmid(100), lock='backup')
    assert not plan_snapshots(snap_spec(snapname='s1'), locked, snaps(('s1', None)), 's1').changed
    with pytest.raises(PveError, match=r'it is locked \(backup\)'):
        plan_snapshots(snap_spec(snapname='s2'), locked, snaps(('s1', None)), 's1')


@pytest.mark.parametrize('params, expected', [
    (dict(snapname='vzdump'), "snapname 'vzdump' is a name PVE reserves"),
    (dict(snapname='x'), "snapname 'x': a snapshot name is a letter"),
    (dict(snapname='ab', state='rollback', retention=1, prefix='a'), 'retention: only used with state=present'),
    (dict(prefix='a', retention=0), 'retention: keep at least 1 snapshot'),
])
def test_snapshot_spec_refuses_before_any_request(params, expected):
    with pytest.raises(PveError, match=expected):
        snap_spec(**params)


def test_snapshot_refusals_need_the_guest():
    with pytest.raises(PveError, match='vmstate: CT 200 .* is a container'):
        plan_snapshots(snap_spec(snapname='ab', vmstate=True), by_vmid(200), [], None)
    with pytest.raises(PveError, match=r"snapname 'zz': VM 100 \(web1\) on pve1 has no such snapshot \(snapshots: a\)"):
        plan_snapshots(snap_spec(snapname='zz', state='rollback'), by_vmid(100), snaps(('a', None)), 'a')


# ------------------------------------------------------------------------------------------- migrate

def pre(running=True, local_disks=(), local_resources=(), not_allowed=None):
    return dict(running=running, local_disks=list(local_disks), local_resources=list(local_resources),
                not_allowed=not_allowed or {})


def test_migration_every_reason_at_once():
    answer = pre(local_disks=[dict(volid='local-lvm:vm-100-disk-0', drivename='scsi0'),
                              dict(volid='local:iso/x.iso', drivename='ide2', cdrom=1)],
                 local_resources=['usb0'], not_allowed={'pve2': {'unavailable_storages': ['fast']}})
    with pytest.raises(PveError) as err:
        plan_migration(MigrationSpec(100, None, 'pve2', online=False), cluster(), by_vmid(100), answer)
    # Offline (online=false), so the local disk is copied, not a reason; the other four are all given.
    reasons = str(err.value).split(' to pve2: ', 1)[1].split('; ')
    assert len(reasons) == 4, reasons
    assert str(err.value).startswith('cannot migrate VM 100 (web1) on pve1 to pve2: it is running')


def test_migration_plan_holds_what_pve_is_sent():
    disks = [dict(volid='local-lvm:vm-100-disk-0', drivename='scsi0')]
    plan = plan_migration(MigrationSpec(100, None, 'pve2', with_local_disks=True, target_storage='local-lvm'),
                          cluster(), by_vmid(100), pre(local_disks=disks))
    assert plan.mode == 'online' and plan.local_disks == ['local-lvm:vm-100-disk-0']
    assert plan.steps[0].data['body'] == {'target': 'pve2', 'online': 1, 'targetstorage': 'local-lvm',
                                          'with-local-disks': 1}
    assert (plan.before, plan.after) == ({'node': 'pve1'}, {'node': 'pve2'})
    ct = plan_migration(MigrationSpec(200, None, 'pve2', shutdown_timeout=30), cluster(), by_vmid(200), pre())
    assert ct.mode == 'restart' and ct.steps[0].data['body'] == {'target': 'pve2', 'target-storage': None,
                                                                 'restart': 1, 'timeout': 30}


def test_migration_to_where_it_is_or_to_an_offline_node():
    assert not plan_migration(MigrationSpec(100, None, 'pve1'), cluster(), by_vmid(100), None).changed
    with pytest.raises(PveError, match="target: node 'pve3' is offline"):
        plan_migration(MigrationSpec(100, None, 'pve3'), cluster(), by_vmid(100), pre())


# -------------------------------------------------------------------------------------------- backup

def backup_spec(**params):
    params.setdefault('storage', 'shared')
    return BackupSpec.from_params(params)


def test_backup_one_step_per_node_through_the_one_guest_filter():
    plan = plan_backup(backup_spec(tags=['prod']), cluster())
    assert [g['vmid'] for g in plan.guests] == [100, 101]
    assert plan.changes == ['back up VM 100 (web1) on pve1 to shared (snapshot mode)',
                            'back up VM 101 (db1) on pve2 to shared (snapshot mode)']
    assert [s.data['body']['vmid'] for s in plan.steps] == ['100', '101']
    assert plan.listing == [('shared', 'pve1', True)]  # a shared storage is listed once


def test_backup_explicit_pick_is_narrowed_or_refused():
    assert [g['vmid'] for g in plan_backup(backup_spec(name=['batch1'], pool='batch'), cluster()).guests] == [102]
    with pytest.raises(PveError, match=r'VM 100 \(web1\) on pve1 was named by vmid/name but is not in'):
        plan_backup(backup_spec(vmid=[101, 100], node='pve2'), cluster())


def test_backup_refusals_before_any_write():
    with pytest.raises(PveError, match=r'node pve3 is offline: its guests \(300\) cannot be backed up now'):
        plan_backup(backup_spec(all=True), cluster())
    with pytest.raises(PveError, match="storage: storage 'local-lvm' does not hold backup"):
        plan_backup(backup_spec(vmid=[100], storage='local-lvm'), cluster())
    with pytest.raises(PveError, match='one of vmid, name, node, pool, tags or all=true is required'):
        backup_spec()
    with pytest.raises(PveError, match='prune: give at least one keep_'):
        backup_spec(vmid=[100], prune={'keep_last': None})


def test_backup_with_nothing_matched_is_empty():
    plan = plan_backup(backup_spec(tags=['none-such']), cluster())
    assert not plan.changed and plan.guests == [] and plan.listing == []


# ------------------------------------------------------------------------------------------- restore

def archive(volid, on=None, shared=True):
    kind = 'lxc' if '-lxc-' in volid else 'qemu'
    return dict(volid=volid, storage=volid.split(':')[0], node=on, shared=shared, vmid=int(volid.split('-')[2]),
                type=kind, ctime=1, time=None, size=1, format=None, notes=None, protected=False)


VM_ARCHIVE = 'shared:backup/vzdump-qemu-100-2026_11_25-01_00_00.vma.zst'
CT_ARCHIVE = 'local:backup/vzdump-lxc-200-2026_11_25-01_00_00.tar.zst'


def test_restore_renamed_then_started():
    plan = plan_restore(RestoreSpec(archive=VM_ARCHIVE, target_vmid=150, target_name='copy', start=True, unique=True),
                        cluster(), [archive(VM_ARCHIVE)])
    assert plan.changes == ['restore VM 150 on pve1 from {0}, with new MAC addresses'.format(VM_ARCHIVE),
                            'set name: copy', 'start VM 150']
    assert plan.steps[0].data['body']['start'] is None  # started only once it has its new name


def test_restore_container_onto_its_root_storage_on_its_node():
    copies = [archive(CT_ARCHIVE, on='pve1', shared=False)]
    plan = plan_restore(RestoreSpec(archive=CT_ARCHIVE, target_vmid=250), cluster(), copies, root_storage='local-lvm')
    assert plan.node == 'pve1' and plan.steps[0].data['body']['storage'] == 'local-lvm'
    with pytest.raises(PveError, match='is on the local storage of pve1, not of pve2'):
        plan_restore(RestoreSpec(archive=CT_ARCHIVE, target_vmid=250, node='pve2'), cluster(), copies)


def test_restore_overwrite_needs_force_and_a_stopped_guest():
    copies = [archive('shared:backup/vzdump-qemu-101-2026_11_25-01_00_00.vma.zst')]
    with pytest.raises(PveError, match='target_vmid 101 exists'):
        plan_restore(RestoreSpec(vmid=101), cluster(), copies)
    plan = plan_restore(RestoreSpec(vmid=101, force=True), cluster(), copies)
    assert plan.overwrite['vmid'] == 101 and plan.node == 'pve2' and plan.steps[0].data['body']['force'] == 1
    with pytest.raises(PveError, match='it is running; stop it first'):
        plan_restore(RestoreSpec(archive=VM_ARCHIVE, force=True), cluster(), [archive(VM_ARCHIVE)])


# ------------------------------------------------------------------------------------------ template

CATALOGUE = [dict(template='debian-12-standard_12.7-1_amd64.tar.zst', package='debian-12-standard', version='12.7-1'),
             dict(template='debian-12-standard_12.12-1_amd64.tar.zst', package='debian-12-standard', version='12.12-1')]


def template_spec(**params):
    params.setdefault('node', 'pve1')
    return TemplateSpec.from_params(params)


def test_template_fetched_only_when_missing():
    newest = 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'
    plan = plan_template(template_spec(template='debian-12-standard'), cluster(), CATALOGUE, frozenset())
    assert plan.target.volid == newest and plan.steps[0].data == dict(
        path='nodes/pve1/aplinfo', body=dict(storage='local', template='debian-12-standard_12.12-1_amd64.tar.zst'))
    assert plan.after == {'volid': newest}
    assert not plan_template(template_spec(template='debian-12-standard'), cluster(), CATALOGUE,
                             frozenset([newest])).changed


def test_template_removal_and_refusals():
    plan = plan_template(template_spec(volid='local:iso/x.iso', state='absent'), cluster(), None,
                         frozenset(['local:iso/x.iso']))
    assert plan.changes == ['remove local:iso/x.iso on pve1'] and plan.before == {'volid': 'local:iso/x.iso'}
    with pytest.raises(PveError, match="storage: storage 'local-lvm' does not hold iso"):
        plan_template(template_spec(url='https://example.org/a.iso', storage='local-lvm'), cluster(), None, frozenset())
    with pytest.raises(PveError, match='state=present needs a source'):
        template_spec(volid='local:iso/x.iso')
