"""Node load that follows the running guests, so placement can be computed from the API.

PVE's pvestatd reports a node's memory and CPU as the host sees them; a running VM's
QEMU process holds about its configured memory, a container what it uses. Simplified:
a node has a fixed base load, each running guest adds its configured memory (or
`stats['mem']` when a test set one) and its CPU share (`stats['cpu']`, else fakepve's
0.02) times its vCPUs; stopped guests add nothing. Sizes per node: `nodes[name]['maxmem']`,
`['maxcpu']`. Shown in /nodes, /cluster/resources (type node) and /nodes/{node}/status; a running
guest's `mem` in /cluster/resources is the same figure its node counts for it.
"""

import json

from aiohttp import web

GIB = 1024 ** 3
MIB = 1024 ** 2
NODE_MAXMEM = 64 * GIB
NODE_MAXCPU = 16
BASE_MEM = 2 * GIB
BASE_CPU = 0.01
IDLE_GUEST_CPU = 0.02


def _memory_mib(config):
    """The memory option in MiB (PVE 9 also writes it as current=<MiB>)."""
    return int(str(config.get('memory', 512)).rsplit('=', 1)[-1])


class NodeLoad(object):
    """Mixin of FakePve: node mem/cpu from the running guests."""

    def _routes_fleet_load(self):
        return [('GET', '/nodes/{node}/status', self._node_status)]

    def _guest_vcpus(self, guest):
        config = guest.config
        if guest in self.vms:
            return int(config.get('cores', 1)) * int(config.get('sockets', 1))
        return int(config.get('cores') or 1)

    def node_load(self, node):
        """{'cpu', 'maxcpu', 'mem', 'maxmem'} of a node, from the guests running on it."""
        state = self.nodes[node]
        maxmem, maxcpu = state.get('maxmem', NODE_MAXMEM), state.get('maxcpu', NODE_MAXCPU)
        mem, cpus = BASE_MEM, BASE_CPU * maxcpu
        for guest in self._guests():
            if guest.node != node or guest.status != 'running':
                continue
            mem += self.guest_memory(guest)
            cpus += guest.stats.get('cpu', IDLE_GUEST_CPU) * self._guest_vcpus(guest)
        return {'cpu': round(min(cpus / maxcpu, 1.0), 4), 'maxcpu': maxcpu, 'mem': min(mem, maxmem),
                'maxmem': maxmem}

    def guest_memory(self, guest):
        """Bytes a running guest holds, the same figure its node's load counts."""
        return guest.stats.get('mem', _memory_mib(guest.config) * MIB)

    def _with_load(self, entries):
        """Nodes carry the load of their running guests; each running guest shows the memory counted for it
        (so a placement computed from cluster/resources adds up the way the nodes do)."""
        for entry in entries:
            if entry.get('type') == 'node' and entry.get('status') == 'online':
                entry.update(self.node_load(entry['node']))
            elif entry.get('type') in ('qemu', 'lxc') and entry.get('status') == 'running':
                guest = self.guest(int(entry['vmid']))
                if guest is not None:
                    entry['mem'] = self.guest_memory(guest)
                    entry['maxmem'] = max(entry.get('maxmem') or 0, entry['mem'])
        return entries

    async def _nodes(self, request):
        response = await super()._nodes(request)
        return web.json_response({'data': self._with_load(json.loads(response.text)['data'])})

    async def _resources(self, request):
        response = await super()._resources(request)
        return web.json_response({'data': self._with_load(json.loads(response.text)['data'])})

    async def _node_status(self, v, user):
        node = v['node']
        load = self.node_load(node)
        data = {'cpu': load['cpu'], 'wait': 0, 'idle': 0, 'uptime': 3600,
                'loadavg': ['{0:.2f}'.format(load['cpu'] * load['maxcpu'])] * 3,
                'cpuinfo': {'cpus': load['maxcpu'], 'cores': load['maxcpu'] // 2, 'sockets': 1,
                            'model': 'Fake Virtual CPU', 'mhz': '2400.000', 'hvm': '1', 'flags': '',
                            'user_hz': 100},
                'memory': {'total': load['maxmem'], 'used': load['mem'], 'free': load['maxmem'] - load['mem'],
                           'available': load['maxmem'] - load['mem']},
                'swap': {'total': 8 * GIB, 'used': 0, 'free': 8 * GIB},
                'rootfs': {'total': 64 * GIB, 'used': 4 * GIB, 'free': 60 * GIB, 'avail': 60 * GIB},
                'ksm': {'shared': 0}, 'kversion': 'Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX',
                'pveversion': 'pve-manager/{0}/fakepve'.format(self.version),
                'current-kernel': {'sysname': 'Linux', 'release': '6.14.11-4-pve', 'machine': 'x86_64',
                                   'version': '#1 SMP PREEMPT_DYNAMIC PMX'},
                'boot-info': {'mode': 'efi', 'secureboot': 0}}
        return self._complete('/nodes/{node}/status', data, node=node)
