"""Data safety: a backup restored after the guest is gone gives back its config and disks; absent without purge
leaves what the modules document; a disk is never shrunk, moved or recreated by a config change; two
playbooks converging different guests at once collide on nothing; a controller killed mid-apply is followed
by a re-run that converges."""

import os
import signal
import time

from fakepve.qemu import volume_ref

import yaml

from reliability import assert_consistent, named, start_playbook, wait_for_record

# Keys PVE sets itself and a restore may renew (a fresh uuid, creation time).
GENERATED = ('meta', 'smbios1', 'vmgenid', 'lock', 'digest')


def vm_task(title='vm', **options):
    return {'name': title, 'pve.fleet.vm': options}


def volumes(cluster):
    """Every image volume the storages hold: {volid: size}."""
    return dict(('{0}:{1}'.format(sid, name), vol.get('size')) for sid, store in cluster.storages.items()
                for name, vol in store.get('volumes', {}).items() if vol.get('content') == 'images')


def test_backup_destroy_restore_gives_back_config_and_disks(ansible, cluster):
    made = vm_task(name='precious', node='pve1', memory=1536, cores=2, tags=['db'], description='keep me\nsafe',
                   disks={'scsi0': {'storage': 'local-lvm', 'size': 2}, 'scsi1': {'storage': 'shared', 'size': 1}},
                   nets={'net0': {'bridge': 'vmbr0', 'tag': 42}})
    ansible.run([made]).assert_ok()
    vm = named(cluster.vms, 'precious')[0]
    config = dict((k, v) for k, v in vm.config.items() if k not in GENERATED)
    sizes = dict((k, cluster.volume_size(v.split(',')[0])) for k, v in config.items() if k.startswith('scsi'))
    ansible.run([{'name': 'backup', 'pve.fleet.backup': {'name': ['precious'], 'storage': 'shared'}},
                 vm_task('destroy', name='precious', state='absent', purge=True)]).assert_ok()
    assert named(cluster.vms, 'precious') == [] and cluster.vm(vm.vmid) is None
    assert [v for v in volumes(cluster) if '-{0}-disk-'.format(vm.vmid) in v] == []  # its disks went with it
    ansible.run([{'name': 'restore', 'pve.fleet.restore': {'vmid': vm.vmid, 'node': 'pve1'}}]).assert_ok()
    back = cluster.vm(vm.vmid)
    restored = dict((k, v) for k, v in back.config.items() if k not in GENERATED)
    assert sorted(restored) == sorted(config), (restored, config)
    for key, value in config.items():
        if key.startswith('scsi'):  # the same storage and size (the volume is a new one on that storage)
            assert volume_ref(restored[key].split(',')[0])[0] == volume_ref(value.split(',')[0])[0]
            assert cluster.volume_size(restored[key].split(',')[0]) == sizes[key]
            assert 'size=' in restored[key] and restored[key].split('size=')[1] == value.split('size=')[1]
        else:
            assert restored[key] == value, key
    # The restored guest converges: the task that made it finds nothing to change.
    assert ansible.run([made]).assert_ok().changed == []
    assert_consistent(cluster)


def test_absent_without_purge_keeps_what_it_documents(ansible, served, cluster):
    ansible.run([vm_task(name='keeper', node='pve1', disks={'scsi0': 'local-lvm:1', 'scsi1': 'local-lvm:1'}),
                 {'name': 'job', 'pve.fleet.backup_job': {'id': 'nightly', 'schedule': 'daily', 'vmid': [100],
                                                          'storage': 'shared'}}]).assert_ok()
    vm = named(cluster.vms, 'keeper')[0]
    assert vm.vmid == 100
    scsi1 = vm.config['scsi1'].split(',')[0]
    # A disk slot set absent is detached and kept as an unused disk: its volume stays.
    result = ansible.run([vm_task(name='keeper', disks={'scsi1': 'absent'})]).assert_ok()
    [change] = result.task('vm')['changes']
    assert change.startswith('remove scsi1 (') and change.endswith('), kept as an unused disk'), change
    assert 'scsi1' not in vm.config and vm.config['unused0'].split(',')[0] == scsi1 and scsi1 in volumes(cluster)
    # The guest removed without purge: its disks go, its backup job keeps naming it (purge would drop it).
    ansible.run([vm_task(name='keeper', state='absent')]).assert_ok()
    assert cluster.vm(vm.vmid) is None
    assert str(vm.vmid) in str(cluster.backup_jobs['nightly']), cluster.backup_jobs
    assert_consistent(cluster)


def test_a_disk_is_never_shrunk_moved_or_recreated_by_a_config_change(ansible, cluster):
    ansible.run([vm_task(name='stable', node='pve1', memory=512, disks={'scsi0': 'local-lvm:2'},
                         nets={'net0': {'bridge': 'vmbr0'}})]).assert_ok()
    vm = named(cluster.vms, 'stable')[0]
    disk = vm.config['scsi0'].split(',')[0]
    before = volumes(cluster)
    # Every kind of change but the disk's size: options, NICs, disk options, tags, description, cores.
    ansible.run([vm_task(name='stable', memory=2048, cores=4, tags=['x'], description='changed',
                         disks={'scsi0': {'storage': 'local-lvm', 'ssd': True, 'discard': 'on', 'cache': 'writeback'}},
                         nets={'net0': {'bridge': 'vmbr0', 'firewall': True}, 'net1': {'bridge': 'vmbr0'}})]).assert_ok()
    assert vm.config['scsi0'].split(',')[0] == disk and 'ssd=1' in vm.config['scsi0']
    assert volumes(cluster) == before
    # Shrinking, or naming another storage for it, is refused before any write.
    cluster.clear_log()
    for disks in ({'scsi0': {'storage': 'local-lvm', 'size': 1}}, {'scsi0': {'storage': 'shared', 'size': 2}},
                  {'scsi0': 'shared:2'}):
        failed = ansible.run([vm_task(name='stable', disks=disks)])
        assert failed.rc != 0 and ('disks only grow' in failed.output or 'does not move or replace disks' in
                                   failed.output), failed.output
    assert cluster.writes() == [] and volumes(cluster) == before
    # Growing is the one change to a disk: the same volume, larger.
    ansible.run([vm_task(name='stable', disks={'scsi0': {'storage': 'local-lvm', 'size': 3}})]).assert_ok()
    assert vm.config['scsi0'].split(',')[0] == disk and cluster.volume_size(disk) == 3 * 1024 ** 3
    assert set(volumes(cluster)) == set(before)
    assert_consistent(cluster)


def playbook_file(ansible, name, tasks):
    path = os.path.join(ansible.workdir, name + '.yml')
    with open(path, 'w') as out:
        yaml.safe_dump(ansible.play(tasks), out, sort_keys=False)
    return path


def test_two_playbooks_converging_different_guests_at_once_collide_on_nothing(ansible, cluster):
    def tasks(prefix):
        out = []
        for i in range(4):
            name = '{0}{1}'.format(prefix, i)
            out += [vm_task('make ' + name, name=name, memory=512, disks={'scsi0': 'local-lvm:1'}),
                    vm_task('grow ' + name, name=name, memory=1024, disks={'scsi0': 'local-lvm:2'}, state='started'),
                    {'name': 'snap ' + name, 'pve.fleet.snapshot': {'name': name, 'snapname': 'first'}}]
        return out
    started = [start_playbook(ansible, playbook_file(ansible, prefix, tasks(prefix))) for prefix in ('blue', 'green')]
    outputs = [proc.communicate(timeout=600)[0] for proc, _record in started]
    assert [proc.returncode for proc, _record in started] == [0, 0], outputs
    names = sorted(g.name for g in cluster.vms)
    assert names == sorted('{0}{1}'.format(p, i) for p in ('blue', 'green') for i in range(4))
    assert len(set(g.vmid for g in cluster.vms)) == 8
    for vm in cluster.vms:
        assert vm.status == 'running' and str(vm.config['memory']) == '1024' and list(vm.snapshots) == ['first']
        assert 'size=2G' in vm.config['scsi0']
    assert_consistent(cluster)


def test_a_controller_killed_mid_apply_then_a_rerun_converges(ansible, cluster):
    cluster.time_scale = 0.2  # tasks take real time: a 10 s start takes 2 s
    tasks = [vm_task('first', name='k1', memory=512, disks={'scsi0': 'local-lvm:1'}, state='started'),
             vm_task('slow', name='k2', memory=512, disks={'scsi0': 'local-lvm:1'}, state='started'),
             vm_task('last', name='k3', memory=512, disks={'scsi0': 'local-lvm:1'}, state='started'),
             {'name': 'fleet', 'pve.fleet.fleet': {'guests': [{'name': 'k{0}'.format(i), 'memory': 768}
                                                              for i in range(4, 9)]}}]
    path = playbook_file(ansible, 'killed', tasks)
    cluster.start_secs = 0

    def slow_starts():
        for vm in cluster.vms:
            vm.start_secs = 10
    proc, record = start_playbook(ansible, path, new_session=True)
    wait_for_record(proc, record, 'first')
    slow_starts()
    # k2 exists and its start task is running when the controller (and its workers) are killed.
    for _tick in range(600):
        if any(e['method'] == 'POST' and e['path'].endswith('/status/start') for e in cluster.request_log[-5:]) \
                and len(cluster.vms) >= 2:
            break
        proc.poll()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert sorted(g.name for g in cluster.vms) == ['k1', 'k2']
    # The re-run, while k2's start may still be running in PVE: waits for it, then converges.
    cluster.time_scale = 0
    for vm in cluster.vms:
        vm.start_secs = 0
    rerun = ansible.run(tasks).assert_ok()
    assert sorted(g.name for g in cluster.vms) == ['k{0}'.format(i) for i in range(1, 9)]
    assert all(g.status == 'running' for g in cluster.vms if g.name in ('k1', 'k2', 'k3'))
    assert ansible.run(tasks).assert_ok().changed == [], rerun.output
    assert_consistent(cluster)
