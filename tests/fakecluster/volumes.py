"""Where volumes live, how big they are, and the cluster's clock.

fakepve keeps one content list per storage for the whole cluster. On PVE a storage that
is not `shared` is a different disk on every node: a backup written to `local` on pve1
is not there on pve2. So a volume on a node-local storage belongs to a node: its own
`node` key (backups, downloads), else the node of the guest that owns it (disks follow
their guest when it migrates), else every node (files a test seeded by hand).
"""

import re
import time

from fakepve.lxc import format_size, parse_mount, parse_size
from fakepve.qemu import drives_of, is_cdrom, split_drive, volume_ref
from fakepve.routing import split_list

UNUSED_KEY = re.compile(r'^unused\d+$')


def storage_map(text):
    """PVE::JSONSchema::parse_idmap of a target storage option: {'entries', 'default', 'identity'}."""
    out = {'entries': {}, 'default': None, 'identity': False}
    for item in split_list(text):
        if item == '1':
            out['identity'] = True
        elif ':' in item:
            source, _sep, target = item.partition(':')
            out['entries'][source] = target
        else:
            out['default'] = item
    return out


def map_storage(mapping, sid):
    """PVE::JSONSchema::map_id: where a volume of storage `sid` goes."""
    if not mapping or mapping['identity']:
        return sid
    return mapping['entries'].get(sid) or mapping['default'] or sid


def qemu_volumes(config):
    """The volumes of a VM config: dicts with key, volid, props, cdrom, unused (foreach_volid, simplified)."""
    out = []
    for key, volume, props in drives_of(config):
        out.append({'key': key, 'volid': volume, 'props': props, 'cdrom': is_cdrom(volume, props), 'unused': False})
    for key in sorted(k for k in config if UNUSED_KEY.match(k)):
        volume, props = split_drive(config[key])
        out.append({'key': key, 'volid': volume, 'props': props, 'cdrom': False, 'unused': True})
    return out


def ct_volumes(config):
    """(key, mount) of a container config's mount points, storage volumes and bind/device mounts alike."""
    return [(key, parse_mount(config[key])) for key in sorted(config)
            if key == 'rootfs' or re.fullmatch(r'(mp|unused)\d+', key)]


class Volumes(object):
    """Mixin of FakePve: node-local content, volume sizes, and a clock tests can move."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Seconds added to the wall clock: backup names and prune buckets follow it.
        self.clock_offset = 0

    # ----------------------------------------------------------------- clock

    def now(self):
        """The cluster's time (epoch seconds)."""
        return int(time.time() + self.clock_offset)

    def advance_clock(self, seconds):
        """Move the cluster's clock on, e.g. a day between two backups so keep-daily has two buckets."""
        self.clock_offset += seconds

    # ----------------------------------------------------------- node-local

    def is_shared(self, sid):
        return bool(self.storages.get(sid, {}).get('shared'))

    def volume_node(self, sid, volname, vol=None):
        """The node a volume is on, or None if it is on every node (shared storage, or seeded)."""
        if self.is_shared(sid):
            return None
        vol = vol if vol is not None else self.storages[sid].get('volumes', {}).get(volname, {})
        if vol.get('node'):
            return vol['node']
        owner = self.guest(vol['vmid']) if vol.get('vmid') is not None and vol.get('content') != 'backup' else None
        return owner.node if owner is not None else None

    def volume_on_node(self, volid, node):
        """The stored volume dict if volid exists and is visible from node, else None."""
        sid, volname = volume_ref(str(volid))
        if sid not in self.storages or not self._storage_enabled(sid, node):
            return None
        vol = self._volumes(sid).get(volname)
        if vol is None or self.volume_node(sid, volname, vol) not in (None, node):
            return None
        return vol

    async def _content_list(self, v, user):
        """A node-local storage lists only what is on this node."""
        items = await super()._content_list(v, user)
        out = []
        for item in items:
            sid, volname = volume_ref(item['volid'])
            vol = self._volumes(sid).get(volname, {})
            if self.volume_node(sid, volname, vol) in (None, v['node']):
                if vol.get('subtype'):
                    item['subtype'] = vol['subtype']
                out.append(item)
        return out

    # ----------------------------------------------------------------- sizes

    def volume_size(self, volid, fallback=0):
        """Bytes of a volume as its storage knows it."""
        sid, volname = volume_ref(str(volid))
        vol = self._volumes(sid).get(volname) if sid in self.storages else None
        return int(vol.get('size') or fallback) if vol else fallback

    def set_volume_size(self, volid, size):
        """Grow a stored volume to `size` bytes, taking the space from the storage."""
        sid, volname = volume_ref(str(volid))
        store = self.storages.get(sid)
        vol = store.get('volumes', {}).get(volname) if store else None
        if vol is None:
            return  # known only from a guest config: its size= is the size
        if 'avail' in store:
            store['avail'] -= size - int(vol.get('size') or 0)
        vol['size'] = size

    @staticmethod
    def drive_size(props):
        """Bytes in a drive's or mount point's size= option (0 when it has none)."""
        return (parse_size(props['size']) or 0) if props.get('size') else 0

    @staticmethod
    def with_size(props, size):
        return dict(props, size=format_size(size))
