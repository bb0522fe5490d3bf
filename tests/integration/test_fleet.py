"""pve.fleet.fleet through ansible-playbook against the fake cluster: many guests, one task."""

import os

import pytest
import yaml

from fakecluster import ServedCluster

TEMPLATE = 'shared:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'


def fleet_task(guests, **options):
    return [{'name': 'fleet', 'pve.fleet.fleet': dict(options, guests=guests)}]


def web(name, **extra):
    return dict(dict(name=name, memory=1024, cores=1, tags=['web'], disks={'scsi0': {'storage': 'local-lvm', 'size': 4}},
                     nets={'net0': {'bridge': 'vmbr0'}}), **extra)


def with_template(cluster):
    cluster.store_file('shared', 'debian-12-standard_12.12-1_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')


def by_name(result):
    return dict((g['name'], g) for g in result['guests'])


def test_a_mixed_fleet_converges_in_one_task_and_the_plan_is_what_it_did(ansible, cluster):
    with_template(cluster)
    guests = [web('web1', state='started'), web('web2'), web('web3', memory=2048),
              {'type': 'lxc', 'hostname': 'cache1', 'ostemplate': TEMPLATE, 'memory': 256,
               'nets': {'net0': {'bridge': 'vmbr0', 'ip': 'dhcp'}}, 'state': 'started'},
              {'type': 'ct', 'name': 'cache2', 'ostemplate': TEMPLATE, 'memory': 256}]
    check = ansible.assert_check_mode_writes_nothing(fleet_task(guests)).assert_ok()
    first, second = ansible.assert_idempotent(fleet_task(guests))
    planned, done = by_name(check.task('fleet')), by_name(first.task('fleet'))
    assert sorted(done) == ['cache1', 'cache2', 'web1', 'web2', 'web3']
    for name in done:
        assert planned[name]['changes'] == done[name]['changes'], name
        assert (planned[name]['vmid'], planned[name]['node']) == (done[name]['vmid'], done[name]['node']), name
        assert done[name]['changed'] and not done[name]['failed']
    assert sorted(g['vmid'] for g in done.values()) == [100, 101, 102, 103, 104]
    assert len(set(g['node'] for g in done.values())) == 3  # spread by free memory
    assert done['web1']['status'] == 'running' and done['cache1']['status'] == 'running'
    assert sorted(ct.config['hostname'] for ct in cluster.cts) == ['cache1', 'cache2']  # applied in parallel: any order
    assert first.task('fleet')['summary'] == {'total': 5, 'changed': 5, 'failed': 0, 'unchanged': 0}
    assert second.task('fleet')['summary'] == {'total': 5, 'changed': 0, 'failed': 0, 'unchanged': 5}


def test_a_no_op_run_reads_each_guest_once(ansible, cluster):
    guests = [web('n{0}'.format(i)) for i in range(6)]
    ansible.run(fleet_task(guests)).assert_ok()
    cluster.clear_log()
    again = ansible.run(fleet_task(guests)).assert_ok()
    assert again.changed == []
    paths = sorted(e['path'].replace('/api2/json/', '') for e in cluster.request_log)
    assert paths == sorted(['cluster/resources'] + ['nodes/{0}/qemu/{1}/pending'.format(vm.node, vm.vmid)
                                                    for vm in cluster.vms])


def test_one_change_on_every_guest(ansible, cluster):
    guests = [web('c{0}'.format(i)) for i in range(4)]
    ansible.run(fleet_task(guests)).assert_ok()
    bigger = [dict(g, memory=1536) for g in guests]
    first, _second = ansible.assert_idempotent(fleet_task(bigger))
    result = first.task('fleet')
    assert result['changes'] == ['c{0}: set memory: 1024 -> 1536'.format(i) for i in range(4)]
    assert all(vm.config['memory'] in ('1536', 1536) for vm in cluster.vms)


def test_a_loop_over_vm_and_fleet_converge_the_same_guests(ansible, cluster):
    guests = [web('loop1'), web('loop2', cores=2)]
    loop = [{'name': 'vm', 'pve.fleet.vm': '{{ item }}', 'loop': guests}]
    ansible.run(loop).assert_ok()
    cluster.clear_log()
    same = ansible.run(fleet_task(guests)).assert_ok()
    assert same.changed == [] and cluster.writes() == []


def test_one_failure_does_not_stop_the_others_and_the_task_says_which(ansible, cluster):
    guests = [web('ok1'), web('bad1', nets={'net0': {'bridge': 'vmbr9'}}), web('ok2')]
    result = ansible.run(fleet_task(guests))
    assert result.rc != 0
    task = result.failed[0]['result']
    assert task['msg'].startswith('1 of 3 guests failed: bad1: nets.net0: bridge')
    status = dict((g['name'], (g['changed'], g['failed'])) for g in task['guests'])
    assert status == {'ok1': (True, False), 'bad1': (False, True), 'ok2': (True, False)}
    assert sorted(vm.name for vm in cluster.vms) == ['ok1', 'ok2']
    again = ansible.run(fleet_task([web('ok1'), web('ok2')])).assert_ok()
    assert again.changed == []


def test_fail_fast_touches_nothing_after_a_failure(ansible, cluster):
    guests = [web('ff1', nets={'net0': {'bridge': 'vmbr9'}}), web('ff2')]
    cluster.clear_log()
    result = ansible.run(fleet_task(guests, fail_fast=True))
    assert result.rc != 0
    task = result.failed[0]['result']
    assert [(g['name'], g['failed']) for g in task['guests']] == [('ff1', True), ('ff2', True)]
    assert 'not started' in task['guests'][1]['msg']
    assert cluster.writes() == []


@pytest.mark.parametrize('guests, message', [
    ([{'name': 'x', 'memory': 'lots'}], "guests[0] (x): argument 'memory' is of type str"),
    ([{'name': 'x'}, {'name': 'bad_name!'}], "guests[1] (bad_name!): name: 'bad_name!' is not a valid DNS name"),
    ([{'name': 'x', 'ostemplate': 'local:vztmpl/a.tar.zst'}], 'guests[0] (x): ostemplate is not an option of a VM'),
    ([{'type': 'lxc', 'hostname': 'c', 'cipassword': 'y'}], 'guests[0] (c): cipassword is not an option of a container'),
    ([{'type': 'bsd', 'name': 'x'}], "guests[0] (x): type: 'bsd' is not one of"),
    ([{'memory': 512}], 'guests[0]: one of the following is required: vmid, name'),
    ([{'name': 'x', 'tags': ['bad tag']}], "guests[0] (x): tags: 'bad tag' is not a tag PVE can store"),
    ([{'name': 'twice'}, {'name': 'twice', 'memory': 512}], 'guests[1] (twice) names the same guest as guests[0]'),
])
def test_a_bad_item_fails_the_task_before_any_write_naming_it(ansible, cluster, guests, message):
    cluster.clear_log()
    result = ansible.run(fleet_task(guests))
    assert result.rc != 0
    msg = result.failed[0]['result']['msg']
    assert msg.startswith(message), msg
    assert cluster.writes() == []


def test_exclusive_reports_unlisted_guests_and_removes_them_only_with_force(ansible, cluster):
    cluster.add_vm(150, 'stray', node='pve2', status='running', config={'tags': 'ci'})
    cluster.add_vm(151, 'other', node='pve2', config={'tags': 'prod'})
    guests = [dict(name='runner1', tags=['ci'])]
    reported = ansible.run(fleet_task(guests, exclusive={'tags': ['ci']})).assert_ok()
    task = reported.task('fleet')
    assert [(g['vmid'], g['name']) for g in task['unlisted']] == [(150, 'stray')]
    assert '1 guest(s) carry the exclusive tags' in reported.output and cluster.vm(150) is not None
    check = ansible.assert_check_mode_writes_nothing(fleet_task(guests, exclusive={'tags': ['ci']}, force=True))
    planned = by_name(check.assert_ok().task('fleet'))
    assert planned['stray']['unlisted'] and planned['stray']['changes'] == [
        'stop VM stray', 'destroy VM stray (150) and its disks']
    ansible.assert_idempotent(fleet_task(guests, exclusive={'tags': ['ci']}, force=True))
    assert sorted(vm.name for vm in cluster.vms) == ['other', 'runner1']


def test_secrets_in_items_stay_out_of_every_output(ansible, cluster):
    with_template(cluster)
    guests = [dict(name='sec1', cipassword='Fleet-Secret-1'),
              dict(type='lxc', hostname='sec2', ostemplate=TEMPLATE, password='Fleet-Secret-2')]
    result = ansible.run(fleet_task(guests), diff=True, extra_args=['-vvv']).assert_ok()
    for secret in ('Fleet-Secret-1', 'Fleet-Secret-2'):
        assert secret not in result.output and secret not in str(result.records)
    bad = ansible.run(fleet_task([dict(name='sec3', cipassword='Fleet-Secret-3', memory='lots')]),
                      extra_args=['-vvv'])
    assert bad.rc != 0 and 'Fleet-Secret-3' not in bad.output


def test_two_clusters_in_one_play_with_inventory_hosts_as_clusters(ansible, served, tmp_path):
    second = ServedCluster(str(tmp_path / 'pki2'))
    try:
        inventory = {'clusters': {'hosts': {}}}
        for host, where in (('dc1', served), ('dc2', second)):
            env = where.env
            inventory['clusters']['hosts'][host] = dict(
                pve_api_host=env['PROXMOX_HOST'], pve_api_port=int(env['PROXMOX_PORT']),
                pve_token_id=env['PROXMOX_TOKEN_ID'], pve_token_secret=env['PROXMOX_TOKEN_SECRET'],
                pve_ca_path=env['PROXMOX_CA_PATH'],
                web_vms=[web('{0}-web{1}'.format(host, i)) for i in range(3)])
        inv = os.path.join(str(tmp_path), 'clusters.yml')
        with open(inv, 'w') as out:
            yaml.safe_dump(inventory, out)
        play = [{'name': 'every cluster at once', 'hosts': 'clusters', 'connection': 'local', 'gather_facts': False,
                 'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
                 'module_defaults': {'group/pve.fleet.pve': {
                     'api_host': '{{ pve_api_host }}', 'api_port': '{{ pve_api_port }}',
                     'api_token_id': '{{ pve_token_id }}', 'api_token_secret': '{{ pve_token_secret }}',
                     'ca_path': '{{ pve_ca_path }}'}},
                 'tasks': [{'name': 'fleet', 'pve.fleet.fleet': {'guests': '{{ web_vms }}'}}]}]
        playbook = os.path.join(str(tmp_path), 'clusters-play.yml')
        with open(playbook, 'w') as out:
            yaml.safe_dump(play, out)
        # This checkout's ansible.cfg enables only the inventory plugins it needs; a project's has yaml.
        env = {'ANSIBLE_INVENTORY_ENABLED': 'yaml'}
        result = ansible.run(None, playbook=playbook, extra_args=['-i', inv, '--forks', '2'], env=env).assert_ok()
        assert sorted(r['host'] for r in result.records) == ['dc1', 'dc2']
        assert sorted(vm.name for vm in served.cluster.vms) == ['dc1-web0', 'dc1-web1', 'dc1-web2']
        assert sorted(vm.name for vm in second.cluster.vms) == ['dc2-web0', 'dc2-web1', 'dc2-web2']
        again = ansible.run(None, playbook=playbook, extra_args=['-i', inv], env=env).assert_ok()
        assert again.changed == []
    finally:
        second.stop()
