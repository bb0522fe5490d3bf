"""pve.fleet.vm through ansible-playbook against the fake cluster: converge once, never flap."""

import pytest

WRITES = ('POST', 'PUT', 'DELETE')


def vm_task(**options):
    return [{'name': 'vm', 'pve.fleet.vm': options}]


def converge_twice(ansible, cluster, **options):
    """Check mode writes nothing, the first run changes, the second changes nothing; returns the first result."""
    check = ansible.assert_check_mode_writes_nothing(vm_task(**options)).assert_ok()
    first, _second = ansible.assert_idempotent(vm_task(**options))
    assert first.status('vm') == 'changed'
    assert check.status('vm') == 'changed'
    assert check.task('vm')['changes'] == first.task('vm')['changes']
    return first.task('vm')


def failure(result):
    assert result.rc != 0, result.output
    return result.failed[0]['result']['msg']


def find(cluster, name):
    found = [vm for vm in cluster.vms if vm.name == name]
    assert len(found) == 1, [vm.name for vm in cluster.vms]
    return found[0]


# ---------------------------------------------------------------- option families

@pytest.mark.compat
def test_create_by_name_without_vmid_then_no_change(ansible, cluster):
    result = converge_twice(ansible, cluster, name='web1', memory=2048, cores=2, sockets=1, cpu='host',
                            numa=True, machine='q35', ostype='l26', agent=True, onboot=True,
                            startup='order=2,up=30', scsihw='virtio-scsi-single', hotplug='network,disk',
                            serial='socket', description='web server\nline two', tags=['Web', 'prod'])
    vm = find(cluster, 'web1')
    assert result['vmid'] == vm.vmid == 100
    assert vm.config['memory'] in ('2048', 2048) and str(vm.config['numa']) == '1'
    assert vm.config['tags'] == 'prod;web'
    assert result['node'] in ('pve1', 'pve2', 'pve3')


def test_disks_nets_cdrom_dict_form(ansible, cluster):
    result = converge_twice(ansible, cluster, name='dev1', bios='ovmf',
                            disks={'scsi0': {'storage': 'local-lvm', 'size': 8, 'ssd': True, 'iothread': True,
                                             'discard': 'on'},
                                   'virtio1': {'storage': 'shared', 'size': '512M', 'cache': 'writeback'},
                                   'efidisk0': {'storage': 'local-lvm', 'efitype': '4m',
                                                'pre_enrolled_keys': True}},
                            nets={'net0': {'bridge': 'vmbr0', 'firewall': True, 'tag': 42},
                                  'net1': {'model': 'e1000', 'bridge': 'vmbr0', 'macaddr': 'bc:24:11:00:00:01'}},
                            cdrom='none')
    config = find(cluster, 'dev1').config
    assert config['scsi0'].startswith('local-lvm:vm-100-disk-') and 'size=8G' in config['scsi0']
    assert config['ide2'] == 'none,media=cdrom'
    assert config['net1'].upper().startswith('E1000=BC:24:11:00:00:01')
    assert result['status'] == 'stopped'


def test_raw_strings_and_dicts_converge_to_the_same_state(ansible, cluster):
    raw = dict(name='same1', disks={'scsi0': 'local-lvm:8,ssd=1,iothread=1'},
               nets={'net0': 'virtio,bridge=vmbr0,firewall=1'})
    as_dicts = dict(name='same1', disks={'scsi0': {'storage': 'local-lvm', 'size': '8G', 'ssd': 'yes',
                                                   'iothread': True}},
                    nets={'net0': {'model': 'virtio', 'bridge': 'vmbr0', 'firewall': 'true'}})
    ansible.run(vm_task(**raw)).assert_ok()
    again = ansible.run(vm_task(**as_dicts)).assert_ok()
    assert again.changed == [], again.task('vm')['changes']


def test_cloud_init_settings(ansible, cluster):
    keys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests one@example.com',
            'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ+/= two@example.com']
    result = converge_twice(ansible, cluster, name='ci1', ciuser='admin', cipassword='s3cret-pw', sshkeys=keys,
                            nameserver='10.0.0.53', searchdomain='example.com',
                            disks={'ide0': 'local-lvm:cloudinit', 'scsi0': {'storage': 'local-lvm', 'size': 4}},
                            ipconfig={'ipconfig0': {'ip': '10.0.0.5/24', 'gw': '10.0.0.1'},
                                      'ipconfig1': 'ip=dhcp'})
    config = find(cluster, 'ci1').config
    assert '%20' in config['sshkeys'] and '+' not in config['sshkeys'].replace('%2B', '')
    assert 's3cret-pw' not in str(result)
    assert result['config']['cipassword'] == '(hidden)'


def test_escape_hatch_config_keys(ansible, cluster):
    converge_twice(ansible, cluster, name='hatch1', config={'vga': 'serial0', 'tablet': False, 'protection': True})
    config = find(cluster, 'hatch1').config
    assert config['vga'] == 'serial0'


def test_update_changes_only_what_differs_and_diff_shows_only_that(ansible, cluster):
    base = dict(name='upd1', memory=1024, cores=1, nets={'net0': 'virtio,bridge=vmbr0'},
                disks={'scsi0': {'storage': 'local-lvm', 'size': 4}})
    ansible.run(vm_task(**base)).assert_ok()
    mac = find(cluster, 'upd1').config['net0'].split(',')[0]
    cluster.clear_log()
    changed = {**base, 'memory': 2048, 'nets': {'net0': {'bridge': 'vmbr0', 'firewall': True}}}
    result = ansible.run(vm_task(**changed), diff=True).assert_ok()
    vm_result = result.task('vm')
    assert sorted(vm_result['changes']) == sorted(['set memory: 1024 -> 2048',
                                                   'set net0: {0},bridge=vmbr0 -> {0},bridge=vmbr0,firewall=1'
                                                   .format(mac)])
    assert vm_result['diff']['before'] == "memory: 1024\nnet0: {0},bridge=vmbr0\n".format(mac)
    assert vm_result['diff']['after'] == "memory: 2048\nnet0: {0},bridge=vmbr0,firewall=1\n".format(mac)
    assert 'cores' not in vm_result['diff']['after'] and 'scsi0' not in vm_result['diff']['after']
    assert find(cluster, 'upd1').config['net0'].startswith(mac)  # the generated MAC is kept
    writes = [(e['method'], e['path'].split('/qemu/')[-1]) for e in cluster.writes()]
    assert writes == [('POST', '100/config')]


def test_a_nic_without_mac_matches_any_mac(ansible, cluster):
    cluster.add_vm(150, 'macs', node='pve2', config={'net0': 'virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0,firewall=1'})
    result = ansible.run(vm_task(name='macs', nets={'net0': 'virtio,bridge=vmbr0'})).assert_ok()
    assert result.changed == []


def test_description_trailing_newline_and_tag_order_do_not_flap(ansible, cluster):
    cluster.add_vm(151, 'quirks', node='pve3', config={'description': 'hello\n', 'tags': 'b;a', 'onboot': 1,
                                                       'agent': 'enabled=1,fstrim_cloned_disks=1'})
    result = ansible.run(vm_task(name='quirks', description='hello', tags=['A', 'b'], onboot=True,
                                 agent=True)).assert_ok()
    assert result.changed == []


# ---------------------------------------------------------------- disks

def test_disk_grows_and_never_shrinks(ansible, cluster):
    ansible.run(vm_task(name='grow1', disks={'scsi0': {'storage': 'local-lvm', 'size': 4}})).assert_ok()
    grown = converge_twice(ansible, cluster, name='grow1', disks={'scsi0': {'size': 6}})
    assert grown['changes'] == ['grow scsi0: 4G -> 6G']
    assert 'size=6G' in find(cluster, 'grow1').config['scsi0']
    cluster.clear_log()
    msg = failure(ansible.run(vm_task(name='grow1', disks={'scsi0': {'size': 2}})))
    assert msg == 'disks.scsi0: size 2G is smaller than the disk (6G); disks only grow'
    assert cluster.writes() == []


def test_disk_absent_detaches_and_purge_destroys(ansible, cluster):
    disks = {'scsi0': 'local-lvm:4', 'scsi1': 'local-lvm:2', 'scsi2': 'local-lvm:2'}
    ansible.run(vm_task(name='det1', disks=disks)).assert_ok()
    detach = converge_twice(ansible, cluster, name='det1', disks={'scsi1': 'absent'})
    assert detach['changes'][0].startswith('remove scsi1') and 'kept as an unused disk' in detach['changes'][0]
    config = find(cluster, 'det1').config
    assert 'scsi1' not in config and any(k.startswith('unused') for k in config)
    purge = converge_twice(ansible, cluster, name='det1', disks={'scsi2': 'absent'}, purge=True)
    assert 'its volume destroyed' in purge['changes'][0]
    config = find(cluster, 'det1').config
    assert 'scsi2' not in config and sum(1 for k in config if k.startswith('unused')) == 1


def test_cdrom_none_and_iso(ansible, cluster):
    cluster.store_file('local', 'debian-12.iso', 1024 ** 2)
    converge_twice(ansible, cluster, name='cd1', cdrom='local:iso/debian-12.iso')
    assert find(cluster, 'cd1').config['ide2'].startswith('local:iso/debian-12.iso')
    converge_twice(ansible, cluster, name='cd1', cdrom='none')
    assert find(cluster, 'cd1').config['ide2'].startswith('none')


# ---------------------------------------------------------------- pending and power

def test_memory_change_on_running_vm_is_pending_and_not_resent(ansible, cluster):
    cluster.add_vm(160, 'run1', node='pve1', status='running', config={'memory': '1024'})
    first = ansible.run(vm_task(name='run1', memory=2048)).assert_ok()
    assert first.task('vm')['pending'] == {'memory': '2048'} and first.task('vm')['reboot_required'] is True
    cluster.clear_log()
    second = ansible.run(vm_task(name='run1', memory=2048)).assert_ok()
    assert second.changed == [] and cluster.writes() == []
    assert second.task('vm')['reboot_required'] is True
    applied = ansible.run(vm_task(name='run1', memory=2048, restart_for_pending=True)).assert_ok()
    assert applied.task('vm')['changes'] == ['reboot VM run1'] and applied.task('vm')['pending'] == {}
    assert find(cluster, 'run1').config['memory'] == '2048'


def test_power_states(ansible, cluster):
    converge_twice(ansible, cluster, name='pw1', state='started')
    assert find(cluster, 'pw1').status == 'running'
    converge_twice(ansible, cluster, name='pw1', state='stopped')
    assert find(cluster, 'pw1').status == 'stopped'
    restarted = ansible.run(vm_task(name='pw1', state='restarted')).assert_ok()
    assert restarted.status('vm') == 'changed' and find(cluster, 'pw1').status == 'running'


def test_template_conversion(ansible, cluster):
    ansible.run(vm_task(name='tpl1', state='started')).assert_ok()
    msg = failure(ansible.run(vm_task(name='tpl1', state='template')))
    assert 'is running' in msg and 'force' in msg
    converge_twice(ansible, cluster, name='tpl1', state='template', force=True)
    assert find(cluster, 'tpl1').template


# ---------------------------------------------------------------- clones

def test_full_and_linked_clones(ansible, cluster):
    cluster.add_vm(9000, 'tmpl', node='pve2', template=True,
                   config={'memory': '1024', 'scsi0': 'local-lvm:base-9000-disk-0,size=4G',
                           'net0': 'virtio=BC:24:11:00:90:00,bridge=vmbr0'})
    cluster.add_vm(9001, 'plainvm', node='pve2', config={'scsi0': 'local-lvm:vm-9001-disk-0,size=4G'})
    full = converge_twice(ansible, cluster, name='clone-full', clone='tmpl', memory=2048)
    assert full['changes'][0] == 'clone VM tmpl (9000) to clone-full (vmid 100) on pve2 (full)'
    assert find(cluster, 'clone-full').config['memory'] == '2048'
    converge_twice(ansible, cluster, name='clone-linked', clone='9000', full=False)
    msg = failure(ansible.run(vm_task(name='clone-bad', clone='plainvm', full=False)))
    assert msg == "clone: a linked clone (full: false) needs a template; 'plainvm' (vmid 9001) is not one"
    msg = failure(ansible.run(vm_task(name='clone-bad', clone='tmpl',
                                      disks={'scsi0': {'storage': 'shared', 'size': 4}})))
    assert 'conflicts with the clone' in msg


# ---------------------------------------------------------------- finding guests

def test_find_by_name_across_nodes(ansible, cluster):
    cluster.add_vm(170, 'far', node='pve3', config={'memory': '512'})
    result = ansible.run(vm_task(name='far', memory=768)).assert_ok()
    assert (result.task('vm')['vmid'], result.task('vm')['node']) == (170, 'pve3')
    elsewhere = ansible.run(vm_task(name='far', node='pve1', memory=768)).assert_ok()
    assert elsewhere.changed == [] and elsewhere.task('vm')['node'] == 'pve3'
    assert elsewhere.task('vm')['warnings'] == ['VM 170 is on pve3, not on pve1; it is not moved '
                                                '(pve.fleet.migrate moves guests)']


def test_two_vms_with_one_name_fail_listing_both(ansible, cluster):
    cluster.add_vm(180, 'twin', node='pve1')
    cluster.add_vm(181, 'twin', node='pve2')
    msg = failure(ansible.run(vm_task(name='twin', memory=512)))
    assert msg == "name 'twin' is ambiguous: guests 180 on pve1, 181 on pve2 share it; select the guest by vmid"


def test_parallel_creates_without_vmid_make_distinct_vms(ansible, cluster):
    tasks = [{'name': 'vm', 'pve.fleet.vm': {'name': '{{ item }}', 'memory': 512}, 'loop': ['p1', 'p2', 'p3', 'p4'],
              'async': 60, 'poll': 0, 'register': 'jobs'},
             {'name': 'wait', 'ansible.builtin.async_status': {'jid': '{{ item.ansible_job_id }}'},
              'loop': '{{ jobs.results }}', 'register': 'done', 'until': 'done.finished', 'retries': 60,
              'delay': 1}]
    ansible.run(tasks).assert_ok()
    names = sorted(vm.name for vm in cluster.vms)
    assert names == ['p1', 'p2', 'p3', 'p4']
    assert len(set(vm.vmid for vm in cluster.vms)) == 4
    again = ansible.run(vm_task(name='p3', memory=512)).assert_ok()
    assert again.changed == []


def test_default_node_is_the_one_with_most_free_memory(ansible, cluster):
    # Node memory in cluster/resources follows the running guests: pve1 and pve3 carry load.
    cluster.add_vm(300, 'load1', node='pve1', status='running', config={'memory': '4096'})
    cluster.add_vm(301, 'load3', node='pve3', status='running', config={'memory': '2048'})
    result = ansible.run(vm_task(name='placed')).assert_ok()
    assert result.task('vm')['node'] == 'pve2'


def test_a_slow_task_fails_at_the_timeout_naming_it(ansible, cluster):
    # What users of the peer meet with slow clones: here every task wait is bounded by `timeout`.
    cluster.time_scale = 1
    cluster.add_vm(310, 'slow', node='pve1', config={'memory': '512'}).start_secs = 30
    msg = failure(ansible.run(vm_task(name='slow', state='started', timeout=1)))
    assert 'still running after 1s (timeout); it goes on in PVE' in msg and ':qmstart:310:' in msg


# ---------------------------------------------------------------- removal

def test_absent_needs_force_for_a_running_vm(ansible, cluster):
    cluster.add_vm(190, 'gone', node='pve1', status='running', config={'scsi0': 'local-lvm:vm-190-disk-0,size=1G'})
    cluster.clear_log()
    msg = failure(ansible.run(vm_task(name='gone', state='absent')))
    assert 'is running; removing it needs force: true' in msg and cluster.writes() == []
    converge_twice(ansible, cluster, name='gone', state='absent', force=True, purge=True)
    assert not [vm for vm in cluster.vms if vm.name == 'gone']


# ---------------------------------------------------------------- bad input, before any write

@pytest.mark.parametrize('options, message', [
    (dict(name='bad_name!'), "name: 'bad_name!' is not a valid DNS name"),
    (dict(vmid=99, name='ok'), 'vmid: 99 is outside 100-999999999'),
    (dict(vmid=1000000000), 'vmid: 1000000000 is outside 100-999999999'),
    (dict(name='ok', nets={'net0': {'bridge': 'vmbr0', 'macaddr': 'zz:00'}}), "nets.net0.macaddr: 'zz:00' is not a MAC"),
    (dict(name='ok', nets={'net0': {'model': 'tulip', 'bridge': 'vmbr0'}}), "nets.net0.model: 'tulip' is not a NIC"),
    (dict(name='ok', nets={'eth0': 'virtio,bridge=vmbr0'}), "nets: 'eth0' is not a NIC (netN) slot"),
    (dict(name='ok', disks={'scsi0': {'storage': 'nope', 'size': 4}}), "disks.scsi0: storage 'nope' does not exist"),
    (dict(name='ok', disks={'scsi0': {'storage': 'local', 'size': 4}}),
     "disks.scsi0: storage 'local' does not hold images"),
    (dict(name='ok', disks={'scsi0': {'storage': 'local-lvm', 'size': 'huge'}}),
     "disks.scsi0.size: 'huge' is not a size"),
    (dict(name='ok', disks={'scsi0': {'size': 4}}), 'disks.scsi0: a new disk needs storage and size'),
    (dict(name='ok', nets={'net0': 'virtio,bridge=vmbr9'}), "nets.net0: bridge 'vmbr9' does not exist on node"),
    (dict(name='ok', node='pve7'), "node: node 'pve7' is not in the cluster"),
    (dict(name='ok', clone='nosuch'), "clone: no VM 'nosuch' to clone from"),
])
def test_bad_input_fails_before_any_write(ansible, cluster, options, message):
    cluster.clear_log()
    msg = failure(ansible.run(vm_task(**options)))
    assert msg.startswith(message), msg
    assert cluster.writes() == []
    assert cluster.vms == []


def test_secrets_stay_out_of_results_and_diffs(ansible, cluster):
    result = ansible.run(vm_task(name='sec1', cipassword='TopSecret123'), diff=True).assert_ok()
    assert 'TopSecret123' not in result.output
    assert 'TopSecret123' not in str(result.records)


# ---------------------------------------------------------------- what PVE stores, compared as PVE treats it

@pytest.mark.parametrize('tags', [['bad tag'], ['web,prod'], ['-dash-first'], ['ok', 'semi;colon']])
def test_tags_pve_cannot_store_are_refused_before_any_write(ansible, cluster, tags):
    cluster.clear_log()
    msg = failure(ansible.run(vm_task(name='tagged', tags=tags)))
    assert msg.startswith('tags: ') and 'is not a tag PVE can store' in msg, msg
    assert cluster.writes() == []


def test_tags_pve_can_store_converge(ansible, cluster):
    converge_twice(ansible, cluster, name='tagged', tags=['web_1', 'prod.eu', 'v1+2', 'A-b'])
    assert find(cluster, 'tagged').config['tags'] == 'a-b;prod.eu;v1+2;web_1'


@pytest.mark.parametrize('same', ['disk,network,usb', 'usb, network,disk', '1'])
def test_hotplug_compares_as_a_set(ansible, cluster, same):
    converge_twice(ansible, cluster, name='hot1', hotplug='network,disk,usb')
    cluster.clear_log()
    again = ansible.run(vm_task(name='hot1', hotplug=same)).assert_ok()
    assert again.changed == [] and cluster.writes() == []


def test_hotplug_change_is_seen(ansible, cluster):
    converge_twice(ansible, cluster, name='hot2', hotplug='network,disk')
    changed = converge_twice(ansible, cluster, name='hot2', hotplug='network,disk,memory,cpu')
    assert changed['changes'] == ['set hotplug: network,disk -> network,disk,memory,cpu']


@pytest.mark.parametrize('cpu', ['x86-64-v9', 'Skylake', 'hostt,flags=+aes'])
def test_unknown_cpu_model_is_refused_before_any_write(ansible, cluster, cpu):
    cluster.clear_log()
    msg = failure(ansible.run(vm_task(name='cpu1', cpu=cpu)))
    assert msg.startswith('cpu: ') and 'is not a CPU model PVE knows' in msg, msg
    assert cluster.writes() == []


def test_known_and_custom_cpu_models_pass_the_check(ansible, cluster):
    converge_twice(ansible, cluster, name='cpu2', cpu='x86-64-v2-AES,flags=+aes')
    converge_twice(ansible, cluster, name='cpu2', cpu='host')


def test_check_mode_of_a_new_started_vm_reports_it_running(ansible, cluster):
    check = ansible.assert_check_mode_writes_nothing(vm_task(name='new1', state='started')).assert_ok()
    result = check.task('vm')
    assert result['status'] == 'running' and result['vmid'] == 100 and result['changes'][-1] == 'start VM new1'


def test_missing_bridge_lists_only_the_nodes_bridges(ansible, cluster):
    msg = failure(ansible.run(vm_task(name='br1', node='pve1', nets={'net0': 'virtio,bridge=vmbr9'})))
    assert msg == "nets.net0: bridge 'vmbr9' does not exist on node pve1 (bridges: vmbr0)", msg


def test_a_warning_goes_through_module_warn(ansible, cluster):
    converge_twice(ansible, cluster, name='warn1', node='pve1')
    result = ansible.run(vm_task(name='warn1', node='pve2')).assert_ok()
    assert '[WARNING]: VM 100 is on pve1, not on pve2; it is not moved' in result.output.replace('\n', ' ')
    assert 'DEPRECATION' not in result.output


# ---------------------------------------------------------------- the check-mode plan is what the run does

def test_clone_with_cipassword_plans_exactly_what_it_does(ansible, cluster):
    cluster.add_vm(9000, 'tmpl', node='pve2', template=True,
                   config={'memory': '1024', 'scsi0': 'local-lvm:base-9000-disk-0,size=4G',
                           'net0': 'virtio=BC:24:11:00:90:00,bridge=vmbr0'})
    result = converge_twice(ansible, cluster, name='ci-clone', clone='tmpl', cipassword='Cl0ne-secret',
                            ciuser='admin', nets={'net0': {'bridge': 'vmbr0', 'macaddr': 'BC:24:11:00:90:00'}})
    assert result['changes'] == ['clone VM tmpl (9000) to ci-clone (vmid 100) on pve2 (full)',
                                 'add cipassword: (hidden)', 'add ciuser: admin',
                                 'set net0: virtio,bridge=vmbr0 -> virtio=BC:24:11:00:90:00,bridge=vmbr0']
    vm = find(cluster, 'ci-clone')
    assert vm.config['ciuser'] == 'admin' and vm.config['net0'].upper().startswith('VIRTIO=BC:24:11:00:90:00')
    assert 'Cl0ne-secret' not in str(result)


def test_a_vm_converged_in_one_run_needs_no_second(ansible, cluster):
    """After the real run, a check-mode run plans nothing: the run did all the plan said."""
    options = dict(name='whole1', memory=1024, cores=2, tags=['a'], hotplug='disk,network', agent=True,
                   disks={'scsi0': {'storage': 'local-lvm', 'size': 4}}, nets={'net0': {'bridge': 'vmbr0'}},
                   cdrom='none', state='started')
    converge_twice(ansible, cluster, **options)
    after = ansible.assert_check_mode_writes_nothing(vm_task(**options)).assert_ok()
    assert after.task('vm')['changes'] == []


def test_a_locked_guest_is_waited_for_within_timeout_then_named(ansible, cluster, served):
    converge_twice(ansible, cluster, name='busy1', memory=512)
    served.run(cluster.hold_guest_lock, 100, 'backup')
    msg = failure(ansible.run(vm_task(name='busy1', memory=1024, timeout=5)))
    assert 'VM is locked (backup): another task holds the guest and did not let go within 5s (timeout)' in msg, msg
    served.run(cluster.release_guest_lock, 100)
    again = ansible.run(vm_task(name='busy1', memory=1024)).assert_ok()
    assert again.task('vm')['changes'] == ['set memory: 512 -> 1024']


@pytest.mark.parametrize('disk', [{'storage': 'shared', 'size': 4, 'format': 'qcow2', 'ssd': True},
                                  'shared:4,format=qcow2,ssd=1'])
def test_a_qcow2_disk_converges_though_pve_keeps_its_format_in_the_name(ansible, cluster, disk):
    converge_twice(ansible, cluster, name='fmt1', disks={'scsi0': disk})
    assert find(cluster, 'fmt1').config['scsi0'].split(',')[0].endswith('.qcow2')
    changed_format = {'scsi0': {'storage': 'shared', 'size': 4, 'format': 'raw'}}
    msg = failure(ansible.run(vm_task(name='fmt1', disks=changed_format)))
    assert msg.startswith('disks.scsi0.format: the disk is qcow2; this module does not convert disks'), msg
