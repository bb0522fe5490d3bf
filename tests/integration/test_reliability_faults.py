"""Faults, for every module and playbook that writes: the fault run fails with one clear line (or succeeds),
and after the fault is gone a plain re-run converges: the cluster holds exactly what was asked, with no
duplicate guest, no orphaned disk and no guest left locked.

Each case: set the cluster up, inject one fault, run the module's tasks, heal, run the same tasks twice in one
play (the second pass must change nothing), then check the cluster. The faults:

- task_fails: the module's PVE task ends with an error after logging lines (surfaced with the log's tail);
- node_offline: the node drops out of the cluster when the task starts (595 from then on);
- flaky: a share of connections reset before they are answered (reads are repeated; writes are not);
- lost_answer: the create (or first write) is carried out but its answer never arrives;
- guest_lock: another task holds the guest (lock: backup): waited for within timeout, then named;
- quorum: the cluster loses quorum (writes refused with PVE's 'no quorum?');
- 5xx: the API answers 503 for a while: reads are repeated through it; a write answered 503 fails clearly.
"""

import json

import pytest

from fakecluster.client import api, run as run_task

from reliability import all_guests, assert_consistent, named, run_across

TEMPLATE = 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'
TIMEOUT = 3  # seconds a module waits for a locked guest in these tests


def task(module, title=None, **options):
    return {'name': title or module, 'pve.fleet.' + module: options}


def vm(cluster, vmid, name, node='pve1', status='stopped', storage='local-lvm', memory='512'):
    cluster.add_vm(vmid, name, node=node, status=status,
                   config={'memory': memory, 'scsi0': '{0}:vm-{1}-disk-0,size=1G'.format(storage, vmid)})


def with_template(cluster):
    cluster.store_file('local', 'debian-12-standard_12.12-1_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')


def with_archive(cluster, served, vmid=100):
    vm(cluster, vmid, 'orig', storage='shared')
    pve = api(served)
    assert run_task(pve, pve.nodes('pve1').vzdump.post(vmid=vmid, storage='shared')).ok
    volid = [v['volid'] for v in pve.nodes('pve1').storage('shared').content.get(content='backup')][0]
    return volid


def has_archive(cluster, vmid):
    # A backup that was made but not seen (the node went away before its end was read) is made again by the
    # re-run: one or more archives, each a whole one.
    assert archives(cluster, vmid), cluster.storages['shared'].get('volumes')


def archives(cluster, vmid):
    return [name for name, vol in cluster.storages['shared'].get('volumes', {}).items()
            if vol.get('content') == 'backup' and str(vol.get('vmid')) == str(vmid)]


def as_list(value):
    return [] if value is None else (list(value) if isinstance(value, list) else [value])


class Scenario:
    """One writing module (or playbook): how to set the cluster up, the tasks, and what must hold after."""

    def __init__(self, name, tasks, verify, setup=None, ttype=None, node='pve1', creates=None, write=None,
                 read='/cluster/resources', locked=None, idempotent=True, playbook=None, extra=None,
                 rerun_refusal=None):
        self.name = name
        self.tasks = tasks            # (cluster, served) -> list of tasks
        self.verify = verify          # cluster -> None (asserts)
        self.setup = setup            # (cluster, served) -> None
        self.ttype = ttype            # the PVE task type the module waits for
        self.node = node              # where that task runs
        self.creates = as_list(creates)  # (method, path suffix) of each request that creates
        self.writes = as_list(write) + self.creates  # (method, path suffix) of the writes the module sends
        self.reads = as_list(read)    # paths the module reads before it writes
        self.locked = locked          # the vmid a guest lock blocks
        self.idempotent = idempotent  # a second pass changes nothing
        self.playbook = playbook      # a playbook of the collection instead of tasks
        self.extra = extra
        # A restore is not repeated over the guest it made: after a fault that left the guest made but the run
        # failed, the re-run refuses, naming it (the guest is there once, which is what was asked).
        self.rerun_refusal = rerun_refusal

    def __repr__(self):
        return self.name


def one_vm(cluster, name, **expect):
    found = named(cluster.vms, name)
    assert len(found) == 1, [g.name for g in cluster.vms]
    for key, value in expect.items():
        assert getattr(found[0], key) == value, (name, key, getattr(found[0], key))


def one_guest(cluster, vmid):
    # A restore whose answer was lost (or whose node went away) made the guest; the re-run refuses to restore
    # over it, so its rename and start may be left to do: the guest is there once, with the archive's disks.
    assert [g.vmid for g in all_guests(cluster)].count(vmid) == 1, [g.vmid for g in all_guests(cluster)]
    assert any(k.startswith('scsi') for k in cluster.guest(vmid).config), cluster.guest(vmid).config


def setup_datacenter(cluster, served):
    setup_ha_vm(cluster, served)
    vm(cluster, 101, 'ha2', status='running', storage='shared')
    api(served).cluster.ha.resources.post(sid='vm:101')  # a rule needs its guests under HA already


def datacenter_tasks(cluster, served):
    """The modules that write without PVE tasks, together in one play: each task its own object, each fault
    injected on every one of their paths."""
    return [
        task('storage', name='rel-st', type='dir', path='/srv/rel', content=['backup']),
        task('user', userid='rel@pve', comment='reliability'),
        task('group', groupid='rel', comment='reliability'),
        task('role', roleid='RelRole', privs=['VM.Audit', 'VM.PowerMgmt']),
        task('acl', path='/vms', roles=['PVEAuditor'], users=['root@pam']),
        task('token', userid='root@pam', tokenid='rel'),
        task('pool', poolid='rel-pool', comment='reliability', vms=['ha1']),
        task('backup_job', id='rel-job', schedule='mon..fri 01:30', all=True, storage='shared'),
        task('ha_resource', name='ha1', state='started', max_restart=2),
        task('ha_rule', rule='rel-rule', type='node-affinity', resources=['ha2'], nodes=['pve1:2', 'pve2']),
        task('firewall', level='vm', name='ha1', options={'enable': True},
             rules=[{'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH'}])]


def verify_datacenter(cluster):
    assert cluster.storages['rel-st']['path'] == '/srv/rel', cluster.storages.get('rel-st')
    assert 'rel-job' in str(cluster.backup_jobs), cluster.backup_jobs
    assert sorted(cluster.ha_rules) == ['rel-rule'], cluster.ha_rules


def setup_ha_vm(cluster, served):
    vm(cluster, 100, 'ha1', status='running', storage='shared')


def setup_evacuate(cluster, served):
    vm(cluster, 100, 'ev1', status='running', storage='shared')
    vm(cluster, 101, 'ev2', status='running', storage='shared')


def setup_rebalance(cluster, served):
    for vmid in range(100, 106):
        vm(cluster, vmid, 'rb{0}'.format(vmid), status='running', storage='shared', memory='16384')


MODULES = [
    Scenario('vm', lambda c, s: [task('vm', 'resize old', name='old1', memory=1024),
                                 task('vm', name='rel-vm', node='pve1', memory=512,
                                      disks={'scsi0': 'local-lvm:1'}, state='started')],
             lambda c: (one_vm(c, 'rel-vm', status='running'), one_vm(c, 'old1')),
             setup=lambda c, s: vm(c, 100, 'old1'), ttype='qmcreate', creates=('POST', '/nodes/pve1/qemu'),
             locked=100),
    Scenario('ct', lambda c, s: [task('ct', 'resize old', vmid=200, memory=1024),
                                 task('ct', hostname='rel-ct', node='pve1', ostemplate=TEMPLATE,
                                      rootfs={'storage': 'local-lvm', 'size': 1}, state='started')],
             lambda c: [len(named(c.cts, 'rel-ct')) == 1 and named(c.cts, 'rel-ct')[0].status == 'running'
                        or pytest.fail('rel-ct: {0}'.format([(g.vmid, g.status) for g in c.cts]))],
             setup=lambda c, s: (with_template(c), c.add_ct(200, 'oldct', node='pve1', config={'memory': 512})),
             ttype='vzcreate', creates=('POST', '/nodes/pve1/lxc'), locked=200),
    Scenario('fleet', lambda c, s: [task('fleet', guests=[
        dict(type='vm', name='old1', memory=1024),
        dict(type='vm', name='rel-f1', node='pve1', memory=256, disks={'scsi0': 'local-lvm:1'}),
        dict(type='vm', name='rel-f2', node='pve1', memory=256),
        dict(type='ct', hostname='rel-f3', node='pve1', ostemplate=TEMPLATE, rootfs='local-lvm:1')])],
        lambda c: [one_vm(c, n) for n in ('old1', 'rel-f1', 'rel-f2')] + [len(named(c.cts, 'rel-f3')) == 1 or
                                                                          pytest.fail('rel-f3')],
        setup=lambda c, s: (with_template(c), vm(c, 100, 'old1')), ttype='qmcreate',
        creates=('POST', '/nodes/pve1/qemu'), locked=100),
    Scenario('snapshot', lambda c, s: [task('snapshot', name='snap1', snapname='before')],
             lambda c: list(c.vm(100).snapshots) == ['before'] or pytest.fail(str(list(c.vm(100).snapshots))),
             setup=lambda c, s: vm(c, 100, 'snap1'), ttype='qmsnapshot',
             write=('POST', '/nodes/pve1/qemu/100/snapshot'), locked=100),
    Scenario('backup', lambda c, s: [task('backup', name=['bk1'], storage='shared')],
             lambda c: has_archive(c, 100),
             setup=lambda c, s: vm(c, 100, 'bk1', storage='shared'), ttype='vzdump',
             write=('POST', '/nodes/pve1/vzdump'), locked=100, idempotent=False),
    Scenario('restore', lambda c, s: [task('restore', archive=with_archive.volid, target_vmid=150,
                                           target_name='restored', node='pve1', storage='local-lvm')],
             lambda c: one_guest(c, 150),
             setup=lambda c, s: setattr(with_archive, 'volid', with_archive(c, s)), ttype='qmrestore',
             creates=('POST', '/nodes/pve1/qemu'), idempotent=False, rerun_refusal='target_vmid 150 exists'),
    Scenario('migrate', lambda c, s: [task('migrate', name='mig1', target='pve2')],
             lambda c: one_vm(c, 'mig1', node='pve2'),
             setup=lambda c, s: vm(c, 100, 'mig1', status='running', storage='shared'), ttype='qmigrate',
             write=('POST', '/nodes/pve1/qemu/100/migrate'), locked=100),
    Scenario('template', lambda c, s: [task('template', node='pve1', template='debian-12-standard')],
             lambda c: any(v.get('content') == 'vztmpl' for v in c.storages['local'].get('volumes', {}).values())
             or pytest.fail(str(c.storages['local'].get('volumes'))),
             ttype='download', write=('POST', '/nodes/pve1/aplinfo'), read='/nodes/pve1/aplinfo'),
    Scenario('evacuate', lambda c, s: [task('evacuate', node='pve1')],
             lambda c: [g.node for g in all_guests(c) if g.node == 'pve1'] == [] or pytest.fail('not empty'),
             setup=setup_evacuate, ttype='qmigrate', write=('POST', '/migrate')),
    Scenario('rebalance', lambda c, s: [task('rebalance', max_moves=2)],
             lambda c: len(c.vms) == 6 or pytest.fail('lost a guest'),
             setup=setup_rebalance, ttype='qmigrate', write=('POST', '/migrate'), idempotent=False),
    # The modules that write without PVE tasks (storage, access control, pools, backup jobs, HA, firewall),
    # together in one play: each task its own object, each fault injected on every one of their paths.
    Scenario('datacenter', datacenter_tasks,
             verify_datacenter, setup=setup_datacenter,
             creates=[('POST', '/storage'), ('POST', '/access/users'), ('POST', '/access/groups'),
                      ('POST', '/access/roles'), ('POST', '/token/rel'), ('POST', '/pools'),
                      ('POST', '/cluster/backup'), ('POST', '/cluster/ha/resources'), ('POST', '/cluster/ha/rules')],
             write=[('PUT', '/access/acl'), ('POST', '/firewall/rules')],
             read=['/storage', '/access/users', '/access/acl', '/pools', '/cluster/backup', '/cluster/ha/rules']),
]

PLAYBOOKS = [
    Scenario('playbook backup', None, lambda c: has_archive(c, 100),
             setup=lambda c, s: vm(c, 100, 'bk1', storage='shared'), ttype='vzdump', playbook='backup',
             extra={'guests': ['bk1'], 'storage': 'shared'}, write=('POST', '/vzdump'), idempotent=False),
    Scenario('playbook restore', None, lambda c: one_guest(c, 950),
             setup=with_archive, ttype='qmrestore', playbook='restore',
             extra={'guests': '100', 'new_vmid': 950, 'new_name': 'copy', 'node': 'pve1'},
             creates=('POST', '/nodes/pve1/qemu'), idempotent=False, rerun_refusal='950'),
    Scenario('playbook migrate', None, lambda c: one_vm(c, 'mig1', node='pve2'),
             setup=lambda c, s: vm(c, 100, 'mig1', status='running', storage='shared'), ttype='qmigrate',
             playbook='migrate', extra={'guests': ['mig1'], 'target': 'pve2'}, write=('POST', '/migrate')),
    Scenario('playbook evacuate', None,
             lambda c: [g for g in all_guests(c) if g.node == 'pve1'] == [] or pytest.fail('not empty'),
             setup=setup_evacuate, ttype='qmigrate', playbook='evacuate', extra={'node': 'pve1'},
             write=('POST', '/migrate')),
    Scenario('playbook rebalance', None, lambda c: len(c.vms) == 6 or pytest.fail('lost a guest'),
             setup=setup_rebalance, ttype='qmigrate', playbook='rebalance', extra={'max_moves': 2},
             write=('POST', '/migrate'), idempotent=False),
]

TASK_ERROR = 'command failed: storage unreachable (injected)'


def inject(fault, scenario, cluster, served):
    """Inject the fault; returns a function that heals it."""
    if fault == 'task_fails':
        served.run(lambda: cluster.fail_next_task(scenario.ttype, TASK_ERROR, lines=[
            'starting worker (injected)', 'error: cannot open /dev/pve/injected: Input/output error']))
        return cluster.task_faults.clear
    if fault == 'node_offline':
        served.run(cluster.node_offline_during_next_task, scenario.ttype, scenario.node)
        return lambda: (cluster.task_faults.clear(), served.run(cluster.set_node_offline, scenario.node, False))
    if fault == 'flaky':
        def flaky():
            cluster.flaky_network(drop_rate=0.25)
            cluster._random.seed(15)  # fakepve seeds only at start: the same drops on every run of the test
        served.run(flaky)
        return lambda: served.run(lambda: cluster.flaky_network(0))
    if fault == 'lost_answer':
        for method, suffix in scenario.creates:
            served.run(cluster.lose_answer, method, suffix)
        return cluster.lost_answers.clear
    if fault == 'guest_lock':
        served.run(cluster.hold_guest_lock, scenario.locked, 'backup')
        return lambda: served.run(cluster.release_guest_lock, scenario.locked)
    if fault == 'quorum':
        served.run(cluster.lose_quorum)
        return lambda: served.run(cluster.regain_quorum)
    if fault == '5xx':
        def unavailable():
            for path in scenario.reads:
                cluster.fail('GET', path, 503, 'Service Unavailable', times=2)
            for method, path in scenario.writes:
                cluster.fail(method, path, 503, 'Service Unavailable', times=1)
        served.run(unavailable)
        return cluster.failures.clear
    raise AssertionError(fault)


def failure_text(result):
    """The failure as the user reads it: no traceback; the failed tasks' messages (a playbook may report per
    guest in a summary, so the whole output counts there)."""
    assert 'Traceback' not in result.output, result.output
    return ' '.join(str(r['result'].get('msg', '')) for r in result.failed) + ' ' + result.output


def failed_messages(result):
    """Each failed task's message: one line each, no traceback anywhere."""
    assert 'Traceback' not in result.output, result.output
    messages = [str(r['result'].get('msg', '')) for r in result.failed]
    for msg in messages:
        assert msg and '\n' not in msg.strip(), msg
    return messages


def check_fault_run(fault, scenario, result, cluster):
    """What the fault run must show."""
    if scenario.playbook:
        if fault in ('task_fails', 'quorum'):
            assert result.rc != 0, result.output
            text = failure_text(result)
            assert (TASK_ERROR in text and 'Input/output error' in text) if fault == 'task_fails' \
                else 'no quorum' in text, text
        elif result.rc != 0:
            failure_text(result)
        return
    messages = failed_messages(result)
    if fault == 'task_fails':
        assert messages and all(TASK_ERROR in m and 'Input/output error' in m for m in messages), messages
    elif fault == 'quorum':
        assert messages and all('no quorum' in m for m in messages), '\n'.join(messages)
    elif fault == 'guest_lock':
        assert messages and 'locked (backup)' in messages[0], messages
        # It waited: the refused write was sent again, or the guest read again, until timeout.
        tries = [e for e in cluster.request_log[:cluster.healed_at] if e['method'] in ('POST', 'PUT', 'DELETE')
                 or e['path'].endswith('/cluster/resources')]
        assert len(tries) > 3, tries
    elif fault == '5xx':
        for path in scenario.reads:
            reads = [e['status'] for e in cluster.request_log if e['method'] == 'GET' and e['path'].endswith(path)]
            assert reads[:3] == [503, 503, 200] or not reads, (path, reads)  # repeated through the 503s
        assert all('Service Unavailable' in m for m in messages), '\n'.join(messages)


def faults_of(scenario):
    if scenario.playbook:
        return sorted(['flaky', 'quorum'] + (['task_fails'] if scenario.ttype else []))
    faults = ['flaky', 'quorum', '5xx']
    if scenario.ttype:
        faults += ['task_fails', 'node_offline']
    if scenario.creates:
        faults.append('lost_answer')
    if scenario.locked:
        faults.append('guest_lock')
    return sorted(faults)


# Known gap, kept visible (strict: it fails the day it is fixed). A restore as a new guest is one task, then the
# rename: when the answer of the restore is lost (or its node goes away, or the connection drops before the
# rename) the guest is there under the archive's name, beside the original, and the re-run refuses to restore
# over it. Two guests then share a name until the operator renames one.
RESTORE_GAP = pytest.mark.xfail(strict=True, reason='an interrupted restore as a new guest leaves it under the '
                                'original name (the re-run refuses to restore over it)')
KNOWN_GAPS = {('restore', 'lost_answer'): RESTORE_GAP, ('restore', 'node_offline'): RESTORE_GAP,
              ('restore', 'flaky'): RESTORE_GAP}
CASES = [pytest.param(s, f, id='{0}-{1}'.format(s.name.replace(' ', '_'), f),
                      marks=[KNOWN_GAPS[(s.name, f)]] if (s.name, f) in KNOWN_GAPS else [])
         for s in MODULES + PLAYBOOKS for f in faults_of(s)]


@pytest.mark.parametrize('scenario, fault', CASES)
def test_a_fault_then_a_plain_rerun_converges(ansible, served, cluster, scenario, fault):
    if scenario.setup:
        scenario.setup(cluster, served)
    cluster.clear_log()
    healing = inject(fault, scenario, cluster, served)

    def heal():
        cluster.healed_at = len(cluster.request_log)  # where the fault phase's requests end
        healing()
    if scenario.playbook:
        result, again = playbook_across(ansible, served, scenario, heal)
    else:
        tasks = scenario.tasks(cluster, served)
        reruns = [('rerun', [dict(t, ignore_errors=True) for t in tasks] if scenario.rerun_refusal else tasks)]
        if scenario.idempotent:
            reruns.append(('again', tasks))
        result, again = run_across(ansible, (tasks, reruns), heal, connection={'timeout': TIMEOUT})
    check_fault_run(fault, scenario, result, cluster)
    if again is not None:
        refused = [r for r in again.failed if scenario.rerun_refusal]
        assert all(scenario.rerun_refusal in r['result'].get('msg', '') for r in refused), again.output
        if not refused:
            again.assert_ok()
        assert [t for t in again.changed if t.startswith('again: ')] == [], again.output
    scenario.verify(cluster)
    assert_consistent(cluster)


def playbook_across(ansible, served, scenario, heal):
    """A playbook has no tasks to add: the fault run, heal, then a plain re-run unless the first got through a
    fault of a playbook that is not idempotent (a second backup is another backup); then one more for the
    idempotent ones."""
    env = dict(served.env, PROXMOX_TIMEOUT=str(TIMEOUT))
    args = ['-e', json.dumps(scenario.extra)]

    def once():
        return ansible.run(None, playbook='pve.fleet.' + scenario.playbook, extra_args=args, env=env)
    first = once()
    heal()
    if first.rc == 0 and not scenario.idempotent:
        return first, None
    again = once()
    if scenario.idempotent and again.rc == 0:
        assert once().assert_ok().changed == []
    return first, again
