# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""PVE property strings (``virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1``): parse, format, normalize.

A property string is a comma-separated list of ``key=value`` items; an item without ``=``
is the value of the format's default key (``local-lvm:8`` is ``file=local-lvm:8``). PVE
rewrites what it is sent: booleans come back as 1/0, sizes gain units, MAC addresses are
generated. ``normalize`` puts both sides in one spelling so that comparing them is exact.

The format table below follows the PVE 9 API schema (tests/unit checks it against the
schema's own ``format`` descriptions). Which config key has which format is declared with the
guest options (options.py, qemu.py, lxc.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from urllib.parse import quote, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps sanity's compile test quiet
    from urllib import quote, unquote

SIZE_UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}
SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$', re.IGNORECASE)
TRUE_WORDS = ('1', 'yes', 'on', 'true')
FALSE_WORDS = ('0', 'no', 'off', 'false')
MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$')

# QEMU NIC models: `virtio=<mac>` sets the model and the MAC address in one item.
NIC_MODELS = ('e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b',
              'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3')


class PropFormat:
    """How one kind of property string is spelled.

    default_key: the key of an item written without ``key=``; booleans: keys PVE spells 1/0;
    sizes: keys holding a disk size; lists: keys whose value is a ``;``-separated set;
    model_macs: a QEMU NIC, whose ``<model>=<mac>`` item carries two keys.
    """

    def __init__(self, name, default_key=None, booleans=(), sizes=(), lists=(), model_macs=False):
        self.name = name
        self.default_key = default_key
        self.booleans = frozenset(booleans)
        self.sizes = frozenset(sizes)
        self.lists = frozenset(lists)
        self.model_macs = model_macs


_DRIVE_BOOLS = ('backup', 'detect_zeroes', 'iothread', 'replicate', 'ro', 'scsiblock', 'shared', 'snapshot', 'ssd')

FORMATS = dict((f.name, f) for f in (
    PropFormat('qemu-net', 'model', booleans=('firewall', 'host-tunnel', 'link_down'), model_macs=True),
    PropFormat('qemu-drive', 'file', booleans=_DRIVE_BOOLS + ('pre-enrolled-keys',), sizes=('size',)),
    PropFormat('ipconfig'),
    PropFormat('agent', 'enabled', booleans=('enabled', 'freeze-fs', 'fstrim_cloned_disks')),
    PropFormat('memory', 'current'),
    PropFormat('startup', 'order'),
    PropFormat('boot', 'legacy'),  # the boot order is an order: not a set
    PropFormat('cpu', 'cputype', booleans=('hidden',), lists=('flags',)),
    PropFormat('vga', 'type'),
    PropFormat('lxc-net', booleans=('firewall', 'host-managed', 'link_down')),
    PropFormat('lxc-mount', 'volume', booleans=('acl', 'backup', 'keepattrs', 'quota', 'replicate', 'ro', 'shared'),
               sizes=('size',)),
    PropFormat('lxc-features', booleans=('force_rw_sys', 'fuse', 'keyctl', 'mknod', 'nesting'), lists=('mount',)),
))


class PropStringError(ValueError):
    """A property string that cannot be read."""


def parse(text, fmt):
    """A property string as an ordered dict of key -> value (strings).

    >>> parse('virtio=BC:24:11:00:00:01,bridge=vmbr0', FORMATS['qemu-net'])
    {'model': 'virtio', 'macaddr': 'BC:24:11:00:00:01', 'bridge': 'vmbr0'}
    """
    props = {}
    for item in str(text).split(','):
        if not item:
            continue
        key, sep, value = item.partition('=')
        if not sep:
            if fmt.default_key is None or fmt.default_key in props:
                raise PropStringError('{0!r}: the item {1!r} needs the form key=value'.format(text, item))
            props[fmt.default_key] = key
            continue
        key = key.strip()
        if fmt.model_macs and key in NIC_MODELS:
            props['model'] = key
            props['macaddr'] = value
            continue
        if key in props:
            raise PropStringError('{0!r}: the key {1!r} appears twice'.format(text, key))
        props[key] = value
    return props


def format_props(props, fmt):
    """The property string for a dict: the default key first, written bare, as PVE writes it."""
    items = []
    rest = dict(props)
    if fmt.model_macs and 'model' in rest:
        model = rest.pop('model')
        mac = rest.pop('macaddr', None)
        items.append('{0}={1}'.format(model, mac) if mac else str(model))
    elif fmt.default_key is not None and fmt.default_key in rest:
        items.append(str(rest.pop(fmt.default_key)))
    items.extend('{0}={1}'.format(k, v) for k, v in rest.items())
    return ','.join(items)


def parse_size(text):
    """Bytes in a PVE size (``8G``, ``512M``, ``1.5T``, ``4096``); a bare number is bytes."""
    match = SIZE_RE.match(str(text))
    if not match:
        raise PropStringError('{0!r} is not a size (expected a number with an optional K, M, G or T)'.format(text))
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).upper()])


def format_size(size):
    """A byte count in the largest whole unit, as PVE writes it (8589934592 -> ``8G``)."""
    for unit in ('T', 'G', 'M', 'K'):
        if size and size % SIZE_UNITS[unit] == 0:
            return '{0}{1}'.format(size // SIZE_UNITS[unit], unit)
    return str(size)


def to_bool(value):
    """True or False for any spelling PVE or YAML uses; None for anything else."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def normalize_value(key, value, fmt):
    """One sub-key's value in the spelling used for comparison."""
    if key in fmt.booleans:
        flag = to_bool(value)
        return value if flag is None else ('1' if flag else '0')
    if key in fmt.sizes:
        try:
            return str(parse_size(value))
        except PropStringError:
            return str(value)
    if key in fmt.lists:
        return ';'.join(sorted(item for item in str(value).split(';') if item))
    if key == 'macaddr' or key == 'hwaddr':
        return str(value).upper()
    return str(value)


def normalize(props, fmt):
    """Every value of a parsed property string in its comparison spelling; normalize(normalize(x)) == normalize(x)."""
    return dict((key, normalize_value(key, value, fmt)) for key, value in props.items())


def canonical(text, fmt):
    """A property string's normalized dict, straight from the string."""
    return normalize(parse(text, fmt), fmt)


def decode_sshkeys(value):
    """PVE keeps cloud-init ``sshkeys`` URL-encoded; this is the text the user wrote."""
    return unquote(str(value))


def encode_sshkeys(text):
    """``sshkeys`` as PVE wants it sent: URL-encoded, spaces as %20 (PVE rejects '+')."""
    return quote(str(text), safe='')


def is_mac(value):
    return bool(MAC_RE.match(str(value)))
