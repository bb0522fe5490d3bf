"""A node's own configuration (/etc/pve/nodes/<node>/config): its notes, kept.

pve-manager PVE/API2/NodeConfig.pm (GET and PUT /nodes/{node}/config) over PVE/NodeConfig.pm:
the notes are the `description` property (written as comment lines at the top of the file),
a PUT sets the properties given and deletes those in `delete`, `digest` (the SHA1 of the file)
refuses a change made meanwhile, and GET `property` returns only that one. fakepve answers these
paths with a synthesised value and keeps nothing; the evacuate module keeps its record there.
Simplified: only `description`, `startall-onboot-delay` and `ballooning-target` are kept as given;
ACME and wake-on-LAN settings are stored as text, not parsed.
"""

import hashlib
import json

from fakepve import PveError

KEPT = ('acme', 'ballooning-target', 'description', 'location', 'startall-onboot-delay', 'wakeonlan')


class NodeConfig(object):
    """Mixin of FakePve: GET/PUT /nodes/{node}/config with a digest; ``node_configs`` is the state."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.node_configs = {}

    def _routes_fleet_node_config(self):
        return [('GET', '/nodes/{node}/config', self._node_config_get),
                ('PUT', '/nodes/{node}/config', self._node_config_put)]

    def _node_config_digest(self, node):
        text = json.dumps(self.node_configs.get(node, {}), sort_keys=True)
        return hashlib.sha1(text.encode('utf-8')).hexdigest()

    async def _node_config_get(self, v, user):
        config = dict(self.node_configs.get(v['node'], {}))
        if v.get('property'):
            return dict((k, val) for k, val in config.items() if k == v['property'])
        config['digest'] = self._node_config_digest(v['node'])
        return config

    async def _node_config_put(self, v, user):
        node = v['node']
        if v.get('digest') and v['digest'] != self._node_config_digest(node):
            raise PveError(500, 'detected modified configuration - file changed by other user? Try again.')
        config = self.node_configs.setdefault(node, {})
        for key in KEPT:
            if v.get(key) is not None:
                config[key] = str(v[key])
        for key in str(v.get('delete') or '').replace(';', ',').split(','):
            config.pop(key.strip(), None)
        return None
