"""Without quorum /etc/pve is read-only, so PVE refuses every API write that would change it.

fakepve checks quorum in its own config, power and create handlers; the areas this package adds (users,
ACLs, storage definitions, backup jobs, firewall files, pools, vzdump, template downloads) write
/etc/pve too (pmxcfs: PVE::Cluster::cfs_lock_file dies with "cluster not ready - no quorum?" when the
node is not quorate). Logging in still works: a ticket needs no write.
"""

from fakepve.server import error

WRITES = ('POST', 'PUT', 'DELETE')


class Quorum(object):
    """Mixin of FakePve: while quorum is lost (lose_quorum()), every write is PVE's 500 'no quorum?'."""

    async def _answer(self, request, handler, generic, path_node):
        if not self.quorate and request.method in WRITES and not request.path.endswith('/access/ticket'):
            return error(500, 'cluster not ready - no quorum?')
        return await super()._answer(request, handler, generic, path_node)
