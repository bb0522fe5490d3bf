"""pve.fleet.guest_info through ansible-playbook against the fake cluster: the stack end to end."""

import pytest


@pytest.fixture
def guests(cluster):
    cluster.add_vm(100, 'web1', node='pve1', status='running', config={'memory': '2048', 'cores': 2,
                                                                       'tags': 'web;prod'})
    cluster.add_vm(101, 'web2', node='pve2', status='stopped', config={'memory': '1024', 'tags': 'web'})
    cluster.add_vm(102, 'db1', node='pve3', status='running', config={'memory': '4096', 'tags': 'db;prod'},
                   pool='databases')
    cluster.add_ct(200, 'cache1', node='pve2', status='running', config={'memory': 512})
    return cluster


def info(ansible, auth='token', **options):
    result = ansible.run([{'name': 'info', 'pve.fleet.guest_info': options}], auth=auth)
    return result


@pytest.mark.compat
@pytest.mark.parametrize('auth', ['password', 'token'])
def test_lists_every_guest_cluster_wide_in_one_request(ansible, guests, auth):
    guests.clear_log()
    result = info(ansible, auth=auth).assert_ok()
    listed = result.task('info')['guests']
    assert [(g['vmid'], g['name'], g['node'], g['type']) for g in listed] == [
        (100, 'web1', 'pve1', 'qemu'), (101, 'web2', 'pve2', 'qemu'), (102, 'db1', 'pve3', 'qemu'),
        (200, 'cache1', 'pve2', 'lxc')]
    assert result.status('info') == 'ok'
    api_calls = [(e['method'], e['path']) for e in guests.request_log if not e['path'].endswith('/access/ticket')]
    assert api_calls == [('GET', '/api2/json/cluster/resources')]
    logins = [e for e in guests.request_log if e['path'].endswith('/access/ticket')]
    assert len(logins) == (1 if auth == 'password' else 0)


@pytest.mark.parametrize('options, expected', [
    ({'vmid': 101}, [101]),
    ({'name': 'db1'}, [102]),
    ({'node': 'pve2'}, [101, 200]),
    ({'type': 'lxc'}, [200]),
    ({'tags': ['prod']}, [100, 102]),
    ({'tags': ['web', 'PROD']}, [100]),
    ({'pool': 'databases'}, [102]),
    ({'status': 'stopped'}, [101]),
    ({'type': 'qemu', 'status': 'running', 'tags': ['prod']}, [100, 102]),
    ({'name': 'nothing-by-this-name'}, []),
])
def test_filters(ansible, guests, options, expected):
    result = info(ansible, **options).assert_ok()
    assert [g['vmid'] for g in result.task('info')['guests']] == expected


def test_config_adds_each_guests_current_config(ansible, guests):
    guests.clear_log()
    result = info(ansible, node='pve2', config=True).assert_ok()
    by_id = dict((g['vmid'], g) for g in result.task('info')['guests'])
    assert by_id[101]['config']['memory'] == '1024'
    assert by_id[200]['config']['memory'] == 512
    assert 'digest' not in by_id[101]['config']
    paths = sorted(e['path'] for e in guests.request_log)
    assert paths == ['/api2/json/cluster/resources', '/api2/json/nodes/pve2/lxc/200/config',
                     '/api2/json/nodes/pve2/qemu/101/config']


def test_tags_come_back_sorted_and_lower_case(ansible, guests):
    result = info(ansible, vmid=102).assert_ok()
    guest = result.task('info')['guests'][0]
    assert guest['tags'] == ['db', 'prod']
    assert guest['pool'] == 'databases'
    assert guest['status'] == 'running'


def test_check_mode_reads_and_writes_nothing(ansible, guests):
    result = ansible.assert_check_mode_writes_nothing([{'name': 'info', 'pve.fleet.guest_info': {}}])
    assert len(result.assert_ok().task('info')['guests']) == 4


def one_line_failure(result):
    """The failure message of the only task: one line, no traceback."""
    assert result.rc != 0
    failed = result.failed
    assert len(failed) == 1, result.output
    msg = failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    assert 'exception' not in failed[0]['result'] or 'Traceback' not in failed[0]['result'].get('module_stderr', '')
    return msg


def test_wrong_password_fails_with_one_line(ansible, guests):
    msg = one_line_failure(ansible.run([{'name': 'info', 'pve.fleet.guest_info': {}}], auth='password',
                                       connection={'api_password': 'wrong'}))
    assert msg.startswith('authentication failed for root@pam at https://')
    assert 'wrong' not in msg


def test_wrong_token_secret_fails_with_one_line(ansible, guests):
    msg = one_line_failure(ansible.run([{'name': 'info', 'pve.fleet.guest_info': {}}], auth='token',
                                       connection={'api_token_secret': 'not-the-secret'}))
    assert 'PVE API error 401' in msg and 'api_token_id/api_token_secret' in msg
    assert 'not-the-secret' not in msg


def test_wrong_ca_fails_with_one_line(ansible, guests, tmp_path):
    from fakepve.certs import make_cert
    other_ca = make_cert(str(tmp_path), name='other')[0]
    msg = one_line_failure(ansible.run([{'name': 'info', 'pve.fleet.guest_info': {}}],
                                       connection={'ca_path': other_ca}))
    assert msg.startswith('TLS certificate verification failed for https://')
    assert 'ca_path' in msg


def test_system_ca_store_does_not_trust_the_fake_by_default(ansible, guests):
    # validate_certs is on by default: without ca_path the self-signed fake is refused.
    msg = one_line_failure(ansible.run([{'name': 'info', 'pve.fleet.guest_info': {}}],
                                       connection={'ca_path': None}))
    assert 'TLS certificate verification failed' in msg


def test_unreachable_host_fails_with_one_line(ansible, guests):
    msg = one_line_failure(ansible.run([{'name': 'info', 'pve.fleet.guest_info': {}}],
                                       connection={'api_host': '127.0.0.1', 'api_port': 9}))
    assert msg == 'cannot connect to https://127.0.0.1:9: is api_host/api_port right and the host up?'


def test_unknown_node_fails_with_one_line(ansible, guests):
    msg = one_line_failure(info(ansible, node='pve9'))
    assert msg == "node: node 'pve9' is not in the cluster (nodes: pve1, pve2, pve3)"


def test_connection_from_environment_variables(ansible, guests, served):
    # No module_defaults at all: PROXMOX_* alone connect, as the docs promise.
    result = ansible.run([{'name': 'info', 'pve.fleet.guest_info': {'vmid': 100}}],
                         connection={k: None for k in ('api_host', 'api_port', 'ca_path', 'api_token_id',
                                                       'api_token_secret')}, env=served.env)
    assert [g['name'] for g in result.assert_ok().task('info')['guests']] == ['web1']


def test_bad_option_value_fails_before_any_request(ansible, guests):
    guests.clear_log()
    result = info(ansible, type='docker')
    assert result.rc != 0
    assert 'type' in result.failed[0]['result']['msg']
    assert guests.request_log == []


def test_cloud_init_password_is_hidden_in_read_results(ansible, cluster):
    ansible.run([{'name': 'vm', 'pve.fleet.vm': {'name': 'ci9', 'cipassword': 'Read-Me-Not-42'}}]).assert_ok()
    result = info(ansible, name='ci9', config=True).assert_ok()
    (guest,) = result.task('info')['guests']
    assert guest['config']['cipassword'] == '(hidden)'
    assert 'Read-Me-Not-42' not in result.output and 'Read-Me-Not-42' not in str(result.records)
