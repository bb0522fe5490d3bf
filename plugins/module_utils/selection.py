# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The one guest a day-two module acts on, chosen by ``vmid`` and/or ``name`` cluster-wide.

Errors name the option the user set, so a wrong id or name reads as what to fix. A guest's API
path (``guest_path``) and the node checks (``require_node``, ``require_online``) are ClusterView's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

# The options every day-two module selects its guest with (documented in each module).
GUEST_SPEC = dict(
    vmid=dict(type='int'),
    name=dict(type='str'),
)


def describe(guest):
    """``VM 100 (web1) on pve1`` / ``CT 200 (cache1) on pve2``: how messages name a guest."""
    kind = 'VM' if guest['type'] == 'qemu' else 'CT'
    label = '{0} {1}'.format(kind, guest['vmid'])
    if guest.get('name'):
        label += ' ({0})'.format(guest['name'])
    return '{0} on {1}'.format(label, guest['node'])


def select_guest(cluster, vmid=None, name=None, required=True):
    """The guest named by vmid and/or name; a PveError naming the option when there is none."""
    if vmid is None and name is None:
        if required:
            raise PveError('one of vmid or name is required to select the guest')
        return None
    guest = cluster.find_guest(vmid=vmid, name=name)
    if guest is not None or not required:
        return guest
    if vmid is not None and name is not None:
        other = cluster.find_guest(vmid=vmid)
        if other is not None:
            raise PveError('vmid {0} is {1}, not named {2!r}: vmid and name must name the same guest'.format(
                vmid, describe(other), name))
    if vmid is not None:
        raise PveError('vmid {0}: no such guest in the cluster'.format(vmid))
    raise PveError('name {0!r}: no guest of that name in the cluster'.format(name))


def require_unlocked(guest, doing):
    """Fail before any write when PVE holds a config lock on the guest (a backup, migration, ...)."""
    if guest.get('lock'):
        raise PveError('cannot {0} {1}: it is locked ({2}); wait for that job to end or unlock it'.format(
            doing, describe(guest), guest['lock']))
