#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: firewall
short_description: The Proxmox VE firewall of the cluster, a node or a guest, as code
version_added: 0.1.0
description:
  - Converges the PVE firewall of one level - the cluster (O(level=cluster)), a node (O(level=node)) or a
    guest (O(level=vm), O(level=ct), the guest found by O(vmid) or O(name) across the cluster) - its
    O(options), O(aliases), O(ipsets) with their entries, the security O(groups) (cluster only) and the
    ordered O(rules).
  - Each part is converged only when the task gives it. O(aliases), O(ipsets) (and each set's entries) and
    O(groups) are then the level's complete lists - what is not listed is removed - unless a remaining rule
    still uses it, which fails before anything is written.
  - O(rules) is converged exactly and in order (PVE evaluates rules top down). A re-run with the same list
    changes nothing; a changed list is reached with few writes - rules equal to a wanted one are kept, the
    longest run of them already in order stays, others are moved (PVE's C(moveto)), rules that differ are
    edited in place, only the rest are deleted or inserted - and the diff shows the list before and after,
    one rule per line in the words of a C(.fw) file. With O(rules_mode=append) only the rules the list lacks
    are added, at its end.
  - Every alias, IP set, security group and macro a rule names must exist (at this level, at the cluster, or
    in this task) and every value is checked as PVE checks it; otherwise the task fails, naming the option,
    before anything is written.
  - "Enabling the cluster firewall is refused, unless O(force=true), when afterwards no rule would keep the
    API (8006/tcp) and SSH (22/tcp) reachable from the management network. The management network is
    O(management_cidr): each of its networks must be accepted on both ports by an enabled C(in) rule
    (directly, or in a security group an enabled C(group) rule uses) whose source is empty or covers it, or be
    in the cluster's C(management) IP set (PVE accepts the API and SSH from that set by itself). Without
    O(management_cidr), an enabled C(in) rule accepting each port from anywhere it names is required. The
    same check refuses a change that would newly cut the API or SSH off a firewall that is already enabled."
  - What PVE rewrites is compared in PVE's spelling, so nothing flaps - V(1)/V(0) for booleans, protocol
    names in lower case, actions in upper case, macro names as PVE spells them, port and address lists
    without spaces, a C(log) of V(nolog) as no log, options PVE leaves unset at PVE's defaults, an alias's or
    IP set entry's C(/32) or C(/128) dropped and host bits cleared as PVE does.
extends_documentation_fragment:
  - pve.fleet.pve
attributes:
  check_mode:
    support: full
    description: Reads the firewall config and reports every write it would make; nothing is written.
  diff_mode:
    support: full
    description: Shows the options, aliases, IP sets, groups and rule lists that change, before and after.
options:
  level:
    description:
      - Whose firewall. V(cluster) is the datacenter's (its options switch the whole firewall on or off),
        V(node) a node's host firewall, V(vm) and V(ct) a guest's.
    type: str
    choices: [cluster, node, vm, ct]
    required: true
  node:
    description:
      - The node, with O(level=node) (required there, not used otherwise).
    type: str
  vmid:
    description:
      - The guest, with O(level=vm) or O(level=ct). Give this or O(name).
    type: int
  name:
    description:
      - The guest's name, unique in the cluster, with O(level=vm) or O(level=ct).
    type: str
  options:
    description:
      - Firewall options of the level; only those given are compared, with PVE's defaults for options the
        level leaves unset.
      - "The cluster takes O(options.enable), O(options.policy_in), O(options.policy_out),
        O(options.policy_forward), O(options.ebtables), O(options.log_ratelimit). A node takes
        O(options.enable), the C(log_level_*) options, O(options.ndp), O(options.nosmurfs),
        O(options.tcpflags), O(options.smurf_log_level), O(options.tcp_flags_log_level), the
        C(nf_conntrack_*) options, O(options.log_nf_conntrack), O(options.nftables),
        O(options.protection_synflood). A guest takes O(options.enable), O(options.policy_in),
        O(options.policy_out), O(options.log_level_in), O(options.log_level_out), O(options.macfilter),
        O(options.ipfilter), O(options.dhcp), O(options.ndp), O(options.radv). Another option fails."
    type: dict
    suboptions:
      enable:
        description: The firewall of this level on or off (PVE's default - cluster and guests off, nodes on).
        type: bool
      policy_in:
        description: What happens to incoming traffic no rule matched (PVE's default V(DROP)).
        type: str
        choices: [ACCEPT, REJECT, DROP]
      policy_out:
        description: What happens to outgoing traffic no rule matched (PVE's default V(ACCEPT)).
        type: str
        choices: [ACCEPT, REJECT, DROP]
      policy_forward:
        description: Cluster only. What happens to forwarded traffic no rule matched (PVE's default V(ACCEPT)).
        type: str
        choices: [ACCEPT, DROP]
      log_level_in:
        description: Log level of incoming traffic (PVE's default V(nolog)).
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      log_level_out:
        description: Log level of outgoing traffic (PVE's default V(nolog)).
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      log_level_forward:
        description: Node only. Log level of forwarded traffic (PVE's default V(nolog)).
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      macfilter:
        description: Guest only. Drop traffic from MAC addresses other than the guest's own (PVE's default true).
        type: bool
      ipfilter:
        description: Guest only. Drop traffic from IP addresses the guest's C(ipfilter-netN) IP sets do not hold.
        type: bool
      dhcp:
        description: Guest only. Allow DHCP.
        type: bool
      ndp:
        description: Guest or node. Allow the neighbour discovery protocol (PVE's default true).
        type: bool
      radv:
        description: Guest only. Allow router advertisements from the guest.
        type: bool
      ebtables:
        description: Cluster only. Let PVE manage ebtables rules (PVE's default true).
        type: bool
      log_ratelimit:
        description: Cluster only. PVE's log rate limit, e.g. V(1,burst=5,rate=1/second).
        type: str
      nosmurfs:
        description: Node only. Filter SMURF packets.
        type: bool
      tcpflags:
        description: Node only. Filter illegal combinations of TCP flags.
        type: bool
      smurf_log_level:
        description: Node only. Log level of the SMURF filter.
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      tcp_flags_log_level:
        description: Node only. Log level of the TCP flags filter.
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      nf_conntrack_max:
        description: Node only. Maximum number of tracked connections.
        type: int
      nf_conntrack_tcp_timeout_established:
        description: Node only. Conntrack timeout of established connections, in seconds.
        type: int
      nf_conntrack_allow_invalid:
        description: Node only. Let invalid packets through connection tracking.
        type: bool
      log_nf_conntrack:
        description: Node only. Log connection tracking.
        type: bool
      nftables:
        description: Node only. Use the nftables based firewall (tech preview in PVE).
        type: bool
      protection_synflood:
        description: Node only. Enable SYN flood protection.
        type: bool
  aliases:
    description:
      - The level's aliases (cluster or guest), the complete list. Rules and IP sets refer to an alias by its
        name (case does not matter to PVE), a guest's rules to the cluster's as C(dc/<name>).
    type: list
    elements: dict
    suboptions:
      name:
        description: The alias's name.
        type: str
        required: true
      cidr:
        description: The IP address or network (CIDR) it stands for.
        type: str
        required: true
      comment:
        description: A comment.
        type: str
  ipsets:
    description:
      - The level's IP sets (cluster or guest), the complete list, each with its complete list of entries.
        Rules refer to a set as C(+<name>). The cluster's C(management) set holds the addresses PVE lets reach
        the API, SSH and the consoles of the nodes.
    type: list
    elements: dict
    suboptions:
      name:
        description: The IP set's name.
        type: str
        required: true
      comment:
        description: A comment.
        type: str
      entries:
        description:
          - The entries, each an IP address, a network (CIDR) or an alias name; as a string, a leading C(!)
            makes it a C(nomatch) entry. Or a dict with C(cidr), C(nomatch) (bool) and C(comment).
        type: list
        elements: raw
        default: []
  groups:
    description:
      - Cluster only. The security groups, the complete list. A C(group) rule at any level jumps to one.
    type: list
    elements: dict
    suboptions:
      name:
        description: The group's name (at most 18 characters).
        type: str
        required: true
        aliases: [group]
      comment:
        description: A comment.
        type: str
      rules:
        description:
          - The group's rules, in order, each a dict of the keys of O(rules) (types C(in), C(out), C(forward);
            no C(iface)). Left out, the group's rules are left as they are.
        type: list
        elements: dict
  rules:
    description:
      - The level's rules, in order. Each rule is a dict of PVE's rule fields.
      - "C(type): V(in), V(out), V(forward) (cluster, node) or V(group) (jump to a security group, whose name
        is the C(action)). C(action): V(ACCEPT), V(DROP) or V(REJECT), or the group. C(macro): a PVE macro (V(SSH),
        V(HTTPS), V(DNS), ...). C(source), C(dest): addresses, networks, an a-b range, an alias or an IP set
        (C(+name)); a list is joined. C(proto): a protocol name or number; C(dport), C(sport): ports, a:b
        ranges or service names (a list, or a number, is fine). C(iface): the interface (C(net0) for a guest).
        C(icmp_type): with C(proto) icmp. C(log): a log level. C(comment). C(enable): defaults to true here
        (PVE would make a rule sent without it disabled)."
      - A C(group) rule takes only C(action), C(iface), C(enable) and C(comment).
    type: list
    elements: dict
    suboptions:
      type:
        description: The direction, V(in), V(out) or V(forward), or V(group) (any case).
        type: str
        required: true
      action:
        description: V(ACCEPT), V(DROP), V(REJECT) (any case), or the security group of a V(group) rule.
        type: str
        required: true
      macro:
        description: A PVE macro (any case).
        type: str
      source:
        description: Source addresses, networks, a range, an alias or an IP set (C(+name)); a string or a list.
        type: raw
      dest:
        description: Destination, as O(rules[].source).
        type: raw
      proto:
        description: The protocol, a name of C(/etc/protocols) (any case) or a number.
        type: str
      dport:
        description: Destination ports - numbers, a:b ranges, service names; a string, a number or a list.
        type: raw
      sport:
        description: Source ports, as O(rules[].dport).
        type: raw
      iface:
        description: The interface the rule applies to (a guest's C(net0), ...).
        type: str
      icmp_type:
        description: The ICMP type, with C(proto) V(icmp), V(icmpv6) or V(ipv6-icmp) (PVE's C(icmp-type)).
        type: str
      log:
        description: The log level of packets the rule matches.
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      enable:
        description: Whether the rule is active.
        type: bool
        default: true
      comment:
        description: A comment.
        type: str
  rules_mode:
    description:
      - V(exact) makes the rule lists (the level's, and each group's given) exactly O(rules), in order.
      - V(append) only adds the rules a list lacks, at its end, and leaves the others alone.
    type: str
    choices: [exact, append]
    default: exact
  management_cidr:
    description:
      - Cluster only. The management network(s) that must keep reaching the API and SSH of the nodes when the
        cluster firewall is enabled (see the description).
    type: list
    elements: str
  force:
    description:
      - Enable the cluster firewall, or change its rules, even when the API or SSH would be cut off.
    type: bool
    default: false
notes:
  - PVE's own rules let the API, SSH and the consoles in from the cluster's C(management) IP set and the
    cluster network; node-level rules and rules before an accept rule are not evaluated by the management check.
  - Aliases, IP sets and groups are removed only from this level; PVE does not check whether rules of other
    levels still use them.
  - A run reads the level in two rounds of requests (at the cluster, 6 plus one per IP set and group); each write
    after the first to the same list re-reads that list, for the digest PVE checks, which every write changes.
seealso:
  - name: PVE firewall
    description: Levels, rules, macros, aliases, IP sets and security groups.
    link: https://pve.proxmox.com/pve-docs/chapter-pve-firewall.html
author:
  - pve.fleet developers (@pve-fleet)
'''

EXAMPLES = r'''
- name: The cluster firewall, on, with the management network let in first
  pve.fleet.firewall:
    level: cluster
    management_cidr: [198.51.100.0/24]
    options:
      enable: true
      policy_in: DROP
    aliases:
      - {name: admin-net, cidr: 198.51.100.0/24, comment: operators}
    ipsets:
      - name: management
        entries: [198.51.100.0/24]
    groups:
      - name: webserver
        rules:
          - {type: in, action: ACCEPT, macro: HTTPS}
          - {type: in, action: ACCEPT, proto: tcp, dport: [80, 8080]}
    rules:
      - {type: in, action: ACCEPT, source: admin-net, proto: tcp, dport: '22,8006', comment: admin access}
      - {type: in, action: ACCEPT, macro: Ping}

- name: A VM's firewall - the web group, SSH from the admins, nothing else in
  pve.fleet.firewall:
    level: vm
    name: web1
    options:
      enable: true
      macfilter: true
      policy_in: DROP
    rules:
      - {type: group, action: webserver, iface: net0}
      - {type: in, action: ACCEPT, source: dc/admin-net, macro: SSH}

- name: Add a rule to a node without touching the others
  pve.fleet.firewall:
    level: node
    node: pve1
    rules_mode: append
    rules:
      - {type: in, action: ACCEPT, source: 192.0.2.10, proto: tcp, dport: 9100, comment: node exporter}
'''

RETURN = r'''
level:
  description: The level.
  returned: always
  type: str
  sample: vm
node:
  description: The node (level node), or the node the guest is on (levels vm, ct); null for the cluster.
  returned: always
  type: str
  sample: pve1
vmid:
  description: The guest's id (levels vm, ct), else null.
  returned: always
  type: int
  sample: 100
changes:
  description: What was done (in check mode, what would be done), one sentence per write.
  returned: always
  type: list
  elements: str
  sample: ['add alias admin-net: 198.51.100.0/24', 'insert cluster rule 1: IN Ping(ACCEPT)',
           'set options.enable: false -> true']
diff:
  description:
    - Before and after of what changes, as YAML text. Rule lists and IP set entries are shown whole, one
      line each in the words of a C(.fw) file, rules numbered by position.
  returned: always
  type: dict
tasks:
  description: The UPIDs of the PVE tasks the run waited for (firewall changes run none).
  returned: always
  type: list
  elements: str
  sample: []
firewall:
  description:
    - The level's firewall after the run (in check mode, as it is now) - C(options) as PVE returns them,
      C(rules) as C(.fw) lines in order, C(aliases) (name to address) and C(ipsets) (name to entries) for the
      cluster and guests, C(groups) (name to rule lines) for the cluster.
  returned: always
  type: dict
  sample: {options: {enable: 1, policy_in: DROP}, rules: ['IN ACCEPT -source admin-net -p tcp -dport 22,8006'],
           aliases: {admin-net: 198.51.100.0/24}, ipsets: {management: [198.51.100.0/24]}, groups: {}}
'''

from ansible_collections.pve.fleet.plugins.module_utils.firewall import (
    FirewallSpec, apply_firewall, firewall_state, plan_firewall, read_firewall)
from ansible_collections.pve.fleet.plugins.module_utils.module import pve_module, run_module
from ansible_collections.pve.fleet.plugins.module_utils.plan import execute

LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']
POLICIES = ['ACCEPT', 'REJECT', 'DROP']

RULE_SPEC = dict(
    type=dict(type='str', required=True),
    action=dict(type='str', required=True),
    macro=dict(type='str'),
    source=dict(type='raw'),
    dest=dict(type='raw'),
    proto=dict(type='str'),
    dport=dict(type='raw'),
    sport=dict(type='raw'),
    iface=dict(type='str'),
    icmp_type=dict(type='str'),
    log=dict(type='str', choices=LOG_LEVELS),
    enable=dict(type='bool', default=True),
    comment=dict(type='str'),
)

OPTIONS_SPEC = dict(
    enable=dict(type='bool'),
    policy_in=dict(type='str', choices=POLICIES),
    policy_out=dict(type='str', choices=POLICIES),
    policy_forward=dict(type='str', choices=['ACCEPT', 'DROP']),
    log_level_in=dict(type='str', choices=LOG_LEVELS),
    log_level_out=dict(type='str', choices=LOG_LEVELS),
    log_level_forward=dict(type='str', choices=LOG_LEVELS),
    macfilter=dict(type='bool'),
    ipfilter=dict(type='bool'),
    dhcp=dict(type='bool'),
    ndp=dict(type='bool'),
    radv=dict(type='bool'),
    ebtables=dict(type='bool'),
    log_ratelimit=dict(type='str'),
    nosmurfs=dict(type='bool'),
    tcpflags=dict(type='bool'),
    smurf_log_level=dict(type='str', choices=LOG_LEVELS),
    tcp_flags_log_level=dict(type='str', choices=LOG_LEVELS),
    nf_conntrack_max=dict(type='int'),
    nf_conntrack_tcp_timeout_established=dict(type='int'),
    nf_conntrack_allow_invalid=dict(type='bool'),
    log_nf_conntrack=dict(type='bool'),
    nftables=dict(type='bool'),
    protection_synflood=dict(type='bool'),
)


def where_of(spec, guest):
    if spec.level == 'cluster':
        return 'cluster'
    if spec.level == 'node':
        return 'node {0}'.format(spec.node)
    return '{0} {1}'.format('VM' if spec.level == 'vm' else 'CT', guest['vmid'])


def ensure_firewall(module, client):
    spec = FirewallSpec.from_params(module.params)
    guest, base, current = read_firewall(client, spec)
    plan = plan_firewall(spec, base, current, where_of(spec, guest))
    run = execute(client, plan, apply_firewall, module.check_mode, module.params['timeout'])
    if plan.changed and not module.check_mode:
        guest, base, current = read_firewall(client, spec)
    result = plan.result(run)
    result.update(level=spec.level, node=guest['node'] if guest else spec.node,
                  vmid=guest['vmid'] if guest else None, firewall=firewall_state(spec, base, current))
    return result


def main():
    module = pve_module(dict(
        level=dict(type='str', required=True, choices=['cluster', 'node', 'vm', 'ct']),
        node=dict(type='str'),
        vmid=dict(type='int'),
        name=dict(type='str'),
        options=dict(type='dict', options=OPTIONS_SPEC),
        aliases=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            cidr=dict(type='str', required=True),
            comment=dict(type='str'),
        )),
        ipsets=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            comment=dict(type='str'),
            entries=dict(type='list', elements='raw', default=[]),
        )),
        groups=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True, aliases=['group']),
            comment=dict(type='str'),
            rules=dict(type='list', elements='dict'),
        )),
        rules=dict(type='list', elements='dict', options=RULE_SPEC),
        rules_mode=dict(type='str', choices=['exact', 'append'], default='exact'),
        management_cidr=dict(type='list', elements='str'),
        force=dict(type='bool', default=False),
    ))
    run_module(module, ensure_firewall)


if __name__ == '__main__':
    main()
