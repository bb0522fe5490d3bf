"""pve.fleet.backup_job through ansible-playbook against the fake cluster (tests/fakecluster/backup_jobs.py)."""

import copy

import pytest

from datacenter import (assert_refused_before_any_write, check_mode_clean, diff_of, failure, idempotent, run,
                        task)

NOTES = '{{guestname}} on {{node}}'


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve1')
    cluster.add_vm(101, 'db1', node='pve2')
    cluster.pools['web'] = {100}
    return cluster


def jobs(cluster):
    return copy.deepcopy(cluster.backup_jobs)


def nightly(**options):
    base = dict(id='nightly', schedule='mon..fri 01:30', all=True, exclude=[101], storage='shared', mode='snapshot',
                compress='zstd', prune={'keep_daily': 7, 'keep_weekly': 4}, mailto=['ops@example.org'],
                notification_mode='legacy-sendmail', comment='every guest, nightly')
    base.update(options)
    return task('backup_job', **dict((k, v) for k, v in base.items() if v is not None))


def test_create_rerun_change_remove(ansible, served, guests):
    cluster = guests
    create = [nightly()]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.task('backup_job')['changes'] == ['create backup job nightly (mon..fri 01:30)'] and jobs(cluster) == {}
    first, _second = idempotent(ansible, served, create)
    job = cluster.backup_jobs['nightly']
    assert job['schedule'] == 'mon..fri 01:30' and job['all'] == 1 and job['exclude'] == '101'
    assert job['storage'] == 'shared' and job['compress'] == 'zstd' and job['enabled'] == 1
    assert job['prune-backups'] == {'keep-daily': '7', 'keep-weekly': '4'}
    assert job['mailto'] == 'ops@example.org' and job['notification-mode'] == 'legacy-sendmail'
    assert first.task('backup_job')['id'] == 'nightly' and first.task('backup_job')['job']['schedule'] == \
        'mon..fri 01:30'

    # Change: the schedule, the retention, no mail any more; switch to the guests of a pool (exclude goes).
    change = [nightly(schedule='sat 02:00', prune={'keep_last': 3}, mailto=[], all=None, exclude=None, pool='web',
                      enabled=False)]
    check = check_mode_clean(ansible, served, cluster, change)
    assert check.task('backup_job')['changes'] == [
        'set schedule: mon..fri 01:30 -> sat 02:00', 'set enabled: true -> false', 'remove all (true)',
        'add pool: web', 'remove exclude (101)', 'set prune: keep_daily=7, keep_weekly=4 -> keep_last=3',
        'remove mailto (ops@example.org)']
    first, _second = idempotent(ansible, served, change)
    job = cluster.backup_jobs['nightly']
    assert job['pool'] == 'web' and 'all' not in job and 'exclude' not in job and 'mailto' not in job
    assert job['schedule'] == 'sat 02:00' and job['enabled'] == 0 and job['prune-backups'] == {'keep-last': '3'}

    # vmid drops the pool; an empty prune removes the retention
    first, _second = idempotent(ansible, served, [task('backup_job', id='nightly', vmid=[100, 101], prune={})])
    job = cluster.backup_jobs['nightly']
    assert job['vmid'] == '100,101' and 'pool' not in job and 'prune-backups' not in job

    remove = [task('backup_job', id='nightly', state='absent')]
    check_mode_clean(ansible, served, cluster, remove)
    assert 'nightly' in cluster.backup_jobs
    first, _second = idempotent(ansible, served, remove)
    assert first.task('backup_job')['job'] is None and cluster.backup_jobs == {}


def test_job_found_by_comment(ansible, served, guests):
    cluster = guests
    create = [task('backup_job', comment='web pool, 6-hourly', schedule='*-*-* 0/6:00', pool='web', storage='local')]
    first, _second = idempotent(ansible, served, create)
    jobid = first.task('backup_job')['id']
    assert jobid.startswith('backup-') and len(jobid) == 19 and list(cluster.backup_jobs) == [jobid]
    assert cluster.backup_jobs[jobid]['comment'] == 'web pool, 6-hourly'
    first, _second = idempotent(ansible, served, [task('backup_job', comment='web pool, 6-hourly', mode='stop')])
    assert first.task('backup_job')['changes'] == ['add mode: stop'] and first.task('backup_job')['id'] == jobid
    # two jobs with one comment cannot be told apart
    served.run(cluster.backup_jobs.__setitem__, 'other', dict(cluster.backup_jobs[jobid]))
    msg = failure(run(ansible, served, [task('backup_job', comment='web pool, 6-hourly', mode='snapshot')]))
    assert msg.startswith('comment:') and 'other' in msg and jobid in msg
    first, _second = idempotent(ansible, served, [task('backup_job', id='other', state='absent')])
    idempotent(ansible, served, [task('backup_job', comment='web pool, 6-hourly', state='absent')])
    assert cluster.backup_jobs == {}


def test_notes_template_and_diff(ansible, served, guests):
    cluster = guests
    tasks = [nightly(prune=None, mailto=None, notification_mode=None, notes_template='{{ notes }}')]
    result = run(ansible, served, tasks, diff=True, vars={'notes': '{% raw %}' + NOTES + '{% endraw %}'}).assert_ok()
    before, after = diff_of(result, 'backup_job')
    assert before is None and after['schedule'] == 'mon..fri 01:30' and after['exclude'] == [101]
    assert after['notes_template'] == NOTES and after['compress'] == 'zstd'
    assert cluster.backup_jobs['nightly']['notes-template'] == NOTES
    change = [task('backup_job', id='nightly', schedule='daily', compress='none', exclude=[])]
    result = check_mode_clean(ansible, served, cluster, change, diff=True)
    assert diff_of(result, 'backup_job') == ({'schedule': 'mon..fri 01:30', 'compress': 'zstd', 'exclude': [101]},
                                             {'schedule': 'daily', 'compress': 'none'})
    assert '+schedule: daily' in result.output
    result = run(ansible, served, [task('backup_job', id='nightly', state='absent')], diff=True).assert_ok()
    before, after = diff_of(result, 'backup_job')
    assert after is None and before['schedule'] == 'mon..fri 01:30' and before['storage'] == 'shared'


def test_unknown_vmid_is_a_warning(ansible, served, guests):
    result = run(ansible, served, [task('backup_job', id='future', schedule='daily', vmid=[100, 150])]).assert_ok()
    warnings = ' '.join(result.task('backup_job').get('warnings', []))
    assert 'vmid: no guest 150 in the cluster' in warnings
    assert guests.backup_jobs['future']['vmid'] == '100,150'


BAD_INPUT = [
    (dict(id='nightly', schedule='every tuesday', all=True), 'schedule', "'every' is not a weekday"),
    (dict(id='nightly', schedule='mon 25:61', all=True), 'schedule', 'is not a PVE calendar event'),
    (dict(id='nightly', schedule='0 2 * * *', all=True), 'schedule', 'is not a PVE calendar event'),
    (dict(id='nightly', all=True), 'schedule', 'a new backup job needs one'),
    (dict(id='nightly', schedule='daily'), 'all', 'needs its guests'),
    (dict(id='nightly', schedule='daily', all=True, vmid=[100]), 'all', "cannot go with vmid"),
    (dict(id='nightly', schedule='daily', pool='web', exclude=[100]), 'exclude', 'not from a pool'),
    (dict(id='nightly', schedule='daily', all=True, storage='nas'), 'storage', "no storage 'nas'"),
    (dict(id='nightly', schedule='daily', all=True, storage='local-lvm'), 'storage', 'does not hold backups'),
    (dict(id='nightly', schedule='daily', pool='webb'), 'pool', 'did you mean web'),
    (dict(id='nightly', schedule='daily', all=True, node='pve9'), 'node', "'pve9' is not in the cluster"),
    (dict(id='nightly', schedule='daily', all=True, storage='local', notes_template='{{ "{{name}}" }}'),
     'notes_template', 'does not know the variable {{name}}'),
    (dict(id='9nightly', schedule='daily', all=True), 'id', 'is not a job id'),
    (dict(schedule='daily', all=True), 'id', 'give the job id, or a comment'),
    (dict(id='kept', storage='local', notes_template='a\\qb'), 'notes_template', 'the escape \\q'),
    (dict(id='nightly', schedule='daily', all=True, prune={'keep_all': True, 'keep_last': 2}), 'prune',
     'keep_all cannot be set together'),
    (dict(id='nightly', schedule='daily', vmid=[12]), 'vmid', 'is not a vmid'),
    (dict(id='nightly', schedule='daily', all=True, mailto=['not an address']), 'mailto', 'neither an email'),
]


def test_bad_input_refused_before_any_write(ansible, served, guests):
    served.run(guests.backup_jobs.__setitem__, 'kept', {'type': 'vzdump', 'schedule': 'daily', 'all': 1, 'enabled': 1})
    assert_refused_before_any_write(ansible, served, guests, 'backup_job', BAD_INPUT, lambda: jobs(guests))
