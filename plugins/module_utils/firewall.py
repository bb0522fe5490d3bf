# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""The PVE firewall of one level (cluster, node, VM or container): spec -> read -> plan -> apply.

What PVE accepts and how it rewrites it follows pve-firewall: ``src/PVE/Firewall.pm`` (``verify_rule``,
``parse_fw_rule`` and ``$format_rules`` for rules, macros, ``parse_address_list``,
``parse_port_name_number_or_range``, ``clean_cidr``, the options' parsers and defaults) and the API in
``src/PVE/API2/Firewall/`` (``Rules.pm``: a new rule always goes to the top, ``moveto`` puts a rule in
front of the one at that position, ``digest`` guards every change; ``Cluster.pm``, ``Groups.pm``,
``IPSet.pm``, ``Aliases.pm``).

Rules are positional, so the rule list is converged by an edit script (``edit_script``): rules equal
to a wanted one are kept, the longest run of them already in order stays where it is and the others
move, rules that differ are edited in place, and only what is left over is deleted or inserted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import ipaddress
import re
import socket

from urllib.parse import quote

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step, flat
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe, select_guest

LEVELS = ('cluster', 'node', 'vm', 'ct')
GUEST_TYPES = {'vm': 'qemu', 'ct': 'lxc'}
LOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog')
ACTIONS = ('ACCEPT', 'DROP', 'REJECT')
# Firewall.pm: the directions each level's rules take (a security group's own rules: in, out, forward).
RULE_TYPES = {'cluster': ('in', 'out', 'forward', 'group'), 'node': ('in', 'out', 'forward', 'group'),
              'vm': ('in', 'out', 'group'), 'ct': ('in', 'out', 'group'), 'group': ('in', 'out', 'forward')}
NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_-]+$')  # aliases, IP sets, security groups (Firewall.pm patterns)
IFACE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{1,20}(?:[:.][0-9]+)?$')  # pve-iface
PORT_PROTOCOLS = ('tcp', '6', 'udp', '17', 'udplite', '136', 'dccp', '33', 'sctp', '132')
ICMP_PROTOCOLS = ('icmp', 'icmpv6', 'ipv6-icmp', '1', '58')
# Protocol names of /etc/protocols (Debian's netbase, which PVE reads) plus PVE's own icmpv6.
PROTOCOLS = frozenset('''ip hopopt icmp igmp ggp ipencap st tcp egp igp pup udp hmp xns-idp rdp iso-tp4 dccp xtp ddp
idpr-cmtp ipv6 ipv6-route ipv6-frag idrp rsvp gre esp ah skip ipv6-icmp ipv6-nonxt ipv6-opts rspf vmtp eigrp ospf
ax.25 ipip etherip encap pim ipcomp vrrp l2tp isis sctp fc mobility-header udplite mpls-in-ip manet hip shim6 wesp
rohc ethernet mptcp icmpv6'''.split())
# The rule keys PVE keeps (Firewall.pm $rule_properties), in the order of a .fw line; a group rule keeps the first.
RULE_KEYS = ('type', 'action', 'macro', 'iface', 'source', 'dest', 'proto', 'dport', 'sport', 'log', 'icmp-type',
             'enable', 'comment')
GROUP_RULE_KEYS = ('type', 'action', 'iface', 'enable', 'comment')
# The module's rule option names -> PVE's.
RULE_OPTION_KEYS = dict((k.replace('-', '_'), k) for k in RULE_KEYS)

# Each level's options with PVE's value when a config does not set it (None: no default PVE states).
BOOL, INT, TEXT = 'bool', 'int', 'text'
OPTION_KINDS = {
    'enable': BOOL, 'policy_in': ACTIONS, 'policy_out': ACTIONS, 'policy_forward': ('ACCEPT', 'DROP'),
    'log_level_in': LOG_LEVELS, 'log_level_out': LOG_LEVELS, 'log_level_forward': LOG_LEVELS,
    'macfilter': BOOL, 'ipfilter': BOOL, 'dhcp': BOOL, 'ndp': BOOL, 'radv': BOOL, 'ebtables': BOOL,
    'log_ratelimit': TEXT, 'nosmurfs': BOOL, 'tcpflags': BOOL, 'smurf_log_level': LOG_LEVELS,
    'tcp_flags_log_level': LOG_LEVELS, 'nf_conntrack_max': INT, 'nf_conntrack_tcp_timeout_established': INT,
    'nf_conntrack_allow_invalid': BOOL, 'log_nf_conntrack': BOOL, 'nftables': BOOL, 'protection_synflood': BOOL,
}
LEVEL_OPTIONS = {
    'cluster': {'enable': False, 'policy_in': 'DROP', 'policy_out': 'ACCEPT', 'policy_forward': 'ACCEPT',
                'ebtables': True, 'log_ratelimit': None},
    'node': {'enable': True, 'log_level_in': 'nolog', 'log_level_out': 'nolog', 'log_level_forward': 'nolog',
             'ndp': True, 'nosmurfs': None, 'tcpflags': False, 'smurf_log_level': 'nolog',
             'tcp_flags_log_level': 'nolog', 'nf_conntrack_max': 262144,
             'nf_conntrack_tcp_timeout_established': 432000, 'nf_conntrack_allow_invalid': False,
             'log_nf_conntrack': False, 'nftables': False, 'protection_synflood': False},
    'vm': {'enable': False, 'policy_in': 'DROP', 'policy_out': 'ACCEPT', 'log_level_in': 'nolog',
           'log_level_out': 'nolog', 'macfilter': True, 'ipfilter': False, 'dhcp': False, 'ndp': True, 'radv': False},
}
LEVEL_OPTIONS['ct'] = LEVEL_OPTIONS['vm']
# Where a level keeps aliases and IP sets (a node has neither), and security groups (the cluster only).
HAS_SETS = ('cluster', 'vm', 'ct')
# The ports management needs (the API and SSH), and the macros that open them (Firewall.pm $pve_fw_macros).
MANAGEMENT_PORTS = ((8006, 'the API (8006/tcp)'), (22, 'SSH (22/tcp)'))
MACRO_PORTS = {'SSH': 22, 'PMG': 8006}
SERVICE_PORTS = {'ssh': 22}


def to_bool(value):
    return str(value).strip().lower() in ('1', 'true', 'yes', 'on')


def base_path(level, node=None, guest=None):
    if level == 'cluster':
        return 'cluster/firewall'
    if level == 'node':
        return 'nodes/{0}/firewall'.format(node)
    return 'nodes/{0}/{1}/{2}/firewall'.format(guest['node'], guest['type'], guest['vmid'])


def segment(text):
    """A path segment as PVE's router reads it (an IP set entry's CIDR holds a slash)."""
    return quote(str(text), safe='')


# ------------------------------------------------------------------ values as PVE keeps them

def address_list(value, option):
    """A source/dest as PVE keeps it: a string (a list is joined with commas), spaces dropped; checked as
    Firewall.pm parse_address_list does. Returns (text, kind, ip version): kind is ``ip``, ``alias`` or ``ipset``."""
    if isinstance(value, (list, tuple)):
        value = ','.join(str(v) for v in value)
    text = re.sub(r'\s+', '', str(value))
    if not text:
        return None, None, None
    found = re.match(r'^\+(?:guest/|dc/|sdn/)?([A-Za-z][A-Za-z0-9_-]+)$', text)
    if text.startswith('+'):
        if not found:
            raise PveError('{0}: {1!r} is not an IP set reference (+name, +dc/name or +guest/name)'.format(option, text))
        return text, 'ipset', None
    if re.match(r'^(?:dc/|guest/)?[A-Za-z][A-Za-z0-9_-]+$', text):
        return text, 'alias', None
    elements = text.split(',')
    if '' in elements:
        raise PveError('{0}: {1!r} has an empty element'.format(option, text))
    versions = set()
    for element in elements:
        parts = element.split('-')
        try:
            if len(parts) == 2:
                if len(elements) > 1:
                    raise PveError("{0}: {1!r}: PVE does not take a range in a list".format(option, text))
                first, last = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
                if first.version != last.version or last < first:
                    raise ValueError('bad range')
                versions.add(first.version)
            elif len(parts) == 1:
                versions.add(ipaddress.ip_network(element, strict=True).version)
            else:
                raise ValueError('bad range')
        except ValueError:
            raise PveError('{0}: {1!r} is not an IP address, a network (CIDR, no host bits), an a-b range, an alias '
                           'or +ipset'.format(option, element))
    if len(versions) > 1:
        raise PveError('{0}: {1!r} mixes IPv4 and IPv6 addresses'.format(option, text))
    return text, 'ip', versions.pop()


def known_service(name):
    """Whether /etc/services names this port; True where the controller has no services database at all."""
    for proto in ('tcp', 'udp'):
        try:
            socket.getservbyname(name, proto)
            return True
        except (OSError, socket.error):
            continue
    try:
        socket.getservbyname('ssh', 'tcp')
    except (OSError, socket.error):
        return True
    return False


def port_list(value, option, icmp):
    """A dport/sport as PVE keeps it (numbers, a:b ranges, service names; a list joined with commas), checked as
    parse_port_name_number_or_range does."""
    if isinstance(value, (list, tuple)):
        value = ','.join(str(v) for v in value)
    text = re.sub(r'\s+', '', str(value))
    if not text:
        return None
    count = 0
    for item in text.split(','):
        found = re.match(r'^([0-9]+)(?::([0-9]+))?$', item)
        if found:
            first, last = int(found.group(1)), int(found.group(2) or found.group(1))
            if max(first, last) > 65535 or last < first:
                raise PveError('{0}: {1!r} is not a port (0-65535) or a range a:b with a <= b'.format(option, item))
            count += 2 if found.group(2) else 1
        elif icmp and re.match(r'^[a-z][a-z0-9-]*$', item):
            continue
        elif not re.match(r'^[a-z][a-z0-9.+_-]*$', item) or not known_service(item):
            raise PveError('{0}: {1!r} is neither a port number, a range a:b, nor a service name of /etc/services'.format(
                option, item))
    if count > 15:
        raise PveError('{0}: {1!r}: PVE takes at most 15 ports in a list (a range counts as two)'.format(option, text))
    return text


def clean_cidr(text, option):
    """An IP set entry as PVE stores it (IPSet.pm: host bits cleared, a full-length prefix dropped); an alias
    name stays as it is."""
    text = str(text).strip()
    if re.match(r'^(?:dc/|guest/)?[A-Za-z][A-Za-z0-9_-]+$', text):
        return text
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise PveError('{0}: {1!r} is not an IP address, a network (CIDR) or an alias'.format(option, text))
    if network.prefixlen == 0:
        raise PveError('{0}: {1!r}: PVE takes no zero-length prefix in an IP set'.format(option, text))
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def alias_cidr(text, option):
    """An alias's address as PVE reads it back (parse_ip_or_cidr drops /32 and /128)."""
    text = str(text).strip()
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        raise PveError('{0}: {1!r} is not an IP address or a network (CIDR)'.format(option, text))
    return re.sub(r'/128$', '', text) if ':' in text else re.sub(r'/32$', '', text)


def comment_of(value):
    text = str(value or '').strip()
    if '\n' in text or '\r' in text:
        raise PveError('comment: a comment is one line')
    return text or None


# ------------------------------------------------------------------ rules

class Rule:
    """A firewall rule as PVE keeps it: PVE keys -> text (``enable`` 0/1), only the keys it has.

    Two rules are the same rule when their ``key`` is equal; ``line()`` is the rule in a .fw file's words.
    """

    def __init__(self, fields):
        self.fields = dict(fields)
        self.key = tuple(sorted(self.fields.items()))

    def __eq__(self, other):
        return isinstance(other, Rule) and self.key == other.key

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return 'Rule({0!r})'.format(self.line())

    def get(self, key):
        return self.fields.get(key)

    def line(self):
        """The rule as $format_rules writes it: ``|IN SSH(ACCEPT) -source x -p tcp -dport 22 # comment``."""
        f = self.fields
        text = '|' if not int(f.get('enable', 1)) else ''
        text += f['type'].upper()
        text += ' {0}({1})'.format(f['macro'], f['action']) if f.get('macro') else ' ' + f['action']
        for key, flag in (('iface', '-i'), ('source', '-source'), ('dest', '-dest'), ('proto', '-p'),
                          ('dport', '-dport'), ('sport', '-sport'), ('log', '-log'), ('icmp-type', '-icmp-type')):
            if f.get(key):
                text += ' {0} {1}'.format(flag, f[key])
        if f.get('comment'):
            text += ' # ' + f['comment']
        return text

    def params(self):
        """What POST .../rules takes to make this rule."""
        return dict((k, int(v) if k == 'enable' else v) for k, v in self.fields.items())


def current_rule(item):
    """A rule from GET .../rules in Rule's spelling (what PVE adds, pos, digest, ipversion, left out)."""
    fields = {}
    kind = str(item.get('type') or '').lower()
    for key in RULE_KEYS:
        value = item.get(key)
        if value is None or (kind == 'group' and key not in GROUP_RULE_KEYS):
            continue
        value = str(value).strip()
        if key in ('source', 'dest', 'dport', 'sport'):
            value = re.sub(r'\s+', '', value)
        elif key == 'proto':
            value = value.lower()
        elif key == 'type':
            value = kind
        if value and not (key == 'log' and value == 'nolog'):
            fields[key] = value
    fields['enable'] = '0' if item.get('enable') is not None and not to_bool(item.get('enable')) else '1'
    return Rule(fields)


def wanted_rule(given, where, level):
    """A rule of the task (the module's option names) checked as Firewall.pm verify_rule does, in PVE's spelling.

    ``where`` names it in messages (``rules[2]``, ``groups[web].rules[0]``); ``level`` is the level whose
    rule list it is in, or ``group`` for a security group's. References (macros, aliases, IP sets, groups)
    are checked later against what the cluster has.
    """
    def fail(option, message):
        raise PveError('{0}.{1}: {2}'.format(where, option, message))
    unknown = sorted(k for k, v in given.items() if k not in RULE_OPTION_KEYS and v is not None)
    if unknown:
        fail(unknown[0], 'not a rule option (rules take {0})'.format(', '.join(sorted(RULE_OPTION_KEYS))))
    kind = str(given.get('type') or '').strip().lower()
    if kind not in RULE_TYPES[level]:
        fail('type', '{0!r}: {1} rules are of type {2}'.format(
            given.get('type'), 'security group' if level == 'group' else 'this level\'s', ', '.join(RULE_TYPES[level])))
    action = str(given.get('action') or '').strip()
    fields = {'type': kind}
    if kind == 'group':
        if not NAME.match(action) or len(action) > 18:
            fail('action', '{0!r} is not a security group name (the group a group rule jumps to)'.format(action))
        stray = sorted(k for k in RULE_OPTION_KEYS if k not in ('type', 'action', 'iface', 'enable', 'comment')
                       and given.get(k) not in (None, ''))
        if stray:
            fail(stray[0], 'a group rule takes only action (the group), iface, enable and comment')
    else:
        action = action.upper()
        if action not in ACTIONS:
            fail('action', '{0!r}: an {1} rule is ACCEPT, DROP or REJECT'.format(given.get('action'), kind))
        if kind == 'forward' and action == 'REJECT':
            fail('action', 'PVE takes no REJECT rules on the forward chain')
    fields['action'] = action
    if given.get('macro'):
        fields['macro'] = str(given['macro']).strip()
    if given.get('iface'):
        iface = str(given['iface']).strip()
        if level == 'group':
            fail('iface', 'PVE takes no interface in a security group rule (set it on the rule using the group)')
        if not IFACE.match(iface) or (level in ('vm', 'ct') and not re.match(r'^net[0-9]+$', iface)):
            hint = ' (net0, net1, ...)' if level in ('vm', 'ct') else ''
            fail('iface', '{0!r} is not an interface{1}'.format(iface, hint))
        fields['iface'] = iface
    proto = str(given.get('proto') or '').strip().lower()
    if proto:
        if proto not in PROTOCOLS and not (proto.isdigit() and int(proto) <= 255):
            fail('proto', '{0!r} is not a protocol of /etc/protocols (tcp, udp, icmp, ...) or a number'.format(proto))
        fields['proto'] = proto
    icmp = proto in ICMP_PROTOCOLS
    versions = set()
    for key in ('source', 'dest'):
        if given.get(key) not in (None, ''):
            text, _kind, version = address_list(given[key], '{0}.{1}'.format(where, key))
            if text:
                fields[key] = text
                versions.add(version)
    versions.discard(None)
    if proto in ('icmp',):
        versions.add(4)
    elif proto in ('icmpv6', 'ipv6-icmp'):
        versions.add(6)
    if len(versions) > 1:
        fail('source', 'the rule mixes IPv4 and IPv6 addresses')
    for key in ('dport', 'sport'):
        if given.get(key) in (None, ''):
            continue
        text = port_list(given[key], '{0}.{1}'.format(where, key), icmp and key == 'dport')
        if not proto:
            fail('proto', 'needed with {0} (tcp, udp, ...)'.format(key))
        if proto not in PORT_PROTOCOLS and not (icmp and key == 'dport'):
            fail(key, "protocol {0!r} has no ports".format(proto))
        fields[key] = text
    if given.get('icmp_type'):
        if not icmp:
            fail('icmp_type', 'needs proto icmp, icmpv6 or ipv6-icmp')
        if 'dport' in fields:
            fail('icmp_type', 'cannot be given together with dport')
        fields['icmp-type'] = str(given['icmp_type']).strip()
    log = given.get('log')
    if log not in (None, ''):
        if log not in LOG_LEVELS:
            fail('log', '{0!r} is not a log level ({1})'.format(log, ', '.join(LOG_LEVELS)))
        if log != 'nolog':
            fields['log'] = log
    try:
        fields['enable'] = '1' if given.get('enable') is None or boolean(given['enable']) else '0'
    except TypeError:
        fail('enable', '{0!r} is not a boolean'.format(given['enable']))
    try:
        comment = comment_of(given.get('comment'))
    except PveError as exc:
        fail('comment', str(exc).split(': ', 1)[1])
    if comment:
        fields['comment'] = comment
    return Rule(fields)


# ------------------------------------------------------------------ the edit script

class Op:
    """One write to a rule list: ``delete`` (pos), ``edit`` (pos, rule), ``move`` (pos, moveto), ``insert``
    (rule; PVE puts it at the top). ``before`` is the list as it is when the write is sent."""

    def __init__(self, action, pos=None, rule=None, moveto=None, old=None):
        self.action = action
        self.pos = pos
        self.rule = rule
        self.moveto = moveto
        self.old = old
        self.before = None

    def __repr__(self):
        return 'Op({0}, pos={1}, moveto={2}, rule={3!r})'.format(self.action, self.pos, self.moveto, self.rule)


def simulate(rules, op):
    """The rule list after one write, as PVE's Rules.pm makes it."""
    rules = list(rules)
    if op.action == 'delete':
        del rules[op.pos]
    elif op.action == 'edit':
        rules[op.pos] = op.rule
    elif op.action == 'insert':
        rules.insert(0, op.rule)
    elif op.action == 'move':
        moved = rules[op.pos]
        out = []
        for index, rule in enumerate(rules):
            if index == op.pos:
                continue
            if index == op.moveto:
                out.append(moved)
            out.append(rule)
        if op.moveto >= len(rules):
            out.append(moved)
        rules = out
    return rules


def _longest_increasing(values, late=False):
    """Indexes of a longest strictly increasing subsequence of values (patience sorting); ``late`` prefers, among
    those as long, one of elements late in the list."""
    if late:
        n = len(values)
        return set(n - 1 - k for k in _longest_increasing([-v for v in reversed(values)]))
    tails, tail_at, back = [], [], [None] * len(values)
    for i, value in enumerate(values):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_at.append(i)
        else:
            tails[k] = value
            tail_at[k] = i
        back[i] = tail_at[k - 1] if k else None
    out, i = [], tail_at[-1] if tail_at else None
    while i is not None:
        out.append(i)
        i = back[i]
    return set(out)


def _common_subsequence(current, wanted, skip_current_first=True):
    """(current index, wanted index) of a longest common subsequence of the two rule lists; where several are
    as long, ``skip_current_first`` chooses which."""
    n, m = len(current), len(wanted)
    table = [[0] * (m + 1) for _i in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if current[i].key == wanted[j].key else \
                max(table[i + 1][j], table[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if current[i].key == wanted[j].key:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] > table[i][j + 1] or (skip_current_first and table[i + 1][j] == table[i][j + 1]):
            i += 1
        else:
            j += 1
    return pairs


def _pair_unmatched(current, wanted, keep_c, keep_w, anchors):
    """Pairs (current index, wanted index) of rules to edit into one another: in the same gap between the rules
    kept in place first, then the rest in order. A rule edited in place costs one write; deleting it and
    inserting another costs two or three."""
    free_c = [i for i in range(len(current)) if i not in keep_c]
    free_w = [j for j in range(len(wanted)) if j not in keep_w]
    anchors = sorted(anchors.items())

    def gap_c(i):
        return sum(1 for c, _w in anchors if c < i)

    def gap_w(j):
        return sum(1 for _c, w in anchors if w < j)
    pairs = []
    for gap in sorted(set(gap_c(i) for i in free_c)):
        cs = [i for i in free_c if gap_c(i) == gap]
        ws = [j for j in free_w if gap_w(j) == gap]
        pairs.extend(zip(cs, ws))
    used_c, used_w = set(c for c, _w in pairs), set(w for _c, w in pairs)
    pairs.extend(zip([i for i in free_c if i not in used_c], [j for j in free_w if j not in used_w]))
    return pairs


def _pairs_by_alignment(current, wanted):
    """An alignment of least cost (an equal rule kept 0, edited 1, deleted 1, inserted 2, or 1 at the top), then
    equal rules deleted in one place and inserted in another kept and moved instead: (kept, edited) as
    {current index: wanted index}."""
    n, m = len(current), len(wanted)
    cost = [[0] * (m + 1) for _i in range(n + 1)]
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            options = []
            if i < n and j < m:
                options.append((0 if current[i] == wanted[j] else 1) + cost[i + 1][j + 1])
            if i < n:
                options.append(1 + cost[i + 1][j])
            if j < m:
                options.append((1 if i == 0 else 2) + cost[i][j + 1])
            cost[i][j] = min(options)
    kept, edited, deleted, inserted, i, j = {}, {}, [], [], 0, 0
    while i < n or j < m:
        if i < n and j < m and cost[i][j] == (0 if current[i] == wanted[j] else 1) + cost[i + 1][j + 1]:
            (kept if current[i] == wanted[j] else edited)[i] = j
            i, j = i + 1, j + 1
        elif i < n and cost[i][j] == 1 + cost[i + 1][j]:
            deleted.append(i)
            i += 1
        else:
            inserted.append(j)
            j += 1
    for i in deleted:
        same = [j for j in inserted if wanted[j] == current[i]]
        if same:
            kept[i] = same[0]
            inserted.remove(same[0])
    return kept, edited


def _pairs_by_equal_rules(current, wanted, skip_current_first=True, late=False):
    """Every rule equal to a wanted one kept (a longest common subsequence in place, the others moved), the rest
    paired up to be edited: (kept, edited) as {current index: wanted index}. ``skip_current_first`` and
    ``late`` (match rules as late in the lists as possible) choose among common subsequences as long."""
    if late:
        n, m = len(current), len(wanted)
        backwards = _common_subsequence(current[::-1], wanted[::-1], skip_current_first)
        kept = dict((n - 1 - i, m - 1 - j) for i, j in backwards)
    else:
        kept = dict(_common_subsequence(current, wanted, skip_current_first))
    anchors = dict(kept)
    free = {}
    for j, rule in enumerate(wanted):
        if j not in kept.values():
            free.setdefault(rule.key, []).append(j)
    for i, rule in enumerate(current):
        if i not in kept and free.get(rule.key):
            kept[i] = free[rule.key].pop(0)
    return kept, dict(_pair_unmatched(current, wanted, kept, set(kept.values()), anchors))


def edit_script(current, wanted):
    """The writes that turn the rule list ``current`` into ``wanted`` (lists of Rule), as few as it finds.

    Which current rule becomes which wanted one comes from two pairings, the one giving fewer writes wins:
    a least-cost alignment of the lists (equal rules kept, different ones edited, the rest deleted or
    inserted, a rule deleted here and inserted there moved instead), or every equal rule kept (moved where it
    is out of place) and the rest edited into one another. Then rules without a wanted partner are deleted,
    paired ones edited in place (PUT), and of all the rules left the longest run already in the wanted order
    stays where it is; the others move (PUT moveto) just behind their wanted predecessor, in the wanted order,
    and new rules are inserted (POST puts them at the top; those that belong there cost no move).
    Each Op's ``before`` is the list as that write finds it; the last write leaves ``wanted``.
    """
    best = None
    pairings = [_pairs_by_alignment(current, wanted)]
    pairings += [_pairs_by_equal_rules(current, wanted, skip, late) for skip in (True, False) for late in (False, True)]
    for kept, edited in pairings:
        for backwards, late in ((True, False), (True, True), (False, False), (False, True)):
            ops = _script(current, wanted, kept, edited, backwards, late)
            if best is None or len(ops) < len(best):
                best = ops
    return best


def _in_order(target, wanted):
    """The pairing with the wanted rules of each kind (equal rules) handed out in list order: as many writes
    for the pairs, and more rules already in order."""
    groups = {}
    for i in sorted(target):
        groups.setdefault(wanted[target[i]].key, []).append(i)
    out = {}
    for members in groups.values():
        out.update(zip(members, sorted(target[i] for i in members)))
    return out


def _script(current, wanted, kept, edits, backwards, late):
    """The writes for a pairing: deletes (from the bottom), edits, then placement in the wanted order, each rule
    just behind its wanted predecessor, or (``backwards``, from the last) just in front of its successor."""
    target = dict(kept)  # current index -> wanted index, for every rule that stays
    target.update(edits)
    target = _in_order(target, wanted)
    edits = dict((i, j) for i, j in target.items() if current[i] != wanted[j])
    ops, state = [], list(current)

    def emit(op):
        op.before = list(state)
        ops.append(op)
        state[:] = simulate(state, op)
    for i in sorted((i for i in range(len(current)) if i not in target), reverse=True):
        emit(Op('delete', pos=i, old=current[i]))
    order = sorted(target)
    for i in sorted(edits):
        emit(Op('edit', pos=order.index(i), rule=wanted[edits[i]], old=current[i]))
    placed = [target[i] for i in order]  # the wanted index of the rule at each position
    staying = set(placed[k] for k in _longest_increasing(placed, late))
    for j in (reversed(range(len(wanted))) if backwards else range(len(wanted))):
        if j in staying:
            continue
        if j not in placed:
            emit(Op('insert', rule=wanted[j]))
            placed.insert(0, j)
        pos = placed.index(j)
        if backwards:  # in front of the successor, or last
            moveto = placed.index(j + 1) if j + 1 < len(wanted) else len(placed)
            in_place = pos == moveto - 1
        else:  # behind the predecessor, or first
            moveto = placed.index(j - 1) + 1 if j else 0
            in_place = pos == moveto
        if not in_place:
            emit(Op('move', pos=pos, moveto=moveto, rule=wanted[j]))
            placed = _moved(placed, pos, moveto)
    return ops


def _moved(items, pos, moveto):
    """A list after PVE's moveto (as simulate, on plain values)."""
    moved, out = items[pos], []
    for index, item in enumerate(items):
        if index == pos:
            continue
        if index == moveto:
            out.append(moved)
        out.append(item)
    if moveto >= len(items):
        out.append(moved)
    return out


def append_script(current, wanted):
    """rules_mode=append: the wanted rules the list lacks, added at its end in the order given."""
    ops, state = [], list(current)
    have = [r.key for r in current]
    for rule in wanted:
        if rule.key in have:
            have.remove(rule.key)
            continue
        for op in (Op('insert', rule=rule), Op('move', pos=0, moveto=len(state) + 1, rule=rule)):
            if op.action == 'move' and len(state) == 1:
                break  # the only rule: the top is the end
            op.before = list(state)
            ops.append(op)
            state = simulate(state, op)
    return ops


def rules_text(rules):
    """A rule list as .fw lines, one per rule, numbered by position (for diffs)."""
    return ''.join('{0}: {1}\n'.format(pos, rule.line()) for pos, rule in enumerate(rules))


def final_index(pos, moveto, size):
    """Where PVE's moveto puts the rule at pos in a list of size rules."""
    if moveto >= size:
        return size - 1
    return moveto - 1 if moveto > pos else moveto


# ------------------------------------------------------------------ the task

class IpSet:
    def __init__(self, name, comment, entries):
        self.name = name
        self.comment = comment
        self.entries = entries  # cidr -> (nomatch, comment)


class Group:
    def __init__(self, name, comment, rules):
        self.name = name
        self.comment = comment
        self.rules = rules  # list of Rule, or None: leave the group's rules as they are


class FirewallSpec:
    """What the task asks of one level's firewall; None for each part it leaves alone."""

    def __init__(self, level, node, vmid, name):
        self.level = level
        self.node = node
        self.vmid = vmid
        self.name = name
        self.options = {}
        self.aliases = None  # name (lower case) -> (name, cidr, comment)
        self.ipsets = None  # name -> IpSet
        self.groups = None  # name -> Group
        self.rules = None  # list of Rule
        self.rules_mode = 'exact'
        self.force = False
        self.management = None  # list of ip networks

    @classmethod
    def from_params(cls, params):
        level = params['level']
        spec = cls(level, params.get('node'), params.get('vmid'), params.get('name'))
        if level == 'node' and not spec.node:
            raise PveError('node: required with level=node')
        if level != 'node' and spec.node:
            raise PveError('node: only for level=node; a guest is found by vmid or name across the cluster')
        if level in GUEST_TYPES and spec.vmid is None and not spec.name:
            raise PveError('vmid: level={0} needs the guest, by vmid or name'.format(level))
        if level not in GUEST_TYPES and (spec.vmid is not None or spec.name):
            raise PveError('{0}: only for level=vm or level=ct'.format('vmid' if spec.vmid is not None else 'name'))
        spec.options = cls._options(level, params.get('options') or {})
        if params.get('aliases') is not None:
            spec.aliases = cls._aliases(level, params['aliases'])
        if params.get('ipsets') is not None:
            spec.ipsets = cls._ipsets(level, params['ipsets'])
        if params.get('groups') is not None:
            if level != 'cluster':
                raise PveError('groups: security groups are defined at level=cluster (other levels use them in rules)')
            spec.groups = cls._groups(params['groups'])
        if params.get('rules') is not None:
            spec.rules = [wanted_rule(r, 'rules[{0}]'.format(n), level) for n, r in enumerate(params['rules'])]
        spec.rules_mode = params.get('rules_mode') or 'exact'
        spec.force = bool(params.get('force'))
        if params.get('management_cidr'):
            if level != 'cluster':
                raise PveError('management_cidr: only for level=cluster (it guards enabling the cluster firewall)')
            spec.management = []
            for text in params['management_cidr']:
                try:
                    spec.management.append(ipaddress.ip_network(str(text).strip(), strict=False))
                except ValueError:
                    raise PveError('management_cidr: {0!r} is not an IP address or network (CIDR)'.format(text))
        return spec

    @staticmethod
    def _options(level, given):
        allowed = LEVEL_OPTIONS[level]
        out = {}
        for key, value in sorted(given.items()):
            if value is None:
                continue
            if key not in allowed:
                raise PveError('options.{0}: not an option of the {1} firewall (it takes: {2})'.format(
                    key, level, ', '.join(sorted(allowed))))
            kind = OPTION_KINDS[key]
            if kind == BOOL:
                value = bool(value)
            elif kind == INT:
                value = int(value)
            elif isinstance(kind, tuple):
                value = str(value).upper() if kind is not LOG_LEVELS else str(value).lower()
                if value not in kind:
                    raise PveError('options.{0}: {1!r} is not one of {2}'.format(key, given[key], ', '.join(kind)))
            else:
                value = str(value).strip()
                if key == 'log_ratelimit' and not re.match(r'^(?:enable=)?[01](?:,burst=[0-9]+)?(?:,rate=[1-9][0-9]*/'
                                                           r'(?:second|minute|hour|day))?$', value):
                    raise PveError("options.log_ratelimit: {0!r} is not PVE's rate limit (e.g. "
                                   "'1,burst=5,rate=1/second')".format(value))
            out[key] = value
        return out

    @staticmethod
    def _name(item, where, what, longest):
        """The name of an alias, IP set or security group (PVE's pattern for them), checked."""
        name = str(item.get('name') or '').strip()
        if not NAME.match(name) or len(name) > longest:
            raise PveError('{0}.name: {1!r} is not {2} name (a letter, then letters, digits, - or _; at most {3})'
                           .format(where, name, what, longest))
        return name

    @staticmethod
    def _aliases(level, given):
        if level not in HAS_SETS:
            raise PveError('aliases: a node has no aliases of its own (give them at level=cluster)')
        out = {}
        for n, item in enumerate(given):
            where = 'aliases[{0}]'.format(n)
            name = FirewallSpec._name(item, where, 'an alias', 64)
            if name.lower() in out:
                raise PveError('{0}.name: alias {1!r} is given twice (PVE ignores case)'.format(where, name))
            if not item.get('cidr'):
                raise PveError('{0}.cidr: required (the address or network the alias stands for)'.format(where))
            out[name.lower()] = (name, alias_cidr(item['cidr'], where + '.cidr'), comment_of(item.get('comment')))
        return out

    @staticmethod
    def _ipsets(level, given):
        if level not in HAS_SETS:
            raise PveError('ipsets: a node has no IP sets of its own (give them at level=cluster)')
        out = {}
        for n, item in enumerate(given):
            where = 'ipsets[{0}]'.format(n)
            name = FirewallSpec._name(item, where, 'an IP set', 64)
            if name in out:
                raise PveError('{0}.name: IP set {1!r} is given twice'.format(where, name))
            out[name] = IpSet(name, comment_of(item.get('comment')), FirewallSpec._entries(item, where))
        return out

    @staticmethod
    def _entries(item, where):
        entries = {}
        for k, entry in enumerate(item.get('entries') or []):
            at = '{0}.entries[{1}]'.format(where, k)
            if isinstance(entry, dict):
                unknown = sorted(set(entry) - {'cidr', 'nomatch', 'comment'})
                if unknown:
                    raise PveError('{0}.{1}: not an entry option (entries take cidr, nomatch, comment)'.format(
                        at, unknown[0]))
                cidr, nomatch, comment = entry.get('cidr'), bool(entry.get('nomatch')), entry.get('comment')
            else:
                text = str(entry).strip()
                nomatch, cidr, comment = text.startswith('!'), text.lstrip('!'), None
            if not cidr:
                raise PveError('{0}.cidr: required'.format(at))
            cidr = clean_cidr(cidr, at)
            if cidr in entries:
                raise PveError('{0}: {1} is in the IP set twice'.format(at, cidr))
            entries[cidr] = (nomatch, comment_of(comment))
        return entries

    @staticmethod
    def _groups(given):
        out = {}
        for n, item in enumerate(given):
            where = 'groups[{0}]'.format(n)
            name = FirewallSpec._name(item, where, 'a security group', 18)
            if name in out:
                raise PveError('{0}.name: security group {1!r} is given twice'.format(where, name))
            rules = None
            if item.get('rules') is not None:
                rules = [wanted_rule(r, 'groups[{0}].rules[{1}]'.format(name, k), 'group')
                         for k, r in enumerate(item['rules'])]
            out[name] = Group(name, comment_of(item.get('comment')), rules)
        return out

    def macros_needed(self):
        rules = list(self.rules or [])
        for group in (self.groups or {}).values():
            rules += group.rules or []
        return any(r.get('macro') for r in rules)


# ------------------------------------------------------------------ reading

def _digest(items):
    """The digest PVE gives every entry of a list (the same for all), None for an empty list."""
    return (items[0] or {}).get('digest') if items else None


def read_firewall(client, spec):
    """The level's firewall config in two rounds of reads: options, rules, aliases, IP sets and security groups
    (the cluster's), what a rule may name at the cluster (other levels) and the macros when a rule has one;
    then each IP set's entries and each group's rules. Returns (guest or None, base path, current)."""
    guest = None
    if spec.level in GUEST_TYPES:
        cluster = ClusterView.read(client)
        guest = select_guest(cluster, vmid=spec.vmid, name=spec.name)
        if guest['type'] != GUEST_TYPES[spec.level]:
            raise PveError('level: {0} is a {1}; its firewall is level={2}'.format(
                describe(guest), 'VM' if guest['type'] == 'qemu' else 'container',
                'vm' if guest['type'] == 'qemu' else 'ct'))
    elif spec.level == 'node':
        ClusterView.read(client).require_node(spec.node)
    base = base_path(spec.level, spec.node, guest)
    paths = {'options': base + '/options', 'rules': base + '/rules'}
    if spec.level in HAS_SETS:
        paths.update(aliases=base + '/aliases', ipsets=base + '/ipset')
    if spec.level == 'cluster' or spec.groups is not None or spec.rules is not None:
        paths['groups'] = 'cluster/firewall/groups'
    if spec.level != 'cluster' and spec.rules is not None:
        paths.update(cluster_aliases='cluster/firewall/aliases', cluster_ipsets='cluster/firewall/ipset')
    if spec.macros_needed():
        paths['macros'] = 'cluster/firewall/macros'
    names = sorted(paths)
    current = dict(zip(names, client.get_many([paths[n] for n in names])))
    current['paths'] = paths
    # The second round: IP set entries and security group rules.
    more = []
    if 'ipsets' in current:
        more += [('ipset', s['name'], '{0}/ipset/{1}'.format(base, segment(s['name']))) for s in current['ipsets'] or []]
    if spec.level == 'cluster':
        more += [('group', g['group'], 'cluster/firewall/groups/{0}'.format(segment(g['group'])))
                 for g in current.get('groups') or []]
    answers = client.get_many([path for _k, _n, path in more])
    current['ipset_entries'] = dict((n, a or []) for (k, n, _p), a in zip(more, answers) if k == 'ipset')
    current['group_rules'] = dict((n, a or []) for (k, n, _p), a in zip(more, answers) if k == 'group')
    return guest, base, current


# ------------------------------------------------------------------ planning

def option_value(key, raw, level):
    """An option as read, in the module's spelling (the cluster's enable may be a time stamp: on)."""
    kind = OPTION_KINDS[key]
    if kind == BOOL:
        return to_bool(raw) or (key == 'enable' and level == 'cluster' and str(raw).isdigit() and int(raw) > 1)
    if kind == INT:
        return int(raw)
    return str(raw)


def alias_lines(aliases):
    """Aliases as the [ALIASES] section of a .fw file: ``name cidr # comment``, sorted."""
    return ''.join('{0} {1}{2}\n'.format(n, c, ' # ' + m if m else '') for _k, (n, c, m) in sorted(aliases.items()))


def entry_lines(entries):
    """IP set entries as a .fw file lists them: ``!cidr # comment``, sorted by address."""
    return ''.join('{0}{1}{2}\n'.format('!' if nomatch else '', cidr, ' # ' + comment if comment else '')
                   for cidr, (nomatch, comment) in sorted(entries.items()))


def block(text):
    """A list for the diff: its lines (a multi-line text shows as a YAML block), or (none)."""
    return text.rstrip('\n') if text else '(none)'


class Write:
    """One request apply sends: ``digest_of`` names the list (path) whose digest the request must carry,
    ``dirty`` the lists it changes, ``expect`` the rules a rule list must hold before this write."""

    def __init__(self, method, path, params=None, digest_of=None, dirty=(), expect=None):
        self.method = method
        self.path = path
        self.params = dict(params or {})
        self.digest_of = digest_of
        self.dirty = tuple(dirty)
        self.expect = expect


class FirewallPlan(Plan):
    """The steps for one level's firewall, in the order they must be sent: aliases and IP sets first (rules
    refer to them), security groups, the rule list, then what is removed, and the options last (so a firewall
    is enabled only once its rules are in place)."""

    def __init__(self, subject, where, digests):
        super(FirewallPlan, self).__init__(subject)
        self.where = where
        self.digests = digests  # list path -> its digest as read

    def write(self, text, writes, before=None, after=None):
        self.add(Step('write', text=text, data={'writes': writes}), before=before, after=after)


class Level:
    """The level's config as read, in the module's spelling, and where its lists live."""

    def __init__(self, spec, base, current):
        self.spec = spec
        self.base = base
        self.current = current
        self.aliases = dict((a['name'].lower(), (a['name'], alias_cidr(a['cidr'], 'aliases'), comment_of(a.get('comment'))))
                            for a in current.get('aliases') or [])
        self.ipsets = {}
        for item in current.get('ipsets') or []:
            entries = dict((e['cidr'], (to_bool(e.get('nomatch', 0)), comment_of(e.get('comment'))))
                           for e in (current.get('ipset_entries') or {}).get(item['name'], []))
            self.ipsets[item['name']] = IpSet(item['name'], comment_of(item.get('comment')), entries)
        self.groups = dict((g['group'], Group(g['group'], comment_of(g.get('comment')),
                                              [current_rule(r) for r in (current.get('group_rules') or {})
                                               .get(g['group'], [])]))
                           for g in current.get('groups') or [])
        self.rules = [current_rule(r) for r in current.get('rules') or []]
        self.cluster_aliases = set(a['name'].lower() for a in current.get('cluster_aliases') or [])
        self.cluster_ipsets = set(s['name'] for s in current.get('cluster_ipsets') or [])


def _macro_names(current):
    return dict((m['macro'].lower(), m['macro']) for m in current.get('macros') or [])


def _canonical_macros(rules, macros, where_of):
    """Rules with their macro in PVE's spelling (verify_rule takes any case and keeps the preferred name)."""
    out = []
    for n, rule in enumerate(rules):
        macro = rule.get('macro')
        if macro:
            name = macros.get(macro.lower())
            if name is None:
                raise PveError('{0}.macro: {1!r} is not a PVE macro (GET /cluster/firewall/macros lists them: e.g. SSH, '
                               'HTTP, HTTPS, DNS, Ping)'.format(where_of(n), macro))
            fields = dict(rule.fields, macro=name)
            rule = Rule(fields)
        out.append(rule)
    return out


def _final_rules(current, wanted, mode):
    if wanted is None:
        return list(current)
    if mode == 'append':
        state = list(current)
        for op in append_script(current, wanted):
            state = simulate(state, op)
        return state
    return list(wanted)


def _check_references(level, spec, final, where_of, rules_of):
    """Each alias, IP set and security group a rule names must exist once the plan is done."""
    local_aliases, local_ipsets, groups = final['aliases'], final['ipsets'], final['groups']
    at_cluster = spec.level == 'cluster'
    cluster_aliases = set(local_aliases) if at_cluster else level.cluster_aliases
    cluster_ipsets = set(local_ipsets) if at_cluster else level.cluster_ipsets
    for owner, rules in rules_of:
        for n, rule in enumerate(rules):
            where = where_of(owner, n)
            for key in ('source', 'dest'):
                value = rule.get(key)
                if not value:
                    continue
                found = re.match(r'^\+(guest/|dc/|sdn/)?(.+)$', value)
                if found:
                    scope, name = found.group(1) or '', found.group(2)
                    places = ([] if scope == 'guest/' else [cluster_ipsets]) + \
                        ([] if scope == 'dc/' or at_cluster else [set(local_ipsets)])
                    if scope != 'sdn/' and not any(name in p for p in places):
                        raise PveError("{0}.{1}: there is no IP set {2!r} {3}".format(
                            where, key, name, 'in the cluster' if at_cluster else 'at this level or the cluster'))
                    continue
                found = re.match(r'^(guest/|dc/)?([A-Za-z][A-Za-z0-9_-]+)$', value)
                if found:
                    scope, name = found.group(1) or '', found.group(2).lower()
                    places = ([] if scope == 'guest/' else [cluster_aliases]) + \
                        ([] if scope == 'dc/' or at_cluster else [set(local_aliases)])
                    if not any(name in p for p in places):
                        raise PveError("{0}.{1}: there is no alias {2!r} {3}".format(
                            where, key, value, 'in the cluster' if at_cluster else 'at this level or the cluster'))
            if rule.get('type') == 'group' and rule.get('action') not in groups:
                raise PveError('{0}.action: there is no security group {1!r} (groups: {2})'.format(
                    where, rule.get('action'), ', '.join(sorted(groups)) or 'none'))


def _ports(rule):
    """The tcp ports an accept rule opens, as (first, last) ranges; a macro's from MACRO_PORTS."""
    if rule.get('macro'):
        port = MACRO_PORTS.get(rule.get('macro'))
        return [(port, port)] if port and not rule.get('dport') else []
    if rule.get('proto') not in ('tcp', '6'):
        return []
    if not rule.get('dport'):
        return [(0, 65535)]
    out = []
    for item in rule.get('dport').split(','):
        found = re.match(r'^([0-9]+)(?::([0-9]+))?$', item)
        if found:
            out.append((int(found.group(1)), int(found.group(2) or found.group(1))))
        elif item in SERVICE_PORTS:
            out.append((SERVICE_PORTS[item], SERVICE_PORTS[item]))
    return out


def _networks_of(value, final):
    """The networks a rule's source stands for (None: any source); aliases and IP sets resolved."""
    if not value:
        return None
    found = re.match(r'^\+(?:dc/)?(.+)$', value)
    if found:
        entries = (final['ipsets'].get(found.group(1)) or IpSet('', None, {})).entries
        return [_network(c) for c, (nomatch, _m) in entries.items() if not nomatch and _network(c)]
    alias = final['aliases'].get(re.sub(r'^dc/', '', value).lower())
    if alias:
        return [_network(alias[1])]
    out = []
    for element in value.split(','):
        if '-' in element:
            first, last = element.split('-')
            out.extend(ipaddress.summarize_address_range(ipaddress.ip_address(first), ipaddress.ip_address(last)))
        else:
            out.append(_network(element))
    return [n for n in out if n is not None]


def _network(text):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _covers(networks, wanted):
    return any(n.version == wanted.version and wanted.subnet_of(n) for n in networks)


def management_gaps(final, management):
    """What the cluster firewall would cut off: the (port text, network) pairs no accept rule, and no
    'management' IP set entry (PVE accepts the API and SSH from that set by itself), keeps reachable.
    Without ``management`` any enabled in-rule accepting the port counts."""
    accepts = []
    for rule in final['rules']:
        if rule.get('enable') != '1' or rule.get('type') not in ('in', 'group'):
            continue
        if rule.get('type') == 'group':
            group = final['groups'].get(rule.get('action'))
            for inner in (group.rules if group is not None else None) or []:
                if inner.get('enable') == '1' and inner.get('type') == 'in' and inner.get('action') == 'ACCEPT':
                    accepts.append(inner)
        elif rule.get('action') == 'ACCEPT':
            accepts.append(rule)
    managed = final['ipsets'].get('management')
    managed = [_network(c) for c, (nomatch, _m) in managed.entries.items() if not nomatch and _network(c)] \
        if managed else []
    gaps = []
    for port, text in MANAGEMENT_PORTS:
        opening = [r for r in accepts if any(a <= port <= b for a, b in _ports(r))]
        for network in management or [None]:
            if network is None:
                ok = bool(opening)
            else:
                sources = [_networks_of(r.get('source'), final) for r in opening]
                ok = _covers(managed, network) or any(s is None or _covers(s, network) for s in sources)
            if not ok:
                gaps.append((text, network))
    return gaps


def _plan_rule_list(plan, path, where, current, wanted, mode, shown_key):
    """The steps that turn one rule list (the level's or a group's) into the wanted one; returns the final list."""
    if wanted is None:
        return current
    ops = edit_script(current, wanted) if mode == 'exact' else append_script(current, wanted)
    if not ops:
        return current
    final = list(current)
    k = 0
    while k < len(ops):
        op = ops[k]
        pair = op.action == 'insert' and k + 1 < len(ops) and ops[k + 1].action == 'move' and ops[k + 1].pos == 0 \
            and ops[k + 1].rule == op.rule
        writes = [_rule_write(path, op)] + ([_rule_write(path, ops[k + 1])] if pair else [])
        if op.action == 'insert':
            at = final_index(0, ops[k + 1].moveto, len(op.before) + 1) if pair else 0
            text = 'insert {0} rule {1}: {2}'.format(where, at, op.rule.line())
        elif op.action == 'move':
            text = 'move {0} rule {1} to {2}: {3}'.format(where, op.pos, final_index(op.pos, op.moveto, len(op.before)),
                                                          op.rule.line())
        elif op.action == 'edit':
            text = 'change {0} rule {1}: {2} -> {3}'.format(where, op.pos, op.old.line(), op.rule.line())
        else:
            text = 'delete {0} rule {1}: {2}'.format(where, op.pos, op.old.line())
        plan.write(text, writes)
        for done in ops[k:k + (2 if pair else 1)]:
            final = simulate(final, done)
        k += 2 if pair else 1
    plan.before[shown_key] = block(rules_text(current))
    plan.after[shown_key] = block(rules_text(final))
    return final


def _rule_write(path, op):
    if op.action == 'insert':
        return Write('POST', path, op.rule.params(), dirty=[path])
    one = '{0}/{1}'.format(path, op.pos)
    if op.action == 'delete':
        return Write('DELETE', one, digest_of=path, dirty=[path], expect=op.before)
    if op.action == 'move':
        return Write('PUT', one, {'moveto': op.moveto}, digest_of=path, dirty=[path], expect=op.before)
    params = op.rule.params()
    gone = sorted(k for k in op.old.fields if k not in op.rule.fields)
    if gone:
        params['delete'] = ','.join(gone)
    return Write('PUT', one, params, digest_of=path, dirty=[path], expect=op.before)


def plan_firewall(spec, base, current, where):
    """The plan for one level's firewall (pure), from what read_firewall read. ``where`` names the level in
    sentences (``cluster``, ``node pve1``, ``VM 100``)."""
    level = Level(spec, base, current)
    paths = current['paths']
    digests = {}
    for key in ('rules', 'aliases', 'ipsets', 'groups'):
        if key in paths:
            digests[paths[key]] = _digest(current.get(key))
    for name, items in (current.get('ipset_entries') or {}).items():
        digests['{0}/ipset/{1}'.format(base, segment(name))] = _digest(items)
    for name, items in (current.get('group_rules') or {}).items():
        digests['cluster/firewall/groups/{0}'.format(segment(name))] = _digest(items)
    plan = FirewallPlan('{0} firewall'.format(where), where, digests)
    macros = _macro_names(current)
    rules = spec.rules
    if rules is not None:
        rules = _canonical_macros(rules, macros, 'rules[{0}]'.format)
    groups = spec.groups
    if groups is not None:
        groups = dict((name, Group(g.name, g.comment, None if g.rules is None else _canonical_macros(
            g.rules, macros, lambda n, g=g: 'groups[{0}].rules[{1}]'.format(g.name, n)))) for name, g in groups.items())
    final = {
        'aliases': spec.aliases if spec.aliases is not None else level.aliases,
        'ipsets': spec.ipsets if spec.ipsets is not None else level.ipsets,
        'groups': dict(level.groups),
        'rules': _final_rules(level.rules, rules, spec.rules_mode),
    }
    if groups is not None:
        final['groups'] = dict((name, Group(name, g.comment, _final_rules(
            (level.groups.get(name) or Group(name, None, [])).rules, g.rules, spec.rules_mode)))
            for name, g in groups.items())
    rules_of = [(None, final['rules'] if rules is not None else [])]
    rules_of += [(name, g.rules) for name, g in sorted(final['groups'].items())
                 if groups is not None and groups[name].rules is not None]
    _check_references(level, spec, final, lambda owner, n: 'rules[{0}]'.format(n) if owner is None else
                      'groups[{0}].rules[{1}]'.format(owner, n), rules_of)
    _check_removals(level, spec, final)
    _check_management(level, spec, final)
    removals = []
    _plan_aliases(plan, spec, level, removals)
    _plan_ipsets(plan, spec, level, removals)
    _plan_groups(plan, spec, level, groups, removals)
    _plan_rule_list(plan, paths['rules'], where, level.rules, rules, spec.rules_mode, 'rules')
    for text, writes in removals:
        plan.write(text, writes)
    _plan_options(plan, spec, current.get('options') or {}, paths['options'])
    return plan


def _check_removals(level, spec, final):
    """Nothing the rules still use may be removed: an alias, IP set or group left out of an exact list."""
    used = set()
    for rule in final['rules'] + [r for g in final['groups'].values() for r in g.rules or []]:
        for key in ('source', 'dest'):
            if rule.get(key):
                used.add(rule.get(key).lstrip('+').split('/')[-1].lower())
        if rule.get('type') == 'group':
            used.add(('group', rule.get('action')))
    for option, have, keep in (('aliases', level.aliases, final['aliases']), ('ipsets', level.ipsets, final['ipsets'])):
        gone = sorted(k for k in have if k not in keep and k.lower() in used)
        if gone:
            raise PveError('{0}: {1!r} would be removed, but a rule of this level uses it'.format(option, gone[0]))
    gone = sorted(g for g in level.groups if g not in final['groups'] and ('group', g) in used)
    if spec.groups is not None and gone:
        raise PveError('groups: security group {0!r} would be removed, but a cluster rule uses it'.format(gone[0]))


def _check_management(level, spec, final):
    """Refuse, unless force, a plan after which the cluster firewall cuts the API or SSH off (see management_gaps)."""
    if spec.level != 'cluster' or spec.force:
        return
    options = level.current.get('options') or {}
    was_on = option_value('enable', options['enable'], 'cluster') if options.get('enable') is not None else False
    will_be_on = spec.options.get('enable', was_on)
    if not will_be_on:
        return
    now = management_gaps({'rules': level.rules, 'groups': level.groups, 'ipsets': level.ipsets,
                           'aliases': level.aliases}, spec.management)
    gaps = management_gaps(final, spec.management)
    if not gaps or (was_on and now):
        return  # nothing would be cut off, or nothing more than already is
    text, network = gaps[0]
    option = 'rules' if was_on else 'options.enable'
    where = ' from {0}'.format(network) if network else ''
    how = ('no enabled IN rule accepts it{0}, and the management IP set does not hold {1}'.format(where, network)
           if network else 'no enabled IN rule accepts it (give management_cidr to count the management IP set, '
                           'whose members PVE lets in by itself)')
    raise PveError('{0}: the cluster firewall would cut off {1}: {2}; add such a rule, or set force: true if you '
                   'are sure'.format(option, text, how))


def _plan_aliases(plan, spec, level, removals):
    if spec.aliases is None:
        return
    path = level.current['paths']['aliases']
    changed = False
    for key, (name, cidr, comment) in sorted(spec.aliases.items()):
        have = level.aliases.get(key)
        params = dict(cidr=cidr, **({'comment': comment} if comment else {}))
        if have is None:
            plan.write('add alias {0}: {1}'.format(name, cidr), [Write('POST', path, dict(params, name=name),
                                                                       dirty=[path])])
        elif have != (name, cidr, comment):
            plan.write('set alias {0}: {1} -> {2}'.format(name, flat([v for v in have[1:] if v]),
                                                          flat([v for v in (cidr, comment) if v])),
                       [Write('PUT', '{0}/{1}'.format(path, segment(name)), params, digest_of=path, dirty=[path])])
        else:
            continue
        changed = True
    for key, (name, cidr, _comment) in sorted(level.aliases.items()):
        if key not in spec.aliases:
            removals.append(('remove alias {0} ({1})'.format(name, cidr),
                             [Write('DELETE', '{0}/{1}'.format(path, segment(name)), digest_of=path, dirty=[path])]))
            changed = True
    if changed:
        plan.before['aliases'] = block(alias_lines(level.aliases))
        plan.after['aliases'] = block(alias_lines(spec.aliases))


def _plan_ipsets(plan, spec, level, removals):
    if spec.ipsets is None:
        return
    path = level.current['paths']['ipsets']
    for name, wanted in sorted(spec.ipsets.items()):
        have = level.ipsets.get(name)
        one = '{0}/{1}'.format(path, segment(name))
        steps = []
        if have is None:
            steps.append(('create IP set {0}'.format(name),
                          [Write('POST', path, dict(name=name, **({'comment': wanted.comment} if wanted.comment else {})),
                                 dirty=[path])]))
            have = IpSet(name, wanted.comment, {})
        elif have.comment != wanted.comment:
            steps.append(('set comment of IP set {0}: {1} -> {2}'.format(name, have.comment or '(none)',
                                                                         wanted.comment or '(none)'),
                          [Write('POST', path, dict(name=name, rename=name, comment=wanted.comment or ''),
                                 digest_of=path, dirty=[path])]))
        for cidr, (nomatch, comment) in sorted(wanted.entries.items()):
            params = dict(**({'comment': comment} if comment else {}))
            if cidr not in have.entries:
                if nomatch:
                    params['nomatch'] = 1
                steps.append(('add {0}{1} to IP set {2}'.format('!' if nomatch else '', cidr, name),
                              [Write('POST', one, dict(params, cidr=cidr), dirty=[one])]))
            elif have.entries[cidr] != (nomatch, comment):
                params['nomatch'] = 1 if nomatch else 0
                steps.append(('change {0} in IP set {1}: {2} -> {3}'.format(
                    cidr, name, entry_lines({cidr: have.entries[cidr]}).strip(),
                    entry_lines({cidr: (nomatch, comment)}).strip()),
                    [Write('PUT', '{0}/{1}'.format(one, segment(cidr)), params, digest_of=one, dirty=[one])]))
        for cidr in sorted(c for c in have.entries if c not in wanted.entries):
            steps.append(('remove {0} from IP set {1}'.format(cidr, name),
                          [Write('DELETE', '{0}/{1}'.format(one, segment(cidr)), digest_of=one, dirty=[one])]))
        for text, writes in steps:
            plan.write(text, writes)
        if steps:
            plan.before['ipset ' + name] = block(entry_lines(level.ipsets[name].entries)) if name in level.ipsets \
                else '(none)'
            plan.after['ipset ' + name] = block(entry_lines(wanted.entries))
    for name, have in sorted(level.ipsets.items()):
        if name not in spec.ipsets:
            removals.append(('remove IP set {0} ({1} entr{2})'.format(name, len(have.entries),
                                                                      'y' if len(have.entries) == 1 else 'ies'),
                             [Write('DELETE', '{0}/{1}'.format(path, segment(name)), {'force': 1}, dirty=[path])]))
            plan.before['ipset ' + name] = block(entry_lines(have.entries))


def _plan_groups(plan, spec, level, groups, removals):
    if groups is None:
        return
    path = 'cluster/firewall/groups'
    for name, wanted in sorted(groups.items()):
        have = level.groups.get(name)
        one = '{0}/{1}'.format(path, segment(name))
        if have is None:
            plan.write('create security group {0}'.format(name),
                       [Write('POST', path, dict(group=name, **({'comment': wanted.comment} if wanted.comment else {})),
                              dirty=[path])], after={'group ' + name: '(none)'})
            have = Group(name, None, [])
        elif have.comment != wanted.comment:
            text = 'set comment of security group {0}: {1} -> {2}'.format(name, have.comment or '(none)',
                                                                          wanted.comment or '(none)')
            plan.write(text, [Write('POST', path, dict(group=name, rename=name, comment=wanted.comment or ''),
                                    digest_of=path, dirty=[path])])
        _plan_rule_list(plan, one, 'group ' + name, have.rules, wanted.rules, spec.rules_mode, 'group ' + name)
    for name, have in sorted(level.groups.items()):
        if name in groups:
            continue
        one = '{0}/{1}'.format(path, segment(name))
        writes = [Write('DELETE', '{0}/0'.format(one), digest_of=one, dirty=[one], expect=have.rules[k:])
                  for k in range(len(have.rules))]
        writes.append(Write('DELETE', one, dirty=[path]))
        text = 'remove security group {0} ({1} rule{2})'.format(name, len(have.rules),
                                                                '' if len(have.rules) == 1 else 's')
        removals.append((text, writes))
        plan.before['group ' + name] = block(rules_text(have.rules))


def _plan_options(plan, spec, options, path):
    """One PUT for every option that changes (the last step carries it); unset options count at PVE's default."""
    defaults = LEVEL_OPTIONS[spec.level]
    params, step = {}, None
    for key in sorted(spec.options):
        wanted = spec.options[key]
        raw = options.get(key)
        have = option_value(key, raw, spec.level) if raw not in (None, '') else defaults.get(key)
        if have == wanted:
            continue
        params[key] = (1 if wanted else 0) if isinstance(wanted, bool) else wanted
        step = plan.add(Step('set', 'options.' + key, have, wanted),
                        before={'options.' + key: have} if have is not None else {}, after={'options.' + key: wanted})
    if step is not None:
        step.data = {'writes': [Write('PUT', path, dict(params, digest=options.get('digest')))]}


# ------------------------------------------------------------------ applying

def apply_firewall(run, plan):
    """The only code that writes: each step's requests in order. A list's digest goes with each change of it;
    after a change, the next one re-reads the list for its new digest (and a rule list must hold what the
    plan expects there, else another client changed it and nothing more is written)."""
    digests = dict(plan.digests)
    stale = set()
    for step in plan.steps:
        for write in step.data.get('writes', []):
            params = dict(write.params)
            if write.digest_of:
                if write.digest_of in stale:
                    items = run.client.get(write.digest_of) or []
                    if write.expect is not None and [current_rule(i).key for i in items] != \
                            [r.key for r in write.expect]:
                        raise PveError('the rules of {0} changed while this task was writing them (another client?); '
                                       'nothing more was written: run the task again'.format(plan.where))
                    digests[write.digest_of] = _digest(items)
                    stale.discard(write.digest_of)
                params['digest'] = digests.get(write.digest_of)
            run.client.request(write.method, write.path, **params)
            stale.update(write.dirty)


def firewall_state(spec, base, current):
    """The level's firewall as the module returns it: options, rules (.fw lines), aliases, IP sets, groups."""
    level = Level(spec, base, current)
    out = {'options': dict((k, v) for k, v in (current.get('options') or {}).items() if k != 'digest'),
           'rules': [r.line() for r in level.rules]}
    if spec.level in HAS_SETS:
        out['aliases'] = dict((n, c) for _k, (n, c, _m) in level.aliases.items())
        out['ipsets'] = dict((name, sorted(('!' if nomatch else '') + c for c, (nomatch, _m) in s.entries.items()))
                             for name, s in level.ipsets.items())
    if spec.level == 'cluster':
        out['groups'] = dict((name, [r.line() for r in g.rules]) for name, g in level.groups.items())
    return out
