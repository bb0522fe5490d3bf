"""The pve.fleet.pve inventory plugin through ansible-inventory against the fake cluster."""

import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def fleet(cluster):
    cluster.add_vm(100, 'web1', node='pve1', status='running',
                   config={'scsi0': 'local-lvm:vm-100-disk-0,size=8G', 'tags': 'web;Prod', 'agent': '1',
                           'memory': '2048'})
    cluster.vm(100).agent = {}  # an agent that answers with its default interfaces (192.0.2.10)
    cluster.add_vm(101, 'web2', node='pve2', status='running', config={'tags': 'web', 'agent': '1'})  # no agent
    cluster.add_vm(102, 'db1', node='pve3', status='stopped', config={'tags': 'prod'}, pool='databases')
    cluster.add_vm(9000, 'debian-tmpl', node='pve1', status='stopped', template=True, config={'template': 1})
    cluster.add_ct(200, 'cache1', node='pve2', status='running',
                   config={'net0': 'name=eth0,bridge=vmbr0,ip=10.0.0.5/24,hwaddr=BC:24:11:00:00:09,type=veth'})
    return cluster


def plain(data):
    """ansible-inventory's JSON without the {'__ansible_unsafe': ...} wrappers."""
    if isinstance(data, dict):
        if set(data) == {'__ansible_unsafe'}:
            return data['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in data.items())
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


class Inventory:
    def __init__(self, served, tmp_path):
        self.served = served
        self.tmp_path = tmp_path
        self.count = 0

    def run(self, config=None, env=None, use_env=True, extra=(), name=None, filename=None):
        self.count += 1
        path = os.path.join(str(self.tmp_path), filename or '{0}.pve.yml'.format(name or 'inv{0}'.format(self.count)))
        with open(path, 'w') as out:
            yaml.safe_dump(dict({'plugin': 'pve.fleet.pve'}, **(config or {})), out)
        proc_env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_')))
        proc_env['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
        if use_env:
            proc_env.update(self.served.env)
        proc_env.update(env or {})
        proc = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', path, '--list'] + list(extra),
                              cwd=str(self.tmp_path), env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=120, check=False)
        return proc

    def list(self, config=None, **kwargs):
        proc = self.run(config, **kwargs)
        assert proc.returncode == 0, proc.stderr
        return plain(json.loads(proc.stdout))


@pytest.fixture
def inventory(served, tmp_path):
    return Inventory(served, tmp_path)


def hosts_of(data, group):
    return sorted(data.get(group, {}).get('hosts', []))


def test_groups_and_hostvars_from_one_request(inventory, fleet):
    fleet.clear_log()
    data = inventory.list()
    assert [e['path'] for e in fleet.request_log] == ['/api2/json/cluster/resources']
    assert hosts_of(data, 'pve_node_pve1') == ['debian-tmpl', 'web1']
    assert hosts_of(data, 'pve_node_pve2') == ['cache1', 'web2']
    assert hosts_of(data, 'pve_node_pve3') == ['db1']
    assert hosts_of(data, 'pve_qemu') == ['db1', 'debian-tmpl', 'web1', 'web2']
    assert hosts_of(data, 'pve_lxc') == ['cache1']
    assert hosts_of(data, 'pve_running') == ['cache1', 'web1', 'web2']
    assert hosts_of(data, 'pve_stopped') == ['db1', 'debian-tmpl']
    assert hosts_of(data, 'pve_template') == ['debian-tmpl']
    assert hosts_of(data, 'pve_pool_databases') == ['db1']
    assert hosts_of(data, 'pve_tag_prod') == ['db1', 'web1']
    assert hosts_of(data, 'pve_tag_web') == ['web1', 'web2']
    web1 = data['_meta']['hostvars']['web1']
    assert web1 == {'pve_vmid': 100, 'pve_name': 'web1', 'pve_node': 'pve1', 'pve_type': 'qemu',
                    'pve_status': 'running', 'pve_template': False, 'pve_pool': None, 'pve_tags': ['prod', 'web'],
                    'pve_lock': None, 'pve_maxmem': web1['pve_maxmem'], 'pve_maxcpu': web1['pve_maxcpu'],
                    'pve_maxdisk': web1['pve_maxdisk'], 'pve_uptime': web1['pve_uptime']}
    assert 'ansible_host' not in web1


def test_config_and_addresses_when_asked(inventory, fleet):
    fleet.clear_log()
    data = inventory.list({'want_config': True, 'want_addresses': True})
    paths = sorted(e['path'].replace('/api2/json/', '') for e in fleet.request_log)
    assert paths == sorted(
        ['cluster/resources'] + ['nodes/{0}/{1}/{2}/config'.format(n, t, v) for n, t, v in (
            ('pve1', 'qemu', 100), ('pve2', 'qemu', 101), ('pve3', 'qemu', 102), ('pve1', 'qemu', 9000),
            ('pve2', 'lxc', 200))]
        + ['nodes/pve1/qemu/100/agent/network-get-interfaces', 'nodes/pve2/qemu/101/agent/network-get-interfaces',
           'nodes/pve2/lxc/200/interfaces'])
    hostvars = data['_meta']['hostvars']
    assert hostvars['web1']['pve_config']['memory'] == '2048'
    assert hostvars['web1']['pve_ip_addresses'] == ['192.0.2.10'] and hostvars['web1']['ansible_host'] == '192.0.2.10'
    assert hostvars['cache1']['ansible_host'] == '10.0.0.5'
    assert hostvars['web2']['pve_ip_addresses'] == [] and 'ansible_host' not in hostvars['web2']
    assert 'pve_ip_addresses' not in hostvars['db1']


def test_constructed_options_and_filters(inventory, fleet):
    data = inventory.list({
        'exclude_templates': True,
        'filters': ["pve_type == 'qemu'"],
        'compose': {'ansible_user': "'admin-' ~ pve_node"},
        'groups': {'big': 'pve_maxmem >= 2 * 1024 ** 3'},
        'keyed_groups': [{'key': 'pve_status', 'prefix': 'state'}],
        'group_prefix': 'px_',
    })
    hostvars = data['_meta']['hostvars']
    assert sorted(hostvars) == ['db1', 'web1', 'web2']
    assert hostvars['web2']['ansible_user'] == 'admin-pve2'
    assert hosts_of(data, 'big') == ['web1']
    assert hosts_of(data, 'state_running') == ['web1', 'web2']
    assert hosts_of(data, 'px_node_pve3') == ['db1'] and 'pve_node_pve3' not in data


def test_hostname_vmid_and_duplicate_names(inventory, fleet):
    fleet.add_vm(103, 'web1', node='pve3', status='stopped')
    data = inventory.list()
    assert 'web1-100' in data['_meta']['hostvars'] and 'web1-103' in data['_meta']['hostvars']
    data = inventory.list({'hostname': 'vmid'})
    assert sorted(data['_meta']['hostvars']) == ['100', '101', '102', '103', '200', '9000']


def test_cache_serves_a_second_run_without_requests(inventory, fleet, tmp_path):
    config = {'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 600}
    first = inventory.list(config, name='cached')
    fleet.clear_log()
    second = inventory.list(config, name='cached')
    assert fleet.request_log == []
    assert second['_meta'] == first['_meta']
    fleet.clear_log()
    inventory.list(config, extra=['--flush-cache'], name='cached')
    assert [e['path'] for e in fleet.request_log] == ['/api2/json/cluster/resources']


def test_token_and_password_from_the_file(inventory, fleet, served):
    env = served.env
    token = {'api_host': env['PROXMOX_HOST'], 'api_port': int(env['PROXMOX_PORT']), 'ca_path': env['PROXMOX_CA_PATH'],
             'api_token_id': env['PROXMOX_TOKEN_ID'], 'api_token_secret': env['PROXMOX_TOKEN_SECRET']}
    assert 'web1' in inventory.list(token, use_env=False)['_meta']['hostvars']
    password = dict(token, api_user=env['PROXMOX_USER'], api_password=env['PROXMOX_PASSWORD'])
    del password['api_token_id'], password['api_token_secret']
    assert 'web1' in inventory.list(password, use_env=False)['_meta']['hostvars']


def test_vaulted_token_secret(inventory, fleet, served, tmp_path):
    env = served.env
    vault_pass = tmp_path / 'vault-pass'
    vault_pass.write_text('s3cret-vault\n')
    proc = subprocess.run([os.path.join(BIN, 'ansible-vault'), 'encrypt_string', '--vault-password-file',
                           str(vault_pass), env['PROXMOX_TOKEN_SECRET'], '--name', 'api_token_secret'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg')))
    path = tmp_path / 'vaulted.pve.yml'
    path.write_text('plugin: pve.fleet.pve\napi_host: {0}\napi_port: {1}\nca_path: {2}\napi_token_id: "{3}"\n{4}'.format(
        env['PROXMOX_HOST'], env['PROXMOX_PORT'], env['PROXMOX_CA_PATH'], env['PROXMOX_TOKEN_ID'], proc.stdout))
    run = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', str(path), '--list', '--vault-password-file',
                          str(vault_pass)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                         env=dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_')),
                         cwd=REPO, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'web1' in plain(json.loads(run.stdout))['_meta']['hostvars']


@pytest.mark.parametrize('env, expected', [
    ({'PROXMOX_CA_PATH': '/etc/ssl/certs/ca-certificates.crt'}, 'TLS certificate verification failed'),
    ({'PROXMOX_TOKEN_SECRET': 'wrong'}, 'PVE API error 401'),
    ({'PROXMOX_PORT': '9'}, 'cannot connect to https://'),
    # The relative path an old .cluster.env held, read from another directory: no such file here.
    # (a path option: Ansible makes it absolute before the plugin sees it)
    ({'PROXMOX_CA_PATH': '.cluster/pki/fakecluster.crt'}, '/.cluster/pki/fakecluster.crt does not exist'),
    ({'PROXMOX_CA_PATH': '/nonexistent/ca.pem'}, 'ca_path: /nonexistent/ca.pem does not exist'),
])
def test_connection_errors_fail_never_an_empty_inventory(inventory, fleet, env, expected):
    proc = inventory.run(env=env)
    assert proc.returncode != 0
    assert 'pve.fleet.pve: cannot read the cluster: ' in proc.stderr and expected in proc.stderr
    if 'does not exist' in expected:
        assert 'cannot read the cluster: ca_path: ' in proc.stderr
    # ansible.cfg enables only the plugins the checkout uses: no yaml or ini attempt buries the reason.
    assert proc.stderr.count('[WARNING]: Failed to parse inventory with') == 1, proc.stderr
    assert env.get('PROXMOX_TOKEN_SECRET', 'not-in-env') not in proc.stderr


def test_builtin_groups_are_sanitized_as_keyed_groups_are(inventory, fleet):
    fleet.add_vm(104, 'adv1', node='pve1', status='running', config={'tags': 'adv-inv;v1.2'})
    proc = inventory.run({'keyed_groups': [{'key': 'pve_tags', 'prefix': 'kg'}]})
    assert proc.returncode == 0, proc.stderr
    assert 'Invalid characters were found in group names' not in proc.stderr, proc.stderr
    assert '[WARNING]' not in proc.stderr, proc.stderr
    data = plain(json.loads(proc.stdout))
    assert hosts_of(data, 'pve_tag_adv_inv') == ['adv1'] and hosts_of(data, 'pve_tag_v1_2') == ['adv1']
    assert hosts_of(data, 'kg_adv_inv') == ['adv1']  # the same spelling keyed_groups gives
    assert 'pve_tag_adv-inv' not in data


@pytest.mark.parametrize('filename', ['pve.yml', 'pve.yaml', 'prod.pve.yaml'])
def test_inventory_file_names_accepted(inventory, fleet, filename):
    proc = inventory.run(filename=filename)
    assert proc.returncode == 0, proc.stderr
    assert 'web1' in plain(json.loads(proc.stdout))['_meta']['hostvars']


def test_other_file_names_are_not_ours(inventory, fleet):
    proc = inventory.run(filename='mypve.yml')
    assert 'pve.fleet.pve' not in proc.stdout and 'web1' not in proc.stdout


def test_config_lets_addresses_skip_vms_without_agent(inventory, fleet):
    fleet.clear_log()
    inventory.list({'want_config': True, 'want_addresses': True})
    agents = sorted(e['path'] for e in fleet.request_log if 'interfaces' in e['path'])
    assert fleet.vm(101).config['agent'] == '1'
    fleet.vm(101).config['agent'] = '0'
    fleet.clear_log()
    inventory.list({'want_config': True, 'want_addresses': True})
    assert sorted(e['path'] for e in fleet.request_log if 'interfaces' in e['path']) == [
        p for p in agents if '/101/' not in p]


def test_missing_host_fails(inventory, fleet):
    proc = inventory.run(use_env=False)
    assert proc.returncode != 0
    assert 'pve.fleet.pve: ' in proc.stderr and 'api_host' in proc.stderr


def test_a_broken_filter_fails_and_names_it(inventory, fleet):
    proc = inventory.run({'filters': ['pve_nothing.attr == 1']})
    assert proc.returncode != 0
    assert "filters: 'pve_nothing.attr == 1' failed" in proc.stderr


def test_cloud_init_password_is_hidden_in_hostvars_and_the_cache(inventory, fleet, tmp_path):
    fleet.vm(100).config['cipassword'] = '$5$hashed$Inventory-Secret'
    config = {'want_config': True, 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
              'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 600}
    data = inventory.list(config, name='secret')
    assert data['_meta']['hostvars']['web1']['pve_config']['cipassword'] == '(hidden)'
    cached = ''.join(open(os.path.join(str(tmp_path / 'cache'), name)).read()
                     for name in os.listdir(str(tmp_path / 'cache')))
    assert 'Inventory-Secret' not in json.dumps(data) and 'Inventory-Secret' not in cached
