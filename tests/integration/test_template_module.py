"""pve.fleet.template through ansible-playbook against the fake cluster: catalogue, URL, upload, removal.

Uses the fake cluster's aplinfo catalogue and checksum-checking download-url (tests/fakecluster/templates.py).
"""

import hashlib

from fakecluster.templates import remote_bytes

DEBIAN = 'debian-12-standard_12.12-1_amd64.tar.zst'
ISO_URL = 'https://cdimage.example.org/debian-13.2.0-amd64-netinst.iso'
ISO_SHA256 = hashlib.sha256(remote_bytes(ISO_URL)).hexdigest()


def task(title, **options):
    return {'name': title, 'pve.fleet.template': options}


def run(ansible, served, tasks, **kwargs):
    # The connection comes from module_defaults (group/pve.fleet.pve) and, should that ever miss,
    # the PROXMOX_* environment: the module's documented fallbacks.
    return ansible.run(tasks, env=served.env, **kwargs)


def idempotent(ansible, served, tasks):
    return ansible.assert_idempotent(tasks, env=served.env)


def converge(ansible, served, cluster, tasks):
    """Check mode writes nothing and says what the run then does; the run changes, a second run nothing."""
    check = check_mode_clean(ansible, served, cluster, tasks)
    first, second = idempotent(ansible, served, tasks)
    for item in tasks:
        assert check.task(item['name'])['changes'] == first.task(item['name'])['changes'] != []
        assert second.task(item['name'])['changes'] == []
    return check, first, second


def check_mode_clean(ansible, served, cluster, tasks, diff=False):
    assert served.cluster is cluster  # the harness reads this cluster's request log
    return ansible.assert_check_mode_writes_nothing(tasks, env=served.env, diff=diff).assert_ok()


def volumes(cluster, storage='local'):
    return dict((name, vol) for name, vol in cluster.storages[storage].get('volumes', {}).items()
                if name.startswith(('iso/', 'vztmpl/')))


def failure(result):
    assert result.rc != 0
    assert len(result.failed) == 1, result.output
    msg = result.failed[0]['result']['msg']
    assert 'Traceback' not in msg, msg
    return msg


def test_lists_the_catalogue(ansible, served, cluster):
    cluster.clear_log()
    result = run(ansible, served, [task('list', node='pve1')]).assert_ok()
    listed = result.task('list')['catalogue']
    assert [e['template'] for e in listed] == sorted(cluster.aplinfo)
    assert result.changed == [] and cluster.writes() == []
    assert 'volid' not in result.task('list')


def test_template_by_catalogue_name(ansible, served, cluster):
    tasks = [task('debian', node='pve1', template='debian-12-standard')]
    check, first, second = converge(ansible, served, cluster, tasks)
    assert check.status('debian') == 'changed' and check.task('debian')['tasks'] == []
    assert check.task('debian')['volid'] == 'local:vztmpl/' + DEBIAN

    got = first.task('debian')
    assert got['volid'] == 'local:vztmpl/' + DEBIAN and got['content'] == 'vztmpl'
    task_id, = got['tasks']
    assert task_id.startswith('UPID:pve1:') and ':download:' in task_id
    assert got['changes'] == ['download {0} from the appliance catalogue to local:vztmpl/{0} on pve1'.format(DEBIAN)]
    assert got['appliance']['package'] == 'debian-12-standard'
    assert list(volumes(cluster)) == ['vztmpl/' + DEBIAN]
    assert second.task('debian')['volid'] == got['volid'] and second.task('debian')['tasks'] == []
    assert check_mode_clean(ansible, served, cluster, tasks).changed == []


def test_catalogue_name_means_the_newest_version(ansible, served, cluster):
    def add_versions():
        base = cluster.aplinfo[DEBIAN]
        for version in ('12.7-1', '12.13-1', '12.9-2'):
            name = 'debian-12-standard_{0}_amd64.tar.zst'.format(version)
            cluster.aplinfo[name] = dict(base, template=name, version=version)
    served.run(add_versions)
    result = run(ansible, served, [task('debian', node='pve2', template='debian-12-standard')]).assert_ok()
    assert result.task('debian')['volid'] == 'local:vztmpl/debian-12-standard_12.13-1_amd64.tar.zst'
    # An exact file name from the catalogue is taken as it is.
    result = run(ansible, served, [task('exact', node='pve2', template='debian-12-standard_12.7-1_amd64.tar.zst')])
    assert result.assert_ok().task('exact')['volid'] == 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'


def test_node_local_storage_has_a_copy_per_node(ansible, served, cluster):
    idempotent(ansible, served, [task('pve1', node='pve1', template='debian-12-standard')])
    result = run(ansible, served, [task('pve2', node='pve2', template='debian-12-standard')]).assert_ok()
    assert result.status('pve2') == 'changed'
    # On the shared storage, one download serves every node.
    idempotent(ansible, served, [task('shared', node='pve1', storage='shared', template='alpine-3.22-default')])
    cluster.clear_log()
    result = run(ansible, served, [task('shared', node='pve3', storage='shared', template='alpine-3.22-default')])
    assert result.assert_ok().changed == [] and cluster.writes() == []


def test_iso_by_url_with_checksum(ansible, served, cluster):
    tasks = [task('iso', node='pve1', url=ISO_URL, checksum=ISO_SHA256.upper(), checksum_algorithm='sha256')]
    check, first, _second = converge(ansible, served, cluster, tasks)
    assert check.status('iso') == 'changed'
    got = first.task('iso')
    assert got['changes'] == ['download {0} to local:iso/debian-13.2.0-amd64-netinst.iso on pve1'.format(ISO_URL)]
    assert got['volid'] == 'local:iso/debian-13.2.0-amd64-netinst.iso' and got['content'] == 'iso'
    assert list(volumes(cluster)) == ['iso/debian-13.2.0-amd64-netinst.iso']
    log = served.run(lambda: [e for e in cluster.request_log if e['path'].endswith('/download-url')])
    assert log and all(e['status'] == 200 for e in log)


def test_template_by_url_with_a_filename_pve_normalizes(ansible, served, cluster):
    url = 'https://images.example.org/builds/latest?format=tar'
    data_sum = hashlib.sha512(remote_bytes(url)).hexdigest()
    tasks = [task('ours', node='pve1', storage='shared', url=url, filename='our base 1.0.tar.zst', checksum=data_sum,
                  checksum_algorithm='sha512')]
    first, _second = idempotent(ansible, served, tasks)
    assert first.task('ours')['volid'] == 'shared:vztmpl/our_base_1.0.tar.zst'
    assert 'vztmpl/our_base_1.0.tar.zst' in volumes(cluster, 'shared')


def test_bad_checksum_fails_and_keeps_nothing(ansible, served, cluster):
    wrong = hashlib.sha256(b'something else').hexdigest()
    msg = failure(run(ansible, served, [task('iso', node='pve1', url=ISO_URL, checksum=wrong,
                                             checksum_algorithm='sha256')]))
    assert 'checksum mismatch' in msg and wrong in msg
    assert volumes(cluster) == {}


def test_url_that_fails_reports_the_task_log(ansible, served, cluster):
    served.run(cluster.remote_files.__setitem__, ISO_URL, None)
    msg = failure(run(ansible, served, [task('iso', node='pve1', url=ISO_URL)]))
    assert 'failed' in msg and '404' in msg
    assert volumes(cluster) == {}


def test_upload_from_the_controller(ansible, served, cluster, tmp_path):
    src = tmp_path / 'rescue.iso'
    src.write_bytes(b'an ISO image, more or less\n' * 100)
    digest = hashlib.sha1(src.read_bytes()).hexdigest()
    tasks = [task('upload', node='pve2', src=str(src), checksum=digest, checksum_algorithm='sha1')]
    check, first, _second = converge(ansible, served, cluster, tasks)
    assert check.status('upload') == 'changed'
    assert first.task('upload')['volid'] == 'local:iso/rescue.iso'
    assert first.task('upload')['changes'] == ['upload {0} to local:iso/rescue.iso on pve2'.format(src)]
    assert volumes(cluster)['iso/rescue.iso']['size'] == src.stat().st_size
    sent = cluster.uploaded  # the multipart fields of the last upload
    assert sent['data'] == src.read_bytes() and sent['filename'] == 'rescue.iso' and sent['content'] == 'iso'
    assert sent['checksum'] == digest and sent['checksum-algorithm'] == 'sha1'
    # Under another name on the storage.
    first, _second = idempotent(ansible, served, [task('renamed', node='pve2', src=str(src), filename='rescue-1.iso')])
    assert first.task('renamed')['volid'] == 'local:iso/rescue-1.iso'
    assert 'iso/rescue-1.iso' in volumes(cluster) and cluster.uploaded['filename'] == 'rescue-1.iso'


def test_absent(ansible, served, cluster, tmp_path):
    run(ansible, served, [task('debian', node='pve1', template='debian-12-standard'),
                          task('iso', node='pve1', url=ISO_URL)]).assert_ok()
    assert len(volumes(cluster)) == 2
    tasks = [task('no debian', node='pve1', template='debian-12-standard', state='absent'),
             task('no iso', node='pve1', volid='local:iso/debian-13.2.0-amd64-netinst.iso', state='absent')]
    check, first, _second = converge(ansible, served, cluster, tasks)
    assert check.changed == ['no debian', 'no iso']
    assert first.changed == ['no debian', 'no iso']
    assert first.task('no iso')['changes'] == ['remove local:iso/debian-13.2.0-amd64-netinst.iso on pve1']
    assert volumes(cluster) == {}
    assert first.task('no iso')['volid'] == 'local:iso/debian-13.2.0-amd64-netinst.iso'


def test_diff(ansible, served, cluster):
    tasks = [task('debian', node='pve1', template='debian-12-standard')]
    result = run(ansible, served, tasks, diff=True).assert_ok()
    diff = result.task('debian')['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    assert diff['before'] == '' and diff['after'] == 'volid: local:vztmpl/{0}\n'.format(DEBIAN)
    assert diff['after_header'] == 'local:vztmpl/{0} (after)'.format(DEBIAN)
    absent = [task('debian', node='pve1', template='debian-12-standard', state='absent')]
    result = run(ansible, served, absent, diff=True, check=True).assert_ok()
    diff = result.task('debian')['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    assert diff['before'] == 'volid: local:vztmpl/{0}\n'.format(DEBIAN) and diff['after'] == ''


BAD_INPUT = [
    (dict(node='pve9', template='debian-12-standard'), "node: node 'pve9' is not in the cluster"),
    (dict(node='pve1', template='debian-99-standard'), "template: no appliance 'debian-99-standard'"),
    (dict(node='pve1', template='debian-12-standard', storage='local-lvm'),
     "storage: storage 'local-lvm' does not hold vztmpl (its content: "),
    (dict(node='pve1', template='debian-12-standard', storage='nowhere'),
     "storage: storage 'nowhere' does not exist (storages: "),
    (dict(node='pve1', url=ISO_URL, checksum='abc', checksum_algorithm='sha256'),
     'checksum: a sha256 checksum is 64 hexadecimal digits'),
    (dict(node='pve1', url='https://example.org/readme.txt'), "url: 'readme.txt' is neither an ISO image"),
    (dict(node='pve1', url=ISO_URL, content='vztmpl'), 'filename: '),
    (dict(node='pve1', volid='local:images/vm-100-disk-0.raw', state='absent'), 'volid: '),
    (dict(node='pve1', volid='local:iso/x.iso'), 'state=present needs a source'),
    (dict(node='pve1', state='absent'), 'state=absent needs the file'),
    (dict(node='pve1', src='/nonexistent/file.iso'), 'src: '),
    (dict(node='pve1', url=ISO_URL, checksum=ISO_SHA256), 'checksum_algorithm'),
    (dict(node='pve1', template='debian-12-standard', url=ISO_URL), 'mutually exclusive'),
]


def test_bad_input_rejected_before_any_write(ansible, served, cluster):
    tasks = [dict(task('bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(BAD_INPUT)]
    cluster.clear_log()
    result = run(ansible, served, tasks)
    for i, (options, words) in enumerate(BAD_INPUT):
        assert result.status('bad{0}'.format(i)) == 'failed', (options, result.output)
        msg = result.task('bad{0}'.format(i))['msg']
        assert words in msg, (options, msg)
        assert '\n' not in msg.strip(), msg
    assert cluster.writes() == []
    assert volumes(cluster) == {}


def test_upload_with_a_wrong_checksum_sends_nothing(ansible, served, cluster, tmp_path):
    src = tmp_path / 'rescue.iso'
    src.write_bytes(b'data')
    cluster.clear_log()
    msg = failure(run(ansible, served, [task('upload', node='pve1', src=str(src), checksum='0' * 32,
                                             checksum_algorithm='md5')]))
    assert msg.startswith('checksum: ') and 'nothing uploaded' in msg
    assert cluster.writes() == []


def test_absent_removes_what_present_fetched(ansible, served, cluster):
    # present and absent resolve a catalogue name the same way: what one fetched the other removes.
    first, _second = idempotent(ansible, served, [task('get', node='pve3', template='debian-12-standard')])
    assert first.task('get')['volid'] == 'local:vztmpl/' + DEBIAN
    idempotent(ansible, served, [task('drop', node='pve3', template='debian-12-standard', state='absent')])
    assert volumes(cluster) == {}
