# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The container's options, declared once (options.py), module parameters turned into the engine's
GuestSpec, and what only containers plan: the OS template, the default root filesystem, and what
PVE fixes when a container is made (privilege model, root password, SSH keys)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.devices import (
    DiskValue, PropValue, check_addresses, check_mac, is_absent)
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.guest import (
    GUEST_OPTIONS, add_raw_config, check_dns_name, spec_from)
from ansible_collections.pve.fleet.plugins.module_utils.options import GuestKind, Option, setting, settings_config
from ansible_collections.pve.fleet.plugins.module_utils.plan import Step
from ansible_collections.pve.fleet.plugins.module_utils.templates import resolve_appliance

# Dict keys of a mount point in YAML habit -> PVE's sub-keys.
MOUNT_KEYS = {'path': 'mp', 'host_path': 'volume', 'read_only': 'ro'}
DEFAULT_ROOTFS_GIB = 4  # PVE's default size of a container's root filesystem
# pve-container's verify_lxc_mp_string: no /./ or /../, no /. or /.. at the end, no ../ at the start.
ILLEGAL_MP = re.compile(r'/\.\.?/|/\.\.?$|^\.\./')

OPTIONS = GUEST_OPTIONS + [
    setting('hostname', dict(type='str', aliases=['name'])),
    setting('memory', dict(type='int'), compare='number'),
    setting('swap', dict(type='int'), compare='number'),
    setting('cpulimit', dict(type='float'), compare='number'),
    setting('cpuunits', dict(type='int'), compare='number'),
    setting('ostype', dict(type='str')),
    Option('ostemplate', dict(type='str')),
    Option('template_storage', dict(type='str', default='local')),
    Option('unprivileged', dict(type='bool'), key='unprivileged', compare='bool'),
    Option('features', dict(type='dict', options=dict(
        nesting=dict(type='bool'), keyctl=dict(type='bool'), fuse=dict(type='bool'), mknod=dict(type='bool'),
        force_rw_sys=dict(type='bool'), mount=dict(type='list', elements='str'))),
        key='features', compare='propstr', fmt='lxc-features'),
    Option('rootfs', dict(type='raw'), key='rootfs', compare='propstr', fmt='lxc-mount'),
    Option('mounts', dict(type='dict'), pattern=r'^mp\d+$', compare='propstr', fmt='lxc-mount'),
    Option(pattern=r'^unused\d+$', compare='propstr', fmt='lxc-mount'),
    Option('nets', dict(type='dict'), pattern=r'^net\d+$', compare='propstr', fmt='lxc-net'),
    # Sent when the container is made and never shown again: the root password and root's SSH keys.
    Option('password', dict(type='str', no_log=True), key='password', compare='secret'),
    Option('ssh_public_keys', dict(type='list', elements='str', no_log=False), key='ssh-public-keys'),
    Option(key='console', compare='bool'),
]


def _mount(slot, value, option):
    if isinstance(value, dict):
        value = dict((MOUNT_KEYS.get(k, k), v) for k, v in value.items())
        if 'volume' in value and value.get('storage') is None:
            # A bind mount: the host path is the volume, used as it is.
            value.setdefault('backup', False)
    mount = DiskValue.from_user(slot, value, propstr.FORMATS['lxc-mount'], option)
    if slot != 'rootfs' and 'mp' not in mount.props:
        raise PveError('{0}.path: a mount point needs the path inside the container'.format(option))
    if ILLEGAL_MP.search(mount.props.get('mp', '')):
        raise PveError('{0}.path: {1!r} contains illegal character sequences (PVE refuses /./, /../ and a '
                       'leading ../)'.format(option, mount.props['mp']))
    return mount


def spec_from_params(params):
    """Validate the module's parameters (no request made) and build the engine's GuestSpec."""
    check_dns_name(params['hostname'], 'hostname')
    if params['vmid'] is None and params['hostname'] is None:
        raise PveError('hostname or vmid is required to find the container')
    config, remove, create_only = settings_config(LXC, params), [], {}
    if params['features'] is not None:
        features = dict((k, v) for k, v in params['features'].items() if v is not None)
        if 'mount' in features:
            features['mount'] = ';'.join(features['mount'])
        config['features'] = PropValue.from_user('features', features, propstr.FORMATS['lxc-features'], 'features')
    if params['rootfs'] is not None:
        config['rootfs'] = _mount('rootfs', params['rootfs'], 'rootfs')
    for slot, value in LXC.slots('mounts', params['mounts'], 'mount point (mpN)'):
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = _mount(slot, value, 'mounts.' + slot)
    for slot, value in LXC.slots('nets', params['nets'], 'NIC (netN)'):
        if is_absent(value):
            remove.append(slot)
            continue
        nic = PropValue.from_user(slot, value, propstr.FORMATS['lxc-net'], 'nets.' + slot)
        check_mac(nic.props.get('hwaddr'), 'nets.{0}.hwaddr'.format(slot))
        check_addresses(nic.props, 'nets.' + slot, manual=True)
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
        create_only['unprivileged'] = '0' if params['unprivileged'] is False else '1'
    extra = dict(ostemplate=params['ostemplate'], template_storage=params['template_storage'],
                 unprivileged=params['unprivileged'])
    return spec_from(LXC, params, params['hostname'], config, remove, create_only, extra)


# ------------------------------------------------------------------ what only containers plan

def default_rootfs(cluster, node):
    """PVE's default size on the node's first storage for container volumes, local-lvm if it can."""
    usable = cluster.storages_for(node, 'rootdir')
    if not usable:
        raise PveError('rootfs: node {0} has no storage for container volumes; give rootfs'.format(node))
    storage = 'local-lvm' if 'local-lvm' in usable else usable[0]
    return DiskValue.from_user('rootfs', '{0}:{1}'.format(storage, DEFAULT_ROOTFS_GIB), propstr.FORMATS['lxc-mount'],
                               'rootfs')


def _template_volid(spec, node, cluster):
    """(volid, the catalogue entry to fetch or None) of the spec's OS template on a node; may raise
    FactNotLoaded (the storage's content, the catalogue) or a PveError naming ostemplate."""
    name = spec.extra.get('ostemplate')
    if name is None:
        raise PveError('ostemplate: a new container needs its OS template (a volid, or a catalogue name such as '
                       'debian-12-standard)')
    if ':' in name:
        storage = name.split(':', 1)[0]
        cluster.check_storage(storage, node, 'vztmpl', 'ostemplate')
        if name not in cluster.volumes(storage, node, 'vztmpl'):
            raise PveError('ostemplate: {0} is not on storage {1} of node {2}; give the node that holds it as node, '
                           'or put it there with pve.fleet.template'.format(name, storage, node))
        return name, None
    storage = spec.extra.get('template_storage') or 'local'
    cluster.check_storage(storage, node, 'vztmpl', 'template_storage')
    entry = resolve_appliance(cluster.appliances(node), name, node, option='ostemplate')
    volid = '{0}:vztmpl/{1}'.format(storage, entry['template'])
    return volid, (None if volid in cluster.volumes(storage, node, 'vztmpl') else entry)


def _fits(spec, node, cluster):
    """A node a new container can be made on: its template is there (or can be fetched), and a root fs."""
    _template_volid(spec, node, cluster)
    if 'rootfs' not in spec.config:
        default_rootfs(cluster, node)


def _plan_create(spec, node, cluster):
    """Steps before the create (fetching a catalogue template) and the create's own parameters."""
    volid, fetch = _template_volid(spec, node, cluster)
    steps = []
    if fetch is not None:
        storage = volid.split(':', 1)[0]
        steps.append(Step('fetch-template', text='fetch template {0} into {1} on {2}'.format(
            fetch['template'], storage, node), data=dict(node=node, storage=storage, template=fetch['template'])))
    params = {'ostemplate': volid}
    if 'rootfs' not in spec.config:
        params['rootfs'] = default_rootfs(cluster, node).render_new()
    return steps, params


def _unprivileged_mismatch(spec, config):
    """None, or whether the container (or clone source) with this config is unprivileged when the spec
    asks for the other model."""
    wanted = spec.extra.get('unprivileged')
    have = bool(propstr.to_bool(config.get('unprivileged', '0')))
    return None if wanted is None or bool(wanted) == have else have


def _check_existing(spec, config):
    """unprivileged is fixed when a container is made: asking for the other value later is an error."""
    have = _unprivileged_mismatch(spec, config)
    if have is not None:
        raise PveError('unprivileged: the container was created {0}; this cannot be changed later (back it up and '
                       'restore it as a new container instead)'.format('unprivileged' if have else 'privileged'))


def _plan_clone(spec, source_config):
    """What a clone cannot take: PVE sets a root password and SSH keys only from a template, on create,
    and a clone keeps its source's privilege model."""
    for key, option in (('password', 'password'), ('ssh-public-keys', 'ssh_public_keys')):
        if key in spec.create_only:
            raise PveError('{0}: PVE sets it only when a container is created from an OS template; a clone keeps '
                           'what its source has (leave {0} out, or set it inside the container)'.format(option))
    have = _unprivileged_mismatch(spec, source_config)
    if have is not None:
        raise PveError('unprivileged: {0} is {1}, and a clone keeps its source\'s privilege model'.format(
            spec.clone, 'unprivileged' if have else 'privileged'))


LXC = GuestKind('lxc', 'container', 'CT', 'hostname', volume_content='rootdir', async_config=False, options=OPTIONS,
                hooks=dict(create=_plan_create, fits=_fits, clone=_plan_clone,
                           existing=_check_existing))
ARGUMENT_SPEC = LXC.argument_spec
