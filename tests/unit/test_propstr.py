"""Property strings: parse/format round trips, normalization, and agreement with PVE's schema."""

import gzip
import json
import pkgutil

import pytest
from hypothesis import given, strategies as st

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.guest_types import KINDS
from ansible_collections.pve.fleet.plugins.module_utils.propstr import FORMATS, PropStringError

# PVE's API schema as the pinned fakepve (requirements-test.txt) ships it: {'paths': {path: {method: info}}}.
SCHEMA = ('fakepve', 'data/pve-api.json.gz')

# Sub-key names and values as PVE writes them: no commas or '=' inside.
keys = st.from_regex(r'\A[a-z][a-z0-9_\-]{0,11}\Z')
values = st.from_regex(r'\A[A-Za-z0-9:/._\-;]{1,20}\Z')


@st.composite
def prop_dicts(draw, fmt):
    props = {}
    if fmt.default_key and draw(st.booleans()):
        props[fmt.default_key] = draw(values)
    for key, value in draw(st.dictionaries(keys, values, max_size=6)).items():
        if key not in props and key not in propstr.NIC_MODELS and key != 'model' and key != 'macaddr':
            props[key] = value
    return props


@pytest.mark.parametrize('name', sorted(FORMATS))
def test_format_then_parse_round_trips(name):
    fmt = FORMATS[name]

    @given(prop_dicts(fmt))
    def check(props):
        text = propstr.format_props(props, fmt)
        assert propstr.parse(text, fmt) == props
        assert propstr.format_props(propstr.parse(text, fmt), fmt) == text
    check()


@given(st.sampled_from(propstr.NIC_MODELS), st.from_regex(r'\A([0-9A-F]{2}:){5}[0-9A-F]{2}\Z'),
       st.sampled_from(['vmbr0', 'vmbr1']), st.sampled_from(['', ',firewall=1', ',tag=42']))
def test_qemu_nic_model_and_mac_round_trip(model, mac, bridge, tail):
    fmt = FORMATS['qemu-net']
    text = '{0}={1},bridge={2}{3}'.format(model, mac, bridge, tail)
    props = propstr.parse(text, fmt)
    assert props['model'] == model and props['macaddr'] == mac and props['bridge'] == bridge
    assert propstr.format_props(props, fmt) == text


@pytest.mark.parametrize('name', sorted(FORMATS))
def test_normalize_is_idempotent(name):
    fmt = FORMATS[name]
    spellings = st.sampled_from(['1', '0', 'yes', 'no', 'on', 'off', 'true', 'false', 'True', '8G', '512M', '1.5T',
                                 '4096', 'a;c;b', 'bc:24:11:00:aa:01', 'vmbr0'])
    any_keys = st.sampled_from(sorted(fmt.booleans | fmt.sizes | fmt.lists | {'macaddr', 'hwaddr', 'bridge'}))

    @given(st.dictionaries(any_keys, spellings, max_size=8))
    def check(props):
        once = propstr.normalize(props, fmt)
        assert propstr.normalize(once, fmt) == once
    check()


@pytest.mark.parametrize('left, right', [
    ('local-lvm:vm-100-disk-0,size=8G,ssd=1', 'local-lvm:vm-100-disk-0,ssd=on,size=8192M'),
    ('local-lvm:vm-100-disk-0,discard=on,iothread=true', 'local-lvm:vm-100-disk-0,iothread=1,discard=on'),
    ('local-lvm:vm-100-disk-0,size=1T', 'local-lvm:vm-100-disk-0,size=1024G'),
])
def test_spellings_pve_rewrites_normalize_equal(left, right):
    fmt = FORMATS['qemu-drive']
    assert propstr.canonical(left, fmt) == propstr.canonical(right, fmt)


def test_parse_nic_with_generated_mac():
    props = propstr.parse('virtio=BC:24:11:2A:00:01,bridge=vmbr0,firewall=1', FORMATS['qemu-net'])
    assert props == {'model': 'virtio', 'macaddr': 'BC:24:11:2A:00:01', 'bridge': 'vmbr0', 'firewall': '1'}


def test_parse_bare_model():
    assert propstr.parse('virtio,bridge=vmbr0', FORMATS['qemu-net']) == {'model': 'virtio', 'bridge': 'vmbr0'}


@pytest.mark.parametrize('text', ['local-lvm:8,ssd=1,other', 'size=1,size=2'])
def test_malformed_strings_are_refused(text):
    with pytest.raises(PropStringError):
        propstr.parse(text, FORMATS['qemu-drive'])


def test_item_without_key_needs_a_default_key():
    with pytest.raises(PropStringError, match='key=value'):
        propstr.parse('name=eth0,vmbr0', FORMATS['lxc-net'])


@pytest.mark.parametrize('text, size', [('8G', 8 * 1024 ** 3), ('512M', 512 * 1024 ** 2), ('1.5T', int(1.5 * 1024 ** 4)),
                                        ('4096', 4096), ('32 GiB', 32 * 1024 ** 3), ('2k', 2048)])
def test_parse_size(text, size):
    assert propstr.parse_size(text) == size


@given(st.integers(min_value=1, max_value=2 ** 50))
def test_size_format_round_trips(size):
    assert propstr.parse_size(propstr.format_size(size)) == size


def test_size_error_names_what_was_expected():
    with pytest.raises(PropStringError, match='not a size'):
        propstr.parse_size('big')


@given(st.text(alphabet=st.characters(codec='utf-8', exclude_categories=['Cs']), max_size=200))
def test_sshkeys_encoding_round_trips(text):
    encoded = propstr.encode_sshkeys(text)
    assert '+' not in encoded and ' ' not in encoded and '\n' not in encoded
    assert propstr.decode_sshkeys(encoded) == text


@pytest.mark.parametrize('guest, key, name', [
    ('qemu', 'net0', 'qemu-net'), ('qemu', 'scsi12', 'qemu-drive'), ('qemu', 'efidisk0', 'qemu-drive'),
    ('qemu', 'ipconfig3', 'ipconfig'), ('qemu', 'agent', 'agent'), ('lxc', 'net1', 'lxc-net'),
    ('lxc', 'rootfs', 'lxc-mount'), ('lxc', 'mp4', 'lxc-mount'), ('lxc', 'features', 'lxc-features'),
])
def test_format_of(guest, key, name):
    assert KINDS[guest].format_of(key) is FORMATS[name]


def test_format_of_plain_keys_is_none():
    assert KINDS['qemu'].format_of('name') is None
    assert KINDS['lxc'].format_of('hostname') is None


# -- the table agrees with PVE's own schema

def _pve_schema():
    """The schema's paths; a missing schema fails the test run (a skip would hide that nothing was checked)."""
    try:
        raw = pkgutil.get_data(*SCHEMA)  # None when the package is not installed at all
    except (ImportError, OSError) as exc:
        raw, why = None, exc
    else:
        why = 'no package {0}'.format(SCHEMA[0])
    if raw is None:
        pytest.fail('the PVE API schema {0}:{1} cannot be read ({2}); install requirements-test.txt'.format(
            SCHEMA[0], SCHEMA[1], why))
    return json.loads(gzip.decompress(raw))['paths']


def _schema_formats():
    paths = _pve_schema()
    qemu = paths['/nodes/{node}/qemu/{vmid}/config']['POST']['parameters']['properties']
    lxc = paths['/nodes/{node}/lxc/{vmid}/config']['PUT']['parameters']['properties']
    drives = ('scsi[n]', 'virtio[n]', 'sata[n]', 'ide[n]', 'efidisk0')
    return {'qemu-net': [qemu['net[n]']], 'qemu-drive': [qemu[k] for k in drives],
            'agent': [qemu['agent']], 'memory': [qemu['memory']], 'vga': [qemu['vga']],
            'lxc-net': [lxc['net[n]']], 'lxc-mount': [lxc['rootfs'], lxc['mp[n]']], 'lxc-features': [lxc['features']]}


@pytest.mark.parametrize('name', ['qemu-net', 'qemu-drive', 'agent', 'memory', 'vga', 'lxc-net', 'lxc-mount',
                                  'lxc-features'])
def test_table_matches_pve_schema(name):
    fmt = FORMATS[name]
    for prop in _schema_formats()[name]:
        sub = prop['format']
        default_keys = [k for k, v in sub.items() if v.get('default_key')]
        assert default_keys == ([fmt.default_key] if fmt.default_key else [])
        booleans = set(k for k, v in sub.items() if v.get('type') == 'boolean')
        assert booleans <= fmt.booleans, 'booleans missing from the table: {0}'.format(booleans - fmt.booleans)
        sizes = set(k for k, v in sub.items() if v.get('format') == 'disk-size')
        assert sizes == set(fmt.sizes)
        if fmt.model_macs:
            assert set(k for k, v in sub.items() if v.get('alias') == 'macaddr') == set(propstr.NIC_MODELS)
