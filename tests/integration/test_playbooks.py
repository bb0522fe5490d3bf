"""The collection's playbooks, run by FQCN (`ansible-playbook pve.fleet.<name>`) against the fake cluster, and the
cluster's state afterwards: where guests are, which archives exist, that no node went above its memory reserve,
that check mode writes nothing, and that a converging playbook's re-run changes nothing."""

import json
import os
import re

import pytest

from harness import REPO

GIB = 1024 ** 3
RESERVE = 10  # the modules' default memory_reserve, in percent


def play(ansible, served, name, extra=None, check=False, args=(), env=None):
    """Run pve.fleet.<name> with extra-vars (a dict, as JSON) and the connection from the PROXMOX_* environment."""
    extra_args = (['-e', json.dumps(extra)] if extra else []) + list(args)
    run = ansible.assert_check_mode_writes_nothing if check else ansible.run
    return run(None, playbook='pve.fleet.' + name, extra_args=extra_args, env=dict(served.env, **(env or {})))


def summary(result):
    return result.task('Summary')['msg']


def where(cluster):
    return dict((g.vmid, g.node) for g in list(cluster.vms) + list(cluster.cts))


def archives(cluster, storage='shared'):
    """{vmid: [archive volume names, oldest first]} on a storage, as the fake holds them."""
    found = {}
    for volname, vol in sorted(cluster.storages[storage].get('volumes', {}).items(), key=lambda i: i[1].get('ctime', 0)):
        if vol.get('content') == 'backup':
            found.setdefault(vol['vmid'], []).append(volname)
    return found


def assert_within_reserve(cluster):
    for node in cluster.nodes:
        load = cluster.node_load(node)
        assert load['mem'] <= (100 - RESERVE) / 100.0 * load['maxmem'], (node, load)


def vzdump_posts(cluster):
    return sorted(e['path'].split('/')[4] for e in cluster.writes()
                  if e['method'] == 'POST' and e['path'].endswith('/vzdump'))


@pytest.fixture
def fleet(cluster):
    """Web VMs on pve1 and pve2, a database on pve2, a container on pve3, all on shared storage; db1 in pool dbs."""
    cluster.add_vm(100, 'web1', node='pve1', status='running',
                   config={'memory': '2048', 'scsi0': 'shared:vm-100-disk-0,size=8G', 'tags': 'web',
                           'net0': 'virtio=BC:24:11:00:01:00,bridge=vmbr0'})
    cluster.add_vm(101, 'web2', node='pve2', status='running',
                   config={'memory': '2048', 'scsi0': 'shared:vm-101-disk-0,size=8G', 'tags': 'web'})
    cluster.add_vm(110, 'db1', node='pve2', status='running', pool='dbs',
                   config={'memory': '4096', 'scsi0': 'local-lvm:vm-110-disk-0,size=8G', 'tags': 'db'})
    cluster.add_ct(200, 'cache1', node='pve3', status='running',
                   config={'memory': 1024, 'rootfs': 'shared:subvol-200-disk-0,size=4G'})
    return cluster


# ------------------------------------------------------------------------------------------------------- backup

def test_backup_check_mode_prints_the_plan_and_writes_nothing(ansible, fleet, served):
    result = play(ansible, served, 'backup', {'tags': ['web'], 'storage': 'shared'}, check=True).assert_ok()
    assert summary(result) == ['Plan (check mode, nothing was done):',
                               '  back up VM 100 (web1) on pve1 to shared (snapshot mode)',
                               '  back up VM 101 (web2) on pve2 to shared (snapshot mode)']
    assert archives(fleet) == {}


def test_guest_tags_selects_as_tags_does_without_the_reserved_name_warning(ansible, fleet, served):
    result = play(ansible, served, 'backup', {'guest_tags': ['web'], 'storage': 'shared'}, check=True).assert_ok()
    assert summary(result)[1:] == ['  back up VM 100 (web1) on pve1 to shared (snapshot mode)',
                                   '  back up VM 101 (web2) on pve2 to shared (snapshot mode)']
    assert 'reserved name' not in result.output


def test_backup_by_tags_one_vzdump_per_node_with_retention_and_a_report(ansible, fleet, served):
    for attempt in range(3):
        fleet.clear_log()
        result = play(ansible, served, 'backup', {'tags': ['web'], 'storage': 'shared', 'prune': 2}).assert_ok()
        assert vzdump_posts(fleet) == ['pve1', 'pve2']
        fleet.advance_clock(3600)
    kept = archives(fleet)
    assert sorted(kept) == [100, 101] and [len(kept[v]) for v in (100, 101)] == [2, 2]  # prune: keep the last 2
    lines = summary(result)
    assert lines[0] == 'Backed up 2 of 2 guests to shared:'
    newest = dict((v, 'shared:' + kept[v][-1]) for v in kept)
    for line, (name, vmid, node) in zip(lines[1:], (('web1', 100, 'pve1'), ('web2', 101, 'pve2'))):
        assert re.match(r'^  {0} \({1}\) on {2}: ok, {3}, [\d.]+ [KMG]B, \d+ s$'.format(
            name, vmid, node, re.escape(newest[vmid])), line), lines


def test_backup_several_guests_of_one_node_in_its_one_task(ansible, fleet, served):
    fleet.clear_log()
    result = play(ansible, served, 'backup', {'guests': 'web2, 110,cache1', 'storage': 'shared'}).assert_ok()
    assert vzdump_posts(fleet) == ['pve2', 'pve3']  # web2 and db1 one after the other in pve2's task
    assert sorted(archives(fleet)) == [101, 110, 200]
    assert summary(result)[0] == 'Backed up 3 of 3 guests to shared:'


def test_backup_of_a_pool_and_of_an_inventory_group(ansible, fleet, served, tmp_path):
    play(ansible, served, 'backup', {'pool': 'dbs', 'storage': 'local'}).assert_ok()
    assert sorted(archives(fleet, 'local')) == [110]
    inventory = tmp_path / 'cluster.pve.yml'
    inventory.write_text('plugin: pve.fleet.pve\n')
    localhost = os.path.join(REPO, 'inventory', 'localhost.toml')
    result = play(ansible, served, 'backup', {'group': 'pve_lxc', 'storage': 'shared'},
                  args=['-i', localhost, '-i', str(inventory)]).assert_ok()
    assert sorted(archives(fleet)) == [200]
    assert summary(result)[1].startswith('  cache1 (200) on pve3: ok, shared:backup/vzdump-lxc-200-')


def test_backup_fails_when_a_guest_fails_and_still_reports_each(ansible, fleet, served):
    served.run(fleet.hold_guest_lock, 101, 'snapshot')
    # A held lock is waited for within the connection's timeout: a short one.
    result = play(ansible, served, 'backup', {'tags': ['web'], 'storage': 'shared'}, env={'PROXMOX_TIMEOUT': '8'})
    assert result.rc != 0 and result.status('Back up the guests, one vzdump task per node') == 'failed'
    lines = summary(result)
    assert lines[0] == 'Backed up 1 of 2 guests to shared:'
    assert lines[1].startswith('  web1 (100) on pve1: ok, shared:backup/vzdump-qemu-100-')
    assert lines[2] == '  web2 (101) on pve2: failed, VM is locked (snapshot)'
    assert lines[3] == 'Failed: backup failed for 1 of 2 guest(s): VM 101 (web2) on pve2: VM is locked (snapshot)'
    assert sorted(archives(fleet)) == [100]


@pytest.mark.parametrize('extra, message', [
    ({'tags': ['web']}, 'storage: say where the archives go'),
    ({'storage': 'shared'}, 'choose the guests: guests, group, tags, pool or node'),
    ({'group': 'pve_nosuch', 'storage': 'shared'}, 'group: pve_nosuch is not a group of the inventory'),
])
def test_backup_says_which_variable_is_missing(ansible, fleet, served, extra, message):
    fleet.clear_log()
    result = play(ansible, served, 'backup', extra)
    assert result.rc != 0 and message in result.task('Check the variables')['msg'], result.output
    assert fleet.writes() == []


def test_the_connection_from_pve_connection_instead_of_the_environment(ansible, fleet, served):
    connection = ansible.connection('token')
    result = ansible.run(None, playbook='pve.fleet.backup', extra_args=['-e', json.dumps(
        {'guests': ['cache1'], 'storage': 'shared', 'pve_connection': connection})]).assert_ok()
    assert summary(result)[0] == 'Backed up 1 of 1 guests to shared:' and sorted(archives(fleet)) == [200]


# ------------------------------------------------------------------------------------------------------ restore

def test_restore_the_latest_backup_as_a_new_guest_that_runs(ansible, fleet, served):
    play(ansible, served, 'backup', {'guests': ['web1'], 'storage': 'shared'}).assert_ok()
    fleet.advance_clock(60)
    play(ansible, served, 'backup', {'guests': ['web1'], 'storage': 'shared'}).assert_ok()
    newest = 'shared:' + archives(fleet)[100][-1]
    extra = {'guests': 'web1', 'new_vmid': 950, 'new_name': 'web1-copy', 'node': 'pve3'}
    check = play(ansible, served, 'restore', extra, check=True).assert_ok()
    assert summary(check) == ['Plan (check mode, nothing was done):',
                              '  restore VM 950 on pve3 from {0}, with new MAC addresses'.format(newest),
                              '  set name: web1-copy', '  start VM 950']
    assert fleet.vm(950) is None
    result = play(ansible, served, 'restore', extra).assert_ok()
    copy = fleet.vm(950)
    assert (copy.name, copy.node, copy.status) == ('web1-copy', 'pve3', 'running')
    assert copy.config['net0'] != fleet.vm(100).config['net0']  # a new MAC: it runs beside the original
    assert summary(result) == ['Restored: ' + newest, 'As: VM 950 (web1-copy) on pve3', 'Running: yes']


def test_restore_a_named_archive_as_the_same_vmid_after_the_guest_is_gone(ansible, fleet, served):
    play(ansible, served, 'backup', {'guests': ['cache1'], 'storage': 'shared'}).assert_ok()
    archive = 'shared:' + archives(fleet)[200][-1]
    served.run(fleet._drop, fleet.ct(200))
    result = play(ansible, served, 'restore', {'archive': archive}).assert_ok()
    ct = fleet.ct(200)
    assert (ct.name, ct.status) == ('cache1', 'running')
    assert summary(result)[1].startswith('As: CT 200 (cache1) on ')


def test_restore_refuses_an_existing_guest_and_half_a_new_identity(ansible, fleet, served):
    play(ansible, served, 'backup', {'guests': ['web1'], 'storage': 'shared'}).assert_ok()
    fleet.clear_log()
    result = play(ansible, served, 'restore', {'guests': 'web1'})
    assert result.rc != 0 and summary(result)[0].startswith('Not restored: target_vmid 100 exists')
    result = play(ansible, served, 'restore', {'guests': 'web1', 'new_vmid': 951})
    assert result.rc != 0 and 'a new guest needs both' in result.task('Check the variables')['msg']
    assert fleet.writes() == []


# ------------------------------------------------------------------------------------------------------ migrate

def test_migrate_named_guests_online_then_a_rerun_changes_nothing(ansible, fleet, served):
    extra = {'guests': ['web1', '110', 'cache1'], 'target': 'pve3'}
    check = play(ansible, served, 'migrate', extra, check=True).assert_ok()
    assert summary(check) == [
        'Plan (check mode, nothing was done):',
        '  web1: migrate VM 100 (web1) on pve1 to pve3 (live)',
        '  110: migrate VM 110 (db1) on pve2 to pve3 (live), copying local-lvm:vm-110-disk-0',
        '  cache1: already on pve3']
    before = where(fleet)
    first, second = ansible.assert_idempotent(None, playbook='pve.fleet.migrate', env=served.env,
                                              extra_args=['-e', json.dumps(extra)])
    assert [where(fleet)[v] for v in (100, 110, 200)] == ['pve3', 'pve3', 'pve3']
    assert where(fleet)[101] == before[101]
    assert fleet.vm(100).status == fleet.vm(110).status == 'running'  # moved live
    assert summary(first)[0] == 'Moved 2 of 3 guests to pve3:'
    assert summary(second) == ['Moved 0 of 3 guests to pve3:', '  web1: already on pve3', '  110: already on pve3',
                               '  cache1: already on pve3']
    assert_within_reserve(fleet)


def test_migrate_checks_every_guest_before_the_first_moves(ansible, fleet, served):
    fleet.vm(101).config['hostpci0'] = '0000:01:00.0'
    fleet.clear_log()
    result = play(ansible, served, 'migrate', {'guests': 'web1,web2', 'target': 'pve3'})
    assert result.rc != 0 and 'hostpci0' in result.output
    assert fleet.writes() == [] and where(fleet)[100] == 'pve1'


# ----------------------------------------------------------------------------------------------------- evacuate

def test_evacuate_then_undo_each_a_converge(ansible, fleet, served):
    before = where(fleet)
    check = play(ansible, served, 'evacuate', {'node': 'pve2'}, check=True).assert_ok()
    lines = summary(check)
    assert lines[:2] == ['Plan (check mode, nothing was done):', 'Away from pve2: 2 guest(s) would move']
    assert where(fleet) == before

    first, second = ansible.assert_idempotent(None, playbook='pve.fleet.evacuate', env=served.env,
                                              extra_args=['-e', 'node=pve2'])
    assert [v for v, n in where(fleet).items() if n == 'pve2'] == []
    assert summary(first)[1:3] == lines[2:4]  # the moves check mode showed are the moves made
    assert summary(first)[-1] == 'Bring them back with: ansible-playbook pve.fleet.evacuate -e node=pve2 -e undo=true'
    assert summary(second)[0] == 'Away from pve2: 0 guest(s) moved'
    assert_within_reserve(fleet)

    play(ansible, served, 'evacuate', {'node': 'pve2', 'undo': True}, check=True).assert_ok()
    back, again = ansible.assert_idempotent(None, playbook='pve.fleet.evacuate', env=served.env,
                                            extra_args=['-e', 'node=pve2', '-e', 'undo=true'])
    assert where(fleet) == before
    assert summary(back)[0] == 'Back to pve2: 2 guest(s) moved'
    assert summary(again)[0] == 'Back to pve2: 0 guest(s) moved'


def test_evacuate_that_cannot_empty_the_node_moves_nothing(ansible, fleet, served):
    fleet.vm(101).config['hostpci0'] = '0000:01:00.0'
    fleet.clear_log()
    result = play(ansible, served, 'evacuate', {'node': 'pve2'})
    assert result.rc != 0 and fleet.writes() == []
    assert any(line.startswith('  cannot move web2 (101):') and 'hostpci0' in line for line in summary(result))
    assert summary(result)[-1].startswith('Failed: cannot move 1 guest(s)')


# ---------------------------------------------------------------------------------------------------- rebalance

@pytest.fixture
def skewed(cluster):
    """Eight running 4 GiB VMs on pve1, one on pve2, none on pve3 (64 GiB nodes); one pinned by no-balance."""
    for vmid in range(100, 108):
        cluster.add_vm(vmid, 'w{0}'.format(vmid), node='pve1', status='running',
                       config={'memory': '4096', 'scsi0': 'shared:vm-{0}-d,size=4G'.format(vmid),
                               'tags': 'no-balance' if vmid == 107 else 'web'})
    cluster.add_vm(120, 'solo', node='pve2', status='running',
                   config={'memory': '4096', 'scsi0': 'shared:vm-120-d,size=4G'})
    return cluster


def test_rebalance_lowers_the_spread_within_the_reserve_and_then_changes_nothing(ansible, skewed, served):
    check = play(ansible, served, 'rebalance', check=True).assert_ok()
    planned = summary(check)
    assert planned[0] == 'Plan (check mode, nothing was done):'
    spread = re.match(r'^Spread of memory load: ([\d.]+) -> ([\d.]+) points \(tolerated: 10\), (\d+) move\(s\)$',
                      planned[1])
    assert spread and float(spread.group(2)) < float(spread.group(1)) and int(spread.group(3)) > 0, planned

    first, second = ansible.assert_idempotent(None, playbook='pve.fleet.rebalance', env=served.env)
    assert summary(first)[1:] == planned[2:]
    assert skewed.vm(107).node == 'pve1'
    assert set(where(skewed).values()) == {'pve1', 'pve2', 'pve3'}
    assert re.match(r'^Spread of memory load: [\d.]+ -> [\d.]+ points \(tolerated: 10\), 0 move\(s\)$',
                    summary(second)[0])
    assert_within_reserve(skewed)


def test_rebalance_never_fills_a_node_past_its_reserve(ansible, cluster, served):
    for node in ('pve2', 'pve3'):
        cluster.nodes[node]['maxmem'] = 16 * GIB
    for vmid in range(100, 110):
        cluster.add_vm(vmid, 'big{0}'.format(vmid), node='pve1', status='running',
                       config={'memory': str(5 * 1024), 'scsi0': 'shared:vm-{0}-d,size=4G'.format(vmid)})
    play(ansible, served, 'rebalance', {'memory_reserve': 30, 'balanciness': 1}).assert_ok()
    for node in ('pve2', 'pve3'):
        assert cluster.node_load(node)['mem'] <= 0.7 * 16 * GIB, (node, cluster.node_load(node))
