# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The cluster as one ``cluster/resources`` call shows it: guests, nodes and storages.

Guests are found here by vmid or name, cluster-wide, never by scanning nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

GUEST_TYPES = ('qemu', 'lxc')


def split_tags(tags):
    """PVE's tag list (``a;b`` or ``a,b``, any case) as a sorted list of lower-case tags."""
    if tags is None:
        return []
    if isinstance(tags, (list, tuple)):
        items = tags
    else:
        items = str(tags).replace(',', ';').replace(' ', ';').split(';')
    return sorted(set(str(t).strip().lower() for t in items if str(t).strip()))


def guest_record(item):
    """A guest from cluster/resources as the collection returns it: plain, stable keys."""
    return dict(
        vmid=int(item['vmid']), name=item.get('name'), node=item.get('node'), type=item.get('type'),
        status=item.get('status'), template=bool(item.get('template')), pool=item.get('pool'),
        tags=split_tags(item.get('tags')), lock=item.get('lock'),
        maxmem=item.get('maxmem'), maxcpu=item.get('maxcpu'), maxdisk=item.get('maxdisk'),
        mem=item.get('mem'), cpu=item.get('cpu'), uptime=item.get('uptime'),
    )


class ClusterView:
    """A snapshot of the cluster from a single ``cluster/resources`` request."""

    def __init__(self, resources):
        self.resources = resources
        self.guests = [guest_record(r) for r in resources if r.get('type') in GUEST_TYPES]
        self.nodes = dict((r['node'], r) for r in resources if r.get('type') == 'node')
        self.storages = {}
        for r in resources:
            if r.get('type') == 'storage':
                self.storages.setdefault(r['storage'], {})[r['node']] = r

    @classmethod
    def read(cls, client):
        return cls(client.get('cluster/resources') or [])

    def online_nodes(self):
        return sorted(n for n, r in self.nodes.items() if r.get('status') == 'online')

    def require_node(self, node, option='node'):
        """Fail clearly for a node that is not in the cluster."""
        if node not in self.nodes:
            raise PveError('{0}: node {1!r} is not in the cluster (nodes: {2})'.format(
                option, node, ', '.join(sorted(self.nodes)) or 'none'))

    def find_guests(self, vmid=None, name=None, guest_type=None):
        found = self.guests
        if vmid is not None:
            found = [g for g in found if g['vmid'] == int(vmid)]
        if name is not None:
            found = [g for g in found if g['name'] == name]
        if guest_type is not None:
            found = [g for g in found if g['type'] == guest_type]
        return found

    def find_guest(self, vmid=None, name=None, guest_type=None):
        """The one guest with this vmid and/or name, or None; two with the same name is an error."""
        found = self.find_guests(vmid, name, guest_type)
        if len(found) > 1:
            raise PveError('name {0!r} is ambiguous: guests {1} share it; select the guest by vmid'.format(
                name, ', '.join('{0} on {1}'.format(g['vmid'], g['node']) for g in found)))
        return found[0] if found else None
