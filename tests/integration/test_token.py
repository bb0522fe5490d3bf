"""pve.fleet.token through ansible-playbook against the fake cluster (tests/fakecluster/access.py): tokens made,
changed and removed, the secret shown once and hidden from every output, and a token's ACLs deciding what a
pve.fleet.vm task may do."""

import copy

import pytest

from datacenter import (assert_refused_before_any_write, check_mode_clean, diff_of, failure, idempotent, run,
                        task)


def tokens_of(cluster, userid):
    cluster._seed_tokens()
    return copy.deepcopy(cluster.user_cfg['users'].get(userid, {}).get('tokens', {}))


def show(var):
    """A debug task that puts a registered result (minus its secret) into the record of the run."""
    template = '{{ ' + var + ' | dict2items | rejectattr("key", "equalto", "secret") | items2dict }}'
    return {'name': 'show ' + var, 'ansible.builtin.debug': {'msg': template}}


def shown(result, var):
    return result.task('show ' + var)['msg']


def make_user(ansible, served, userid='ci@pve'):
    run(ansible, served, [task('user', userid=userid)]).assert_ok()


def test_create_rerun_change_remove(ansible, served, cluster):
    make_user(ansible, served)
    create = [dict(task('token', userid='ci@pve', tokenid='deploy', comment='CI'), register='made'), show('made')]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.changed == ['token'] and tokens_of(cluster, 'ci@pve') == {}
    assert 'secret' not in check.task('show made')['msg'] and shown(check, 'made')['token'] is None
    first = run(ansible, served, create).assert_ok()
    made = shown(first, 'made')
    assert made['changed'] and made['full_tokenid'] == 'ci@pve!deploy'
    assert made['token'] == {'userid': 'ci@pve', 'tokenid': 'deploy', 'full_tokenid': 'ci@pve!deploy', 'privsep': True,
                             'expire': 0, 'comment': 'CI'}
    # The output of the task that made the secret is hidden; the registered result has it.
    assert 'censored' in first.task('token')
    again = run(ansible, served, create).assert_ok()
    assert again.changed == [] and 'secret' not in str(again.records) and 'censored' not in again.task('token')

    change = [task('token', userid='ci@pve', tokenid='deploy', privsep=False, expire=4102444800, comment='')]
    check = check_mode_clean(ansible, served, cluster, change)
    assert check.task('token')['changes'] == ['remove comment (CI)', 'set expire: 0 -> 4102444800',
                                              'set privsep: true -> false']
    secret = cluster.apitokens['ci@pve!deploy']
    first, _second = idempotent(ansible, served, change)
    assert tokens_of(cluster, 'ci@pve')['deploy'] == {'privsep': 0, 'expire': 4102444800}
    assert cluster.apitokens['ci@pve!deploy'] == secret  # the secret stays
    assert 'secret' not in first.task('token')

    remove = [task('token', userid='ci@pve', tokenid='deploy', state='absent')]
    check_mode_clean(ansible, served, cluster, remove)
    assert 'deploy' in tokens_of(cluster, 'ci@pve')
    first, _second = idempotent(ansible, served, remove)
    assert first.task('token')['token'] is None and 'ci@pve!deploy' not in cluster.apitokens


def test_regenerate_issues_a_new_secret_and_keeps_the_acls(ansible, served, cluster):
    make_user(ansible, served)
    run(ansible, served, [task('token', userid='ci@pve', tokenid='deploy'),
                          task('acl', path='/vms', roles=['PVEAuditor'], tokens=['ci@pve!deploy'])]).assert_ok()
    old = cluster.apitokens['ci@pve!deploy']
    tasks = [dict(task('token', userid='ci@pve', tokenid='deploy', regenerate=True), register='rotated'),
             show('rotated'),
             {'name': 'length', 'ansible.builtin.debug': {'msg': '{{ rotated.secret | default("") | length }}'}}]
    check = check_mode_clean(ansible, served, cluster, tasks)
    assert cluster.apitokens['ci@pve!deploy'] == old and shown(check, 'rotated')['changes'] == [
        'regenerate the secret of API token ci@pve!deploy (the old secret stops working; the new one is returned once)']
    result = run(ansible, served, tasks).assert_ok()
    assert cluster.apitokens['ci@pve!deploy'] != old and str(result.task('length')['msg']) == '36'
    assert 'censored' in result.task('token')
    assert [e['ugid'] for e in run(ansible, served, [task('acl', path='/vms', roles=['PVEAuditor'],
                                                          tokens=['ci@pve!deploy'])]).assert_ok().task('acl')['acl']] \
        == ['ci@pve!deploy']


def test_diff(ansible, served, cluster):
    make_user(ansible, served)
    create = [dict(task('token', userid='ci@pve', tokenid='ro', privsep=True, comment='read only'), register='made'),
              show('made')]
    result = run(ansible, served, create, diff=True).assert_ok()
    assert shown(result, 'made')['diff']['after'] == 'comment: read only\nprivsep: true\n'
    tasks = [task('token', userid='ci@pve', tokenid='ro', comment='read-only tools')]
    result = check_mode_clean(ansible, served, cluster, tasks, diff=True)
    assert diff_of(result, 'token') == ({'comment': 'read only'}, {'comment': 'read-only tools'})
    result = run(ansible, served, [task('token', userid='ci@pve', tokenid='ro', state='absent')], diff=True)
    assert diff_of(result.assert_ok(), 'token') == ({'comment': 'read only', 'expire': 0, 'privsep': True}, None)


@pytest.mark.compat
def test_secret_never_in_verbose_diff_output(ansible, served, cluster):
    make_user(ansible, served)
    tasks = [dict(task('token', userid='ci@pve', tokenid='deploy', comment='CI'), register='made'),
             task('token', 'unchanged', userid='ci@pve', tokenid='deploy', comment='CI'),
             dict(task('token', 'rotate', userid='ci@pve', tokenid='deploy', regenerate=True), register='rotated'),
             {'name': 'keep', 'ansible.builtin.copy': {'content': '{{ made.secret }}\n{{ rotated.secret }}\n',
                                                       'dest': '{{ playbook_dir }}/secrets', 'mode': '0600'},
              'no_log': True}]
    result = run(ansible, served, tasks, diff=True, extra_args=('-vvv',)).assert_ok()
    with open(ansible.workdir + '/secrets') as kept:
        made, rotated = kept.read().split()
    assert rotated == cluster.apitokens['ci@pve!deploy'] and made != rotated and len(made) == 36
    for secret in (made, rotated):
        assert secret not in result.output and secret not in str(result.records)
    assert result.output.count('censored') >= 2


@pytest.mark.compat
def test_a_token_acts_as_its_acls_allow(ansible, served, cluster):
    """The issue's scenario: a token made by pve.fleet.token, given a role by pve.fleet.acl, used by pve.fleet.vm."""
    cluster.add_vm(100, 'web1', node='pve1', status='stopped', config={'memory': '1024'})
    cluster.add_vm(101, 'db1', node='pve2', status='stopped', config={'memory': '1024'})
    setup = [task('user', userid='ci@pve'),
             task('acl', 'user acl', path='/vms', roles=['PVEVMAdmin'], users=['ci@pve']),
             dict(task('token', userid='ci@pve', tokenid='deploy'), register='made'),
             task('acl', 'token may run web1', path='/vms/100', roles=['PVEVMUser'], tokens=['ci@pve!deploy']),
             task('acl', 'token may look at db1', path='/vms/101', roles=['PVEAuditor'], tokens=['ci@pve!deploy'])]
    as_token = {'api_token_id': '{{ made.full_tokenid }}', 'api_token_secret': '{{ made.secret }}'}
    use = [dict(task('vm', 'start web1', vmid=100, state='started', **as_token)),
           dict(task('vm', 'start db1', vmid=101, state='started', **as_token), ignore_errors=True),
           dict(task('vm', 'grow web1', vmid=100, memory=2048, **as_token), ignore_errors=True)]
    result = run(ansible, served, setup + use)
    assert [r['status'] for r in result.records[:len(setup)]] == ['changed'] * len(setup), result.output
    assert result.status('start web1') == 'changed', result.output
    assert cluster.vm(100).status == 'running'
    refused = result.task('start db1')['msg']
    assert 'Permission check failed (/vms/101, VM.PowerMgmt)' in refused and '403' in refused
    assert cluster.vm(101).status == 'stopped'
    # PVEVMUser has no VM.Config.Memory, although the token's user has it: privilege separation.
    assert 'Permission check failed (/vms/100, VM.Config.Memory)' in result.task('grow web1')['msg']
    assert str(cluster.vm(100).config['memory']) == '1024'


def test_a_token_without_privsep_acts_as_its_user(ansible, served, cluster):
    cluster.add_vm(101, 'db1', node='pve2', status='stopped')
    setup = [task('user', userid='ci@pve'),
             task('acl', path='/vms', roles=['PVEVMUser'], users=['ci@pve']),
             dict(task('token', userid='ci@pve', tokenid='full', privsep=False), register='made')]
    use = [task('vm', 'start db1', vmid=101, state='started', api_token_id='{{ made.full_tokenid }}',
                api_token_secret='{{ made.secret }}')]
    run(ansible, served, setup + use).assert_ok()
    assert cluster.vm(101).status == 'running'


BAD_INPUT = [
    (dict(userid='nobody@pve', tokenid='deploy'), 'userid', "no user 'nobody@pve'"),
    (dict(userid='ci', tokenid='deploy'), 'userid', 'is not a PVE user id'),
    (dict(userid='ci@pve', tokenid='x'), 'tokenid', 'is not a PVE token name'),
    (dict(userid='ci@pve', tokenid='9lives'), 'tokenid', 'is not a PVE token name'),
    (dict(userid='ci@pve', tokenid='deploy', expire=-1), 'expire', 'seconds since the epoch'),
    (dict(userid='ci@pve', tokenid='deploy', state='absent', regenerate=True), 'regenerate', 'not regenerated'),
]


def test_bad_input_refused_before_any_write(ansible, served, cluster):
    make_user(ansible, served)
    assert_refused_before_any_write(ansible, served, cluster, 'token', BAD_INPUT, lambda: tokens_of(cluster, 'ci@pve'))


def test_absent_token_of_a_missing_user_is_no_change(ansible, served, cluster):
    cluster.clear_log()
    result = run(ansible, served, [task('token', userid='gone@pve', tokenid='old', state='absent')]).assert_ok()
    assert result.changed == [] and cluster.writes() == []
    msg = failure(run(ansible, served, [task('token', userid='gone@pve', tokenid='old')]))
    assert msg.startswith('userid:')
