# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""Where guests should run: evacuating a node, rebalancing the cluster, returning guests home.

Pure planning: plain data in, a ``Placement`` out; no I/O, no clock, no randomness. The same
input always gives the same output (nodes are taken in name order, guests in vmid order).

Entry points
------------
``plan_evacuation(state, node, selection=None, options=None)``
    every guest on ``node`` (or the vmids in ``selection``) gets a target, or is listed in
    ``blocked`` with the reason it cannot move.
``plan_rebalance(state, options=None)``
    moves from the most to the least loaded node while the spread of load shares is above
    ``balanciness``, each move lowering it.
``plan_return(state, origins, options=None)``
    moves guests back to the nodes they were evacuated from (``origins``: ``{vmid: node}`` or a
    list of ``{'vmid': ..., 'node': ...}``).
``planned_state(state, placement)``
    the state as it will be once the moves are done (guests on their targets, node use moved
    with them): planning again on it is how "nothing left to do" is checked.
``check_options(options)``
    the options with defaults filled in, or a PveError naming the wrong one.

Input: ``state``
----------------
A dict of four lists. Field names are PVE's own where PVE has the value, so a reader fills
them from ``cluster/resources`` (one call) plus a few more calls:

``nodes``: one dict per cluster node (``cluster/resources`` entries of type ``node``)
    ``node`` (str, required) the node name;
    ``status`` ``'online'`` or anything else (offline);
    ``maintenance`` (bool, default False): the node is in HA maintenance mode
    (``cluster/ha/status/manager_status`` ``node_status`` ``maintenance``) or otherwise out of
    service; such a node is never a target;
    ``maxmem``, ``mem`` (bytes): memory size and use; ``maxcpu`` (cores) and ``cpu`` (share of
    ``maxcpu`` in use, 0..1), as ``cluster/resources`` reports them.
``storages``: one dict per storage and node (``cluster/resources`` entries of type ``storage``)
    ``node``, ``storage`` (str, required); ``shared`` (bool or 0/1): the same storage on every
    node that lists it (NFS, Ceph, iSCSI, shared LVM) as opposed to node-local (local-lvm, a
    ZFS pool, a directory); ``content`` (``'images,rootdir'`` or a list; absent: not checked);
    ``status`` (absent or ``'available'``: usable) and ``enabled`` (default True; the reader sets
    it False for ``disable`` in ``storage.cfg``; ``disable: 1`` is understood too). A storage
    a node does not list, or lists as unusable, is not on that node.
``guests``: one dict per guest (``cluster/resources`` entries of type ``qemu`` and ``lxc``)
    ``vmid`` (int, required), ``name``, ``type`` (``qemu`` or ``lxc``), ``node`` (required),
    ``status`` (``running``; anything else counts as stopped), ``maxmem``, ``mem`` (bytes),
    ``maxcpu`` (vCPUs), ``cpu`` (share of ``maxcpu`` in use, 0..1), ``tags`` (PVE's ``a;b``
    string or a list), ``template`` (0/1), ``lock`` (any lock blocks the guest), ``hastate``
    (present for HA-managed guests; ``ha`` (bool) says it explicitly instead);
    from the guest's config:
    ``disks``: a list of ``{'storage': id, 'key': 'scsi0', 'local': bool, 'cdrom': bool,
    'content': 'images'}`` for every volume that moves with the guest (disks, unusedN, the
    container's rootfs and volume mount points, CD-ROM images, cloud-init drives, EFI and TPM
    state); ``local`` defaults to "the storage is not shared on the guest's node"; ``content``
    defaults to ``images`` (qemu) or ``rootdir`` (lxc);
    ``local_resources``: config keys PVE cannot migrate (``hostpci0``, ``usb0`` with a host
    device, a bind mount ``mp0``); any blocks the guest.
``ha_rules``: ``cluster/ha/rules`` entries (PVE 9), as PVE returns them
    ``rule`` (id), ``type`` (``node-affinity`` or ``resource-affinity``), ``resources``
    (``'vm:101,ct:102'`` or a list), ``disable``; node-affinity: ``nodes`` (``'pve1:2,pve2'``,
    a priority per node, default 0; or ``{node: priority}``) and ``strict`` (default 0);
    resource-affinity: ``affinity`` (``positive`` or ``negative``); ``errors``: PVE's own
    verdict that the rule is infeasible (the rule is then not applied). ``ha.read_ha_rules``
    output (``disabled``, ``nodes`` as a dict) is understood as well.

Rules
-----
- Tags: ``affinity-<group>`` keeps its guests on one node, ``anti-affinity-<group>`` on
  different nodes, ``pin-<node>`` (several: any of them) restricts a guest to those nodes,
  ``no-balance`` keeps a guest out of rebalancing (an evacuation still moves it: the node is
  being emptied on purpose, and a guest left behind would go down with it).
- HA rules follow pve-ha-manager (``PVE::HA::Rules*``): disabled rules are skipped; rules the
  HA manager itself drops as infeasible are dropped here too, with a warning (a resource in
  two node-affinity rules; a resource-affinity rule of fewer than two resources; a negative rule
  of more resources than nodes; positive and negative rules sharing two resources; a resource
  affinity rule with a resource in a node-affinity rule of several priorities; a positive group
  in two node-affinity rules; a negative rule whose node-affinity rules leave fewer nodes than
  it has resources). Connected positive rules merge into one group, a group inherits the
  negative rules and the node-affinity rule of each member. A strict node-affinity rule limits
  the targets to its nodes; a non-strict one prefers its highest priority (other nodes rank
  below every listed one): an evacuation takes the highest priority that has room, a rebalance
  never moves a guest to a node of lower priority than the one it is on (HA would move it back).
- Tag groups and HA rules meet in one model: a positive group (tag or rule) and everything
  connected to it is one unit that moves together to one target; tag groups contradicting each
  other or an HA rule (two members of a positive group also in one negative group) are not
  applied, with a warning.
- Storage: every storage a guest's volumes are on must be usable on the target, with the
  content type; node-local volumes are copied (``with_local_disks`` in the move). A running VM
  with node-local volumes moves live only with the option ``with_local_disks``; a node-local
  CD-ROM image blocks a guest (PVE refuses it). A running VM moves ``online``, a running
  container in ``restart`` mode (never live), anything stopped ``offline``.
- Capacity: a move never takes its target above ``100 - memory_reserve`` percent of memory
  (by the ``mode``). Load is the node's own use (its use minus that of its running guests,
  never below 0) plus its guests': ``used`` takes what running guests use now (a stopped guest
  weighs nothing); ``assigned`` takes every guest's configured size, running or not (safe for
  stopped guests that may start). Templates weigh nothing. ``metric`` (memory or cpu) is what
  is balanced and what "least loaded" means; memory is always what the reserve limits.

Output: ``Placement``
---------------------
``moves``, in order, one per guest: ``vmid``, ``name``, ``type``, ``source``, ``target``;
``mode``: ``online`` (a running VM), ``restart`` (a running container: stopped, moved,
started), ``offline`` (anything stopped); ``with_local_disks``: node-local volumes are copied
(for an online move the caller sends PVE's ``with-local-disks=1``; offline and restart moves
copy them by themselves); ``local_storages``: their storage ids; ``ha``: HA-managed, so the
caller moves it through HA (``cluster/ha/resources/{sid}/migrate``); ``group``: the affinity
group it moves with (None: alone; a group's members follow each other with one target);
``wave``: moves of one wave can run at once (a move waits for every earlier move out of its
target, whose room it counts on, and for earlier moves of its own guest): every evacuation
move is wave 1; ``reason``: a sentence for a person.
``blocked``: ``{'vmid', 'name', 'node', 'reason'}`` per guest that cannot move (in a
rebalance: will not move, e.g. templates, ``no-balance``, guests on a node in maintenance).
``skipped``: guests asked for with nothing to do (selected but on another node; already home).
``warnings``: rules not applied, and why. ``truncated``: the rebalance stopped at ``max_moves``
with an improving move left. ``load``: ``{'metric', 'mode', 'before', 'after'}``, each
``{node: {'share', 'memory_share', 'guests'}}``: percent of the node's capacity in the metric
and in memory (None for a node not online), and how many guests it holds. ``spread``:
``{'before', 'after'}``, the highest minus the lowest share over the nodes online and out of
maintenance (for an evacuation, the nodes other than the one emptied). ``to_result()`` gives
all of it as plain data for a module's result.

Options
-------
``metric`` (memory | cpu, default memory), ``mode`` (used | assigned, default used),
``memory_reserve`` (percent of memory kept free, default 10), ``balanciness`` (percentage
points of spread a rebalance tolerates, default 10), ``max_moves`` (default None: no limit),
``with_local_disks`` (default False: a running VM with node-local disks does not move).

Evacuation and return
---------------------
The node being emptied is never a target, nor is a node offline or in maintenance. Groups
are placed largest first (memory by the mode); each goes to the least loaded node (share
after the move) that fits, within the highest HA priority that has room; a guest weighing
nothing (stopped, in ``used`` mode) goes where its configured size fits best, so stopped guests
spread out. A group member selected moves with all its group on the node; a group with
members on other nodes joins them (where most of them run, as HA does). A node that is offline
cannot be emptied (every guest blocked: PVE migrates only from a running node). A return moves
each group back to its recorded node only if all of it goes there and the rest of the group
runs there already; otherwise, and for a target that no longer fits, it says why.

Rebalance
---------
While the spread is above ``balanciness`` and fewer than ``max_moves`` moves are planned
(None: no limit; a group counts one move per guest): take the most loaded node as source and
the least loaded as target (then the next ones, as long as one of the two is at the extreme);
move the unit whose weight comes closest to evening the two out and that fits the target. A
move is taken only if it lowers the spread, or, where several nodes share the highest or the
lowest share, keeps the spread and lowers how many do (the next move then lowers it); so the
spread never rises, and planning again on ``planned_state`` of an untruncated plan finds no
move. Units weighing nothing (stopped guests in ``used`` mode) are never moved by a rebalance,
and a group split over nodes is left as it is (reported in ``blocked``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import re

from ansible_collections.pve.fleet.plugins.module_utils.cluster import split_tags
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError

METRICS = ('memory', 'cpu')
MODES = ('used', 'assigned')
DEFAULTS = dict(metric='memory', mode='used', memory_reserve=10, balanciness=10, max_moves=None,
                with_local_disks=False)
NO_BALANCE = 'no-balance'

# Shares are percent; two shares closer than this are equal (ties), a change smaller is none.
_EPS = 1e-6
# A millicore: CPU use is counted in integers so that the same state always sums to the same load.
_MILLI = 1000
_HA_SID = re.compile(r'^(?:(?:vm|ct):)?(\d+)$')
_HA_NODE = re.compile(r'^([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?::(\d+))?$')


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'yes', 'true', 'on')
    return bool(value)


def _number(item, key, where):
    value = item.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PveError('{0}.{1}: must be a number of at least 0, got {2!r}'.format(where, key, value))
    return value


def _split(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        items = re.split(r'[,;\s]+', str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def _pve_errors(errors):
    """PVE's per-rule errors ({'resources': ['...']}, or a string) as one line."""
    if isinstance(errors, dict):
        texts = []
        for key in sorted(errors):
            value = errors[key]
            texts.extend(value if isinstance(value, list) else [value])
        return '; '.join(str(t).strip().rstrip('.') for t in texts)
    return str(errors).strip()


def _listing(names, limit=4):
    names = list(names)
    if len(names) > limit:
        return '{0} and {1} more'.format(', '.join(names[:limit]), len(names) - limit)
    return ', '.join(names)


def _pct(value):
    return None if value is None else round(value, 2)


def _pct_text(value):
    return 'n/a' if value is None else '{0:.1f} %'.format(value)


def check_options(options):
    """The planner's options with defaults filled in; a PveError naming the first wrong one."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise PveError('options: unknown option {0} (known: {1})'.format(
            ', '.join(unknown), ', '.join(sorted(DEFAULTS))))
    out = dict(DEFAULTS)
    out.update((k, v) for k, v in options.items() if v is not None)
    if out['metric'] not in METRICS:
        raise PveError('metric: must be one of {0}, got {1!r}'.format(', '.join(METRICS), out['metric']))
    if out['mode'] not in MODES:
        raise PveError('mode: must be one of {0}, got {1!r}'.format(', '.join(MODES), out['mode']))
    for key in ('memory_reserve', 'balanciness'):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 100:
            raise PveError('{0}: must be between 0 and 100 (percent), got {1!r}'.format(key, value))
    value = out['max_moves']
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise PveError('max_moves: must be a whole number of at least 0, got {0!r}'.format(value))
    if not isinstance(out['with_local_disks'], bool):
        raise PveError('with_local_disks: must be true or false, got {0!r}'.format(out['with_local_disks']))
    return out


class _Storage:
    __slots__ = ('shared', 'usable', 'content')

    def __init__(self, shared, usable, content):
        self.shared = shared
        self.usable = usable
        self.content = content


class _Node:
    __slots__ = ('index', 'name', 'online', 'maintenance', 'maxmem', 'mem', 'maxcpu', 'cpu', 'storages')

    def __init__(self, index, item, where):
        self.index = index
        self.name = str(item['node'])
        self.online = item.get('status') == 'online'
        self.maintenance = _truthy(item.get('maintenance'))
        self.maxmem = int(_number(item, 'maxmem', where))
        self.mem = int(_number(item, 'mem', where))
        self.maxcpu = _number(item, 'maxcpu', where)
        self.cpu = _number(item, 'cpu', where)
        self.storages = {}

    @property
    def eligible(self):
        """Can take guests: online, out of maintenance, with memory to give."""
        return self.online and not self.maintenance and self.maxmem > 0


class _Disk:
    __slots__ = ('storage', 'key', 'local', 'cdrom', 'content')

    def __init__(self, storage, key, local, cdrom, content):
        self.storage = storage
        self.key = key
        self.local = local
        self.cdrom = cdrom
        self.content = content

    def describe(self):
        return '{0} on {1}'.format(self.key, self.storage) if self.key else self.storage


class _Guest:
    __slots__ = ('vmid', 'name', 'type', 'node', 'running', 'template', 'ha', 'lock', 'tags', 'disks',
                 'local_resources', 'used_mem', 'assigned_mem', 'used_cpu', 'assigned_cpu', 'pins', 'mask',
                 'ha_nodes', 'blocker', 'no_balance')

    def describe(self):
        return '{0} ({1})'.format(self.vmid, self.name) if self.name else str(self.vmid)

    @property
    def mode(self):
        if not self.running:
            return 'offline'
        return 'online' if self.type == 'qemu' else 'restart'

    @property
    def local_disks(self):
        return [d for d in self.disks if d.local]


class _Group:
    """A positive (together) or negative (apart) set of vmids, from a tag or an HA rule."""

    def __init__(self, label, vmids):
        self.label = label
        self.vmids = frozenset(vmids)


class _Unit:
    """Guests that move together (an affinity group, or one guest) and what they need of a target."""

    __slots__ = ('uid', 'members', 'group', 'node', 'mask', 'prio', 'anti', 'blocker',
                 'used_mem', 'assigned_mem', 'used_cpu', 'assigned_cpu')

    def __init__(self, uid, members, group):
        self.uid = uid
        self.members = members
        self.group = group
        self.node = members[0].node
        self.mask = -1
        for guest in members:
            self.mask &= guest.mask
        self.prio = None
        self.anti = frozenset()
        self.blocker = None
        self.used_mem = sum(g.used_mem for g in members)
        self.assigned_mem = sum(g.assigned_mem for g in members)
        self.used_cpu = sum(g.used_cpu for g in members)
        self.assigned_cpu = sum(g.assigned_cpu for g in members)

    @property
    def vmid(self):
        return self.members[0].vmid


class Placement:
    """The planned moves, the guests that cannot move (each with why), and node load before and after."""

    def __init__(self, kind, options):
        self.kind = kind
        self.options = options
        self.moves = []
        self.blocked = []
        self.skipped = []
        self.warnings = []
        self.load = dict(metric=options['metric'], mode=options['mode'], before={}, after={})
        self.spread = dict(before=None, after=None)
        self.truncated = False

    @property
    def changed(self):
        return bool(self.moves)

    def to_result(self):
        return dict(moves=[dict(m) for m in self.moves], blocked=[dict(b) for b in self.blocked],
                    skipped=[dict(s) for s in self.skipped], warnings=list(self.warnings),
                    load=dict(metric=self.load['metric'], mode=self.load['mode'],
                              before=dict((k, dict(v)) for k, v in self.load['before'].items()),
                              after=dict((k, dict(v)) for k, v in self.load['after'].items())),
                    spread=dict(self.spread), truncated=self.truncated)


class _Cluster:
    """The parsed state: nodes, guests, rules compiled into units, and the load bookkeeping."""

    def __init__(self, state, options):
        if not isinstance(state, dict):
            raise PveError('state: must be a dict with nodes, storages, guests and ha_rules')
        self.options = options
        self.warnings = []
        self.spread_nodes = None
        self._parse_nodes(state.get('nodes') or [])
        self._parse_storages(state.get('storages') or [])
        self._parse_guests(state.get('guests') or [])
        positive, negative, ha_nodes = self._compile_ha_rules(state.get('ha_rules') or [])
        self._apply_rules(positive, negative, ha_nodes)
        self._count_load()

    # -- input --------------------------------------------------------------------------------

    def _parse_nodes(self, items):
        named = {}
        for i, item in enumerate(items):
            where = 'nodes[{0}]'.format(i)
            if not isinstance(item, dict) or not item.get('node'):
                raise PveError('{0}.node: every node needs its name'.format(where))
            if str(item['node']) in named:
                raise PveError('{0}.node: {1} is listed twice'.format(where, item['node']))
            named[str(item['node'])] = item
        self.nodes = []
        for index, name in enumerate(sorted(named)):
            self.nodes.append(_Node(index, named[name], 'nodes[{0}]'.format(name)))
        self.by_name = dict((n.name, n) for n in self.nodes)
        self.by_lower = dict((n.name.lower(), n) for n in self.nodes)
        self.eligible_mask = 0
        for node in self.nodes:
            if node.eligible:
                self.eligible_mask |= 1 << node.index
        reserve = self.options['memory_reserve']
        self.mem_limit = [n.maxmem * (100.0 - reserve) / 100.0 for n in self.nodes]

    def _parse_storages(self, items):
        for i, item in enumerate(items):
            where = 'storages[{0}]'.format(i)
            if not isinstance(item, dict) or not item.get('storage') or not item.get('node'):
                raise PveError('{0}: every storage entry needs node and storage'.format(where))
            node = self.by_name.get(str(item['node']))
            if node is None:
                raise PveError('{0}.node: {1} is not among the nodes'.format(where, item['node']))
            enabled = _truthy(item.get('enabled', True)) and not _truthy(item.get('disable'))
            usable = enabled and item.get('status') in (None, 'available')
            content = item.get('content')
            content = frozenset(_split(content)) if content is not None else None
            node.storages[str(item['storage'])] = _Storage(_truthy(item.get('shared')), usable, content)
        self._storage_masks = {}

    def _storage_mask(self, storage, content):
        key = (storage, content)
        mask = self._storage_masks.get(key)
        if mask is None:
            mask = 0
            for node in self.nodes:
                st = node.storages.get(storage)
                if st is not None and st.usable and (st.content is None or content in st.content):
                    mask |= 1 << node.index
            self._storage_masks[key] = mask
        return mask

    def _parse_guests(self, items):
        seen = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise PveError('guests[{0}]: must be a dict'.format(i))
            try:
                vmid = int(item.get('vmid'))
            except (TypeError, ValueError):
                raise PveError('guests[{0}].vmid: must be a number, got {1!r}'.format(i, item.get('vmid')))
            if vmid in seen:
                raise PveError('guests[{0}].vmid: {1} is listed twice'.format(i, vmid))
            seen[vmid] = item
        self.guests = []
        self.by_vmid = {}
        for vmid in sorted(seen):
            guest = self._parse_guest(vmid, seen[vmid])
            self.guests.append(guest)
            self.by_vmid[vmid] = guest

    def _parse_guest(self, vmid, item):
        where = 'guests[vmid {0}]'.format(vmid)
        g = _Guest()
        g.vmid = vmid
        g.name = item.get('name')
        g.type = item.get('type') or 'qemu'
        if g.type not in ('qemu', 'lxc'):
            raise PveError('{0}.type: must be qemu or lxc, got {1!r}'.format(where, g.type))
        node = self.by_name.get(str(item.get('node')))
        if node is None:
            raise PveError('{0}.node: {1!r} is not among the nodes'.format(where, item.get('node')))
        g.node = node.index
        g.running = item.get('status') == 'running'
        g.template = _truthy(item.get('template'))
        g.ha = _truthy(item['ha']) if 'ha' in item else bool(item.get('hastate'))
        g.lock = item.get('lock') or None
        g.tags = split_tags(item.get('tags'))
        g.no_balance = NO_BALANCE in g.tags
        maxmem, mem = int(_number(item, 'maxmem', where)), int(_number(item, 'mem', where))
        maxcpu, cpu = _number(item, 'maxcpu', where), _number(item, 'cpu', where)
        active = g.running and not g.template
        g.used_mem = mem if active else 0
        g.assigned_mem = 0 if g.template else maxmem
        g.used_cpu = int(round(cpu * maxcpu * _MILLI)) if active else 0
        g.assigned_cpu = 0 if g.template else int(round(maxcpu * _MILLI))
        g.local_resources = _split(item.get('local_resources'))
        g.disks = []
        mask = -1
        for j, disk in enumerate(item.get('disks') or []):
            if not isinstance(disk, dict) or not disk.get('storage'):
                raise PveError('{0}.disks[{1}].storage: every disk needs its storage'.format(where, j))
            storage = str(disk['storage'])
            content = disk.get('content') or ('images' if g.type == 'qemu' else 'rootdir')
            if disk.get('local') is not None:
                local = _truthy(disk['local'])
            else:
                here = node.storages.get(storage)
                local = here is None or not here.shared
            g.disks.append(_Disk(storage, disk.get('key'), local, _truthy(disk.get('cdrom')), content))
            mask &= self._storage_mask(storage, content)
        g.mask = mask
        g.blocker = self._blocker(g)
        g.pins = None
        g.ha_nodes = None
        return g

    def _blocker(self, g):
        """Why the guest cannot move to any node, whatever the target; None if it can."""
        if g.lock:
            return 'it is locked ({0}): wait for the lock to clear'.format(g.lock)
        if g.local_resources:
            return 'it uses local devices ({0}), which cannot move'.format(', '.join(g.local_resources))
        for disk in g.disks:
            if disk.cdrom and disk.local:
                return 'the CD-ROM {0} is an image on node-local storage: eject it or put it on shared ' \
                       'storage'.format(disk.describe())
        local = g.local_disks
        if g.mode == 'online' and local and not self.options['with_local_disks']:
            return 'it is running with node-local disks ({0}): set with_local_disks to copy them during a ' \
                   'live migration, or stop it'.format(', '.join(d.describe() for d in local))
        return None

    # -- rules --------------------------------------------------------------------------------

    def _compile_ha_rules(self, items):
        """PVE 9 HA rules as the HA manager applies them: (positive groups, negative groups, node affinity)."""
        node_rules, res_rules = {}, {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise PveError('ha_rules[{0}]: must be a dict'.format(i))
            rid = str(item.get('rule') or 'ha_rules[{0}]'.format(i))
            where = 'ha_rules[{0}]'.format(rid)
            if _truthy(item.get('disable')) or _truthy(item.get('disabled')):
                continue
            if item.get('errors'):
                # PVE reports the rules its HA manager drops as infeasible; trust it over our checks.
                self.warnings.append("HA rule '{0}' is not applied, as PVE's HA manager drops it: {1}".format(
                    rid, _pve_errors(item['errors'])))
                continue
            resources = set()
            for sid in _split(item.get('resources')):
                match = _HA_SID.match(sid)
                if not match:
                    raise PveError('{0}.resources: {1!r} is not an HA resource id (vm:100, ct:101)'.format(where, sid))
                resources.add(int(match.group(1)))
            kind = item.get('type')
            if kind == 'node-affinity':
                nodes = {}
                listed = item.get('nodes')
                if isinstance(listed, dict):  # {node: priority}, as ha.read_ha_rules gives it
                    listed = ['{0}:{1}'.format(k, v or 0) for k, v in listed.items()]
                for entry in _split(listed):
                    match = _HA_NODE.match(entry)
                    if not match:
                        raise PveError('{0}.nodes: {1!r} is not node[:priority]'.format(where, entry))
                    nodes[match.group(1)] = int(match.group(2) or 0)
                node_rules[rid] = (frozenset(resources), nodes, _truthy(item.get('strict')))
            elif kind == 'resource-affinity':
                affinity = item.get('affinity')
                if affinity not in ('positive', 'negative'):
                    raise PveError('{0}.affinity: must be positive or negative, got {1!r}'.format(where, affinity))
                res_rules[rid] = (frozenset(resources), affinity)
            else:
                self.warnings.append("HA rule '{0}' of type {1!r} is not understood and not applied".format(rid, kind))

        dropped = {}

        def drop(rid, why):
            dropped.setdefault(rid, why)

        # Rules are looked at in id order (and resources in vmid order), so the reason a rule is dropped
        # for is the same whatever order PVE listed the rules in.
        node_rules = dict(sorted(node_rules.items()))
        res_rules = dict(sorted(res_rules.items()))
        users = {}
        for rid, (resources, _nodes, _strict) in node_rules.items():
            for vmid in sorted(resources):
                users.setdefault(vmid, []).append(rid)
        for vmid, rids in sorted(users.items()):
            if len(rids) > 1:
                for rid in rids:
                    drop(rid, 'resource {0} is in more than one node-affinity rule'.format(vmid))
        positive = dict((r, v[0]) for r, v in res_rules.items() if v[1] == 'positive')
        negative = dict((r, v[0]) for r, v in res_rules.items() if v[1] == 'negative')
        for rid, (resources, _affinity) in res_rules.items():
            if len(resources) < 2:
                drop(rid, 'a resource-affinity rule needs two resources or more')
        for rid, resources in negative.items():
            if len(resources) > len(self.nodes):
                drop(rid, 'it keeps more resources apart than there are nodes')
        for rids, resources in _connected(positive):
            for nid, nres in negative.items():
                if len(resources & nres) >= 2:
                    drop(nid, 'it shares two or more resources with a positive resource-affinity rule')
                    for rid in rids:
                        drop(rid, 'it shares two or more resources with a negative resource-affinity rule')
            paired = [nid for nid, v in node_rules.items() if v[0] & resources]
            if len(paired) > 1:
                for rid in rids + paired:
                    drop(rid, 'a positive resource-affinity group is in more than one node-affinity rule')
        for rid, (resources, _affinity) in res_rules.items():
            for nid, (nres, nodes, _strict) in node_rules.items():
                if resources & nres and len(set(nodes.values())) > 1:
                    drop(rid, 'its resources are in a node-affinity rule with several priorities')
                    drop(nid, 'its resources are in a resource-affinity rule, which needs a single priority')
        for rid, resources in negative.items():
            allowed, located, paired = set(), set(), []
            for nid, (nres, nodes, _strict) in node_rules.items():
                if resources & nres:
                    located |= resources & nres
                    allowed |= set(nodes)
                    paired.append(nid)
            if len(allowed) < len(located):
                drop(rid, 'its node-affinity rules leave fewer nodes than it has resources')
                for nid in paired:
                    drop(nid, 'it leaves a negative resource-affinity rule fewer nodes than resources')
        for rid in sorted(dropped):
            self.warnings.append("HA rule '{0}' is not applied, as PVE's HA manager drops it: {1}".format(
                rid, dropped[rid]))

        label = "HA rule '{0}'".format
        pos = [_Group(label(r), v) for r, v in sorted(positive.items()) if r not in dropped]
        neg = [_Group(label(r), v) for r, v in sorted(negative.items()) if r not in dropped]
        ha_nodes = {}
        for rid, (resources, nodes, strict) in sorted(node_rules.items()):
            if rid in dropped:
                continue
            for vmid in resources:
                ha_nodes[vmid] = (label(rid), nodes, strict)
        return pos, neg, ha_nodes

    def _apply_rules(self, ha_positive, ha_negative, ha_nodes):
        """Tags and HA rules into units: groups that move together, their targets, what keeps them apart."""
        together, apart = {}, {}
        for guest in self.guests:
            pins = []
            for tag in guest.tags:
                if tag.startswith('anti-affinity-') and len(tag) > len('anti-affinity-'):
                    apart.setdefault(tag, set()).add(guest.vmid)
                elif tag.startswith('affinity-') and len(tag) > len('affinity-'):
                    together.setdefault(tag, set()).add(guest.vmid)
                elif tag.startswith('pin-') and len(tag) > len('pin-'):
                    pins.append(tag[len('pin-'):])
            if pins:
                mask = 0
                names = []
                for pin in pins:
                    node = self.by_lower.get(pin)
                    if node is None:
                        self.warnings.append('{0}: pin-{1} names no node of the cluster'.format(guest.describe(), pin))
                    else:
                        mask |= 1 << node.index
                        names.append(node.name)
                guest.pins = (mask, sorted(names))
                guest.mask &= mask
            rule = ha_nodes.get(guest.vmid)
            if rule is not None:
                label, nodes, strict = rule
                prio = []
                mask = 0
                for node in self.nodes:
                    listed = nodes.get(node.name)
                    if listed is not None:
                        mask |= 1 << node.index
                    prio.append(listed if listed is not None else -1)
                guest.ha_nodes = (label, prio, strict, mask)
                if strict:
                    guest.mask &= mask
        known = set(self.by_vmid)
        positive = [_Group(t, v) for t, v in sorted(together.items())] + ha_positive
        negative = [_Group(t, v) for t, v in sorted(apart.items())] + ha_negative
        positive = [g for g in (_Group(g.label, g.vmids & known) for g in positive) if len(g.vmids) > 1]
        negative = [g for g in (_Group(g.label, g.vmids & known) for g in negative) if len(g.vmids) > 1]

        dropped = set()
        comps = _connected(dict((i, g.vmids) for i, g in enumerate(positive)))
        for ids, vmids in comps:
            for j, neg in enumerate(negative):
                both = vmids & neg.vmids
                if len(both) >= 2:
                    labels = sorted(positive[i].label for i in ids)
                    self.warnings.append('{0} and {1} contradict each other ({2} are in both): neither is '
                                         'applied'.format(', '.join(labels), neg.label,
                                                          ', '.join(str(v) for v in sorted(both))))
                    dropped.update(('+', i) for i in ids)
                    dropped.add(('-', j))
        positive = [g for i, g in enumerate(positive) if ('+', i) not in dropped]
        self.negative = [g for j, g in enumerate(negative) if ('-', j) not in dropped]

        anti_of = {}
        for gid, group in enumerate(self.negative):
            for vmid in group.vmids:
                anti_of.setdefault(vmid, set()).add(gid)
        grouped = {}
        for ids, vmids in _connected(dict((i, g.vmids) for i, g in enumerate(positive))):
            label = ', '.join(sorted(set(positive[i].label for i in ids)))
            for vmid in vmids:
                grouped[vmid] = (min(vmids), label)
        self.units = []
        members_of = {}
        for guest in self.guests:
            key, label = grouped.get(guest.vmid, (guest.vmid, None))
            members_of.setdefault(key, (label, []))[1].append(guest)
        self.bundles = []
        for key in sorted(members_of):
            label, members = members_of[key]
            self.bundles.append((label, members))
        self.anti_of = anti_of

    def make_unit(self, members, group):
        """A unit of the given guests (all of one group or a single guest)."""
        unit = _Unit(len(self.units), members, group)
        self.units.append(unit)
        anti, prio, blocker = set(), None, None
        for guest in members:
            anti.update(self.anti_of.get(guest.vmid, ()))
            if guest.ha_nodes is not None:
                theirs = guest.ha_nodes[1]
                prio = list(theirs) if prio is None else [min(a, b) for a, b in zip(prio, theirs)]
            if blocker is None and guest.blocker is not None:
                blocker = (guest, guest.blocker)
        unit.anti = frozenset(anti)
        unit.prio = prio
        unit.blocker = blocker
        return unit

    # -- load ---------------------------------------------------------------------------------

    def _count_load(self):
        n = len(self.nodes)
        used_mem, used_cpu = [0] * n, [0] * n
        assigned_mem, assigned_cpu = [0] * n, [0] * n
        self.guest_count = [0] * n
        self.anti_count = [{} for _node in range(n)]
        for g in self.guests:
            used_mem[g.node] += g.used_mem
            used_cpu[g.node] += g.used_cpu
            assigned_mem[g.node] += g.assigned_mem
            assigned_cpu[g.node] += g.assigned_cpu
            self.guest_count[g.node] += 1
            for gid in self.anti_of.get(g.vmid, ()):
                counts = self.anti_count[g.node]
                counts[gid] = counts.get(gid, 0) + 1
        self.mem_base, self.cpu_base = [], []
        for node in self.nodes:
            self.mem_base.append(max(0, node.mem - used_mem[node.index]))
            self.cpu_base.append(max(0, int(round(node.cpu * node.maxcpu * _MILLI)) - used_cpu[node.index]))
        # load[mode][metric] per node, in bytes or millicores; capacity per metric.
        self.load = {
            'used': {'memory': [b + u for b, u in zip(self.mem_base, used_mem)],
                     'cpu': [b + u for b, u in zip(self.cpu_base, used_cpu)]},
            'assigned': {'memory': [b + u for b, u in zip(self.mem_base, assigned_mem)],
                         'cpu': [b + u for b, u in zip(self.cpu_base, assigned_cpu)]},
        }
        self.capacity = {'memory': [node.maxmem for node in self.nodes],
                         'cpu': [int(round(node.maxcpu * _MILLI)) for node in self.nodes]}
        mode, metric = self.options['mode'], self.options['metric']
        self.metric_load = self.load[mode][metric]
        self.metric_cap = self.capacity[metric]
        self.mem_load = self.load[mode]['memory']

    def weight(self, unit, mode=None, metric=None):
        mode = mode or self.options['mode']
        metric = metric or self.options['metric']
        if metric == 'memory':
            return unit.used_mem if mode == 'used' else unit.assigned_mem
        return unit.used_cpu if mode == 'used' else unit.assigned_cpu

    def mem_weight(self, unit):
        return unit.used_mem if self.options['mode'] == 'used' else unit.assigned_mem

    def share(self, index, extra=0):
        cap = self.metric_cap[index]
        return (self.metric_load[index] + extra) * 100.0 / cap if cap > 0 else None

    def mem_share(self, index, extra=0):
        cap = self.capacity['memory'][index]
        return (self.mem_load[index] + extra) * 100.0 / cap if cap > 0 else None

    def move(self, unit, target):
        """Book the unit's move to target: loads, guest counts and anti-affinity counts follow it."""
        source = unit.node
        for mode in MODES:
            for metric in METRICS:
                w = self.weight(unit, mode, metric)
                self.load[mode][metric][source] -= w
                self.load[mode][metric][target] += w
        for guest in unit.members:
            self.guest_count[source] -= 1
            self.guest_count[target] += 1
            for gid in self.anti_of.get(guest.vmid, ()):
                here = self.anti_count[source]
                here[gid] -= 1
                if not here[gid]:
                    del here[gid]
                there = self.anti_count[target]
                there[gid] = there.get(gid, 0) + 1
            guest.node = target
        unit.node = target

    def snapshot(self):
        out = {}
        for node in self.nodes:
            online = node.online
            out[node.name] = dict(share=_pct(self.share(node.index)) if online else None,
                                  memory_share=_pct(self.mem_share(node.index)) if online else None,
                                  guests=self.guest_count[node.index])
        return out

    def spread(self):
        """Highest minus lowest share over the nodes in service (``spread_nodes``: all balanced ones by default)."""
        nodes = self.spread_nodes if self.spread_nodes is not None else self.balanced()
        shares = [self.share(i) for i in nodes]
        shares = [s for s in shares if s is not None]
        return max(shares) - min(shares) if shares else None

    def balanced(self):
        """The nodes a rebalance evens out: online, out of maintenance, with capacity in the metric."""
        return [n.index for n in self.nodes if n.eligible and self.metric_cap[n.index] > 0]

    # -- checks -------------------------------------------------------------------------------

    def refusal(self, unit, target):
        """Why target cannot take the unit (a (category, detail) pair), or None if it can."""
        node = self.nodes[target]
        bit = 1 << target
        if not self.eligible_mask & bit:
            return ('node', 'in maintenance' if node.online and node.maintenance else
                    ('offline' if not node.online else 'without memory'))
        if not unit.mask & bit:
            for guest in unit.members:
                if guest.pins is not None and not guest.pins[0] & bit:
                    return ('pin', '{0} is pinned to {1}'.format(guest.vmid, ', '.join(guest.pins[1]) or 'no node'))
                if guest.ha_nodes is not None and guest.ha_nodes[2] and not guest.ha_nodes[3] & bit:
                    return ('ha', '{0} is held to other nodes by strict {1}'.format(guest.vmid, guest.ha_nodes[0]))
                for disk in guest.disks:
                    if not self._storage_mask(disk.storage, disk.content) & bit:
                        return ('storage', 'no usable storage {0} for {1}'.format(disk.storage, disk.content))
        counts = self.anti_count[target]
        for gid in sorted(unit.anti):
            if counts.get(gid):
                return ('anti', 'a member of {0} runs there'.format(self.negative[gid].label))
        w = self.mem_weight(unit)
        if self.mem_load[target] + w > self.mem_limit[target]:
            return ('memory', 'memory would reach {0:.1f} %, above its {1:g} % limit'.format(
                self.mem_share(target, w), 100 - self.options['memory_reserve']))
        return None

    def fits(self, unit, target):
        """The fast form of refusal() for the hot loops: True if target can take the unit."""
        if not (unit.mask & self.eligible_mask) >> target & 1:
            return False
        if unit.anti:
            counts = self.anti_count[target]
            for gid in unit.anti:
                if counts.get(gid):
                    return False
        return self.mem_load[target] + self.mem_weight(unit) <= self.mem_limit[target]

    def why_nowhere(self, unit, candidates):
        """One sentence: why none of the candidate nodes can take the unit."""
        if not candidates:
            return 'no other node is online and out of maintenance'
        by_kind = {}
        for target in candidates:
            refusal = self.refusal(unit, target)
            if refusal is None:
                continue
            kind, detail = refusal
            if kind == 'memory':
                detail = 'not enough memory above the {0:g} % reserve'.format(self.options['memory_reserve'])
            by_kind.setdefault((kind, detail), []).append(self.nodes[target].name)
        parts = ['{0}: {1}'.format(_listing(names), detail) for (_kind, detail), names in
                 sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        return 'no node can take it: {0}'.format('; '.join(parts))


def _connected(sets):
    """Connected components of overlapping sets: [(sorted keys, union of members)], in key order."""
    parent = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner = {}
    for key in sorted(sets):
        parent[key] = key
        for member in sets[key]:
            if member in owner:
                a, b = find(owner[member]), find(key)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[member] = key
    comps = {}
    for key in sorted(sets):
        root = find(key)
        keys, members = comps.setdefault(root, ([], set()))
        keys.append(key)
        members.update(sets[key])
    return [(keys, frozenset(members)) for _root, (keys, members) in sorted(comps.items())]


def _move_record(cluster, guest, unit, target, reason):
    local = guest.local_disks
    return dict(vmid=guest.vmid, name=guest.name, type=guest.type, source=cluster.nodes[unit.node].name,
                target=cluster.nodes[target].name, mode=guest.mode, with_local_disks=bool(local),
                local_storages=sorted(set(d.storage for d in local)), ha=guest.ha, group=unit.group,
                wave=1, reason=reason)


def _together(unit, guest):
    others = [str(g.vmid) for g in unit.members if g is not guest]
    if not others:
        return ''
    return '; moves together with {0} ({1})'.format(', '.join(others), unit.group)


def _ha_note(guest):
    return '; HA-managed: migrate it through HA' if guest.ha else ''


def _book(cluster, placement, unit, target, reason):
    """Record the unit's move (one entry per member, in vmid order) and book it."""
    for guest in unit.members:
        placement.moves.append(_move_record(cluster, guest, unit, target,
                                            reason + _together(unit, guest) + _ha_note(guest)))
    cluster.move(unit, target)


def _block(cluster, placement, unit, reason):
    for guest in unit.members:
        text = reason
        if unit.blocker is not None and unit.blocker[0] is not guest:
            text = 'moves only together with {0} ({1}), and {2}'.format(
                unit.blocker[0].vmid, unit.group, unit.blocker[1])
        placement.blocked.append(dict(vmid=guest.vmid, name=guest.name, node=cluster.nodes[guest.node].name,
                                      reason=text))


def _waves(moves):
    """Number the moves into waves: a move waits for earlier moves out of its target and of its guest."""
    out_of, of_guest = {}, {}
    step_wave = None
    last_key = None
    for move in moves:
        key = (move['group'], move['source'], move['target']) if move['group'] else None
        if key is not None and key == last_key:
            move['wave'] = step_wave
        else:
            step_wave = 1 + max(out_of.get(move['target'], 0), of_guest.get(move['vmid'], 0))
            move['wave'] = step_wave
        last_key = key
        of_guest[move['vmid']] = move['wave']
        out_of[move['source']] = max(out_of.get(move['source'], 0), move['wave'])


def _start(kind, state, options):
    options = check_options(options)
    cluster = _Cluster(state, options)
    placement = Placement(kind, options)
    placement.warnings.extend(cluster.warnings)
    placement.load['before'] = cluster.snapshot()
    placement.spread['before'] = _pct(cluster.spread())
    return cluster, placement


def _finish(cluster, placement):
    # Warnings come in the order rules were read: sorted, the plan is the same whatever order PVE listed them in.
    placement.warnings = sorted(set(placement.warnings))
    _waves(placement.moves)
    placement.load['after'] = cluster.snapshot()
    placement.spread['after'] = _pct(cluster.spread())
    return placement


def _rank(cluster, unit, target):
    """How good a target is for an evacuated or returning unit: lower is better."""
    w = cluster.weight(unit)
    if w:
        share = cluster.share(target, w)
    else:
        # Weighs nothing now (stopped, in used mode): place it where its configured size fits best,
        # so stopped guests spread out instead of all landing on one node.
        mode, metric = 'assigned', cluster.options['metric']
        cap = cluster.capacity[metric][target]
        share = (cluster.load[mode][metric][target] + cluster.weight(unit, mode)) * 100.0 / cap if cap else None
    if share is None:
        share = float('inf')  # no capacity in the metric (maxcpu 0): only if nothing else fits
    prio = unit.prio[target] if unit.prio is not None else 0
    return (-prio, share, cluster.nodes[target].name)


def plan_evacuation(state, node, selection=None, options=None):
    """Targets for every guest on node (or the selected vmids): least loaded that fits storage, memory and rules."""
    cluster, placement = _start('evacuation', state, options)
    source = cluster.by_name.get(str(node))
    if source is None:
        raise PveError('node: {0} is not a node of the cluster (nodes: {1})'.format(
            node, ', '.join(n.name for n in cluster.nodes)))
    # The node being emptied leaves service: the spread is over the nodes that stay.
    cluster.spread_nodes = [n for n in cluster.balanced() if n != source.index]
    placement.spread['before'] = _pct(cluster.spread())
    on_node = [g for g in cluster.guests if g.node == source.index]
    if selection is None:
        chosen = set(g.vmid for g in on_node)
    else:
        chosen = set()
        for item in selection:
            try:
                vmid = int(item)
            except (TypeError, ValueError):
                raise PveError('selection: {0!r} is not a vmid'.format(item))
            guest = cluster.by_vmid.get(vmid)
            if guest is None:
                raise PveError('selection: no guest {0} in the cluster'.format(vmid))
            if guest.node != source.index:
                placement.skipped.append(dict(vmid=vmid, name=guest.name, node=cluster.nodes[guest.node].name,
                                              reason='not on {0}: nothing to evacuate'.format(source.name)))
            else:
                chosen.add(vmid)

    units = []
    for label, members in cluster.bundles:
        here = [g for g in members if g.node == source.index]
        if not here or not any(g.vmid in chosen for g in here):
            continue
        # The whole group on the node moves (to one target), even its members not selected.
        unit = cluster.make_unit(here, label)
        elsewhere = {}
        for g in members:
            if g.node != source.index:
                elsewhere[g.node] = elsewhere.get(g.node, 0) + 1
        units.append((unit, elsewhere))
    units.sort(key=lambda ue: (-cluster.mem_weight(ue[0]), -ue[0].assigned_mem, ue[0].vmid))

    candidates = [n.index for n in cluster.nodes if n.index != source.index and n.eligible]
    for unit, elsewhere in units:
        if not source.online:
            _block(cluster, placement, unit, '{0} is offline: PVE cannot migrate from a node that is down (HA '
                                             'recovers HA-managed guests once the node is fenced)'.format(source.name))
            continue
        if unit.blocker is not None:
            _block(cluster, placement, unit, unit.blocker[1])
            continue
        pool = candidates
        if elsewhere:
            # The rest of its group runs elsewhere: join it (where most of them are), as HA would.
            pool = sorted((t for t in candidates if t in elsewhere), key=lambda t: -elsewhere[t])
        fitting = [t for t in pool if cluster.fits(unit, t)]
        if not fitting:
            reason = cluster.why_nowhere(unit, pool)
            if elsewhere:
                reason = 'the rest of {0} runs on {1}, and {2}'.format(
                    unit.group, _listing(cluster.nodes[t].name for t in sorted(elsewhere)), reason)
            _block(cluster, placement, unit, reason)
            continue
        if elsewhere:
            most = max(elsewhere[t] for t in fitting)
            fitting = [t for t in fitting if elsewhere[t] == most]
        target = min(fitting, key=lambda t: _rank(cluster, unit, t))
        if elsewhere:
            how = 'joins the rest of {0} on {1}'.format(unit.group, cluster.nodes[target].name)
        elif unit.prio is not None:
            how = '{0} is the least loaded node of the highest HA priority that fits'.format(cluster.nodes[target].name)
        else:
            how = '{0} is the least loaded node that fits'.format(cluster.nodes[target].name)
        reason = 'emptying {0}: {1} ({2} {3} after the move)'.format(
            source.name, how, cluster.options['metric'], _pct_text(cluster.share(target, cluster.weight(unit))))
        _book(cluster, placement, unit, target, reason)
    placement.moves.sort(key=lambda m: m['vmid'])
    placement.blocked.sort(key=lambda b: b['vmid'])
    return _finish(cluster, placement)


def plan_rebalance(state, options=None):
    """Moves from the most to the least loaded node while the spread is above balanciness, each lowering it."""
    cluster, placement = _start('rebalance', state, options)
    opts = cluster.options
    nodes = cluster.balanced()
    in_balance = set(nodes)
    units_on = dict((n, []) for n in nodes)
    for label, members in cluster.bundles:
        where = set(g.node for g in members)
        unit = cluster.make_unit(members, label)
        reason = None
        first = members[0]
        if any(g.template for g in members):
            t = [g for g in members if g.template][0]
            reason = 'a template: rebalance never moves templates (they use no memory or CPU, so moving one ' \
                     'cannot change the balance{0})'.format('' if t is first else '; {0} is one'.format(t.vmid))
        elif any(g.no_balance for g in members):
            t = [g for g in members if g.no_balance][0]
            reason = 'tagged no-balance{0}: rebalance never moves it'.format(
                '' if t is first else ' ({0}, in its group {1})'.format(t.vmid, label))
        elif len(where) > 1:
            reason = 'its group {0} is split over {1}: rebalance does not move a split group (migrate its ' \
                     'members together first)'.format(label, _listing(sorted(cluster.nodes[n].name for n in where)))
        elif first.node not in in_balance:
            home = cluster.nodes[first.node]
            if not home.online:
                reason = 'its node {0} is offline: nothing moves off it until it is back (HA recovers ' \
                         'HA-managed guests)'.format(home.name)
            else:
                reason = 'its node {0} is {1}: evacuate it instead'.format(
                    home.name, 'in maintenance' if home.maintenance else 'without capacity data')
        elif unit.blocker is not None:
            _block(cluster, placement, unit, unit.blocker[1])
            continue
        if reason is not None:
            for guest in members:
                placement.blocked.append(dict(vmid=guest.vmid, name=guest.name,
                                              node=cluster.nodes[guest.node].name, reason=reason))
            continue
        w = cluster.weight(unit)
        if w > 0:
            units_on[unit.node].append((w, unit.vmid, unit.uid))
    for lst in units_on.values():
        lst.sort()

    max_moves = opts['max_moves']
    load, cap = cluster.metric_load, cluster.metric_cap
    while len(nodes) > 1:
        shares = dict((n, load[n] * 100.0 / cap[n]) for n in nodes)
        order = sorted(nodes, key=lambda n: (-shares[n], cluster.nodes[n].name))
        spread = shares[order[0]] - shares[order[-1]]
        if spread <= opts['balanciness']:
            break
        budget = None if max_moves is None else max_moves - len(placement.moves)
        if budget == 0:
            placement.truncated = True
            break
        cluster.over_budget = False
        found = _find_move(cluster, units_on, shares, order, spread, budget)
        if found is None:
            placement.truncated = cluster.over_budget
            break
        unit, source, target, new_spread = found
        reason = 'rebalance: {0} at {1:.1f} % to {2} at {3:.1f} % ({4}); spread {5:.1f} -> {6:.1f} points'.format(
            cluster.nodes[source].name, shares[source], cluster.nodes[target].name, shares[target],
            opts['metric'], spread, new_spread)
        w = cluster.weight(unit)
        lst = units_on[source]
        del lst[bisect.bisect_left(lst, (w, unit.vmid, unit.uid))]
        bisect.insort(units_on[target], (w, unit.vmid, unit.uid))
        _book(cluster, placement, unit, target, reason)
    placement.blocked.sort(key=lambda b: b['vmid'])
    return _finish(cluster, placement)


def _find_move(cluster, units_on, shares, order, spread, budget):
    """The first improving (unit, source, target, new spread): most loaded sources, least loaded targets."""
    hi, lo = shares[order[0]], shares[order[-1]]
    at_max = set(n for n in order if shares[n] >= hi - _EPS)
    at_min = set(n for n in order if shares[n] <= lo + _EPS)
    ties = len(at_max) + len(at_min)
    rising = order[::-1]
    for s in order:
        if not units_on[s]:
            continue
        for t in rising:
            if shares[t] >= shares[s] - _EPS:
                break
            if s not in at_max and t not in at_min:
                break  # the rest of the targets are neither extreme: nothing there lowers the spread
            found = _best_unit(cluster, units_on[s], s, t, shares, order, spread, ties, budget)
            if found is not None:
                return found
    return None


def _best_unit(cluster, lst, s, t, shares, order, spread, ties, budget):
    """On s, the unit whose weight is closest to what evens s and t out, that fits t and improves the spread."""
    load, cap = cluster.metric_load, cluster.metric_cap
    ideal = (load[s] * cap[t] - load[t] * cap[s]) / float(cap[s] + cap[t])
    if ideal <= 0:
        return None
    i = bisect.bisect_left(lst, (ideal,))
    down, up = i - 1, i
    tries = 0
    units = cluster.units
    while tries < 4 and (down >= 0 or up < len(lst)):
        if up < len(lst) and lst[up][0] >= 2 * ideal:
            up = len(lst)  # heavier still would only swap which of the two is the fuller
            continue
        if down >= 0 and (up >= len(lst) or ideal - lst[down][0] <= lst[up][0] - ideal):
            w, _vmid, uid = lst[down]
            down -= 1
        elif up < len(lst):
            w, _vmid, uid = lst[up]
            up += 1
        else:
            break
        unit = units[uid]
        if budget is not None and len(unit.members) > budget:
            cluster.over_budget = True  # a group of more guests than the moves max_moves leaves
            continue
        if not cluster.fits(unit, t):
            continue
        if unit.prio is not None and unit.prio[t] < unit.prio[s]:
            continue
        tries += 1
        new_spread = _spread_after(shares, order, s, t, (load[s] - w) * 100.0 / cap[s],
                                   (load[t] + w) * 100.0 / cap[t], spread, ties)
        if new_spread is not None:
            return unit, s, t, new_spread
    return None


def _spread_after(shares, order, s, t, new_s, new_t, spread, ties):
    """The spread if s and t had the new shares, when that is an improvement; None otherwise.

    Lower spread is an improvement; the same spread is one only when fewer nodes share the
    highest or lowest share (with ties, a move can even out one of the tied nodes only).
    """
    high = next((n for n in order if n != s and n != t), None)
    low = next((n for n in reversed(order) if n != s and n != t), None)
    top = max(new_s, new_t) if high is None else max(shares[high], new_s, new_t)
    bottom = min(new_s, new_t) if low is None else min(shares[low], new_s, new_t)
    new_spread = top - bottom
    if new_spread < spread - _EPS:
        return new_spread
    if new_spread > spread + _EPS:
        return None
    after = dict(shares)
    after[s], after[t] = new_s, new_t
    new_ties = sum(1 for v in after.values() if v >= top - _EPS) + sum(1 for v in after.values() if v <= bottom + _EPS)
    return new_spread if new_ties < ties else None


def plan_return(state, origins, options=None):
    """Moves back to the nodes guests came from (origins: {vmid: node}), where storage, memory and rules allow."""
    cluster, placement = _start('return', state, options)
    if isinstance(origins, dict):
        pairs = list(origins.items())
    else:
        pairs = []
        for i, item in enumerate(origins or []):
            if not isinstance(item, dict) or 'vmid' not in item or 'node' not in item:
                raise PveError('origins[{0}]: must be a dict with vmid and node'.format(i))
            pairs.append((item['vmid'], item['node']))
    wanted = {}
    for vmid, node in pairs:
        try:
            vmid = int(vmid)
        except (TypeError, ValueError):
            raise PveError('origins: {0!r} is not a vmid'.format(vmid))
        wanted[vmid] = str(node)
    for vmid in sorted(wanted):
        if vmid not in cluster.by_vmid:
            placement.blocked.append(dict(vmid=vmid, name=None, node=None,
                                          reason='it no longer exists: nothing to bring back to {0}'.format(
                                              wanted[vmid])))

    for label, members in cluster.bundles:
        back = [g for g in members if g.vmid in wanted and cluster.nodes[g.node].name != wanted[g.vmid]]
        for g in members:
            if g.vmid in wanted and cluster.nodes[g.node].name == wanted[g.vmid]:
                placement.skipped.append(dict(vmid=g.vmid, name=g.name, node=wanted[g.vmid],
                                              reason='already on {0}'.format(wanted[g.vmid])))
        if not back:
            continue
        origin = set(wanted[g.vmid] for g in back)
        sources = set(g.node for g in back)
        unit = cluster.make_unit(back, label)
        if len(origin) > 1 or len(sources) > 1:
            _block(cluster, placement, unit, 'its group {0} came from (or is now on) several nodes: move its '
                                             'members together by hand'.format(label))
            continue
        name = origin.pop()
        target = cluster.by_name.get(name)
        if target is None:
            _block(cluster, placement, unit, '{0} is no longer a node of the cluster'.format(name))
            continue
        source = cluster.nodes[unit.node]
        if not source.online:
            _block(cluster, placement, unit, 'its node {0} is offline'.format(source.name))
            continue
        if unit.blocker is not None:
            _block(cluster, placement, unit, unit.blocker[1])
            continue
        stay = sorted(set(cluster.nodes[g.node].name for g in members if g not in back) - set([name]))
        if stay:
            _block(cluster, placement, unit, 'the rest of {0} stays on {1}: returning alone would split the '
                                             'group'.format(label, _listing(stay)))
            continue
        refusal = cluster.refusal(unit, target.index)
        if refusal is not None:
            _block(cluster, placement, unit, 'cannot go back to {0}: {1}'.format(name, refusal[1]))
            continue
        reason = 'back to {0}, where it ran before the evacuation ({1} {2} after the move)'.format(
            name, cluster.options['metric'], _pct_text(cluster.share(target.index, cluster.weight(unit))))
        _book(cluster, placement, unit, target.index, reason)
    placement.blocked.sort(key=lambda b: b['vmid'])
    placement.skipped.sort(key=lambda b: b['vmid'])
    return _finish(cluster, placement)


def planned_state(state, placement):
    """The state once the placement's moves are done: guests on their targets, node use moved with them.

    A node a move touches gets the use the planner booked (its own use plus its guests'), so
    planning again on the result sees exactly the loads this plan ended with.
    """
    options = placement.options
    cluster = _Cluster(state, options)
    moved = {}
    for move in placement.moves:
        moved[move['vmid']] = move['target']
    touched = set()
    guests = []
    for item in state.get('guests') or []:
        vmid = int(item['vmid'])
        if vmid in moved and moved[vmid] != str(item['node']):
            touched.add(str(item['node']))
            touched.add(moved[vmid])
            item = dict(item, node=moved[vmid])
        guests.append(item)
    used_mem, used_cpu = {}, {}
    for item in guests:
        g = cluster.by_vmid[int(item['vmid'])]
        used_mem[item['node']] = used_mem.get(item['node'], 0) + g.used_mem
        used_cpu[item['node']] = used_cpu.get(item['node'], 0) + g.used_cpu
    nodes = []
    for item in state.get('nodes') or []:
        name = str(item['node'])
        if name in touched:
            index = cluster.by_name[name].index
            item = dict(item, mem=cluster.mem_base[index] + used_mem.get(name, 0))
            cores = cluster.capacity['cpu'][index]
            if cores:
                item['cpu'] = (cluster.cpu_base[index] + used_cpu.get(name, 0)) / float(cores)
        nodes.append(item)
    out = dict(state)
    out['nodes'] = nodes
    out['guests'] = guests
    return out
