# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The cluster facts every module asks for, owned by one object: ``ClusterView``.

It starts from one ``cluster/resources`` call (guests, nodes, storages). Facts that cost a request
of their own (a node's bridges, a storage's content on a node, the next free vmid) are loaded
only when a planner asks for them: a planner is pure, so instead of reading it raises
``FactNotLoaded``, and ``plan_with_facts`` loads what was asked and plans again. Guests are found
here by vmid or name, cluster-wide, never by scanning nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

GUEST_TYPES = ('qemu', 'lxc')
BRIDGE_TYPES = ('bridge', 'OVSBridge')
VMID_FIRST = 100
# How many rounds of loading a planner may ask for (bridges, then content, then an id): a safety net.
MAX_FACT_ROUNDS = 8


def split_tags(tags):
    """PVE's tag list (``a;b`` or ``a,b``, any case) as a sorted list of lower-case tags."""
    if tags is None:
        return []
    if isinstance(tags, (list, tuple)):
        items = tags
    else:
        items = str(tags).replace(',', ';').replace(' ', ';').split(';')
    return sorted(set(str(t).strip().lower() for t in items if str(t).strip()))


def split_content(value):
    """A storage's content types (``images,rootdir``) as a set."""
    return frozenset(c.strip() for c in str(value or '').split(',') if c.strip())


def guest_record(item):
    """A guest from cluster/resources as the collection returns it: plain, stable keys."""
    return dict(
        vmid=int(item['vmid']), name=item.get('name'), node=item.get('node'), type=item.get('type'),
        status=item.get('status'), template=bool(item.get('template')), pool=item.get('pool'),
        tags=split_tags(item.get('tags')), lock=item.get('lock'),
        maxmem=item.get('maxmem'), maxcpu=item.get('maxcpu'), maxdisk=item.get('maxdisk'),
        mem=item.get('mem'), cpu=item.get('cpu'), uptime=item.get('uptime'),
    )


def guest_path(guest, *parts):
    """The API path of a guest (``nodes/pve1/qemu/100``), with more parts joined on."""
    return '/'.join(['nodes', guest['node'], guest['type'], str(guest['vmid'])] + [str(p) for p in parts])


def guest_matches(guest, vmid=None, name=None, node=None, guest_type=None, pool=None, status=None, tags=None):
    """Whether a guest record passes every filter given (tags: it carries all of them)."""
    return ((vmid is None or guest['vmid'] == int(vmid))
            and (name is None or guest['name'] == name)
            and (node is None or guest['node'] == node)
            and (guest_type is None or guest['type'] == guest_type)
            and (pool is None or guest['pool'] == pool)
            and (status is None or guest['status'] == status)
            and set(split_tags(tags)) <= set(guest['tags']))


class FactNotLoaded(Exception):
    """A planner needs a fact the view has not read yet; ``plan_with_facts`` loads it and plans again.

    ``fact`` is ``bridges`` (of ``node``), ``volumes`` (of ``storage`` on ``node``, of one ``content``
    type), ``appliances`` (the catalogue of ``node``) or ``nextid``. Not a PveError: it never reaches a user.
    """

    def __init__(self, fact, node=None, storage=None, content=None):
        super(FactNotLoaded, self).__init__('{0} {1} {2} {3}'.format(fact, node, storage, content))
        self.fact = fact
        self.node = node
        self.storage = storage
        self.content = content
        self.needs = [self]  # several facts asked at once (a placement looking at every node)

    @classmethod
    def of(cls, needs):
        first = needs[0]
        first.needs = [n for need in needs for n in need.needs]
        return first

    @property
    def key(self):
        return (self.fact, self.node, self.storage, self.content)


class ClusterView:
    """A snapshot of the cluster from a single ``cluster/resources`` request, plus facts loaded on demand.

    Planning state lives here too: vmids and memory that plans made in this run have claimed, so
    that many new guests planned in one task get distinct ids and are spread over the nodes.
    """

    def __init__(self, resources):
        self.resources = resources
        self.guests = [guest_record(r) for r in resources if r.get('type') in GUEST_TYPES]
        # Indexes for finding a guest by vmid or name (a task over thousands of guests looks each one up;
        # a scan per lookup made that quadratic). The guest list is not changed after this.
        self._by_vmid, self._by_name = {}, {}
        for g in self.guests:
            self._by_vmid.setdefault(g['vmid'], []).append(g)
            self._by_name.setdefault(g['name'], []).append(g)
        self.nodes = dict((r['node'], r) for r in resources if r.get('type') == 'node')
        self.storages = {}
        for r in resources:
            if r.get('type') == 'storage':
                self.storages.setdefault(r['storage'], {})[r['node']] = r
        self._facts = {}
        self._claimed_vmids = set()
        self._claim_order = []  # the same ids in the order claimed, so a planning state is just their count
        self._vmid_cursor = VMID_FIRST  # every id from nextid up to here is taken or claimed
        self._claimed_memory = {}

    @classmethod
    def read(cls, client):
        return cls(client.get('cluster/resources') or [])

    # ------------------------------------------------------------------ nodes

    def online_nodes(self):
        return sorted(n for n, r in self.nodes.items() if r.get('status') == 'online')

    def require_node(self, node, option='node'):
        """Fail clearly for a node that is not in the cluster."""
        if node not in self.nodes:
            raise PveError('{0}: node {1!r} is not in the cluster (nodes: {2})'.format(
                option, node, ', '.join(sorted(self.nodes)) or 'none'))

    def require_online(self, node, option='node'):
        """Fail for a node not in the cluster or not online."""
        self.require_node(node, option)
        if self.nodes[node].get('status') != 'online':
            raise PveError('{0}: node {1!r} is offline'.format(option, node))

    def free_memory(self, node):
        """Bytes of memory free on a node, less what guests planned in this run will take."""
        entry = self.nodes.get(node) or {}
        return (entry.get('maxmem') or 0) - (entry.get('mem') or 0) - self._claimed_memory.get(node, 0)

    # --------------------------------------------------------------- storages

    def storage_on(self, storage, node):
        """The cluster/resources entry of a storage on a node, or None where the node does not have it."""
        return (self.storages.get(storage) or {}).get(node)

    def storage_content(self, storage, node):
        return split_content((self.storage_on(storage, node) or {}).get('content'))

    def is_shared(self, storage):
        return any(entry.get('shared') for entry in (self.storages.get(storage) or {}).values())

    def storages_for(self, node, content):
        """The storages of a node that hold a content type, sorted."""
        return sorted(sid for sid in self.storages if content in self.storage_content(sid, node))

    def check_storage(self, storage, node, content, option):
        """The storage exists, is on the node and holds this content type; else a PveError naming ``option``."""
        if storage not in self.storages:
            raise PveError('{0}: storage {1!r} does not exist (storages: {2})'.format(
                option, storage, ', '.join(sorted(self.storages)) or 'none'))
        if self.storage_on(storage, node) is None:
            here = sorted(s for s in self.storages if self.storage_on(s, node) is not None)
            raise PveError('{0}: storage {1!r} is not available on node {2} (storages there: {3})'.format(
                option, storage, node, ', '.join(here) or 'none'))
        holds = self.storage_content(storage, node)
        if content not in holds:
            raise PveError('{0}: storage {1!r} does not hold {2} (its content: {3}); add {2} to its content with '
                           'pve.fleet.storage'.format(option, storage, content, ', '.join(sorted(holds)) or 'none'))

    # ------------------------------------------------------------------ facts

    def _fact(self, fact, node=None, storage=None, content=None):
        key = (fact, node, storage, content)
        if key not in self._facts:
            raise FactNotLoaded(fact, node, storage, content)
        return self._facts[key]

    def bridges(self, node):
        """The names of a node's Linux and OVS bridges."""
        return self._fact('bridges', node)

    def volumes(self, storage, node, content):
        """The volids of one content type a storage holds as seen from a node (a shared storage is read once)."""
        if self.is_shared(storage):
            holders = [n for n in self.online_nodes() if self.storage_on(storage, n) is not None]
            node = holders[0] if holders else node
        return self._fact('volumes', node, storage, content)

    def appliances(self, node):
        """The appliance catalogue (aplinfo) of a node."""
        return self._fact('appliances', node)

    def load(self, client, needs):
        """Read the facts planners asked for (FactNotLoaded instances), eight at a time."""
        wanted = []
        for need in needs:
            if need.key not in self._facts and need.key not in [w.key for w in wanted]:
                wanted.append(need)
        paths = []
        for need in wanted:
            if need.fact == 'bridges':
                paths.append('nodes/{0}/network'.format(need.node))
            elif need.fact == 'volumes':
                paths.append('nodes/{0}/storage/{1}/content?content={2}'.format(need.node, need.storage, need.content))
            elif need.fact == 'appliances':
                paths.append('nodes/{0}/aplinfo'.format(need.node))
            elif need.fact == 'nextid':
                paths.append('cluster/nextid')
            else:
                raise ValueError('unknown fact {0!r}'.format(need.fact))
        for need, answer in zip(wanted, client.get_many(paths)):
            if need.fact == 'bridges':
                # The list has every interface; PVE's type=any_bridge filter is not honoured everywhere.
                value = frozenset(n['iface'] for n in answer or [] if n.get('type') in BRIDGE_TYPES)
            elif need.fact == 'volumes':
                value = frozenset(item.get('volid') for item in answer or [])
            elif need.fact == 'appliances':
                value = list(answer or [])
            else:
                value = int(answer)
            self._facts[need.key] = value

    # ----------------------------------------------------------------- guests

    def find_guests(self, vmid=None, name=None, guest_type=None):
        if vmid is not None:
            candidates = self._by_vmid.get(int(vmid), [])
        elif name is not None:
            candidates = self._by_name.get(name, [])
        else:
            candidates = self.guests
        return [g for g in candidates if guest_matches(g, vmid=vmid, name=name, guest_type=guest_type)]

    def find_guest(self, vmid=None, name=None, guest_type=None):
        """The one guest with this vmid and/or name, or None; two with the same name is an error."""
        found = self.find_guests(vmid, name, guest_type)
        if len(found) > 1:
            raise PveError('name {0!r} is ambiguous: guests {1} share it; select the guest by vmid'.format(
                name, ', '.join('{0} on {1}'.format(g['vmid'], g['node']) for g in found)))
        return found[0] if found else None

    def select(self, vmid=None, name=None, node=None, guest_type=None, pool=None, status=None, tags=None):
        """The guests that pass every filter given, sorted by vmid: the one guest filter of the collection."""
        return sorted((g for g in self.guests if guest_matches(g, vmid, name, node, guest_type, pool, status, tags)),
                      key=lambda g: g['vmid'])

    # --------------------------------------------------------------- planning

    def planning_state(self):
        """What plans have claimed so far, to go back to with restore_planning_state (cheap: planning many new
        guests saves it once per guest)."""
        return len(self._claim_order), dict(self._claimed_memory), self._vmid_cursor

    def restore_planning_state(self, saved):
        count, memory, cursor = saved
        self._claimed_vmids.difference_update(self._claim_order[count:])
        del self._claim_order[count:]
        self._claimed_memory, self._vmid_cursor = dict(memory), cursor

    def claim_vmid(self, vmid=None):
        """A vmid for a guest this run will make: the one asked for, or the next free one.

        The first free id comes from PVE (``cluster/nextid``, which honours the datacenter's id range);
        ids claimed earlier in this run are skipped, so a batch of new guests gets distinct ids.
        """
        if vmid is not None:
            vmid = int(vmid)
            if vmid in self._claimed_vmids:
                raise PveError('vmid: {0} is given to two new guests of this task'.format(vmid))
        else:
            vmid = max(self._fact('nextid'), VMID_FIRST, self._vmid_cursor)
            while vmid in self._by_vmid or vmid in self._claimed_vmids:
                vmid += 1
            self._vmid_cursor = vmid + 1  # the next search starts past the ids this one skipped
        self._claimed_vmids.add(vmid)
        self._claim_order.append(vmid)
        return vmid

    def place(self, memory, fits):
        """The online node for a new guest: among those where ``fits(node)`` holds, the one with the most
        free memory (ties by name); ``memory`` (bytes) is then counted against it for later placements.
        ``fits`` may raise FactNotLoaded. None when no online node fits."""
        candidates, needs = [], []
        for node in self.online_nodes():
            try:
                if fits(node):
                    candidates.append(node)
            except FactNotLoaded as need:
                needs.append(need)
        if needs:
            raise FactNotLoaded.of(needs)
        if not candidates:
            return None
        node = sorted(candidates, key=lambda n: (-self.free_memory(n), n))[0]
        self._claimed_memory[node] = self._claimed_memory.get(node, 0) + (memory or 0)
        return node


def plan_with_facts(client, cluster, planner):
    """Call the pure ``planner()`` until it has every fact it needs: each FactNotLoaded it raises is read
    (with the others it raises in later rounds) and the planner runs again. Returns its plan."""
    for _round in range(MAX_FACT_ROUNDS):
        saved = cluster.planning_state()
        try:
            return planner()
        except FactNotLoaded as need:
            cluster.restore_planning_state(saved)  # what the interrupted attempt claimed is claimed again
            cluster.load(client, need.needs)
    return planner()
