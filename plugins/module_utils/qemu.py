# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The VM's options, declared once (options.py), and module parameters turned into the engine's GuestSpec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils import propstr
from ansible_collections.pve.fleet.plugins.module_utils.devices import (
    DiskValue, NicValue, PropValue, cdrom_value, check_addresses, check_mac, is_absent)
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.guest import (
    GUEST_OPTIONS, add_raw_config, check_dns_name, spec_from)
from ansible_collections.pve.fleet.plugins.module_utils.options import GuestKind, Option, setting, settings_config

DISK_SLOT = r'^((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0)$'
CDROM_SLOTS = ('ide0', 'ide1', 'ide2', 'ide3', 'sata0', 'sata1', 'sata2', 'sata3', 'sata4', 'sata5')
# PVE's hotplug value 1 is its default set (qemu-server: pve-hotplug-features).
HOTPLUG_ALIASES = {'1': 'network,disk,usb', '0': ''}

# CPU models qemu-server knows without a custom definition (src/PVE/QemuServer/CPUConfig.pm: its
# built-in x86-64-vN models, the model list it falls back to, and host); custom ones are custom-<name>.
CPU_MODELS = frozenset((
    'x86-64-v2', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4', 'host', 'max',
    '486', 'pentium', 'pentium2', 'pentium3', 'coreduo', 'core2duo', 'Conroe', 'Penryn', 'Nehalem', 'Nehalem-IBRS',
    'Westmere', 'Westmere-IBRS', 'SandyBridge', 'SandyBridge-IBRS', 'IvyBridge', 'IvyBridge-IBRS', 'Haswell',
    'Haswell-IBRS', 'Haswell-noTSX', 'Haswell-noTSX-IBRS', 'Broadwell', 'Broadwell-IBRS', 'Broadwell-noTSX',
    'Broadwell-noTSX-IBRS', 'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Client-noTSX-IBRS', 'Skylake-Client-v4',
    'Skylake-Server', 'Skylake-Server-IBRS', 'Skylake-Server-noTSX-IBRS', 'Skylake-Server-v4', 'Skylake-Server-v5',
    'Cascadelake-Server', 'Cascadelake-Server-v2', 'Cascadelake-Server-noTSX', 'Cascadelake-Server-v4',
    'Cascadelake-Server-v5', 'Cooperlake', 'Cooperlake-v2', 'KnightsMill', 'Icelake-Client', 'Icelake-Client-noTSX',
    'Icelake-Server', 'Icelake-Server-noTSX', 'Icelake-Server-v3', 'Icelake-Server-v4', 'Icelake-Server-v5',
    'Icelake-Server-v6', 'Icelake-Server-v7', 'SapphireRapids', 'SapphireRapids-v2', 'SapphireRapids-v3',
    'SapphireRapids-v4', 'GraniteRapids', 'GraniteRapids-v2', 'GraniteRapids-v3', 'SierraForest', 'SierraForest-v2',
    'SierraForest-v3', 'ClearwaterForest', 'athlon', 'phenom', 'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4',
    'Opteron_G5', 'EPYC', 'EPYC-IBPB', 'EPYC-v3', 'EPYC-v4', 'EPYC-v5', 'EPYC-Rome', 'EPYC-Rome-v2', 'EPYC-Rome-v3',
    'EPYC-Rome-v4', 'EPYC-Rome-v5', 'EPYC-Milan', 'EPYC-Milan-v2', 'EPYC-Milan-v3', 'EPYC-Genoa', 'EPYC-Genoa-v2',
    'EPYC-Turin', 'kvm32', 'kvm64', 'qemu32', 'qemu64', 'a64fx', 'cortex-a35', 'cortex-a53', 'cortex-a55',
    'cortex-a57', 'cortex-a710', 'cortex-a72', 'cortex-a76', 'neoverse-n1', 'neoverse-n2', 'neoverse-v1',
))

OPTIONS = GUEST_OPTIONS + [
    setting('name', dict(type='str')),
    setting('memory', dict(type='int'), compare='propstr', fmt='memory'),
    setting('balloon', dict(type='int')),
    setting('sockets', dict(type='int')),
    setting('cpu', dict(type='str'), compare='propstr', fmt='cpu'),
    setting('numa', dict(type='bool'), compare='bool'),
    setting('machine', dict(type='str')),
    setting('bios', dict(type='str', choices=['seabios', 'ovmf'])),
    setting('ostype', dict(type='str')),
    setting('agent', dict(type='bool'), compare='propstr', fmt='agent'),
    setting('boot', dict(type='str'), compare='propstr', fmt='boot'),
    setting('scsihw', dict(type='str')),
    setting('hotplug', dict(type='str'), compare='set', aliases=HOTPLUG_ALIASES),
    setting('serial', dict(type='str'), key='serial0'),
    setting('ciuser', dict(type='str')),
    setting('sshkeys', dict(type='list', elements='str', no_log=False), compare='sshkeys'),
    Option('cipassword', dict(type='str', no_log=True), key='cipassword', compare='secret'),
    Option('update_password', dict(type='str', default='on_create', choices=['always', 'on_create'], no_log=False)),
    Option('disks', dict(type='dict'), pattern=DISK_SLOT, compare='propstr', fmt='qemu-drive'),
    Option(pattern=r'^unused\d+$', compare='propstr', fmt='qemu-drive'),
    Option('nets', dict(type='dict'), pattern=r'^net\d+$', compare='propstr', fmt='qemu-net'),
    Option('ipconfig', dict(type='dict'), pattern=r'^ipconfig\d+$', compare='propstr', fmt='ipconfig'),
    Option('cdrom', dict(type='str')),
    Option('cdrom_slot', dict(type='str', default='ide2')),
    Option(key='vga', compare='propstr', fmt='vga'),
]


def _settings(params):
    """The plain settings of the table, with the list-valued ones joined as PVE writes them."""
    values = dict(params)
    if params.get('sshkeys') is not None:
        values['sshkeys'] = '\n'.join(k.strip() for k in params['sshkeys']) + '\n'
    return values


def check_cpu(value, option='cpu'):
    """The CPU model must be one PVE knows (it answers 400 otherwise, after nothing was written)."""
    if value is None:
        return
    try:
        model = propstr.parse(str(value), propstr.FORMATS['cpu']).get('cputype')
    except propstr.PropStringError as exc:
        raise PveError('{0}: {1}'.format(option, exc))
    if model and model not in CPU_MODELS and not model.startswith('custom-'):
        raise PveError('{0}: {1!r} is not a CPU model PVE knows (for example x86-64-v2-AES, x86-64-v3, host, '
                       'max, EPYC-Milan, Skylake-Server; a custom model is named custom-<name>)'.format(option, model))


def spec_from_params(params):
    """Validate the module's parameters (no request made) and build the engine's GuestSpec."""
    check_dns_name(params['name'])
    if params['vmid'] is None and params['name'] is None:
        raise PveError('name or vmid is required to find the VM')
    check_cpu(params['cpu'])
    config, remove = settings_config(QEMU, _settings(params)), []
    disk_slots = 'disk (scsiN, virtioN, sataN, ideN, efidisk0, tpmstate0)'
    for slot, value in QEMU.slots('disks', params['disks'], disk_slots):
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = DiskValue.from_user(slot, value, propstr.FORMATS['qemu-drive'], 'disks.' + slot)
    for slot, value in QEMU.slots('nets', params['nets'], 'NIC (netN)'):
        if is_absent(value):
            remove.append(slot)
            continue
        nic = NicValue.from_user(slot, value, propstr.FORMATS['qemu-net'], 'nets.' + slot)
        check_mac(nic.props.get('macaddr'), 'nets.{0}.macaddr'.format(slot))
        if 'model' in nic.props and nic.props['model'] not in propstr.NIC_MODELS:
            raise PveError('nets.{0}.model: {1!r} is not a NIC model ({2})'.format(
                slot, nic.props['model'], ', '.join(propstr.NIC_MODELS)))
        config[slot] = nic
    for slot, value in QEMU.slots('ipconfig', params['ipconfig'], 'cloud-init (ipconfigN)'):
        if is_absent(value):
            remove.append(slot)
        else:
            config[slot] = PropValue.from_user(slot, value, propstr.FORMATS['ipconfig'], 'ipconfig.' + slot)
            check_addresses(config[slot].props, 'ipconfig.' + slot)
    if params['cdrom'] is not None:
        slot = params['cdrom_slot']
        if slot not in CDROM_SLOTS:
            raise PveError('cdrom_slot: {0!r} is not an IDE or SATA slot ({1})'.format(slot, ', '.join(CDROM_SLOTS)))
        if slot in config:
            raise PveError('cdrom: slot {0} is also given in disks'.format(slot))
        config[slot] = cdrom_value(slot, params['cdrom'], propstr.FORMATS['qemu-drive'], 'cdrom')
    add_raw_config(config, params['config'])
    if 'cpu' in (params['config'] or {}):
        check_cpu(params['config']['cpu'], 'config.cpu')
    if params['clone'] is not None and params['vmid'] is not None and str(params['clone']) == str(params['vmid']):
        raise PveError('clone: a VM cannot be cloned onto itself')
    # cloud-init's password comes back hashed, so it cannot be compared: set on create unless told always.
    create_only = {}
    if params['cipassword'] is not None:
        (config if params['update_password'] == 'always' else create_only)['cipassword'] = params['cipassword']
    return spec_from(QEMU, params, params['name'], config, remove, create_only)


QEMU = GuestKind('qemu', 'VM', 'VM', 'name', volume_content='images', async_config=True, options=OPTIONS)
ARGUMENT_SPEC = QEMU.argument_spec
