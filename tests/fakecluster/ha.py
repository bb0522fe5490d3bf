"""High availability: HA resources, HA rules (PVE 9), HA groups not yet migrated, and the CRM's
answer to migrate and relocate requests.

Follows pve-ha-manager: src/PVE/API2/HA/Resources.pm, Rules.pm and Groups.pm (the API, its
checks and wording), src/PVE/HA/Config.pm (parse_sid, update_resources_config,
delete_service_from_config with purge, get_resource_motion_info), src/PVE/HA/Rules.pm,
Rules/NodeAffinity.pm, Rules/ResourceAffinity.pm and Rules/Helpers.pm (the feasibility checks
and their reasons), src/PVE/HA/Groups.pm (groups shown as node-affinity rules until they are
migrated) and src/PVE/HA/Manager.pm (queue_resource_motion: negative affinity blocks, positive
affinity moves the partners along). Errors raised inside `lock_ha_domain` carry its prefix
(`create ha rule failed: ...`), as PVE's do; a rule PVE finds infeasible is HTTP 500
`... Rule 'x' is invalid.` with the reasons, PVE::Exception's string form.

What the CRM and LRM would do some seconds later is done at once: a resource's requested
state starts or stops its guest, and a migrate/relocate request moves the guest (and its
positive-affinity partners) through the fake's own migration code.
"""

import hashlib
import json
import re
import time

from fakepve import PveError
from fakepve.routing import DIGEST_CHANGED, param_error, split_list

SID = re.compile(r'^[a-z]+:\S+$')
SID_OR_VMID = re.compile(r'^(?:[a-z]+:\S+|\d+)$')
HA_NODE = re.compile(r'^([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)(?::(\d+))?$')
CONFIGID = re.compile(r'^[A-Za-z][A-Za-z0-9_\-]+$')
GUEST_KIND = {'vm': 'qemu', 'ct': 'lxc'}
RESOURCE_OPTIONS = ('state', 'group', 'comment', 'failback', 'max_restart', 'max_relocate')
RULE_TYPES = ('node-affinity', 'resource-affinity')
# PVE 9's schema (the API viewer's) gives node-affinity an `affinity` too, default positive.
RULE_OPTIONS = {
    'node-affinity': {'resources': False, 'nodes': False, 'strict': True, 'affinity': True, 'disable': True,
                      'comment': True},
    'resource-affinity': {'resources': False, 'affinity': False, 'disable': True, 'comment': True},
}
RULE_DEFAULTS = {'node-affinity': {'affinity': 'positive'}, 'resource-affinity': {}}
BOOLEANS = ('strict', 'disable')
NOT_IN_SCHEMA = 'property is not defined in schema and the schema does not allow additional properties'
MISSING = 'property is missing and it is not optional'
BAD_SID = 'invalid format - value does not look like a valid ha resource id'
BAD_NODE = 'invalid format - value does not look like a valid ha node'


def die(message):
    return PveError(500, message)


def digest_of(data):
    """A section config's digest: the same content, the same digest."""
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=sorted).encode()).hexdigest()


def to_bool(name, value):
    text = str(value).lower()
    if text in ('1', 'true', 'yes', 'on'):
        return 1
    if text in ('0', 'false', 'no', 'off'):
        return 0
    raise param_error(**{name: "type check ('boolean') failed - got '{0}'".format(value)})


def parse_nodes(text):
    """pve-ha-node-list -> {node: priority}; a node without priority has 0 (Tools::parse_node_priority)."""
    nodes = {}
    for item in split_list(text):
        found = HA_NODE.match(item)
        if not found:
            raise param_error(nodes=BAD_NODE)
        nodes[found.group(1)] = int(found.group(2) or 0)
    return nodes


def encode_nodes(nodes):
    """NodeAffinity::encode_plugin_value: sorted, ':priority' only when it is not 0."""
    return ','.join('{0}:{1}'.format(n, p) if p else n for n, p in sorted(nodes.items()))


def parse_resources(text):
    sids = split_list(text)
    if any(not SID.match(sid) for sid in sids):
        raise param_error(resources=BAD_SID)
    return set(sids)


# ------------------------------------------------------------------ feasibility

def disjoint_sets(rules):
    """Helpers::find_disjoint_rules_resource_sets: rules whose resources overlap, merged."""
    out = []
    for ruleid in sorted(rules, key=lambda r: (min(rules[r]['resources']), r)):
        resources = rules[ruleid]['resources']
        for entry in out:
            if entry['resources'] & resources:
                entry['ruleids'].append(ruleid)
                entry['resources'] |= resources
                break
        else:
            out.append({'ruleids': [ruleid], 'resources': set(resources)})
    return out


def feasibility_errors(rules, nodes):
    """PVE::HA::Rules->check_feasibility over the enabled rules: {ruleid: {option: [reason, ...]}}."""
    errors = {}

    def blame(ruleid, reason):
        errors.setdefault(ruleid, {}).setdefault('resources', []).append(reason)
    enabled = dict((k, r) for k, r in rules.items() if not r.get('disable'))
    node_rules = dict((k, r) for k, r in enabled.items() if r['type'] == 'node-affinity')
    affinity_rules = dict((k, r) for k, r in enabled.items() if r['type'] == 'resource-affinity')
    positive = dict((k, r) for k, r in affinity_rules.items() if r['affinity'] == 'positive')
    negative = dict((k, r) for k, r in affinity_rules.items() if r['affinity'] == 'negative')

    # NodeAffinity: check_single_resource_reference
    users = {}
    for ruleid, rule in node_rules.items():
        for sid in rule['resources']:
            users.setdefault(sid, []).append(ruleid)
    for sid in sorted(users):
        if len(users[sid]) > 1:
            for ruleid in sorted(users[sid]):
                blame(ruleid, "resource '{0}' is already used in another node affinity rule".format(sid))
    # ResourceAffinity: resource counts, then positive against negative
    for ruleid in sorted(affinity_rules):
        if len(affinity_rules[ruleid]['resources']) < 2:
            blame(ruleid, 'rule is ineffective as there are less than two resources')
    for ruleid in sorted(negative):
        if len(negative[ruleid]['resources']) > len(nodes):
            blame(ruleid, 'rule defines more resources than available nodes')
    for entry in disjoint_sets(positive):
        for negid in sorted(negative):
            if len(entry['resources'] & negative[negid]['resources']) >= 2:
                blame(negid, 'rule shares two or more resources with a positive resource affinity rule')
                for posid in entry['ruleids']:
                    blame(posid, 'rule shares two or more resources with a negative resource affinity rule')
    # Between the types (Rules.pm)
    for ruleid in sorted(affinity_rules):
        paired = sorted(k for k, r in node_rules.items() if r['resources'] & affinity_rules[ruleid]['resources'])
        if any(len(set(node_rules[k]['nodes'].values())) > 1 for k in paired):
            blame(ruleid, 'resources are in node affinity rules with multiple priorities')
            for k in paired:
                blame(k, 'resources are in a resource affinity rule and cannot be in a node affinity rule with '
                         'multiple priorities')
    for entry in disjoint_sets(positive):
        paired = sorted(k for k, r in node_rules.items() if r['resources'] & entry['resources'])
        if len(paired) > 1:
            for posid in entry['ruleids']:
                blame(posid, 'resources are in multiple node affinity rules')
            for k in paired:
                blame(k, 'at least one resource is in a positive resource affinity rule and there are other '
                         'resources in at least one other node affinity rule already')
    for negid in sorted(negative):
        allowed, located, paired = set(), set(), []
        for k in sorted(node_rules):
            common = node_rules[k]['resources'] & negative[negid]['resources']
            if common:
                located |= common
                allowed |= set(node_rules[k]['nodes'])
                paired.append(k)
        if len(allowed) < len(located):
            blame(negid, 'two or more resources are restricted to less nodes than available to the resources')
            for k in paired:
                blame(k, 'at least one resource is in a negative resource affinity rule and this rule would restrict '
                         'these to less nodes than available to the resources')
    return errors


class HighAvailability(object):
    """Mixin of FakePve: /cluster/ha/resources, /cluster/ha/rules, /cluster/ha/groups, migrate and relocate.

    ``ha_resources`` (sid -> options as stored), ``ha_rules`` (ruleid -> rule with sets and a node ->
    priority dict, ``order``) and ``ha_groups`` (group -> options; empty, as on a PVE 9 cluster whose
    groups were migrated: fill it to act as a cluster that still has them) are the state tests read.
    ``ha_log`` holds the CRM's messages (``crm command error - ...``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ha_resources = {}
        self.ha_rules = {}
        self.ha_groups = {}
        self.ha_log = []

    def _routes_fleet_ha(self):
        res, rules, groups = '/cluster/ha/resources', '/cluster/ha/rules', '/cluster/ha/groups'
        return [
            ('GET', res, self._ha_resource_list), ('POST', res, self._ha_resource_create),
            ('GET', res + '/{sid}', self._ha_resource_read), ('PUT', res + '/{sid}', self._ha_resource_update),
            ('DELETE', res + '/{sid}', self._ha_resource_delete),
            ('POST', res + '/{sid}/migrate', self._ha_migrate), ('POST', res + '/{sid}/relocate', self._ha_relocate),
            ('GET', rules, self._ha_rule_list), ('POST', rules, self._ha_rule_create),
            ('GET', rules + '/{rule}', self._ha_rule_read), ('PUT', rules + '/{rule}', self._ha_rule_update),
            ('DELETE', rules + '/{rule}', self._ha_rule_delete),
            ('GET', groups, self._ha_group_list), ('GET', groups + '/{group}', self._ha_group_read),
            ('POST', groups, self._ha_group_create), ('DELETE', groups + '/{group}', self._ha_group_delete),
        ]

    # -------------------------------------------------------------- resources

    def _parse_sid(self, text):
        """Config::parse_sid: (sid, type, name); a bare vmid gets the guest's type."""
        if not SID_OR_VMID.match(str(text)):
            raise param_error(sid=BAD_SID)
        text = str(text)
        if text.isdigit():
            guest = self.guest(int(text))
            if guest is None:
                raise die('unable to detect SID from VMID - VM/CT {0} does not exist'.format(text))
            kind = 'vm' if guest in self.vms else 'ct'
            return '{0}:{1}'.format(kind, text), kind, text
        kind, name = text.split(':', 1)
        return text, kind, name

    def _ha_guest(self, kind, name):
        """The plugin's verify_name and exists: the guest of a vm:/ct: resource."""
        if kind not in GUEST_KIND:
            raise die("unknown section type '{0}'".format(kind))
        if not re.match(r'^[1-9][0-9]+$', name):
            raise die('invalid VMID')
        vmid = int(name)
        guest = self.vm(vmid) if kind == 'vm' else self.ct(vmid)
        if guest is None:
            other = self.guest(vmid)
            if other is None:
                raise die("resource '{0}:{1}' does not exist in cluster".format(kind, name))
            raise die("resource '{0}:{1}' - guest with ID {1} is not a {2}".format(kind, name, kind.upper()))
        return guest

    def _resources_digest(self):
        return digest_of(self.ha_resources)

    def _sync_resources(self):
        """A managed guest destroyed with purge took its resource (and its rule entries) along."""
        for sid in list(self.ha_resources):
            kind, name = sid.split(':', 1)
            if kind in GUEST_KIND and self.guest(int(name)) is None and \
                    self.ha_resources[sid].get('state') != 'ignored':
                self._drop_resource(sid, purge=True)

    def _api_resource(self, sid):
        data = dict(self.ha_resources[sid], sid=sid, digest=self._resources_digest())
        if not self.ha_groups:
            data.pop('group', None)
        return data

    async def _ha_resource_list(self, v, user):
        self._sync_resources()
        out = []
        for sid in self.ha_resources:
            item = self._api_resource(sid)
            if v.get('type') and v['type'] != item['type']:
                continue
            if item.get('group') and item['group'] not in self.ha_groups:
                item['errors'] = {'group': "group '{0}' does not exist".format(item['group'])}
            out.append(item)
        return out

    async def _ha_resource_read(self, v, user):
        self._sync_resources()
        sid = self._parse_sid(v['sid'])[0]
        if sid not in self.ha_resources:
            raise die("no such resource '{0}'".format(sid))
        return self._api_resource(sid)

    async def _ha_resource_create(self, v, user):
        self.need_quorum()
        self._sync_resources()
        sid, kind, name = self._parse_sid(v['sid'])
        if v.get('type') and v['type'] != kind:
            raise die('types does not match')
        if v.get('group') is not None and not self.ha_groups:
            raise die("invalid parameter 'group': ha groups have been migrated to rules")
        guest = self._ha_guest(kind, name)
        if sid in self.ha_resources:
            raise die("create resource failed: resource ID '{0}' already defined".format(sid))
        config = {'type': kind}
        config.update((k, v[k]) for k in RESOURCE_OPTIONS if v.get(k) is not None)
        self.ha_resources[sid] = config
        self._crm_request_state(guest, config)

    async def _ha_resource_update(self, v, user):
        self._sync_resources()
        sid, kind, _name = self._parse_sid(v['sid'])
        if v.get('type') and v['type'] != kind:
            raise die('types does not match')
        if v.get('group'):
            if not self.ha_groups:
                raise die("invalid parameter 'group': ha groups have been migrated to rules")
            if v['group'] not in self.ha_groups:
                raise die("HA group '{0}' does not exist".format(v['group']))
        prefix = 'update resources config failed: '
        if v.get('digest') and v['digest'] != self._resources_digest():
            raise die(prefix + DIGEST_CHANGED)
        config = self.ha_resources.get(sid)
        if config is None:
            raise die(prefix + "no such resource '{0}'".format(sid))
        changed = dict(config)
        changed.update((k, v[k]) for k in RESOURCE_OPTIONS if v.get(k) is not None)
        for key in split_list(v.get('delete')):
            if key not in RESOURCE_OPTIONS:
                raise die(prefix + "no such option '{0}'".format(key))
            changed.pop(key, None)
        self.ha_resources[sid] = changed
        guest = self._ha_guest(kind, sid.split(':', 1)[1])
        self._crm_request_state(guest, changed)

    def _drop_resource(self, sid, purge):
        del self.ha_resources[sid]
        if purge:
            for ruleid in list(self.ha_rules):
                self.ha_rules[ruleid]['resources'].discard(sid)
                if not self.ha_rules[ruleid]['resources']:
                    del self.ha_rules[ruleid]

    async def _ha_resource_delete(self, v, user):
        self._sync_resources()
        sid, kind, name = self._parse_sid(v['sid'])
        if sid not in self.ha_resources:
            raise die("cannot delete service '{0}', not HA managed!".format(sid))
        purge = v.get('purge')
        self._drop_resource(sid, purge is None or bool(purge))
        guest = self.vm(int(name)) if kind == 'vm' else self.ct(int(name)) if kind == 'ct' else None
        if guest is not None:
            guest.ha_state = None  # the guest stays as it is, no longer managed

    # ----------------------------------------------------------- the CRM, at once

    def _crm_request_state(self, guest, config):
        """What the CRM and the LRM make of a requested state: started starts the guest, stopped and
        disabled stop it; an ignored resource is not managed (API calls go straight to the guest)."""
        state = config.get('state') or 'started'
        if state == 'ignored':
            guest.ha_state = None
            return
        wanted = 'started' if state in ('started', 'enabled') else 'stopped'
        guest.ha_state = wanted
        if getattr(guest, 'template', False):
            return
        if wanted == 'started' and guest.status != 'running':
            self._crm_start(guest)
        elif wanted == 'stopped' and guest.status == 'running':
            self._crm_stop(guest)

    def _crm_start(self, guest):
        if guest in self.vms:
            guest.apply_pending()
            guest.status = guest.qmpstatus = 'running'
        else:
            self._apply(guest)
            guest.status = 'running'
            guest.pid = next(self._ct_pids)
        guest.started_at = time.time()

    def _crm_stop(self, guest):
        if guest in self.vms:
            guest.status = guest.qmpstatus = 'stopped'
        else:
            guest.status = 'stopped'
            guest.pid = None
        guest.started_at = None

    def _managed_resources(self):
        """The CRM's service status: sid -> (guest, requested state) of every resource it manages."""
        out = {}
        for sid, config in self.ha_resources.items():
            state = config.get('state') or 'started'
            kind, name = sid.split(':', 1)
            guest = self.guest(int(name)) if kind in GUEST_KIND else None
            if state != 'ignored' and guest is not None:
                out[sid] = (guest, state)
        return out

    def _affinity_of(self, sid):
        """ResourceAffinity's compiled rules for sid: (together, separate), connected positive rules merged
        and their partners' negative affinities inherited, as the transforms do; infeasible rules dropped."""
        rules = self._effective_rules()
        positive = [r['resources'] for r in rules.values()
                    if r['type'] == 'resource-affinity' and r['affinity'] == 'positive']
        together, grown = {sid}, True
        while grown:
            grown = False
            for resources in positive:
                if resources & together and not resources <= together:
                    together |= resources
                    grown = True
        separate = set()
        for rule in rules.values():
            if rule['type'] == 'resource-affinity' and rule['affinity'] == 'negative' and rule['resources'] & together:
                separate |= rule['resources'] - together
        return together - {sid}, separate

    def _strictly_excluded(self, sid, node):
        for rule in self._effective_rules().values():
            if rule['type'] == 'node-affinity' and rule.get('strict') and sid in rule['resources'] \
                    and node not in rule['nodes']:
                return True
        return False

    async def _ha_migrate(self, v, user):
        return await self._ha_motion('migrate', v, user)

    async def _ha_relocate(self, v, user):
        return await self._ha_motion('relocate', v, user)

    async def _ha_motion(self, task, v, user):
        self._sync_resources()
        sid = self._parse_sid(v['sid'])[0]
        target = v['node']
        managed = self._managed_resources()
        if sid not in managed:
            raise die("resource '{0}' is not HA managed".format(sid))
        together, separate = self._affinity_of(sid)
        comigrated = sorted(s for s in together if s in managed)
        blocking = [{'sid': s, 'cause': 'resource-affinity'} for s in sorted(separate)
                    if s in managed and managed[s][0].node == target]
        blocking += [{'sid': s, 'cause': 'node-affinity'} for s in [sid] + comigrated
                     if self._strictly_excluded(s, target)]
        answer = {'sid': sid, 'requested-node': target}
        if comigrated:
            answer['comigrated-resources'] = comigrated
        if blocking:
            answer['blocking-resources'] = blocking
        await self._crm_motion(task, sid, target, managed, comigrated, blocking)
        return answer

    async def _crm_motion(self, task, sid, target, managed, comigrated, blocking):
        """Manager::update_crm_commands and queue_resource_motion, then the LRM's migrate of each guest."""
        cmd = '{0} {1} {2}'.format(task, sid, target)
        guest = managed[sid][0]
        if target not in self.nodes or not self.nodes[target].get('online', True):
            self.ha_log.append('crm command error - node not online: ' + cmd)
            return
        if guest.node == target:
            self.ha_log.append('ignore crm command - service already on target node: ' + cmd)
            return
        if blocking:
            self.ha_log.append("crm command '{0}' error - service '{1}' blocks it ({2})".format(
                cmd, blocking[0]['sid'], blocking[0]['cause']))
            return
        self.ha_log.append('got crm command: ' + cmd)
        for one in [sid] + comigrated:
            partner, state = managed[one]
            if partner.node != target:
                await self._lrm_move(task, partner, state, target)

    async def _lrm_move(self, task, guest, state, target):
        """Resources/PVEVM.pm and PVECT.pm migrate: a running VM migrates live (relocate: stopped first), a
        container is always stopped and moved; the CRM starts it again on the target if it is to run."""
        source, vmid = guest.node, guest.vmid
        if guest in self.vms:
            online = guest.status == 'running' and task == 'migrate'
            if guest.status == 'running' and not online:
                self._crm_stop(guest)
            await self._qm_migrate({'node': source, 'vmid': vmid, 'target': target, 'online': 1 if online else 0,
                                    'force': 1, 'with-local-disks': 1}, 'root@pam')
        else:
            if guest.status == 'running':
                self._crm_stop(guest)
            await self._lxc_migrate('root@pam', {'node': source, 'vmid': vmid, 'target': target})
        if state in ('started', 'enabled') and guest.status != 'running':
            self._crm_start(guest)

    # ------------------------------------------------------------------ rules

    def _rules_digest(self):
        return digest_of(self.ha_rules)

    def _group_rules(self):
        """Groups::migrate_groups_to_rules: what a cluster with groups shows as node-affinity rules."""
        out, order = {}, self._next_order(self.ha_rules)
        members = {}
        for sid, config in self.ha_resources.items():
            if config.get('group') in self.ha_groups:
                members.setdefault(config['group'], set()).add(sid)
        for group in sorted(members):
            options = self.ha_groups[group]
            out['ha-group-' + group] = {
                'type': 'node-affinity', 'resources': members[group], 'nodes': parse_nodes(options['nodes']),
                'strict': 1 if options.get('restricted') else 0, 'order': order,
                'comment': options.get('comment') or "Generated from HA group '{0}'.".format(group)}
        return out

    @staticmethod
    def _next_order(rules):
        """Rules::get_next_ordinal: the lowest ordinal plus one (PVE sorts ascending and takes the first)."""
        orders = sorted(r['order'] for r in rules.values())
        return (orders[0] if orders else 0) + 1

    def _full_rules(self):
        rules = dict(self.ha_rules)
        rules.update(self._group_rules())
        return rules

    def _effective_rules(self):
        """The rules the CRM applies: enabled and feasible (Rules->transform drops the others)."""
        rules = self._full_rules()
        errors = feasibility_errors(rules, sorted(self.nodes))
        return dict((k, r) for k, r in rules.items() if not r.get('disable') and k not in errors)

    def _api_rule(self, ruleid, rule, errors):
        data = dict(RULE_DEFAULTS[rule['type']])
        data.update((k, val) for k, val in rule.items() if k not in ('resources', 'nodes'))
        data.update(rule=ruleid, digest=self._rules_digest(), resources=','.join(sorted(rule['resources'])))
        if 'nodes' in rule:
            data['nodes'] = encode_nodes(rule['nodes'])
        if errors.get(ruleid):
            data['errors'] = errors[ruleid]
        return data

    async def _ha_rule_list(self, v, user):
        self._sync_resources()
        rules = self._full_rules()
        errors = feasibility_errors(rules, sorted(self.nodes))
        out = []
        for ruleid in sorted(rules, key=lambda r: (rules[r]['order'], r)):
            rule = rules[ruleid]
            if v.get('type') and rule['type'] != v['type']:
                continue
            if v.get('resource') and v['resource'] not in rule['resources']:
                continue
            out.append(self._api_rule(ruleid, rule, errors))
        return out

    async def _ha_rule_read(self, v, user):
        self._sync_resources()
        rules = self._full_rules()
        if v['rule'] not in rules:
            raise die("no such ha rule '{0}'".format(v['rule']))
        return self._api_rule(v['rule'], rules[v['rule']], feasibility_errors(rules, sorted(self.nodes)))

    def _rule_params(self, v, create):
        """The type-property schema of Rules->createSchema/updateSchema: the options of the rule's type."""
        kind = v.get('type')
        if kind is None:
            raise param_error(type=MISSING)
        if kind not in RULE_TYPES:
            raise param_error(type="value '{0}' does not have a value in the enumeration '{1}'".format(
                kind, ', '.join(RULE_TYPES)))
        options = RULE_OPTIONS[kind]
        known = set(options) | {'type', 'rule', 'digest', 'delete'}
        unknown = dict((k, NOT_IN_SCHEMA) for k in v if k not in known)
        if unknown:
            raise param_error(**unknown)
        if create:
            missing = dict((k, MISSING) for k, optional in options.items() if not optional and v.get(k) is None)
            if missing:
                raise param_error(**missing)
        if not CONFIGID.match(str(v.get('rule', ''))):
            raise param_error(rule="invalid format - invalid configuration ID '{0}'".format(v.get('rule')))
        out = {}
        for key in options:
            if v.get(key) is None:
                continue
            value = v[key]
            if key == 'resources':
                value = parse_resources(value)
            elif key == 'nodes':
                value = parse_nodes(value)
            elif key in BOOLEANS:
                value = to_bool(key, value)
            elif key == 'affinity' and value not in ('positive', 'negative'):
                raise param_error(affinity="value '{0}' does not have a value in the enumeration "
                                           "'positive, negative'".format(value))
            elif key == 'comment' and len(str(value)) > 4096:
                raise param_error(comment='value may only be 4096 characters long')
            out[key] = value
        if not out.get('disable'):
            out.pop('disable', None)  # Rules.pm: delete $param->{disable} if !$param->{disable}
        return kind, out

    def _check_rule_refs(self, prefix, options):
        if 'resources' in options:
            if not options['resources']:
                raise die(prefix + 'no resources were specified')
            unmanaged = sorted(s for s in options['resources'] if s not in self.ha_resources)
            if unmanaged:
                raise die(prefix + 'cannot use unmanaged resource(s) {0}.'.format(', '.join(unmanaged)))
        if 'nodes' in options:
            if not options['nodes']:
                raise die(prefix + 'no nodes were specified')
            missing = sorted(n for n in options['nodes'] if n not in self.nodes)
            if missing:
                raise die(prefix + 'cannot use non-existent node(s) {0}.'.format(', '.join(missing)))

    def _assert_feasible(self, prefix, rules, ruleid):
        errors = feasibility_errors(dict(rules, **self._group_rules()), sorted(self.nodes)).get(ruleid)
        if errors:
            lines = ''.join('{0}: {1}\n'.format(k, ', '.join(errors[k])) for k in sorted(errors))
            raise die("{0}400 Rule '{1}' is invalid.\n{2}".format(prefix, ruleid, lines))

    async def _ha_rule_create(self, v, user):
        self.need_quorum()
        self._sync_resources()
        if self.ha_groups:
            raise die('cannot create ha rule: ha groups have not been migrated yet')
        kind, options = self._rule_params(v, create=True)
        prefix, ruleid = 'create ha rule failed: ', v['rule']
        if ruleid in self.ha_rules:
            raise die(prefix + "HA rule '{0}' already defined".format(ruleid))
        self._check_rule_refs(prefix, options)
        rules = dict(self.ha_rules)
        rules[ruleid] = dict(options, type=kind, order=self._next_order(self.ha_rules))
        self._assert_feasible(prefix, rules, ruleid)
        self.ha_rules[ruleid] = rules[ruleid]

    async def _ha_rule_update(self, v, user):
        self._sync_resources()
        if self.ha_groups:
            raise die('cannot update ha rule: ha groups have not been migrated yet')
        _kind, options = self._rule_params(v, create=False)
        prefix, ruleid = 'update HA rules failed: ', v['rule']
        if v.get('digest') and v['digest'] != self._rules_digest():
            raise die(prefix + DIGEST_CHANGED)
        if ruleid not in self.ha_rules:
            raise die(prefix + "HA rule '{0}' does not exist".format(ruleid))
        rule = dict(self.ha_rules[ruleid])
        self._check_rule_refs(prefix, options)
        schema = RULE_OPTIONS[rule['type']]
        for key in split_list(v.get('delete')):
            if key not in schema:
                raise die(prefix + "no such option '{0}'".format(key))
            if not schema[key]:
                raise die(prefix + "unable to delete required option '{0}'".format(key))
            if key in options:
                raise die(prefix + "cannot set and delete property '{0}' at the same time!".format(key))
            rule.pop(key, None)
        rule.update(options)
        rules = dict(self.ha_rules, **{ruleid: rule})
        self._assert_feasible(prefix, rules, ruleid)
        self.ha_rules[ruleid] = rule

    async def _ha_rule_delete(self, v, user):
        # Rules.pm deletes whatever is there: an unknown rule is no error.
        self.ha_rules.pop(v['rule'], None)

    # ----------------------------------------------------------------- groups

    async def _ha_group_list(self, v, user):
        if not self.ha_groups:
            raise die('cannot index groups: ha groups have been migrated to rules')
        digest = digest_of(self.ha_groups)
        return [dict(self.ha_groups[g], group=g, type='group', digest=digest) for g in sorted(self.ha_groups)]

    async def _ha_group_read(self, v, user):
        if not self.ha_groups:
            raise die('cannot read group: ha groups have been migrated to rules')
        if v['group'] not in self.ha_groups:
            raise die("no such ha group '{0}'".format(v['group']))
        return dict(self.ha_groups[v['group']], group=v['group'], type='group', digest=digest_of(self.ha_groups))

    async def _ha_group_create(self, v, user):
        if not self.ha_groups:
            raise die('cannot create group: ha groups have been migrated to rules')
        if v['group'] in self.ha_groups:
            raise die("create ha group failed: ha group ID '{0}' already defined".format(v['group']))
        self.ha_groups[v['group']] = dict((k, v[k]) for k in ('nodes', 'restricted', 'nofailback', 'comment')
                                          if v.get(k) is not None)

    async def _ha_group_delete(self, v, user):
        if not self.ha_groups:
            raise die('cannot delete group: ha groups have been migrated to rules')
        for sid, config in self.ha_resources.items():
            if config.get('group') == v['group']:
                raise die("delete ha group failed: ha group is used by service '{0}'".format(sid))
        self.ha_groups.pop(v['group'], None)
