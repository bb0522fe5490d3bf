"""The fake cluster's backup jobs (tests/fakecluster/backup_jobs.py, after pve-manager PVE/API2/Backup.pm)."""

import pytest

from fakecluster.client import ResourceException, api


@pytest.fixture
def pve(served):
    return api(served)


def refused(call, **params):
    with pytest.raises(ResourceException) as caught:
        call(**params)
    exc = caught.value
    errors = exc.errors if isinstance(exc.errors, dict) else {}
    return exc.status_code, ' '.join([str(exc.content)] + ['{0}: {1}'.format(k, v) for k, v in sorted(errors.items())])


def test_create_read_update_delete(pve):
    pve.cluster.backup.post(id='nightly', schedule='mon..fri 02:00', all=1, exclude='100,101', storage='local',
                            mode='snapshot', compress='zstd', comment='nightly', **{'prune-backups': 'keep-last=3'})
    job = pve.cluster.backup('nightly').get()
    assert job['id'] == 'nightly' and job['schedule'] == 'mon..fri 02:00' and job['all'] == 1
    assert job['enabled'] == 1 and job['prune-backups'] == {'keep-last': '3'} and 'type' not in job
    assert [j['id'] for j in pve.cluster.backup.get()] == ['nightly']
    # Setting vmid drops all and exclude; delete takes vzdump options and comment.
    pve.cluster.backup('nightly').put(vmid='100', delete='comment,prune-backups')
    job = pve.cluster.backup('nightly').get()
    assert job['vmid'] == '100' and 'all' not in job and 'exclude' not in job
    assert 'comment' not in job and 'prune-backups' not in job
    pve.cluster.backup('nightly').put(all=1)
    assert 'vmid' not in pve.cluster.backup('nightly').get()
    pve.cluster.backup('nightly').delete()
    assert pve.cluster.backup.get() == []


def test_id_is_made_when_missing_and_exclude_implies_all(pve):
    pve.cluster.backup.post(schedule='daily', exclude='100')
    job, = pve.cluster.backup.get()
    assert len(job['id']) == 36 and job['all'] == 1


def test_pool_selection_needs_an_existing_pool(pve, cluster):
    status, text = refused(pve.cluster.backup.post, schedule='daily', pool='nope')
    assert status == 403 and "pool 'nope' does not exist" in text
    pve.pools.post(poolid='web')
    pve.cluster.backup.post(id='web', schedule='daily', pool='web')
    pve.cluster.backup('web').put(comment='the web pool')
    assert pve.cluster.backup('web').get()['pool'] == 'web'


@pytest.mark.parametrize('params, status, words', [
    (dict(schedule='every tuesday', all=1), 400, "invalid calendar event 'every tuesday' - unable to parse calendar "
                                                 "event at 'every' - Context(\"weekday\")"),
    (dict(schedule='mon 25:61', all=1), 400, "invalid calendar event 'mon 25:61'"),
    (dict(schedule=' ', all=1), 400, 'event is empty'),
    (dict(all=1), 400, "neither 'starttime' nor 'schedule' were set"),
    (dict(schedule='daily'), 400, "vmid: property is missing"),
    (dict(schedule='daily', all=1, vmid='100'), 400, "option conflicts with option 'vmid'"),
    (dict(schedule='daily', pool='x', vmid='100'), 403, "pool 'x' does not exist"),
    (dict(schedule='daily', all=1, storage='local', **{'notes-template': '{{name}}'}), 400,
     "found unknown: variable 'name' at char 2"),
    (dict(schedule='daily', starttime='02:00', all=1), 400, "'starttime' and 'schedule' cannot both be set"),
])
def test_create_refusals(pve, params, status, words):
    got, text = refused(pve.cluster.backup.post, **params)
    assert got == status and words in text, text
    assert pve.cluster.backup.get() == []


def test_update_refusals(pve):
    pve.cluster.backup.post(id='job1', schedule='daily', all=1)
    assert 'invalid calendar event' in refused(pve.cluster.backup('job1').put, schedule='sunday 3pm')[1]
    assert "unknown option 'schedule'" in refused(pve.cluster.backup('job1').put, delete='schedule')[1]
    assert "No such job 'nope'" in refused(pve.cluster.backup('nope').get)[1]
    assert 'no such vzdump job' in refused(pve.cluster.backup('nope').put, comment='x')[1]
    assert pve.cluster.backup('job1').get()['schedule'] == 'daily'


def test_deprecated_starttime_becomes_a_schedule(pve):
    pve.cluster.backup.post(id='old', starttime='02:30', dow='sat,sun', all=1)
    assert pve.cluster.backup('old').get()['schedule'] == 'sat,sun 02:30'
