"""pve.fleet.ct through ansible-playbook against the fake cluster."""

TEMPLATE = 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'


def ct_task(**options):
    return [{'name': 'ct', 'pve.fleet.ct': options}]


def converge_twice(ansible, **options):
    check = ansible.assert_check_mode_writes_nothing(ct_task(**options)).assert_ok()
    first, _second = ansible.assert_idempotent(ct_task(**options))
    assert first.status('ct') == 'changed' and check.status('ct') == 'changed'
    assert check.task('ct')['changes'] == first.task('ct')['changes']  # the plan check mode showed was done
    return first.task('ct')


def failure(result):
    assert result.rc != 0, result.output
    return result.failed[0]['result']['msg']


def find(cluster, hostname):
    found = [ct for ct in cluster.cts if ct.config.get('hostname') == hostname]
    assert len(found) == 1, [ct.config.get('hostname') for ct in cluster.cts]
    return found[0]


def with_template(cluster):
    cluster.store_file('local', 'debian-12-standard_12.12-1_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')


def test_static_address_container_converges_once(ansible, cluster):
    with_template(cluster)
    result = converge_twice(ansible, hostname='web-ct', ostemplate=TEMPLATE, memory=1024, swap=512, cores=2,
                            cpulimit=1.5, onboot=True, tags=['web'], features={'nesting': True},
                            rootfs={'storage': 'local-lvm', 'size': 4}, password='ct-secret-pw',
                            nets={'net0': {'bridge': 'vmbr0', 'ip': '10.0.0.30/24', 'gw': '10.0.0.1',
                                           'firewall': True}})
    config = find(cluster, 'web-ct').config
    assert 'hwaddr=' in config['net0'] and 'ip=10.0.0.30/24' in config['net0']
    assert 'ct-secret-pw' not in str(result)
    assert str(config.get('unprivileged')) == '1'


def test_dhcp_and_two_addresses_then_one(ansible, cluster):
    with_template(cluster)
    base = dict(hostname='dhcp-ct', ostemplate=TEMPLATE, nets={'net0': 'name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto'})
    converge_twice(ansible, **base)
    two = converge_twice(ansible, hostname='dhcp-ct', nets={'net1': {'bridge': 'vmbr0', 'ip': '10.0.1.5/24'}})
    assert two['changes'][0].startswith('add net1: name=eth1,bridge=vmbr0,ip=10.0.1.5/24')
    one = converge_twice(ansible, hostname='dhcp-ct', nets={'net1': 'absent'})
    assert one['changes'][0].startswith('remove net1')
    assert 'net1' not in find(cluster, 'dhcp-ct').config


def test_bind_and_volume_mounts(ansible, cluster):
    with_template(cluster)
    mounts = {'mp0': {'host_path': '/srv/data', 'path': '/data', 'read_only': True},
              'mp1': {'storage': 'local-lvm', 'size': 2, 'path': '/var/lib/app'}}
    # PVE lets only root@pam (not an API token) bind-mount host paths.
    msg = failure(ansible.run(ct_task(hostname='mnt-ct', ostemplate=TEMPLATE, mounts=mounts)))
    assert msg.endswith('Only root can pass arbitrary filesystem paths.')
    check = ansible.assert_check_mode_writes_nothing(ct_task(hostname='mnt-ct', ostemplate=TEMPLATE, mounts=mounts),
                                                     auth='password')
    assert check.assert_ok().status('ct') == 'changed'
    ansible.assert_idempotent(ct_task(hostname='mnt-ct', ostemplate=TEMPLATE, mounts=mounts), auth='password')
    config = find(cluster, 'mnt-ct').config
    assert config['mp0'].startswith('/srv/data,') and 'mp=/data' in config['mp0']
    assert config['mp1'].startswith('local-lvm:') and 'mp=/var/lib/app' in config['mp1']
    raw_again = ansible.run(ct_task(hostname='mnt-ct', mounts={'mp0': '/srv/data,mp=/data,ro=1,backup=0'}),
                            auth='password').assert_ok()
    assert raw_again.changed == []


def test_template_fetched_on_demand_by_catalogue_name(ansible, cluster):
    result = converge_twice(ansible, hostname='cat-ct', ostemplate='debian-12-standard',
                            rootfs='local-lvm:2')
    downloads = [e['path'] for e in cluster.request_log if e['method'] == 'POST' and e['path'].endswith('/aplinfo')]
    assert len(downloads) == 1  # fetched once, by the first real run; check mode and the re-run fetch nothing
    assert ':download:' in result['tasks'][0] and ':vzcreate:' in result['tasks'][1]


def test_rootfs_grows_never_shrinks(ansible, cluster):
    with_template(cluster)
    ansible.run(ct_task(hostname='grow-ct', ostemplate=TEMPLATE, rootfs='local-lvm:2')).assert_ok()
    grown = converge_twice(ansible, hostname='grow-ct', rootfs={'size': 3})
    assert grown['changes'] == ['grow rootfs: 2G -> 3G']
    msg = failure(ansible.run(ct_task(hostname='grow-ct', rootfs={'size': 1})))
    assert msg == 'rootfs: size 1G is smaller than the disk (3G); disks only grow'


def test_unprivileged_cannot_change_later(ansible, cluster):
    with_template(cluster)
    ansible.run(ct_task(hostname='priv-ct', ostemplate=TEMPLATE, unprivileged=True)).assert_ok()
    cluster.clear_log()
    msg = failure(ansible.run(ct_task(hostname='priv-ct', unprivileged=False)))
    assert msg.startswith('unprivileged: the container was created unprivileged; this cannot be changed later')
    assert cluster.writes() == []


def test_bad_input_before_any_write(ansible, cluster):
    with_template(cluster)
    for options, message in [
            (dict(hostname='x_y'), "hostname: 'x_y' is not a valid DNS name"),
            (dict(hostname='ok', nets={'net0': {'bridge': 'vmbr0', 'hwaddr': 'nope'}}),
             "nets.net0.hwaddr: 'nope' is not a MAC"),
            (dict(hostname='ok', mounts={'mp0': {'host_path': '/srv'}}), 'mounts.mp0.path: a mount point needs'),
            (dict(hostname='ok'), 'ostemplate: a new container needs its OS template'),
            (dict(hostname='ok', ostemplate='no-such-distro'), "ostemplate: no appliance 'no-such-distro' in the"),
            (dict(hostname='ok', ostemplate=TEMPLATE, rootfs={'storage': 'local', 'size': 2}),
             "rootfs: storage 'local' does not hold rootdir")]:
        cluster.clear_log()
        msg = failure(ansible.run(ct_task(**options)))
        assert msg.startswith(message), msg
        assert cluster.writes() == []
    assert cluster.cts == []


def test_power_and_removal(ansible, cluster):
    with_template(cluster)
    converge_twice(ansible, hostname='pw-ct', ostemplate=TEMPLATE, state='started')
    assert find(cluster, 'pw-ct').status == 'running'
    msg = failure(ansible.run(ct_task(hostname='pw-ct', state='absent')))
    assert 'removing it needs force: true' in msg
    converge_twice(ansible, hostname='pw-ct', state='absent', force=True)
    assert cluster.cts == []


def test_clone_with_a_password_is_refused_before_any_write(ansible, cluster):
    cluster.add_ct(9100, 'ct-tmpl', node='pve1', template=True,
                   config={'rootfs': 'local-lvm:base-9100-disk-0,size=4G', 'unprivileged': 1})
    for options, option in ((dict(password='s3cret-clone'), 'password'),
                            (dict(ssh_public_keys=['ssh-ed25519 AAAAC3Nza x@y']), 'ssh_public_keys'),
                            (dict(unprivileged=False), 'unprivileged')):
        cluster.clear_log()
        result = ansible.assert_check_mode_writes_nothing(ct_task(hostname='ct-clone', clone='ct-tmpl', **options))
        assert failure(result).startswith(option + ': '), failure(result)
        msg = failure(ansible.run(ct_task(hostname='ct-clone', clone='ct-tmpl', **options)))
        assert msg.startswith(option + ': ') and cluster.writes() == [], msg
    assert [ct.vmid for ct in cluster.cts] == [9100]
    made = converge_twice(ansible, hostname='ct-clone', clone='ct-tmpl', memory=256)
    assert made['changes'] == ['clone container ct-tmpl (9100) to ct-clone (vmid 100) on pve1 (full)',
                               'set memory: 512 -> 256']


def test_node_local_template_places_the_container_where_the_template_is(ansible, cluster):
    cluster.store_file('local', 'debian-13-standard_13.1-2_amd64.tar.zst', 120 * 1024 ** 2, content='vztmpl')
    cluster.storages['local']['volumes']['vztmpl/debian-13-standard_13.1-2_amd64.tar.zst']['node'] = 'pve3'

    volid = 'local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst'
    made = converge_twice(ansible, hostname='placed', ostemplate=volid)
    assert made['node'] == 'pve3' and find(cluster, 'placed').node == 'pve3'
    cluster.clear_log()
    msg = failure(ansible.run(ct_task(hostname='elsewhere', ostemplate=volid, node='pve1')))
    assert msg.startswith('ostemplate: {0} is not on storage local of node pve1'.format(volid)), msg
    assert cluster.writes() == []
    msg = failure(ansible.run(ct_task(hostname='nowhere', ostemplate='local:vztmpl/missing_1.0_amd64.tar.zst')))
    assert msg.startswith('ostemplate: local:vztmpl/missing_1.0_amd64.tar.zst is not on storage local of node'), msg
    assert 'no online node has it' in msg and cluster.writes() == []
