# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The VM's options: each declared once (option, PVE key, type), the argument spec derived
from them, and module parameters turned into the engine's Spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.devices import (
    DiskValue, NicValue, PropValue, cdrom_value, check_mac, is_absent)
from ansible_collections.pve.fleet.plugins.module_utils.guest import (
    GUEST_ARGUMENT_SPEC, Profile, add_raw_config, check_dns_name, check_vmid, plain_settings, spec_from)

QEMU = Profile('qemu', 'VM', 'name', async_config=True, disk_content='images', secret_keys=('cipassword',),
               text_keys=('description',), bool_keys=('numa', 'onboot', 'protection'))

# option -> (PVE config key, argument spec). Options whose value is a plain PVE value.
SETTINGS = dict(
    description=('description', dict(type='str')),
    memory=('memory', dict(type='int')),
    balloon=('balloon', dict(type='int')),
    cores=('cores', dict(type='int')),
    sockets=('sockets', dict(type='int')),
    cpu=('cpu', dict(type='str')),
    numa=('numa', dict(type='bool')),
    machine=('machine', dict(type='str')),
    bios=('bios', dict(type='str', choices=['seabios', 'ovmf'])),
    ostype=('ostype', dict(type='str')),
    agent=('agent', dict(type='bool')),
    onboot=('onboot', dict(type='bool')),
    startup=('startup', dict(type='str')),
    boot=('boot', dict(type='str')),
    scsihw=('scsihw', dict(type='str')),
    hotplug=('hotplug', dict(type='str')),
    serial=('serial0', dict(type='str')),
    ciuser=('ciuser', dict(type='str')),
    nameserver=('nameserver', dict(type='str')),
    searchdomain=('searchdomain', dict(type='str')),
)

DISK_SLOT = re.compile(r'^((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0)$')
NIC_SLOT = re.compile(r'^net\d+$')
IPCONFIG_SLOT = re.compile(r'^ipconfig\d+$')
CDROM_SLOTS = ('ide0', 'ide1', 'ide2', 'ide3', 'sata0', 'sata1', 'sata2', 'sata3', 'sata4', 'sata5')

ARGUMENT_SPEC = dict(
    GUEST_ARGUMENT_SPEC,
    name=dict(type='str'),
    disks=dict(type='dict'),
    ipconfig=dict(type='dict'),
    cdrom=dict(type='str'),
    cdrom_slot=dict(type='str', default='ide2'),
    cipassword=dict(type='str', no_log=True),
    update_password=dict(type='str', default='on_create', choices=['always', 'on_create'], no_log=False),
    sshkeys=dict(type='list', elements='str', no_log=False),
)
ARGUMENT_SPEC.update((option, spec) for option, (_key, spec) in SETTINGS.items())


def _slots(option, value, pattern, what):
    for slot in value or {}:
        if not pattern.match(slot):
            raise PveError('{0}: {1!r} is not a {2} slot'.format(option, slot, what))
    return sorted((value or {}).items())


def spec_from_params(params):
    """Validate the module's parameters (no request made) and build the engine's Spec."""
    check_vmid(params['vmid'])
    check_dns_name(params['name'])
    if params['vmid'] is None and params['name'] is None:
        raise PveError('name or vmid is required to find the VM')
    config, remove = plain_settings(params, SETTINGS), []
    if params['name'] is not None:
        config['name'] = params['name']
    for slot, value in _slots('disks', params['disks'], DISK_SLOT, 'disk (scsiN, virtioN, sataN, ideN, efidisk0, '
                                                                   'tpmstate0)'):
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = DiskValue.from_user(slot, value, propstr.FORMATS['qemu-drive'], 'disks.' + slot)
    for slot, value in _slots('nets', params['nets'], NIC_SLOT, 'NIC (netN)'):
        if is_absent(value):
            remove.append(slot)
            continue
        nic = NicValue.from_user(slot, value, propstr.FORMATS['qemu-net'], 'nets.' + slot)
        check_mac(nic.props.get('macaddr'), 'nets.{0}.macaddr'.format(slot))
        if 'model' in nic.props and nic.props['model'] not in propstr.NIC_MODELS:
            raise PveError('nets.{0}.model: {1!r} is not a NIC model ({2})'.format(
                slot, nic.props['model'], ', '.join(propstr.NIC_MODELS)))
        config[slot] = nic
    for slot, value in _slots('ipconfig', params['ipconfig'], IPCONFIG_SLOT, 'cloud-init (ipconfigN)'):
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = PropValue.from_user(slot, value, propstr.FORMATS['ipconfig'], 'ipconfig.' + slot)
    if params['cdrom'] is not None:
        slot = params['cdrom_slot']
        if slot not in CDROM_SLOTS:
            raise PveError('cdrom_slot: {0!r} is not an IDE or SATA slot ({1})'.format(slot, ', '.join(CDROM_SLOTS)))
        if slot in config:
            raise PveError('cdrom: slot {0} is also given in disks'.format(slot))
        config[slot] = cdrom_value(slot, params['cdrom'], propstr.FORMATS['qemu-drive'], 'cdrom')
    if params['sshkeys'] is not None:
        config['sshkeys'] = '\n'.join(k.strip() for k in params['sshkeys']) + '\n'
    add_raw_config(config, params['config'])
    if params['clone'] is not None and params['vmid'] is not None and str(params['clone']) == str(params['vmid']):
        raise PveError('clone: a VM cannot be cloned onto itself')
    # cloud-init's password comes back hashed, so it cannot be compared: set on create unless told always.
    create_only = {}
    if params['cipassword'] is not None:
        (config if params['update_password'] == 'always' else create_only)['cipassword'] = params['cipassword']
    return spec_from(params, params['name'], config, remove, create_only)
