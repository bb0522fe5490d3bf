# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The container's options: declared once (option, PVE key, type), the argument spec derived
from them, and module parameters turned into the guest engine's Spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.devices import DiskValue, PropValue, check_mac, is_absent
from ansible_collections.pve.fleet.plugins.module_utils.guest import (
    GUEST_ARGUMENT_SPEC, Profile, add_raw_config, check_dns_name, check_vmid, plain_settings, spec_from)
from ansible_collections.pve.fleet.plugins.module_utils.templates import ensure_appliance

LXC = Profile('lxc', 'container', 'hostname', async_config=False, disk_content='rootdir',
              secret_keys=('password',), text_keys=('description',), bool_keys=('onboot', 'protection', 'console'))

# option -> (PVE config key, argument spec): options whose value is a plain PVE value.
SETTINGS = dict(
    description=('description', dict(type='str')),
    memory=('memory', dict(type='int')),
    swap=('swap', dict(type='int')),
    cores=('cores', dict(type='int')),
    cpulimit=('cpulimit', dict(type='float')),
    cpuunits=('cpuunits', dict(type='int')),
    onboot=('onboot', dict(type='bool')),
    startup=('startup', dict(type='str')),
    nameserver=('nameserver', dict(type='str')),
    searchdomain=('searchdomain', dict(type='str')),
    ostype=('ostype', dict(type='str')),
)
FEATURES = ('nesting', 'keyctl', 'fuse', 'mknod', 'force_rw_sys')
NIC_SLOT = re.compile(r'^net\d+$')
MOUNT_SLOT = re.compile(r'^mp\d+$')
# Dict keys of a mount point in YAML habit -> PVE's sub-keys.
MOUNT_KEYS = {'path': 'mp', 'host_path': 'volume', 'read_only': 'ro'}

ARGUMENT_SPEC = dict(
    GUEST_ARGUMENT_SPEC,
    hostname=dict(type='str', aliases=['name']),
    ostemplate=dict(type='str'),
    template_storage=dict(type='str', default='local'),
    unprivileged=dict(type='bool'),
    features=dict(type='dict', options=dict(
        nesting=dict(type='bool'), keyctl=dict(type='bool'), fuse=dict(type='bool'), mknod=dict(type='bool'),
        force_rw_sys=dict(type='bool'), mount=dict(type='list', elements='str'))),
    rootfs=dict(type='raw'),
    mounts=dict(type='dict'),
    password=dict(type='str', no_log=True),
    ssh_public_keys=dict(type='list', elements='str', no_log=False),
)
ARGUMENT_SPEC.update((option, spec) for option, (_key, spec) in SETTINGS.items())


def _mount(slot, value, option):
    if isinstance(value, dict):
        value = dict((MOUNT_KEYS.get(k, k), v) for k, v in value.items())
        if 'volume' in value and value.get('storage') is None:
            # A bind mount: the host path is the volume, used as it is.
            value.setdefault('backup', False)
    mount = DiskValue.from_user(slot, value, propstr.FORMATS['lxc-mount'], option)
    if slot != 'rootfs' and 'mp' not in mount.props:
        raise PveError('{0}.path: a mount point needs the path inside the container'.format(option))
    return mount


def spec_from_params(params):
    """Validate the module's parameters (no request made) and build the engine's Spec."""
    check_vmid(params['vmid'])
    check_dns_name(params['hostname'], 'hostname')
    config, remove, create_only = plain_settings(params, SETTINGS), [], {}
    if params['hostname'] is not None:
        config['hostname'] = params['hostname']
    if params['features'] is not None:
        features = dict((k, v) for k, v in params['features'].items() if v is not None)
        if 'mount' in features:
            features['mount'] = ';'.join(features['mount'])
        config['features'] = PropValue.from_user('features', features, propstr.FORMATS['lxc-features'], 'features')
    if params['rootfs'] is not None:
        config['rootfs'] = _mount('rootfs', params['rootfs'], 'rootfs')
    for slot, value in sorted((params['mounts'] or {}).items()):
        if not MOUNT_SLOT.match(slot):
            raise PveError('mounts: {0!r} is not a mount point slot (mpN)'.format(slot))
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = _mount(slot, value, 'mounts.' + slot)
    for slot, value in sorted((params['nets'] or {}).items()):
        if not NIC_SLOT.match(slot):
            raise PveError('nets: {0!r} is not a NIC slot (netN)'.format(slot))
        if is_absent(value):
            remove.append(slot)
            continue
        nic = PropValue.from_user(slot, value, propstr.FORMATS['lxc-net'], 'nets.' + slot)
        check_mac(nic.props.get('hwaddr'), 'nets.{0}.hwaddr'.format(slot))
        if 'name' not in nic.props:  # PVE needs the interface name; written first, as PVE writes it
            nic.props = dict([('name', 'eth' + slot[3:])] + list(nic.props.items()))
        config[slot] = nic
    add_raw_config(config, params['config'])
    # What PVE takes only when the container is made (and never shows again, or cannot change).
    if params['password'] is not None:
        create_only['password'] = params['password']
    if params['ssh_public_keys'] is not None:
        create_only['ssh-public-keys'] = '\n'.join(k.strip() for k in params['ssh_public_keys']) + '\n'
    if params['clone'] is None:
        # A clone keeps its source's template and privilege model.
        create_only['unprivileged'] = '0' if params['unprivileged'] is False else '1'
        if params['ostemplate'] is not None:
            create_only['ostemplate'] = params['ostemplate']
    return spec_from(params, params['hostname'], config, remove, create_only)


def default_rootfs(cluster, node):
    """4 GiB (PVE's default) on the node's first storage for container volumes, local-lvm if it can."""
    usable = sorted(sid for sid, per_node in cluster.storages.items()
                    if 'rootdir' in str((per_node.get(node) or {}).get('content', '')).split(','))
    if not usable:
        raise PveError('rootfs: node {0} has no storage for container volumes; give rootfs'.format(node))
    storage = 'local-lvm' if 'local-lvm' in usable else usable[0]
    return DiskValue.from_user('rootfs', '{0}:4'.format(storage), propstr.FORMATS['lxc-mount'], 'rootfs')


def check_unprivileged(params, current):
    """unprivileged is fixed when a container is made: asking for the other value later is an error."""
    if params['unprivileged'] is None:
        return
    want = '1' if params['unprivileged'] else '0'
    have = '1' if propstr.to_bool(current.get('unprivileged', '0')) else '0'
    if want is not None and want != have:
        made = 'unprivileged' if have == '1' else 'privileged'
        raise PveError('unprivileged: the container was created {0}; this cannot be changed later (back it up and '
                       'restore it as a new container instead)'.format(made))


def resolve_ostemplate(client, node, storage, name, check_mode, timeout, record_task):
    """A volid as it is; a catalogue name (debian-12-standard) is the newest such appliance, fetched if missing."""
    if name is None:
        raise PveError('ostemplate: a new container needs its OS template (a volid, or a catalogue name such as '
                       'debian-12-standard)')
    if ':' in name:
        return name
    volid, _fetched, upid = ensure_appliance(client, node, storage, name, timeout, check_mode, option='ostemplate')
    if upid:
        record_task(upid)
    return volid
