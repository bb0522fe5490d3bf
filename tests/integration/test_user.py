"""pve.fleet.user through ansible-playbook against the fake cluster (tests/fakecluster/access.py)."""

import copy

from datacenter import (assert_refused_before_any_write, check_mode_clean, diff_of, failure, idempotent, run,
                        task)

PASSWORD = 'Corr3ct-Horse-Battery'


def users(cluster):
    cluster._seed_tokens()  # root@pam!fleet joins user.cfg on first use
    return copy.deepcopy(cluster.user_cfg['users'])


def groups_of(cluster, userid):
    return sorted(g for g, data in cluster.user_cfg['groups'].items() if userid in data['users'])


def make_groups(cluster, *names):
    for name in names:
        cluster.user_cfg['groups'][name] = {'comment': None, 'users': set()}


def test_create_rerun_change_remove(ansible, served, cluster):
    make_groups(cluster, 'ops', 'dev', 'audit')
    create = [task('user', userid='alice@pve', email='alice@example.org', firstname='Alice', comment='operator',
                   groups=['ops', 'dev'], expire=4102444800, password=PASSWORD)]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.changed == ['user'] and 'alice@pve' not in cluster.user_cfg['users']
    assert check.task('user')['changes'] == ['create user alice@pve with a password']
    first, _second = idempotent(ansible, served, create)
    made = first.task('user')['user']
    assert made == {'userid': 'alice@pve', 'enable': True, 'expire': 4102444800, 'email': 'alice@example.org',
                    'firstname': 'Alice', 'comment': 'operator', 'groups': ['dev', 'ops'], 'tokens': []}
    assert cluster.users['alice@pve'] == PASSWORD  # the pve realm keeps it: alice can log in
    assert groups_of(cluster, 'alice@pve') == ['dev', 'ops']

    # Change: clear a field, replace the groups, disable; the password is not set again.
    change = [task('user', userid='alice@pve', firstname='', groups=['audit'], enable=False, password='Other-Pass-99')]
    check = check_mode_clean(ansible, served, cluster, change)
    assert check.task('user')['changes'] == ['set enable: true -> false', 'remove firstname (Alice)',
                                             'groups: join audit; leave dev, ops']
    first, _second = idempotent(ansible, served, change)
    assert groups_of(cluster, 'alice@pve') == ['audit'] and cluster.user_cfg['users']['alice@pve']['enable'] == 0
    assert 'firstname' not in first.task('user')['user'] and cluster.users['alice@pve'] == PASSWORD

    # append adds to the groups and keeps the others
    first, _second = idempotent(ansible, served, [task('user', userid='alice@pve', groups=['ops'], append=True)])
    assert first.task('user')['changes'] == ['groups: join ops'] and groups_of(cluster, 'alice@pve') == ['audit', 'ops']

    remove = [task('user', userid='alice@pve', state='absent')]
    check = check_mode_clean(ansible, served, cluster, remove)
    assert check.changed == ['user'] and 'alice@pve' in cluster.user_cfg['users']
    first, _second = idempotent(ansible, served, remove)
    assert first.task('user')['user'] is None and 'alice@pve' not in cluster.user_cfg['users']
    assert groups_of(cluster, 'alice@pve') == []


def test_diff_shows_the_changed_settings_and_no_secret(ansible, served, cluster):
    run(ansible, served, [task('user', userid='bob@pve', email='bob@example.org', keys='ABCDEF12')]).assert_ok()
    tasks = [task('user', userid='bob@pve', email='robert@example.org', lastname='Builder', keys='XYZ98765')]
    for check in (True, False):
        result = check_mode_clean(ansible, served, cluster, tasks, diff=True) if check else \
            run(ansible, served, tasks, diff=True).assert_ok()
        before, after = diff_of(result, 'user')
        assert before == {'email': 'bob@example.org', 'keys': '********'}
        assert after == {'email': 'robert@example.org', 'lastname': 'Builder', 'keys': '********'}
        assert 'XYZ98765' not in result.output and 'ABCDEF12' not in result.output
    result = run(ansible, served, [task('user', userid='bob@pve', state='absent')], diff=True).assert_ok()
    before, after = diff_of(result, 'user')
    assert after is None and before['email'] == 'robert@example.org' and before['enable'] is True


def test_password_update_always_needs_a_password_login(ansible, served, cluster):
    run(ansible, served, [task('user', userid='carol@pve', password=PASSWORD)]).assert_ok()
    always = [task('user', userid='carol@pve', password='New-Pass-2027', update_password='always')]
    msg = failure(run(ansible, served, always))
    assert msg.startswith('password:') and 'API token' in msg and 'New-Pass-2027' not in msg
    result = run(ansible, served, always, auth='password').assert_ok()
    assert result.task('user')['changes'] == ['set the password of user carol@pve']
    assert cluster.users['carol@pve'] == 'New-Pass-2027'
    # Never compared: every run with always sets it again.
    assert run(ansible, served, always, auth='password').assert_ok().changed == ['user']


def test_pam_user_needs_its_linux_account_for_a_password(ansible, served, cluster):
    msg = failure(run(ansible, served, [task('user', userid='dave@pam', password=PASSWORD)]))
    assert 'PVE API error 500' in msg and 'usermod' in msg and PASSWORD not in msg
    assert 'dave@pam' not in cluster.user_cfg['users']
    served.run(cluster.linux_accounts.add, 'dave')
    first, _second = idempotent(ansible, served, [task('user', userid='dave@pam', password=PASSWORD)])
    assert first.task('user')['user']['userid'] == 'dave@pam'


def test_password_never_in_output_results_or_verbose_log(ansible, served, cluster):
    tasks = [task('user', userid='erin@pve', password=PASSWORD),
             task('user', 'again', userid='erin@pve', password=PASSWORD, update_password='always')]
    result = run(ansible, served, tasks, diff=True, auth='password', extra_args=('-vvv',)).assert_ok()
    assert PASSWORD not in result.output and PASSWORD not in str(result.records)
    assert cluster.users['erin@pve'] == PASSWORD


BAD_INPUT = [
    (dict(userid='alice'), 'userid', 'is not a PVE user id'),
    (dict(userid='alice@ldap'), 'userid', "is in realm 'ldap'"),
    (dict(userid='al ice@pve'), 'userid', 'is not a PVE user id'),
    (dict(userid='alice@pve', password='short'), 'password', '8 to 64 characters'),
    (dict(userid='alice@pve', groups=['nope']), 'groups', "no group 'nope'"),
    (dict(userid='alice@pve', groups=['bad group']), 'groups', 'is not a PVE group name'),
    (dict(userid='alice@pve', email='not-an-address'), 'email', 'does not look like an email address'),
    (dict(userid='alice@pve', expire=-5), 'expire', 'seconds since the epoch'),
    (dict(userid='alice@pve', keys='has spaces in it'), 'keys', 'Yubico'),
    (dict(userid='alice@pve', comment='x' * 2049), 'comment', 'at most 2048'),
]


def test_bad_input_refused_before_any_write(ansible, served, cluster):
    make_groups(cluster, 'ops')
    result = assert_refused_before_any_write(ansible, served, cluster, 'user', BAD_INPUT, lambda: users(cluster))
    assert 'short' not in result.task('bad3')['msg']


def test_unknown_option_value_fails_before_any_request(ansible, served, cluster):
    cluster.clear_log()
    result = run(ansible, served, [task('user', userid='x@pve', update_password='sometimes')])
    assert result.rc != 0 and 'update_password' in result.failed[0]['result']['msg']
    assert cluster.request_log == []
