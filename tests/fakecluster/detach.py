"""Removing a disk from a VM's config, as qemu-server does it.

PVE (qemu-server, API2/Qemu.pm vmconfig_delete_or_detach_drive): deleting a disk slot
(`delete=scsi1`) keeps the volume as `unusedN`; deleting `unusedN` frees the volume. fakepve
0.5.0 simply drops the key, which would lose track of the data. Simplified: only for
changes applied at once (a stopped VM); a running VM's delete stays pending as fakepve has it.
"""

import re

from fakepve.qemu import drives_of, split_drive

UNUSED = re.compile(r'^unused\d+$')


class DetachToUnused(object):
    """Mixin of FakeCluster: detached disks become unusedN, deleted unusedN volumes are freed."""

    async def _apply_config(self, vm, user, p):
        deletes = [k for k in str(p.get('delete', '') or '').split(',') if k]
        detached = dict((key, volume) for key, volume, _props in drives_of(vm.config, skip_cdrom=True)
                        if key in deletes and ':' in volume)
        freed = [split_drive(vm.config[k])[0] for k in deletes if UNUSED.match(k) and k in vm.config]
        await super(DetachToUnused, self)._apply_config(vm, user, p)
        for key, volume in sorted(detached.items()):
            if key in vm.config or key in vm.pending:
                continue  # not applied yet (pending on a running VM)
            slot = next('unused{0}'.format(n) for n in range(256) if 'unused{0}'.format(n) not in vm.config)
            vm.config[slot] = volume
        for volume in freed:
            self._qm_free(volume)
