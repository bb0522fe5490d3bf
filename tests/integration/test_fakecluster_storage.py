"""The fake cluster's storage definitions, appliance templates and downloads."""

import hashlib

import pytest

from fakecluster.client import ResourceException, api, run
from fakecluster.templates import remote_bytes

ISO_URL = 'https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso'


@pytest.fixture
def pve(served):
    return api(served)


def storage_ids(pve, node, **filters):
    return [s['storage'] for s in pve.nodes(node).storage.get(**filters)]


# --------------------------------------------------------------- definitions

@pytest.mark.parametrize('storage, options, shared', [
    ('backups', {'type': 'dir', 'path': '/srv/backups', 'content': 'backup'}, 0),
    ('nas', {'type': 'nfs', 'server': '192.0.2.60', 'export': '/export/vms', 'content': 'images,rootdir'}, 1),
    ('san', {'type': 'lvm', 'vgname': 'san', 'shared': 1, 'content': 'images'}, 1),
    ('thin', {'type': 'lvmthin', 'vgname': 'pve', 'thinpool': 'fast', 'content': 'images,rootdir'}, 0),
    ('target', {'type': 'iscsi', 'portal': '192.0.2.70', 'target': 'iqn.2003-01.org.example:vms',
                'content': 'images'}, 1),
])
def test_create_read_update_delete_per_type(pve, storage, options, shared):
    assert pve.storage.post(storage=storage, **options) == {'storage': storage, 'type': options['type']}
    config = pve.storage(storage).get()
    assert config['type'] == options['type'] and config.get('shared', 0) == shared
    assert config['content'] == options['content']
    pve.storage(storage).put(nodes='pve1,pve2')
    assert storage in storage_ids(pve, 'pve1', enabled=1)
    assert storage not in storage_ids(pve, 'pve3', enabled=1)
    status = dict((s['storage'], s) for s in pve.nodes('pve3').storage.get())
    assert (status[storage]['enabled'], status[storage]['active']) == (0, 0)
    pve.storage(storage).delete()
    assert storage not in [s['storage'] for s in pve.storage.get()]


def test_nfs_gets_its_mount_path(pve):
    pve.storage.post(storage='nas', type='nfs', server='192.0.2.60', export='/export/vms')
    assert pve.storage('nas').get()['path'] == '/mnt/pve/nas'


@pytest.mark.parametrize('options, message', [
    ({'storage': 'nas', 'type': 'nfs', 'server': '192.0.2.60'}, "missing value for required option 'export'"),
    ({'storage': 'xx', 'type': 'dir', 'path': '/srv/x', 'thinpool': 'data'}, "unexpected property 'thinpool'"),
    ({'storage': 'local', 'type': 'dir', 'path': '/srv/x'}, "storage ID 'local' already defined"),
])
def test_create_refusals(pve, options, message):
    with pytest.raises(ResourceException, match=message):
        pve.storage.post(**options)


def test_fixed_options_cannot_change(pve):
    # PVE's update schema leaves fixed options out, so the request itself is refused.
    with pytest.raises(ResourceException, match="'vgname': 'property is not defined in schema"):
        pve.storage('local-lvm').put(vgname='other')


# ----------------------------------------------------------------- templates

def test_aplinfo_is_a_small_realistic_catalogue(pve):
    catalogue = pve.nodes('pve1').aplinfo.get()
    names = [a['template'] for a in catalogue]
    for prefix in ('debian-12-standard', 'debian-13-standard', 'ubuntu-24.04-standard', 'alpine-3.22',
                   'debian-12-turnkey-wordpress'):
        assert any(n.startswith(prefix) for n in names), names
    entry = next(a for a in catalogue if a['template'].startswith('debian-13'))
    assert entry['section'] == 'system' and entry['type'] == 'lxc' and entry['os'] == 'debian-13'
    assert entry['location'].startswith('http://download.proxmox.com/images/system/')
    assert len(entry['sha512sum']) == 128


def test_aplinfo_download_into_vztmpl_content(pve):
    name = 'alpine-3.22-default_20250617_amd64.tar.xz'
    task = run(pve, pve.nodes('pve1').aplinfo.post(storage='local', template=name))
    assert task.ok, task
    assert 'calculating checksum...OK, checksum verified' in task.log
    volids = [c['volid'] for c in pve.nodes('pve1').storage('local').content.get(content='vztmpl')]
    assert volids == ['local:vztmpl/' + name]
    again = run(pve, pve.nodes('pve1').aplinfo.post(storage='local', template=name))
    assert any('no need to download' in line for line in again.log)


@pytest.mark.parametrize('storage, template, message', [
    ('local', 'no-such-template.tar.zst', 'no such template'),
    ('local-lvm', 'alpine-3.22-default_20250617_amd64.tar.xz', "storage 'local-lvm' does not support templates"),
])
def test_aplinfo_download_refusals(pve, storage, template, message):
    with pytest.raises(ResourceException, match=message):
        pve.nodes('pve1').aplinfo.post(storage=storage, template=template)


# ---------------------------------------------------------------- download-url

def download(pve, storage='local', content='iso', filename='debian-13.1.0-amd64-netinst.iso', **options):
    return run(pve, pve.nodes('pve1').storage(storage)('download-url').post(
        url=ISO_URL, content=content, filename=filename, **options))


def test_download_url_with_a_matching_checksum(pve):
    digest = hashlib.sha256(remote_bytes(ISO_URL)).hexdigest()
    task = download(pve, checksum=digest, **{'checksum-algorithm': 'sha256'})
    assert task.ok, task
    [iso] = pve.nodes('pve1').storage('local').content.get(content='iso')
    assert iso['volid'] == 'local:iso/debian-13.1.0-amd64-netinst.iso'
    assert iso['size'] == len(remote_bytes(ISO_URL))


def test_download_url_with_a_wrong_checksum_fails_and_keeps_nothing(pve):
    task = download(pve, checksum='0' * 64, **{'checksum-algorithm': 'sha256'})
    assert task.exitstatus.startswith("checksum mismatch: got '")
    assert pve.nodes('pve1').storage('local').content.get(content='iso') == []


def test_download_url_serves_what_the_test_put_there(pve, cluster, served):
    served.run(cluster.remote_files.__setitem__, ISO_URL, b'an iso image')
    assert download(pve, checksum=hashlib.md5(b'an iso image').hexdigest(), **{'checksum-algorithm': 'md5'}).ok
    served.run(cluster.remote_files.__setitem__, ISO_URL, None)
    assert download(pve, filename='other.iso').exitstatus == 'download failed: 404 Not Found'


@pytest.mark.parametrize('options, message', [
    ({'filename': 'debian.tar.zst'}, 'wrong file extension'),
    ({'storage': 'local-lvm'}, "can't upload to storage type 'lvmthin', not a file based storage!"),
    ({'content': 'vztmpl', 'filename': 'x.iso'}, 'wrong file extension'),
    ({'storage': 'shared', 'content': 'import', 'filename': 'x.qcow2'},
     "storage 'shared' is not configured for content-type 'import'"),
])
def test_download_url_refusals(pve, options, message):
    with pytest.raises(ResourceException, match=message):
        download(pve, **options)


def test_upload_puts_the_file_in_the_content(pve, tmp_path):
    iso = tmp_path / 'tiny.iso'
    iso.write_bytes(b'\0' * 4096)
    with open(str(iso), 'rb') as data:
        upid = pve.nodes('pve1').storage('local').upload.post(content='iso', filename=data)
    assert run(pve, upid).ok
    [item] = pve.nodes('pve1').storage('local').content.get(content='iso')
    assert (item['volid'], item['size']) == ('local:iso/tiny.iso', 4096)


@pytest.mark.parametrize('options', [{'type': 'dir', 'path': '/srv/empty'},
                                     {'type': 'iscsi', 'portal': '192.0.2.70', 'target': 'iqn.2003-01.org.example:x'}])
def test_content_none_is_accepted_where_the_type_takes_it(pve, options):
    pve.storage.post(storage='nothing', content='none', **options)
    assert pve.storage('nothing').get()['content'] == 'none'
    pve.storage('nothing').put(content='none')
    with pytest.raises(ResourceException, match="storage does not support content type 'none'"):
        pve.storage.post(storage='thin2', type='lvmthin', vgname='pve', thinpool='t', content='none')
