# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Desired values of property-string keys (disks, NICs, agent, ipconfig, ...) and how they compare.

A desired value holds only the sub-keys the user set. It compares against what PVE holds
after normalization, sub-key by sub-key, and writes the current string with the user's
sub-keys laid over it, so sub-keys the user did not set (a generated MAC, a volume name)
are left alone. Disks add what only disks have: a volume is allocated as ``storage:GiB``,
comes back as ``storage:vm-100-disk-0,size=8G``, and only grows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

GIB = 1024 ** 3
ALLOCATION = re.compile(r'^(?P<storage>[A-Za-z][A-Za-z0-9\-_.]*):(?P<size>\d+(?:\.\d+)?)$')
CLOUDINIT = re.compile(r'^(?P<storage>[A-Za-z][A-Za-z0-9\-_.]*):cloudinit$')
VOLUME = re.compile(r'^(?P<storage>[A-Za-z][A-Za-z0-9\-_.]*):(?P<volume>.+)$')
# Disks whose size PVE decides (EFI vars, TPM state): a size the user gives is not compared.
FIXED_SIZE = ('efidisk', 'tpmstate')
IMAGE_EXTENSION = re.compile(r'\.(qcow2|vmdk|raw)$')
ABSENT = 'absent'
# A volume PVE reads as a volume id although it was meant as storage:size (local-lvm:8Q).
SIZE_LIKE = re.compile(r'^\d+(\.\d+)?\s*[A-Za-z]+$')
# What PVE takes for ip/ip6 besides an address in CIDR form (ipconfigN: dhcp, auto; a container NIC: manual too).
IP_WORDS = {'ip': ('dhcp',), 'ip6': ('dhcp', 'auto')}


def _sub_key(name):
    """Dict options are written with underscores (YAML habit); PVE's sub-keys use dashes for some."""
    return {'pre_enrolled_keys': 'pre-enrolled-keys', 'freeze_fs': 'freeze-fs', 'host_managed': 'host-managed',
            'detect_zeroes': 'detect_zeroes', 'link_down': 'link_down'}.get(name, name)


def _props_from(value, fmt, option):
    """A user's value (a dict of sub-keys, or a raw property string) as a dict of strings."""
    if isinstance(value, dict):
        props = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, bool):
                item = '1' if item else '0'
            props[_sub_key(key)] = str(item)
        return props
    try:
        return propstr.parse(str(value), fmt)
    except propstr.PropStringError as exc:
        raise PveError('{0}: {1}'.format(option, exc))


class PropValue:
    """The desired sub-keys of one property-string key."""

    def __init__(self, key, props, fmt, option):
        self.key = key
        self.props = props
        self.fmt = fmt
        self.option = option

    @classmethod
    def from_user(cls, key, value, fmt, option):
        return cls(key, _props_from(value, fmt, option), fmt, option)

    def compared(self):
        """The sub-keys that decide whether the current value matches."""
        return propstr.normalize(self.props, self.fmt)

    def matches(self, current):
        if current is None:
            return False
        have = propstr.canonical(current, self.fmt)
        return all(have.get(k) == v for k, v in self.compared().items())

    def render(self, current=None):
        """The string to write: the current one with the user's sub-keys laid over it."""
        merged = propstr.parse(current, self.fmt) if current else {}
        merged.update(self.props)
        return propstr.format_props(merged, self.fmt)


class DiskValue(PropValue):
    """A disk (or CD-ROM) slot: allocate ``storage:size``, attach a volume, or set ``none``.

    ``storage`` and ``size`` come from the dict form or from a ``storage:GiB`` raw string;
    size is in bytes here (a bare number from the user is GiB, as in PVE's allocation syntax).
    """

    def __init__(self, key, props, fmt, option, storage=None, size=None, volume=None, cloudinit=False):
        super(DiskValue, self).__init__(key, props, fmt, option)
        self.storage = storage
        self.size = size
        self.volume = volume
        self.cloudinit = cloudinit

    @classmethod
    def from_user(cls, key, value, fmt, option):
        if isinstance(value, dict):
            value = dict(value)
            storage = value.pop('storage', None)
            size = value.pop('size', None)
            volume = value.pop('volume', None) or value.pop('file', None)
            props = _props_from(value, fmt, option)
        else:
            props = _props_from(value, fmt, option)
            storage = size = volume = None
            file_ = props.pop('file', None) or props.pop('volume', None)
            size = props.pop('size', None)
            if file_ is not None:
                alloc, cloud = ALLOCATION.match(file_), CLOUDINIT.match(file_)
                if alloc:
                    storage, size = alloc.group('storage'), size or alloc.group('size')
                elif cloud:
                    return cls(key, props, fmt, option, storage=cloud.group('storage'), cloudinit=True)
                else:
                    volume = file_
        check_volume(volume, option)
        if volume is not None and VOLUME.match(volume) and storage is None:
            storage = VOLUME.match(volume).group('storage')
        return cls(key, props, fmt, option, storage=storage, size=cls._size(size, option), volume=volume)

    @staticmethod
    def _size(size, option):
        if size is None:
            return None
        text = str(size).strip()
        if re.match(r'^\d+(\.\d+)?$', text):
            return int(float(text) * GIB)
        try:
            return propstr.parse_size(text)
        except propstr.PropStringError:
            raise PveError('{0}.size: {1!r} is not a size (expected GiB as a number, or a number with K, M, G '
                           'or T)'.format(option, size))

    @property
    def fixed_size(self):
        return self.key.startswith(FIXED_SIZE)

    def current_storage(self, current):
        file_ = propstr.parse(current, self.fmt).get(self.fmt.default_key, '')
        match = VOLUME.match(file_)
        return match.group('storage') if match else None

    def current_size(self, current):
        size = propstr.parse(current, self.fmt).get('size')
        return propstr.parse_size(size) if size else None

    def options_match(self, current):
        have = propstr.canonical(current, self.fmt)
        return all(have.get(k) == v for k, v in self.compared().items() if k != 'format')

    def current_format(self, current):
        """The image format of an attached volume: PVE keeps it in the volume's name (vm-100-disk-0.qcow2),
        not as format= once the disk exists; a name without an extension (LVM, ZFS, Ceph) is raw."""
        props = propstr.parse(current, self.fmt)
        if props.get('format'):
            return props['format']
        name = str(props.get(self.fmt.default_key, '')).rsplit('/', 1)[-1]
        match = IMAGE_EXTENSION.search(name)
        return match.group(1) if match else 'raw'

    def volume_matches(self, current):
        """The volume or storage the user named is the one attached (a cloud-init drive's name is PVE's)."""
        file_ = propstr.parse(current, self.fmt).get(self.fmt.default_key, '')
        if self.volume is not None:
            return file_ == self.volume
        if self.storage is not None:
            return self.current_storage(current) == self.storage
        return True

    def matches(self, current):
        if current is None:
            return False
        return self.volume_matches(current) and self.options_match(current) and not self.grows(current)

    def grows(self, current):
        """True when the user's size is larger than the disk's."""
        if self.size is None or self.fixed_size or self.cloudinit or self.volume == 'none':
            return False
        have = self.current_size(current)
        return have is not None and self.size > have

    @property
    def is_cdrom(self):
        return self.props.get('media') == 'cdrom'

    def check_against(self, current):
        """Refuse what cannot be done to an existing disk: shrinking it, moving it or converting it by config."""
        if not self.is_cdrom and not self.volume_matches(current):
            attached = propstr.parse(current, self.fmt).get(self.fmt.default_key)
            raise PveError('{0}: the disk is {1}; this module does not move or replace disks (detach it with '
                           '{0}: absent, or move it in PVE)'.format(self.option, attached))
        wanted_format = self.props.get('format')
        if wanted_format and not self.is_cdrom and not self.cloudinit and \
                self.current_format(current) != wanted_format:
            raise PveError('{0}.format: the disk is {1}; this module does not convert disks (move it to a storage '
                           'in {2} format in PVE)'.format(self.option, self.current_format(current), wanted_format))
        have = None if self.fixed_size or self.cloudinit else self.current_size(current)
        if self.size is not None and have is not None and self.size < have:
            raise PveError('{0}: size {1} is smaller than the disk ({2}); disks only grow'.format(
                self.option, propstr.format_size(self.size), propstr.format_size(have)))

    def render_new(self):
        """The string that creates the disk: ``storage:GiB,...``, a volume, or a cloud-init drive."""
        if self.cloudinit:
            head = '{0}:cloudinit'.format(self.storage)
        elif self.volume is not None:
            head = self.volume
        else:
            if self.storage is None or (self.size is None and not self.fixed_size):
                raise PveError('{0}: a new disk needs storage and size'.format(self.option))
            gib = (self.size or GIB) / float(GIB)
            head = '{0}:{1}'.format(self.storage, int(gib) if gib == int(gib) else round(gib, 3))
        props = dict(self.props)
        return propstr.format_props(dict([(self.fmt.default_key, head)] + list(props.items())), self.fmt)

    def render(self, current=None):
        if current is None:
            return self.render_new()
        rendered = propstr.parse(super(DiskValue, self).render(current), self.fmt)
        if 'format' not in propstr.parse(current, self.fmt):
            rendered.pop('format', None)  # the volume's name carries it (checked in check_against)
        if self.is_cdrom:
            # A CD-ROM swap: the new medium, and no size left over from the old one.
            rendered[self.fmt.default_key] = self.volume
            rendered.pop('size', None)
        return propstr.format_props(rendered, self.fmt)

    def describe(self):
        if self.cloudinit:
            return '{0}:cloudinit'.format(self.storage)
        if self.volume is not None:
            return self.volume
        return '{0}:{1}'.format(self.storage, propstr.format_size(self.size) if self.size else '')


class NicValue(PropValue):
    """A NIC: a new one without a model gets virtio; an existing one keeps its MAC unless the user sets one."""

    def render(self, current=None):
        if current is None and 'model' not in self.props:
            return propstr.format_props(dict([('model', 'virtio')] + list(self.props.items())), self.fmt)
        return super(NicValue, self).render(current)


def cdrom_value(key, value, fmt, option):
    """``cdrom: none`` empties the drive; a volid inserts that ISO."""
    volume = 'none' if str(value).strip().lower() in ('none', '', 'eject') else str(value)
    check_volume(volume, option)
    props = {'media': 'cdrom'}
    return DiskValue(key, props, fmt, option, volume=volume,
                     storage=VOLUME.match(volume).group('storage') if VOLUME.match(volume) else None)


def is_absent(value):
    return isinstance(value, str) and value.strip().lower() == ABSENT


def check_volume(volume, option):
    """A volume PVE can read: storage:volume, an absolute host path (bind mount, device), or none/cdrom.
    PVE reads anything else as a volume id and refuses it only when the guest is written."""
    if volume is None:
        return
    text = str(volume)
    match = VOLUME.match(text)
    if match and SIZE_LIKE.match(match.group('volume')):
        raise PveError('{0}: {1!r}: {2!r} is not a size (storage:GiB takes a number of GiB, e.g. {3}:8; or give '
                       'size with K, M, G or T)'.format(option, text, match.group('volume'), match.group('storage')))
    if not match and not text.startswith('/') and text not in ('none', 'cdrom'):
        raise PveError('{0}: {1!r} is neither storage:volume nor an absolute host path (/...)'.format(option, text))


def check_addresses(props, option, manual=False):
    """ip/gw/ip6/gw6 of a cloud-init ipconfig or a container NIC as PVE's formats take them (an address in
    CIDR form or dhcp/auto/manual; a gateway a plain address of the same family)."""
    for key, version in (('ip', 4), ('ip6', 6)):
        value = props.get(key)
        words = IP_WORDS[key] + (('manual',) if manual else ())
        if value is None or str(value) in words:
            continue
        try:
            ok = '/' in str(value) and ipaddress.ip_interface(u'{0}'.format(value)).version == version
        except ValueError:
            ok = False
        if not ok:
            raise PveError('{0}.{1}: {2!r} is not an IPv{3} address in CIDR form (e.g. {4}) nor one of {5}'.format(
                option, key, value, version, '192.0.2.10/24' if version == 4 else '2001:db8::10/64',
                ', '.join(words)))
    for key, version in (('gw', 4), ('gw6', 6)):
        value = props.get(key)
        if value is None:
            continue
        try:
            ok = ipaddress.ip_address(u'{0}'.format(value)).version == version
        except ValueError:
            ok = False
        if not ok:
            raise PveError('{0}.{1}: {2!r} is not an IPv{3} address'.format(option, key, value, version))


def check_mac(value, option):
    if value is not None and not propstr.is_mac(value):
        raise PveError('{0}: {1!r} is not a MAC address (expected six hex pairs like BC:24:11:00:00:01)'.format(
            option, value))
