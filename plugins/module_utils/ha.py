# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pve.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the pve.fleet collection: no compatibility promise to other collections.
"""High availability: HA resources and PVE 9 HA rules (spec -> read -> plan -> apply), and the rules as
plain data for planners (``read_ha_rules``).

What PVE accepts follows pve-ha-manager: ``src/PVE/API2/HA/Resources.pm`` and ``Rules.pm`` (the API),
``src/PVE/HA/Config.pm`` (``parse_sid``, the defaults ``read_and_check_resources_config`` fills in,
``delete_service_from_config`` purging a resource from the rules) and ``src/PVE/HA/Rules*.pm`` (which
rule sets are feasible). PVE refuses a rule that contradicts others only when it is sent; ``rule_conflicts``
runs the same checks on the rules as read, so the plan refuses it first, with PVE's reasons.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pve.fleet.plugins.module_utils.cluster import ClusterView
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step
from ansible_collections.pve.fleet.plugins.module_utils.selection import describe, select_guest

# An HA resource of a guest: vm:<vmid> or ct:<vmid> (PVE::HA::Resources::PVEVM/PVECT verify_name).
GUEST_SID = re.compile(r'^(vm|ct):([1-9][0-9]{2,8})$')
SID_TYPES = {'qemu': 'vm', 'lxc': 'ct'}
# pve-configid (rule and group ids) and pve-ha-node (a node with an optional priority).
CONFIG_ID = re.compile(r'^[A-Za-z][A-Za-z0-9_-]+$')
HA_NODE = re.compile(r'^([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?::([0-9]+))?$')

RESOURCE_STATES = ('started', 'stopped', 'disabled', 'ignored')
# What PVE assumes for an option a resource does not set (Config::read_and_check_resources_config).
RESOURCE_DEFAULTS = {'state': 'started', 'max_restart': 1, 'max_relocate': 1, 'failback': True, 'comment': None,
                     'group': None}
RESOURCE_OPTIONS = ('state', 'max_restart', 'max_relocate', 'failback', 'group', 'comment')

RULE_TYPES = ('node-affinity', 'resource-affinity')
RULE_OPTIONS = ('resources', 'nodes', 'strict', 'affinity', 'disable', 'comment')
# Requests that answer this way mean the cluster has no such API (PVE 8 has no HA rules).
NO_SUCH_API = (400, 404, 501)


def sid_of(guest):
    return '{0}:{1}'.format(SID_TYPES[guest['type']], guest['vmid'])


def parse_sid(text, option='sid'):
    """(kind, vmid) of ``vm:100`` / ``ct:200``; a PveError naming the option otherwise."""
    found = GUEST_SID.match(str(text).strip())
    if not found:
        raise PveError('{0}: {1!r} is not the HA resource id of a guest (vm:<vmid> or ct:<vmid>, e.g. vm:100)'.format(
            option, text))
    return found.group(1), int(found.group(2))


def split_list(value):
    return [item for item in re.split(r'[\s,;]+', str(value or '')) if item]


def to_bool(value):
    return str(value).strip().lower() in ('1', 'true', 'yes', 'on')


def read_optional(client, path):
    """GET a path that a cluster may not have (PVE 8 has no HA rules; PVE 9 no HA groups once migrated):
    None when PVE answers that it does not serve it."""
    try:
        return client.get(path)
    except PveError as exc:
        if exc.status in NO_SUCH_API or (exc.status == 500 and 'migrated' in exc.message):
            return None
        raise


# ------------------------------------------------------------------- HA rules as data

def read_ha_rules(rules):
    """PVE's HA rules as GET /cluster/ha/rules returns them, as plain data for planners (pure, no request).

    Returns a list in PVE's order (``order``, then id), one dict per rule, every key always present:

    - ``rule``: the rule id; ``type``: ``node-affinity`` or ``resource-affinity``; ``order``: PVE's ordinal;
    - ``resources``: sorted list of HA resource ids (``['ct:200', 'vm:100']``); ``vmids``: their guest ids
      (sorted ints; resources that are not guests are left out);
    - ``nodes``: node-affinity: ``{node: priority}`` (priority an int, 0 when the rule gives none; a
      higher number is preferred); resource-affinity: ``{}``;
    - ``strict``: node-affinity: True when the resources may run only on ``nodes``, False when they
      merely prefer them; resource-affinity: False;
    - ``affinity``: resource-affinity: ``positive`` (keep the resources on one node) or ``negative``
      (keep them on different nodes); node-affinity: ``positive`` (run on ``nodes``) unless PVE says
      ``negative`` (avoid them);
    - ``disabled``: True for a rule PVE keeps but does not apply; ``comment``: text or None;
    - ``errors``: PVE's feasibility errors (``{'resources': ['rule is ineffective ...']}``), {} if none;
    - ``effective``: not disabled and without errors: the CRM applies the rule (PVE drops the others).
    """
    out = []
    for item in rules or []:
        kind = item.get('type')
        resources = sorted(split_list(item.get('resources')))
        nodes = {}
        if kind == 'node-affinity':
            for entry in split_list(item.get('nodes')):
                name, _sep, priority = entry.partition(':')
                nodes[name] = int(priority) if priority.isdigit() else 0
        errors = item.get('errors') or {}
        errors = dict((k, v if isinstance(v, list) else [str(v)]) for k, v in errors.items())
        disabled = to_bool(item.get('disable', 0))
        out.append(dict(
            rule=item.get('rule'), type=kind, order=int(item.get('order') or 0), resources=resources,
            vmids=sorted(int(GUEST_SID.match(s).group(2)) for s in resources if GUEST_SID.match(s)),
            nodes=nodes, strict=kind == 'node-affinity' and to_bool(item.get('strict', 0)),
            affinity=item.get('affinity') or 'positive', disabled=disabled,
            comment=item.get('comment') or None, errors=errors, effective=not disabled and not errors))
    return sorted(out, key=lambda r: (r['order'], r['rule'] or ''))


# ------------------------------------------------------------------- feasibility

def _merged_sets(rules):
    """Rules whose resource sets overlap, merged (Rules/Helpers.pm find_disjoint_rules_resource_sets)."""
    merged = []
    for rule in sorted(rules, key=lambda r: (min(r['resources']) if r['resources'] else '', r['rule'])):
        found = next((m for m in merged if m['resources'] & set(rule['resources'])), None)
        if found is None:
            merged.append({'rules': [rule['rule']], 'resources': set(rule['resources'])})
        else:
            found['rules'].append(rule['rule'])
            found['resources'] |= set(rule['resources'])
    return merged


class _Blame:
    """Reasons by rule id, in the order PVE's checks find them."""

    def __init__(self):
        self.errors = {}

    def __call__(self, rule_ids, reason):
        for rule_id in rule_ids:
            reasons = self.errors.setdefault(rule_id, {}).setdefault('resources', [])
            if reason not in reasons:
                reasons.append(reason)


def rule_conflicts(rules, nodes):
    """The enabled rules PVE finds infeasible, with PVE's reasons: ``{rule id: {'resources': [reason]}}``.

    ``rules`` as ``read_ha_rules`` gives them, ``nodes`` the cluster's nodes. The checks are PVE's
    (``Rules::check_feasibility``): a resource in two node-affinity rules, a resource-affinity rule of
    fewer than two resources, a negative one of more resources than nodes, the same two resources kept
    together and apart, a resource-affinity rule over a node-affinity rule with several priorities, a
    positive rule over two node-affinity rules, and resources kept apart on fewer nodes than they are.
    """
    blame = _Blame()
    enabled = [r for r in rules if not r['disabled']]
    located = [r for r in enabled if r['type'] == 'node-affinity']
    paired = [r for r in enabled if r['type'] == 'resource-affinity']
    together = [r for r in paired if r['affinity'] == 'positive']
    apart = [r for r in paired if r['affinity'] == 'negative']

    def overlapping(resources):
        return [r for r in located if set(r['resources']) & set(resources)]

    for sid in sorted(set(s for r in located for s in r['resources'])):
        users = [r['rule'] for r in located if sid in r['resources']]
        if len(users) > 1:
            blame(users, "resource '{0}' is already used in another node affinity rule".format(sid))
    for rule in paired:
        if len(rule['resources']) < 2:
            blame([rule['rule']], 'rule is ineffective as there are less than two resources')
    for rule in apart:
        if len(rule['resources']) > len(nodes):
            blame([rule['rule']], 'rule defines more resources than available nodes')
    for merged in _merged_sets(together):
        for rule in apart:
            if len(merged['resources'] & set(rule['resources'])) >= 2:
                blame([rule['rule']], 'rule shares two or more resources with a positive resource affinity rule')
                blame(merged['rules'], 'rule shares two or more resources with a negative resource affinity rule')
    for rule in paired:
        near = overlapping(rule['resources'])
        if any(len(set(r['nodes'].values())) > 1 for r in near):
            blame([rule['rule']], 'resources are in node affinity rules with multiple priorities')
            blame([r['rule'] for r in near], 'resources are in a resource affinity rule and cannot be in a node '
                                             'affinity rule with multiple priorities')
    for merged in _merged_sets(together):
        near = overlapping(merged['resources'])
        if len(near) > 1:
            blame(merged['rules'], 'resources are in multiple node affinity rules')
            blame([r['rule'] for r in near], 'at least one resource is in a positive resource affinity rule and there '
                                             'are other resources in at least one other node affinity rule already')
    for rule in apart:
        near = overlapping(rule['resources'])
        kept = set(s for r in near for s in r['resources']) & set(rule['resources'])
        if len(set(n for r in near for n in r['nodes'])) < len(kept):
            blame([rule['rule']], 'two or more resources are restricted to less nodes than available to the '
                                  'resources')
            blame([r['rule'] for r in near], 'at least one resource is in a negative resource affinity rule and this '
                                             'rule would restrict these to less nodes than available to the resources')
    return blame.errors


# ------------------------------------------------------------------- ha_resource

class ResourceSpec:
    """What the task asks of one guest's HA resource: how the guest is named, the state, the options set."""

    def __init__(self, sid_kind, vmid, name, state, options):
        self.sid_kind = sid_kind  # 'vm' / 'ct' when the task gave a sid
        self.vmid = vmid
        self.name = name
        self.state = state  # present, absent, or one of RESOURCE_STATES
        self.options = options  # module option -> wanted value (comment/group '' = remove)

    @classmethod
    def from_params(cls, params):
        sid_kind, vmid = None, params.get('vmid')
        if params.get('sid'):
            sid_kind, sid_vmid = parse_sid(params['sid'])
            if vmid is not None and int(vmid) != sid_vmid:
                raise PveError('sid: {0} names guest {1}, but vmid is {2}: give one of them, or the same guest'.format(
                    params['sid'], sid_vmid, vmid))
            vmid = sid_vmid
        if vmid is None and not params.get('name'):
            raise PveError('one of sid, vmid or name is required to select the guest')
        options = {}
        for key in ('max_restart', 'max_relocate'):
            if params.get(key) is not None:
                if params[key] < 0:
                    raise PveError('{0}: {1} is not a number of tries (0 or more)'.format(key, params[key]))
                options[key] = params[key]
        if params.get('failback') is not None:
            options['failback'] = bool(params['failback'])
        if params.get('comment') is not None:
            options['comment'] = params['comment'].strip()
        if params.get('group') is not None:
            group = params['group'].strip()
            if group and not CONFIG_ID.match(group):
                raise PveError('group: {0!r} is not an HA group id (a letter, then letters, digits, - or _)'.format(
                    params['group']))
            options['group'] = group
        state = params.get('state') or 'present'
        if state in RESOURCE_STATES:
            options['state'] = state
        if state == 'absent' and options:
            raise PveError('{0}: not used with state=absent (the resource is removed)'.format(', '.join(sorted(options))))
        return cls(sid_kind, vmid, params.get('name'), state, options)


def find_resource(resources, sid):
    for item in resources or []:
        if item.get('sid') == sid:
            return item
    return None


def read_resource(client, spec):
    """The cluster, the HA resources (one list), and what the options need: the groups when the task sets
    one, the rules when the resource goes (PVE purges it from them)."""
    paths = ['cluster/resources', 'cluster/ha/resources']
    cluster_items, resources = client.get_many(paths)
    cluster = ClusterView(cluster_items or [])
    groups = read_optional(client, 'cluster/ha/groups') if spec.options.get('group') else None
    rules = read_optional(client, 'cluster/ha/rules') if spec.state == 'absent' else None
    return cluster, resources or [], groups, rules


def resource_guest(spec, cluster, resources):
    """(guest or None, sid): the guest the task names, found cluster-wide, and its HA resource id."""
    required = spec.state != 'absent'
    guest = select_guest(cluster, vmid=spec.vmid, name=spec.name, required=required)
    if guest is None:
        if spec.vmid is None:
            return None, None
        kinds = [spec.sid_kind] if spec.sid_kind else ['vm', 'ct']
        found = [k for k in kinds if find_resource(resources, '{0}:{1}'.format(k, spec.vmid))]
        return None, '{0}:{1}'.format((found or kinds)[0], spec.vmid)
    if spec.sid_kind and spec.sid_kind != SID_TYPES[guest['type']]:
        raise PveError('sid: {0}:{1} names a {2}, but {3} is a {4} ({5})'.format(
            spec.sid_kind, guest['vmid'], 'VM' if spec.sid_kind == 'vm' else 'container', describe(guest),
            'VM' if guest['type'] == 'qemu' else 'container', sid_of(guest)))
    return guest, sid_of(guest)


def resource_options(config):
    """A resource's options as PVE's CRM sees them: unset ones at their defaults, enabled read as started."""
    out = dict(RESOURCE_DEFAULTS)
    for key in RESOURCE_OPTIONS:
        value = (config or {}).get(key)
        if value is None or value == '':
            continue
        if key in ('max_restart', 'max_relocate'):
            value = int(value)
        elif key == 'failback':
            value = to_bool(value)
        elif key == 'state' and value == 'enabled':
            value = 'started'
        out[key] = value
    return out


class ResourcePlan(Plan):
    """What to do with one HA resource: ``action`` create, update, remove or None; ``options`` holds
    option -> (before, after) for apply."""

    def __init__(self, sid, guest, action, options, current=None, purged=None):
        label = describe(guest) if guest else sid
        super(ResourcePlan, self).__init__('HA resource {0}'.format(sid))
        self.sid = sid
        self.guest = guest
        self.action = action
        self.options = options
        self.current = current
        if action == 'create':
            self.add(Step('create', text='put {0} under HA as {1}'.format(label, sid)), after={'sid': sid})
        elif action == 'remove':
            text = 'remove HA resource {0} (the guest stays as it is)'.format(sid)
            if purged:
                text += '; PVE drops it from rule{0} {1}'.format('s' if len(purged) > 1 else '', ', '.join(purged))
            self.add(Step('remove', text=text), before={'sid': sid})
        add_option_steps(self, RESOURCE_OPTIONS, options, removing=action == 'remove')


def add_option_steps(plan, keys, changes, removing, show=None):
    """The steps and the diff of option -> (before, after) changes, in the order of ``keys``: after None removes
    the option; ``removing`` (the object goes) only shows the options it had. ``show`` spells a value for people."""
    for key in keys:
        if key not in changes:
            continue
        before, after = (show(key, v) if show else v for v in changes[key])
        if removing:
            if before is not None:
                plan.before[key] = before
        elif after is None:
            plan.add(Step('delete', key, before), before={key: before})
        else:
            plan.add(Step('set', key, before, after), before={key: before} if before is not None else {},
                     after={key: after})


def plan_ha_resource(spec, guest, sid, current, groups=None, rules=None):
    """The plan for one guest's HA resource (pure) from the resource as read (None: there is none).

    ``groups`` is GET /cluster/ha/groups (None where the cluster has none: PVE 9 migrated them to rules),
    read only when the task sets a group; ``rules`` GET /cluster/ha/rules, read only for state=absent.
    """
    if spec.state == 'absent':
        if current is None:
            return ResourcePlan(sid or 'of {0}'.format(spec.name or spec.vmid), guest, None, {})
        have = resource_options(current)
        options = dict((k, (have[k], None)) for k in RESOURCE_OPTIONS if current.get(k) not in (None, ''))
        purged = sorted(r['rule'] for r in read_ha_rules(rules) if sid in r['resources'])
        return ResourcePlan(sid, guest, 'remove', options, current, purged)
    group = spec.options.get('group')
    if group:
        if groups is None:
            raise PveError('group: this cluster has no HA groups (PVE 9 migrated them to HA rules); give the guest a '
                           'node-affinity rule with pve.fleet.ha_rule instead')
        names = sorted(g.get('group') for g in groups)
        if group not in names:
            raise PveError('group: HA group {0!r} does not exist (groups: {1})'.format(group, ', '.join(names) or 'none'))
    if current is None:
        options = dict((k, (None, v)) for k, v in spec.options.items() if _unset_empty(k, v) is not None)
        options.setdefault('state', (None, RESOURCE_DEFAULTS['state']))
        return ResourcePlan(sid, guest, 'create', options)
    have = resource_options(current)
    options = {}
    for key, wanted in spec.options.items():
        wanted = _unset_empty(key, wanted)
        if wanted != have.get(key):
            options[key] = (have.get(key), wanted)
    return ResourcePlan(sid, guest, 'update' if options else None, options, current)


def _unset_empty(key, value):
    """An empty comment or group is none at all."""
    return None if key in ('comment', 'group') and not value else value


def _resource_value(key, value):
    if key == 'failback':
        return 1 if value else 0
    return value


def apply_ha_resource(run, plan):
    """The one write: POST /cluster/ha/resources, PUT or DELETE /cluster/ha/resources/{sid}."""
    path = 'cluster/ha/resources/{0}'.format(plan.sid)
    if plan.action == 'create':
        params = dict((k, _resource_value(k, after)) for k, (_b, after) in plan.options.items())
        run.client.post('cluster/ha/resources', sid=plan.sid, **params)
    elif plan.action == 'update':
        params = dict((k, _resource_value(k, after)) for k, (_b, after) in plan.options.items() if after is not None)
        delete = sorted(k for k, (_b, after) in plan.options.items() if after is None)
        if delete:
            params['delete'] = ','.join(delete)
        run.client.put(path, digest=(plan.current or {}).get('digest'), **params)
    elif plan.action == 'remove':
        run.client.delete(path)


def public_resource(config):
    if config is None:
        return None
    return dict((k, v) for k, v in config.items() if k not in ('digest',))


# ------------------------------------------------------------------- ha_rule

class RuleSpec:
    """What the task asks of one HA rule: its id, type, state, and the options set (PVE's names)."""

    def __init__(self, rule, kind, state, resources, options):
        self.rule = rule
        self.type = kind
        self.state = state
        self.resources = resources  # the guests as given (sids, vmids or names), resolved by read/plan
        self.options = options  # nodes ({node: priority}), strict, affinity, disable, comment

    @classmethod
    def from_params(cls, params):
        rule = params['rule']
        if not CONFIG_ID.match(rule):
            raise PveError('rule: {0!r} is not an HA rule id (a letter, then at least one letter, digit, - or _)'.format(
                rule))
        kind, state = params.get('type'), params.get('state') or 'present'
        options = {}
        if params.get('nodes') is not None:
            nodes = {}
            for entry in params['nodes']:
                found = HA_NODE.match(str(entry).strip())
                if not found:
                    raise PveError('nodes: {0!r} is not a node with an optional priority (pve1, or pve1:2)'.format(entry))
                if found.group(1) in nodes:
                    raise PveError('nodes: {0!r} is given twice'.format(found.group(1)))
                nodes[found.group(1)] = int(found.group(2) or 0)
            if not nodes:
                raise PveError('nodes: a node-affinity rule needs at least one node')
            options['nodes'] = nodes
        for key in ('strict', 'disable'):
            if params.get(key) is not None:
                options[key] = bool(params[key])
        if params.get('affinity') is not None:
            options['affinity'] = params['affinity']
        if params.get('comment') is not None:
            options['comment'] = params['comment'].strip()
        resources = None
        if params.get('resources') is not None:
            resources = [str(r).strip() for r in params['resources']]
            if not resources:
                raise PveError('resources: a rule needs at least one HA resource')
        if kind == 'resource-affinity':
            for key in ('nodes', 'strict'):
                if key in options:
                    raise PveError('{0}: only node-affinity rules have {0} (this is a resource-affinity rule)'.format(key))
        elif kind == 'node-affinity' and 'affinity' in options:
            raise PveError('affinity: only resource-affinity rules have an affinity (positive or negative); a '
                           'node-affinity rule places its resources on its nodes')
        if state == 'absent' and (options or resources):
            raise PveError('{0}: not used with state=absent (the rule is removed)'.format(
                ', '.join(sorted(list(options) + (['resources'] if resources else [])))))
        return cls(rule, kind, state, resources, options)


def read_rule_state(client):
    """The cluster, the HA resources and the HA rules: three lists, read together."""
    cluster_items, resources = client.get_many(['cluster/resources', 'cluster/ha/resources'])
    rules = read_optional(client, 'cluster/ha/rules')
    if rules is None:
        raise PveError('rule: this cluster has no HA rules API (PVE 8): HA rules need PVE 9; use an HA group '
                       '(pve.fleet.ha_resource group) there')
    return ClusterView(cluster_items or []), resources or [], rules


def resolve_resources(given, cluster, resources):
    """The HA resource ids of the guests given as ``vm:100``/``ct:200``, vmids or guest names; each must be
    an HA resource already (PVE: ``cannot use unmanaged resource(s)``)."""
    managed = set(item.get('sid') for item in resources)
    sids = []
    for item in given:
        if GUEST_SID.match(item):
            sid = item
        elif item.isdigit():
            guest = cluster.find_guest(vmid=int(item))
            if guest is None:
                raise PveError('resources: {0}: no such guest in the cluster'.format(item))
            sid = sid_of(guest)
        else:
            try:
                guest = cluster.find_guest(name=item)
            except PveError as exc:
                raise PveError('resources: {0}'.format(exc))
            if guest is None:
                raise PveError('resources: {0!r}: neither vm:<vmid>/ct:<vmid>, a vmid, nor the name of a guest in the '
                               'cluster'.format(item))
            sid = sid_of(guest)
        if sid not in managed:
            raise PveError('resources: {0} is not an HA resource; put it under HA first (pve.fleet.ha_resource)'.format(
                sid if sid == item else '{0} ({1})'.format(item, sid)))
        if sid not in sids:
            sids.append(sid)
    return sorted(sids)


def format_nodes(nodes):
    """{node: priority} in PVE's list spelling, as a list: ``['pve1:2', 'pve2']``."""
    return ['{0}:{1}'.format(n, p) if p else n for n, p in sorted(nodes.items())]


def rule_fields(rule):
    """A rule's options under PVE's names (resources a sorted list, nodes a dict), those of its type only."""
    fields = {'resources': list(rule['resources']), 'disable': rule['disabled'], 'comment': rule['comment']}
    if rule['type'] == 'node-affinity':
        fields.update(nodes=dict(rule['nodes']), strict=rule['strict'])
    else:
        fields['affinity'] = rule['affinity']
    return fields


def shown(key, value):
    """A value in the module's spelling, for diffs and sentences."""
    return format_nodes(value) if key == 'nodes' and value is not None else value


class RulePlan(Plan):
    """What to do with one HA rule: ``action`` create, update, remove or None; ``fields`` holds PVE key ->
    (before, after) for apply (after None: delete the key)."""

    def __init__(self, rule, kind, action, fields, digest=None):
        super(RulePlan, self).__init__('HA rule {0}'.format(rule))
        self.rule = rule
        self.type = kind
        self.action = action
        self.fields = fields
        self.digest = digest
        if action == 'create':
            self.add(Step('create', text='create {0} rule {1}'.format(kind, rule)), after={'type': kind})
        elif action == 'remove':
            self.add(Step('remove', text='remove {0} rule {1}'.format(kind, rule)), before={'type': kind})
        add_option_steps(self, RULE_OPTIONS, fields, removing=action == 'remove', show=shown)


def check_feasible(wanted, rules, nodes):
    """Refuse, with PVE's reasons, a rule that would contradict the others (Rules::check_feasibility)."""
    others = [r for r in rules if r['rule'] != wanted['rule']]
    before = rule_conflicts(others, nodes)
    after = rule_conflicts(others + [wanted], nodes)
    reasons = after.get(wanted['rule'])
    if not reasons:
        return
    against = sorted(r for r in after if r != wanted['rule'] and after[r] != before.get(r))
    where = 'rule{0} {1}'.format('s' if len(against) > 1 else '', ', '.join(against)) if against else 'the cluster'
    raise PveError('resources: HA rule {0!r} contradicts {1}, so PVE refuses it: {2}'.format(
        wanted['rule'], where, '; '.join(', '.join(v) for _k, v in sorted(reasons.items()))))


def _check_rule_options(spec, kind, current, nodes):
    if current is not None and spec.type and spec.type != current['type']:
        raise PveError('type: HA rule {0!r} is a {1} rule; PVE cannot change the type of a rule: remove it '
                       '(state=absent) and create it again'.format(spec.rule, current['type']))
    if kind is None:
        raise PveError('type: HA rule {0!r} does not exist, and creating it needs its type (node-affinity or '
                       'resource-affinity)'.format(spec.rule))
    if kind == 'node-affinity' and 'affinity' in spec.options:
        raise PveError('affinity: only resource-affinity rules have an affinity; {0!r} is a node-affinity rule'.format(
            spec.rule))
    for key in ('nodes', 'strict'):
        if kind == 'resource-affinity' and key in spec.options:
            raise PveError('{0}: only node-affinity rules have it; {1!r} is a resource-affinity rule'.format(
                key, spec.rule))
    for node in sorted(spec.options.get('nodes') or {}):
        if node not in nodes:
            raise PveError('nodes: node {0!r} is not in the cluster (nodes: {1})'.format(node, ', '.join(nodes)))


def plan_ha_rule(spec, rules, sids, nodes):
    """The plan for one HA rule (pure): ``rules`` as GET /cluster/ha/rules gave them, ``sids`` the task's
    resources resolved (None: not given), ``nodes`` the cluster's node names (sorted)."""
    parsed = read_ha_rules(rules)
    current = next((r for r in parsed if r['rule'] == spec.rule), None)
    digest = next((r.get('digest') for r in rules or [] if r.get('rule') == spec.rule), None)
    if spec.state == 'absent':
        if current is None:
            return RulePlan(spec.rule, spec.type, None, {})
        fields = dict((k, (v, None)) for k, v in rule_fields(current).items() if v not in (None, False))
        return RulePlan(spec.rule, current['type'], 'remove', fields)
    kind = spec.type or (current or {}).get('type')
    _check_rule_options(spec, kind, current, nodes)
    if current is None:
        required = ['resources'] + (['nodes'] if kind == 'node-affinity' else ['affinity'])
        missing = [k for k in required if (sids if k == 'resources' else spec.options.get(k)) is None]
        if missing:
            raise PveError('{0}: required to create a {1} rule'.format(', '.join(missing), kind))
        current_fields = None
        wanted = dict(rule=spec.rule, type=kind, order=0, resources=[], vmids=[], nodes={}, strict=False,
                      affinity='positive', disabled=False, comment=None, errors={}, effective=True)
    else:
        current_fields = rule_fields(current)
        wanted = dict(current, errors={})
    if sids is not None:
        wanted['resources'] = sids
    for key in ('nodes', 'strict', 'affinity'):
        if key in spec.options:
            wanted[key] = spec.options[key]
    if 'comment' in spec.options:
        wanted['comment'] = spec.options['comment'] or None
    if 'disable' in spec.options:
        wanted['disabled'] = spec.options['disable']
    if not wanted['disabled']:
        check_feasible(wanted, parsed, nodes)
    fields = {}
    for key, want in rule_fields(wanted).items():
        have = current_fields[key] if current_fields is not None else None
        if key in ('disable', 'strict', 'comment') and not want:
            # Not set where PVE's default holds; PVE takes disable=0 as nothing, so a flag set is deleted.
            if current_fields is None or not have:
                continue
            want = False if key == 'strict' else None
        if have != want:
            fields[key] = (have, want)
    return RulePlan(spec.rule, kind, 'create' if current is None else 'update' if fields else None, fields, digest)


def _rule_value(key, value):
    if key == 'resources':
        return ','.join(value)
    if key == 'nodes':
        return ','.join(format_nodes(value))
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def apply_ha_rule(run, plan):
    """The one write: POST /cluster/ha/rules, PUT or DELETE /cluster/ha/rules/{rule}."""
    path = 'cluster/ha/rules/{0}'.format(plan.rule)
    if plan.action == 'create':
        params = dict((k, _rule_value(k, after)) for k, (_b, after) in plan.fields.items())
        run.client.post('cluster/ha/rules', rule=plan.rule, type=plan.type, **params)
    elif plan.action == 'update':
        params = dict((k, _rule_value(k, after)) for k, (_b, after) in plan.fields.items() if after is not None)
        delete = sorted(k for k, (_b, after) in plan.fields.items() if after is None)
        if delete:
            params['delete'] = ','.join(delete)
        run.client.put(path, type=plan.type, digest=plan.digest, **params)
    elif plan.action == 'remove':
        run.client.delete(path)
