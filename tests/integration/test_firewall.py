"""pve.fleet.firewall through ansible-playbook against the fake cluster, and the fake's firewall files."""

import pytest
import yaml

from fakecluster.client import ResourceException, api

RULE_PATH = '/api2/json/cluster/firewall/rules'


def task(title, **options):
    return {'name': title, 'pve.fleet.firewall': options}


def diff_of(result, name):
    diff = result.task(name)['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    return yaml.safe_load(diff['before']), yaml.safe_load(diff['after'])


def rule(comment, **fields):
    """A cluster rule that accepts tcp on a port; the comment tells rules apart."""
    base = dict(type='in', action='ACCEPT', proto='tcp', dport=str(1000 + sum(map(ord, comment)) % 9000),
                comment=comment)
    base.update(fields)
    return base


def comments(cluster, scope='cluster', **where):
    return [r.get('comment') for r in cluster.firewall_config(scope, **where)['rules']]


def writes(cluster):
    return [(e['method'], e['path'].replace('/api2/json/', '')) for e in cluster.writes()]


MGMT = ['198.51.100.0/24']


def test_cluster_created_idempotent_with_diff(ansible, cluster):
    tasks = [task('fw', level='cluster', management_cidr=MGMT,
                  options={'enable': True, 'policy_in': 'DROP', 'policy_out': 'ACCEPT'},
                  aliases=[{'name': 'admin-net', 'cidr': '198.51.100.0/24', 'comment': 'operators'}],
                  ipsets=[{'name': 'management', 'entries': ['198.51.100.0/24', '!198.51.100.7']}],
                  groups=[{'name': 'web', 'comment': 'web servers', 'rules': [
                      {'type': 'in', 'action': 'ACCEPT', 'macro': 'https'},
                      {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': [80, 8080]}]}],
                  rules=[{'type': 'in', 'action': 'accept', 'source': 'admin-net', 'proto': 'TCP', 'dport': [22, 8006],
                          'comment': 'admin access'},
                         {'type': 'in', 'action': 'ACCEPT', 'macro': 'ping', 'log': 'nolog'},
                         {'type': 'group', 'action': 'web'}])]
    check = ansible.assert_check_mode_writes_nothing(tasks, diff=True).assert_ok()
    before, after = diff_of(check, 'fw')
    assert before == {'aliases': '(none)', 'group web': '(none)', 'ipset management': '(none)',
                      'options.enable': False, 'rules': '(none)'}
    assert after['rules'] == ('0: IN ACCEPT -source admin-net -p tcp -dport 22,8006 # admin access\n'
                              '1: IN Ping(ACCEPT)\n2: GROUP web\n')
    assert after['group web'] == '0: IN HTTPS(ACCEPT)\n1: IN ACCEPT -p tcp -dport 80,8080\n'
    assert after['ipset management'] == '198.51.100.0/24\n!198.51.100.7\n'
    assert after['options.enable'] is True and 'options.policy_in' not in after  # DROP is PVE's default
    assert cluster.firewall_config('cluster')['rules'] == []

    first, second = ansible.assert_idempotent(tasks)
    conf = cluster.firewall_config('cluster')
    assert comments(cluster) == ['admin access', None, None]
    assert conf['rules'][0]['dport'] == '22,8006' and conf['rules'][1]['macro'] == 'Ping'
    assert conf['options']['enable'] == 1 and conf['aliases']['admin-net']['cidr'] == '198.51.100.0/24'
    assert [e['cidr'] for e in conf['ipset']['management']] == ['198.51.100.0/24', '198.51.100.7']
    assert [r.get('macro') or r['dport'] for r in conf['groups']['web']] == ['HTTPS', '80,8080']
    state = second.task('fw')['firewall']
    assert state['rules'][2] == 'GROUP web' and state['groups']['web'][0] == 'IN HTTPS(ACCEPT)'
    assert state['ipsets'] == {'management': ['!198.51.100.7', '198.51.100.0/24']}
    # The options change last: the rules were in place before the firewall went on.
    log = writes(cluster)
    assert log[-1] == ('PUT', 'cluster/firewall/options')


@pytest.mark.parametrize('wanted, expected_writes', [
    (['a', 'b', 'c', 'd', 'e'], []),
    (['b', 'c', 'd', 'e'], [('DELETE', 'cluster/firewall/rules/0')]),
    (['a', 'b', 'd', 'e'], [('DELETE', 'cluster/firewall/rules/2')]),
    (['x', 'a', 'b', 'c', 'd', 'e'], [('POST', 'cluster/firewall/rules')]),
    (['a', 'b', 'x', 'c', 'd', 'e'], [('POST', 'cluster/firewall/rules'), ('PUT', 'cluster/firewall/rules/0')]),
    (['a', 'b', 'c', 'd', 'e', 'x'], [('POST', 'cluster/firewall/rules'), ('PUT', 'cluster/firewall/rules/0')]),
    (['e', 'a', 'b', 'c', 'd'], [('PUT', 'cluster/firewall/rules/4')]),
    (['b', 'c', 'd', 'e', 'a'], [('PUT', 'cluster/firewall/rules/0')]),
    (['a', 'B', 'c', 'd', 'e'], [('PUT', 'cluster/firewall/rules/1')]),
    (['a', 'c', 'b', 'X', 'e'], [('PUT', 'cluster/firewall/rules/3'), ('PUT', 'cluster/firewall/rules/1')]),
])
def test_rule_list_converges_with_few_writes(ansible, served, cluster, wanted, expected_writes):
    pve = api(served)
    for name in reversed('abcde'):  # each POST lands on top
        pve.cluster.firewall.rules.post(enable=1, **rule(name))
    tasks = [task('rules', level='cluster', rules=[rule(name) for name in wanted])]
    cluster.clear_log()
    first = ansible.run(tasks, diff=True).assert_ok()
    assert writes(cluster) == expected_writes
    assert comments(cluster) == wanted
    before, after = diff_of(first, 'rules') if expected_writes else (None, None)
    if expected_writes:
        assert before['rules'].splitlines() == ['{0}: IN ACCEPT -p tcp -dport {1} # {2}'.format(
            n, rule(c)['dport'], c) for n, c in enumerate('abcde')]
        assert [line.split('# ')[1] for line in after['rules'].splitlines()] == wanted
    cluster.clear_log()
    assert ansible.run(tasks).assert_ok().changed == [] and cluster.writes() == []


def test_append_mode_adds_only_what_is_missing(ansible, served, cluster):
    pve = api(served)
    for name in ('b', 'a'):
        pve.cluster.firewall.rules.post(enable=1, **rule(name))
    tasks = [task('more', level='cluster', rules_mode='append', rules=[rule('b'), rule('c'), rule('d')])]
    first, _second = ansible.assert_idempotent(tasks)
    assert comments(cluster) == ['a', 'b', 'c', 'd']
    assert first.task('more')['changes'] == [
        'insert cluster rule 2: IN ACCEPT -p tcp -dport {0} # c'.format(rule('c')['dport']),
        'insert cluster rule 3: IN ACCEPT -p tcp -dport {0} # d'.format(rule('d')['dport'])]


def test_pve_spelling_never_flaps(ansible, served, cluster):
    pve = api(served)
    # What PVE holds after its own parser: macro spelled its way, enable 1, no log, trimmed comment.
    pve.cluster.firewall.aliases.post(name='Office', cidr='192.0.2.0/24')
    pve.cluster.firewall.rules.post(type='in', action='ACCEPT', macro='ssh', source='office', enable=5,
                                    comment='  ssh  ')
    pve.cluster.firewall.rules.post(type='out', action='DROP', proto='udp', dport='53,5353', log='nolog',
                                    dest='192.0.2.0/24,198.51.100.0/24', enable=0)
    same = [task('same', level='cluster', rules=[
        {'type': 'OUT', 'action': 'drop', 'proto': 'UDP', 'dport': ['53', 5353], 'log': 'nolog',
         'dest': ['192.0.2.0/24', ' 198.51.100.0/24'], 'enable': False},
        {'type': 'in', 'action': 'Accept', 'macro': 'SSH', 'source': 'office', 'comment': 'ssh '}])]
    cluster.clear_log()
    result = ansible.run(same).assert_ok()
    assert result.changed == [] and cluster.writes() == [], result.task('same')['changes']


@pytest.fixture
def guests(served, cluster):
    served.run(cluster.add_vm, 100, 'web1', 'pve2', 'running')
    served.run(cluster.add_ct, 200, 'cache1', 'pve3')
    pve = api(served)
    pve.cluster.firewall.aliases.post(name='admin-net', cidr='198.51.100.0/24')
    pve.cluster.firewall.groups.post(group='webserver')
    return cluster


def test_guest_level_by_name(ansible, guests):
    cluster = guests
    tasks = [task('vm', level='vm', name='web1',
                  options={'enable': True, 'macfilter': True, 'ipfilter': True, 'policy_in': 'DROP'},
                  aliases=[{'name': 'backend', 'cidr': '10.0.0.5/32'}],
                  ipsets=[{'name': 'ipfilter-net0', 'entries': ['10.0.0.7', {'cidr': '10.0.0.9', 'comment': 'vip'}]}],
                  rules=[{'type': 'group', 'action': 'webserver', 'iface': 'net0'},
                         {'type': 'in', 'action': 'ACCEPT', 'source': 'dc/admin-net', 'macro': 'SSH'},
                         {'type': 'in', 'action': 'ACCEPT', 'source': '+ipfilter-net0', 'dest': 'backend',
                          'proto': 'tcp', 'dport': 5432}])]
    check = ansible.assert_check_mode_writes_nothing(tasks).assert_ok()
    assert check.changed == ['vm']
    first, second = ansible.assert_idempotent(tasks)
    result = first.task('vm')
    assert result['level'] == 'vm' and result['vmid'] == 100 and result['node'] == 'pve2'
    conf = cluster.firewall_config('vm', vmid=100)
    assert conf['options'] == {'enable': 1, 'ipfilter': 1}  # macfilter on and policy DROP are PVE's defaults
    assert conf['aliases']['backend']['cidr'] == '10.0.0.5'  # PVE drops the /32
    entries = [(e['cidr'], e.get('comment')) for e in conf['ipset']['ipfilter-net0']]
    assert entries == [('10.0.0.7', None), ('10.0.0.9', 'vip')]
    assert [r['type'] for r in conf['rules']] == ['group', 'in', 'in']
    assert second.task('vm')['firewall']['aliases'] == {'backend': '10.0.0.5'}

    # Entries and sets converge exactly; so do aliases.
    change = [task('vm', level='vm', vmid=100, aliases=[{'name': 'backend', 'cidr': '10.0.0.6'}],
                   ipsets=[{'name': 'ipfilter-net0', 'entries': ['!10.0.0.7', '10.0.1.0/24']}])]
    first, _second = ansible.assert_idempotent(change)
    assert first.task('vm')['changes'] == [
        'set alias backend: 10.0.0.5 -> 10.0.0.6', 'change 10.0.0.7 in IP set ipfilter-net0: 10.0.0.7 -> !10.0.0.7',
        'add 10.0.1.0/24 to IP set ipfilter-net0', 'remove 10.0.0.9 from IP set ipfilter-net0']
    entries = cluster.firewall_config('vm', vmid=100)['ipset']['ipfilter-net0']
    assert [(e['cidr'], bool(e.get('nomatch'))) for e in entries] == [('10.0.0.7', True), ('10.0.1.0/24', False)]

    # A set the rules use cannot go; without the rule it can.
    result = ansible.run([task('vm', level='vm', vmid=100, ipsets=[])])
    assert result.failed[0]['result']['msg'] == "ipsets: 'ipfilter-net0' would be removed, but a rule of this level uses it"
    ansible.assert_idempotent([task('vm', level='vm', vmid=100, ipsets=[], aliases=[],
                                    rules=[{'type': 'group', 'action': 'webserver', 'iface': 'net0'}])])
    conf = cluster.firewall_config('vm', vmid=100)
    assert conf['ipset'] == {} and conf['aliases'] == {} and len(conf['rules']) == 1


def test_node_and_container_levels(ansible, guests):
    cluster = guests
    node = [task('node', level='node', node='pve1', options={'enable': True, 'log_level_in': 'info', 'nosmurfs': True},
                 rules=[{'type': 'in', 'action': 'ACCEPT', 'source': 'admin-net', 'proto': 'tcp', 'dport': '9100'}])]
    ansible.assert_idempotent(node)
    conf = cluster.firewall_config('host', node='pve1')
    assert conf['options'] == {'log_level_in': 'info', 'nosmurfs': 1} and len(conf['rules']) == 1
    ct = [task('ct', level='ct', vmid=200, options={'enable': True},
               rules=[{'type': 'out', 'action': 'REJECT', 'dest': '203.0.113.0/24'}])]
    ansible.assert_idempotent(ct)
    assert cluster.firewall_config('ct', vmid=200)['options'] == {'enable': 1}


def test_groups_converge_and_go(ansible, served, cluster):
    make = [task('g', level='cluster', groups=[
        {'name': 'db', 'rules': [{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': 5432},
                                 {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': 3306}]},
        {'name': 'mail', 'comment': 'smtp', 'rules': [{'type': 'in', 'action': 'ACCEPT', 'macro': 'SMTP'}]}])]
    ansible.assert_idempotent(make)
    swap = [task('g', level='cluster', groups=[
        {'name': 'db', 'comment': 'databases', 'rules': [{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp',
                                                          'dport': 3306},
                                                         {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp',
                                                          'dport': 5432}]}])]
    cluster.clear_log()
    first, _second = ansible.assert_idempotent(swap)
    changes = first.task('g')['changes']
    assert changes[0] == 'set comment of security group db: (none) -> databases'
    assert changes[1].startswith('move group db rule ') and changes[-1] == 'remove security group mail (1 rule)'
    conf = cluster.firewall_config('cluster')
    assert list(conf['groups']) == ['db'] and [r['dport'] for r in conf['groups']['db']] == ['3306', '5432']


def test_management_access_guarded(ansible, served, cluster):
    on = {'enable': True}
    result = ansible.run([task('on', level='cluster', options=on)])
    assert result.failed[0]['result']['msg'].startswith(
        'options.enable: the cluster firewall would cut off the API (8006/tcp): no enabled IN rule accepts it')
    result = ansible.run([task('on', level='cluster', options=on, management_cidr=MGMT,
                               rules=[{'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH', 'source': '198.51.100.0/24'}])])
    assert result.failed[0]['result']['msg'].startswith(
        'options.enable: the cluster firewall would cut off the API (8006/tcp): no enabled IN rule accepts it from '
        '198.51.100.0/24, and the management IP set does not hold 198.51.100.0/24')
    assert cluster.writes() == [] and cluster.firewall_config('cluster')['options'] == {}
    # PVE lets the management IP set in by itself.
    ansible.assert_idempotent([task('on', level='cluster', options=on, management_cidr=['198.51.100.7'],
                                    ipsets=[{'name': 'management', 'entries': ['198.51.100.0/24']}])])
    # Now on: dropping the set (the only way in) is refused; force does it anyway.
    result = ansible.run([task('off', level='cluster', management_cidr=['198.51.100.7'], ipsets=[])])
    assert result.failed[0]['result']['msg'].startswith('rules: the cluster firewall would cut off the API')
    ansible.assert_idempotent([task('off', level='cluster', management_cidr=['198.51.100.7'], ipsets=[], force=True)])
    assert cluster.firewall_config('cluster')['ipset'] == {}


BAD_INPUT = [
    (dict(level='node'), 'node', 'required with level=node'),
    (dict(level='cluster', vmid=100), 'vmid', 'only for level=vm or level=ct'),
    (dict(level='vm', vmid=200), 'level', 'its firewall is level=ct'),
    (dict(level='vm', vmid=999), 'vmid', 'no such guest'),
    (dict(level='node', node='pve9'), 'node', "node 'pve9' is not in the cluster"),
    (dict(level='cluster', options={'macfilter': True}), 'options.macfilter', 'not an option of the cluster firewall'),
    (dict(level='node', node='pve1', aliases=[{'name': 'x1', 'cidr': '192.0.2.1'}]), 'aliases', 'a node has no'),
    (dict(level='vm', vmid=100, groups=[{'name': 'g1'}]), 'groups', 'defined at level=cluster'),
    (dict(level='vm', vmid=100, management_cidr=MGMT), 'management_cidr', 'only for level=cluster'),
    (dict(level='cluster', aliases=[{'name': 'a1', 'cidr': '300.1.1.1'}]), 'aliases[0].cidr', 'not an IP address'),
    (dict(level='cluster', aliases=[{'name': 'a1', 'cidr': '192.0.2.1'}, {'name': 'A1', 'cidr': '192.0.2.2'}]),
     'aliases[1].name', 'given twice'),
    (dict(level='cluster', ipsets=[{'name': 's1', 'entries': ['192.0.2.0/0']}]), 'ipsets[0].entries[0]',
     'no zero-length prefix'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'macro': 'Nope'}]), 'rules[0].macro',
     "'Nope' is not a PVE macro"),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'source': 'nobody'}]), 'rules[0].source',
     "there is no alias 'nobody'"),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'dest': '+nothing'}]), 'rules[0].dest',
     "there is no IP set 'nothing'"),
    (dict(level='cluster', rules=[{'type': 'group', 'action': 'nogroup'}]), 'rules[0].action',
     "there is no security group 'nogroup'"),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'dport': 22}]), 'rules[0].proto',
     'needed with dport'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '22:21'}]),
     'rules[0].dport', 'range a:b with a <= b'),
    (dict(level='cluster', rules=[{'type': 'forward', 'action': 'REJECT'}]), 'rules[0].action', 'forward chain'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ALLOW'}]), 'rules[0].action', 'ACCEPT, DROP or REJECT'),
    (dict(level='vm', vmid=100, rules=[{'type': 'forward', 'action': 'ACCEPT'}]), 'rules[0].type', 'in, out, group'),
    (dict(level='vm', vmid=100, rules=[{'type': 'in', 'action': 'ACCEPT', 'iface': 'eth0'}]), 'rules[0].iface',
     'net0, net1'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'source': '192.0.2.1,2001:db8::1'}]),
     'rules[0].source', 'mixes IPv4 and IPv6'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'source': '192.0.2.1/24'}]), 'rules[0].source',
     'no host bits'),
    (dict(level='cluster', rules=[{'type': 'group', 'action': 'webserver', 'proto': 'tcp'}]), 'rules[0].proto',
     'a group rule takes only'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'icmp_type': 'echo-request'}]),
     'rules[0].icmp_type', 'needs proto icmp'),
    (dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcpx'}]), 'rules[0].proto',
     'not a protocol'),
    (dict(level='cluster', groups=[{'name': 'g1', 'rules': [{'type': 'in', 'action': 'ACCEPT', 'iface': 'eth0'}]}]),
     'groups[g1].rules[0].iface', 'no interface in a security group rule'),
    (dict(level='cluster', options={'log_ratelimit': 'fast'}), 'options.log_ratelimit', "PVE's rate limit"),
]


def test_bad_input_refused_before_any_write(ansible, guests):
    cluster = guests
    tasks = [dict(task('bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(BAD_INPUT)]
    cluster.clear_log()
    result = ansible.run(tasks)
    assert cluster.writes() == []
    for i, (options, option, text) in enumerate(BAD_INPUT):
        assert result.status('bad{0}'.format(i)) == 'failed', (options, result.output)
        msg = result.task('bad{0}'.format(i))['msg']
        assert msg.startswith(option + ':') or msg.startswith(option + ' '), (options, msg)
        assert text in msg and '\n' not in msg, (options, msg)


# ------------------------------------------------------------------ the fake's firewall files

def test_fake_reads_back_as_pves_parser(served, cluster):
    fw = api(served).cluster.firewall
    fw.groups.post(group='web')
    fw.rules.post(type='in', action='ACCEPT', proto='tcp', dport='22', enable=5, comment='  ssh  ')
    fw.rules.post(type='group', action='web', source='192.0.2.1', proto='tcp', log='info')
    fw.aliases.post(name='one', cidr='192.0.2.1/32')
    fw.ipset.post(name='set1')
    for cidr in ('192.0.2.9', '192.0.2.0/28', '10.0.0.0/8'):
        fw.ipset('set1').post(cidr=cidr)
    rules = fw.rules.get()
    assert [dict((k, v) for k, v in r.items() if k not in ('digest', 'pos')) for r in rules] == [
        {'type': 'group', 'action': 'web', 'enable': 0},
        {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '22', 'enable': 1, 'comment': 'ssh'}]
    assert fw.aliases.get()[0]['cidr'] == '192.0.2.1'
    assert [e['cidr'] for e in fw.ipset('set1').get()] == ['10.0.0.0/8', '192.0.2.0/28', '192.0.2.9']
    # Positions and digests: moveto puts the rule in front of the one at that position; a stale digest fails.
    digest = rules[0]['digest']
    fw.rules(0).put(moveto=2, digest=digest)
    assert [r['type'] for r in fw.rules.get()] == ['in', 'group']
    with pytest.raises(ResourceException) as caught:
        fw.rules(0).put(comment='x', digest=digest)
    assert caught.value.status_code == 500 and 'detected modified configuration' in str(caught.value.content)


def test_another_clients_change_stops_the_apply(served, cluster):
    """The digest PVE checks, and the re-read before each further write: nothing is written over a change
    made by someone else between this task's read and its writes."""
    from ansible_collections.pve.fleet.plugins.module_utils.api import PveClient
    from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
    from ansible_collections.pve.fleet.plugins.module_utils.firewall import (
        FirewallSpec, apply_firewall, plan_firewall, read_firewall)
    from ansible_collections.pve.fleet.plugins.module_utils.plan import execute

    env, pve = served.env, api(served)
    client = PveClient(env['PROXMOX_HOST'], port=int(env['PROXMOX_PORT']), token_id=env['PROXMOX_TOKEN_ID'],
                       token_secret=env['PROXMOX_TOKEN_SECRET'], ca_path=env['PROXMOX_CA_PATH'])
    for name in ('b', 'a'):
        pve.cluster.firewall.rules.post(enable=1, **rule(name))

    def planned(wanted):
        spec = FirewallSpec.from_params({'level': 'cluster', 'rules': [rule(n) for n in wanted]})
        _guest, base, current = read_firewall(client, spec)
        return plan_firewall(spec, base, current, 'cluster')

    # A move carries the digest read: PVE refuses it once the list changed.
    plan = planned(['b', 'a'])
    pve.cluster.firewall.rules.post(enable=1, **rule('z'))
    with pytest.raises(PveError) as caught:
        execute(client, plan, apply_firewall, False, 10)
    assert 'detected modified configuration' in str(caught.value)
    assert comments(cluster) == ['z', 'a', 'b']
    # An insert carries none (PVE takes new rules unconditionally), but the write after it re-reads the list.
    plan = planned(['z', 'a', 'b', 'c', 'd'])
    pve.cluster.firewall.rules(0).delete()
    with pytest.raises(PveError) as caught:
        execute(client, plan, apply_firewall, False, 10)
    assert str(caught.value) == ('the rules of cluster changed while this task was writing them (another client?); '
                                 'nothing more was written: run the task again')
    assert comments(cluster) == ['d', 'a', 'b']  # the one insert made (the list's last rule goes first)
