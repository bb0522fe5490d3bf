"""Storage definitions: what PVE adds to a storage.cfg entry when it reads it.

fakepve checks the per-type options on create and update (pve-storage's plugins'
options() tables, API2/Storage/Config.pm). PVE's Plugin.pm parse_config also marks the
types that are shared by nature (`@SHARED_STORAGE`: iscsi, nfs, cifs, rbd, cephfs,
iscsidirect, zfs, drbd, pbs) `shared: 1`, whatever the entry says; dir and lvm are shared
only when they say so. Migration and restore read `shared` to tell node-local from shared.
"""

SHARED_TYPES = ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs')
STORAGE_PATHS = ('/storage', '/storage/{storage}')


class StorageDefinitions(object):
    """Mixin of FakePve: storages of the shared types are shared."""

    async def answer(self, request, match, params, user, call=None):
        """`content=none` passes: fakepve's schema check of pve-storage-content refuses it, PVE's
        verify_content takes it for the types that list it (dir, iscsi, ...), which _sc_* then check."""
        if call is not None and match is not None and match.template in STORAGE_PATHS \
                and str(params.get('content', '')).strip() == 'none':
            params, checked = dict(params, content='images'), call

            async def call(match, values):
                return await checked(match, dict(values, content='none'))
        return await super().answer(request, match, params, user, call)

    def _mark_shared(self, sid):
        store = self.storages.get(sid)
        if store is not None and store.get('type') in SHARED_TYPES:
            store['shared'] = 1

    async def _sc_create(self, v, user):
        data = await super()._sc_create(v, user)
        self._mark_shared(v['storage'])
        return data

    async def _ns_list(self, v, user):
        """GET /nodes/{node}/storage?enabled=1 leaves out storages not configured for the node, too."""
        items = await super()._ns_list(v, user)
        return [item for item in items if item['enabled']] if v.get('enabled') else items

    async def _sc_update(self, v, user):
        data = await super()._sc_update(v, user)
        self._mark_shared(v['storage'])
        return data
