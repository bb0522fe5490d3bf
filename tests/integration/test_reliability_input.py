"""Bad input, across modules, roles and playbooks: each case is refused before any write (the request log
shows none), with one line that names the option and the form expected; no traceback.

The module cases run as one play (each task ignore_errors), the role cases as one play of
ansible.builtin.validate_argument_spec against each role's meta/argument_specs.yml (what the role checks
first; no role task runs, no VM is needed), the playbook cases side by side.
"""

import json
import os

import pytest
import yaml

from harness import REPO

from reliability import start_playbook

# (module, options, what the message must say: the option, and the form expected)
MODULE_CASES = [
    ('vm', dict(name='bad_name!'), "name: 'bad_name!' is not a valid DNS name (letters, digits and hyphens"),
    ('vm', dict(vmid=99, name='ok'), 'vmid: 99 is outside 100-999999999'),
    ('vm', dict(name='ok', disks={'scsi0': 'local-lvm:8Q'}),
     "disks.scsi0: 'local-lvm:8Q': '8Q' is not a size (storage:GiB takes a number of GiB"),
    ('vm', dict(name='ok', disks={'scsi0': {'storage': 'local-lvm', 'size': '8 GB per disk'}}),
     "disks.scsi0.size: '8 GB per disk' is not a size (expected GiB as a number"),
    ('vm', dict(name='ok', ipconfig={'ipconfig0': 'ip=10.0.0.300/24'}),
     "ipconfig.ipconfig0.ip: '10.0.0.300/24' is not an IPv4 address in CIDR form (e.g. 192.0.2.10/24)"),
    ('vm', dict(name='ok', ipconfig={'ipconfig0': {'ip': 'dhcp', 'gw6': '10.0.0.1'}}),
     "ipconfig.ipconfig0.gw6: '10.0.0.1' is not an IPv6 address"),
    ('vm', dict(name='ok', tags=['bad tag']), "tags: 'bad tag' is not a tag PVE can store (a letter, digit or _"),
    ('vm', dict(name='ok', tags=['web', 'a;b']), "tags: 'a;b' is not a tag PVE can store"),
    ('vm', dict(name='ok', cpu='Skylake'), "cpu: 'Skylake' is not a CPU model PVE knows (for example"),
    ('vm', dict(name='ok', cpu='host,host'), "cpu: 'host,host': the item 'host' needs the form key=value"),
    ('vm', dict(name='ok', nets={'net0': {'bridge': 'vmbr0', 'macaddr': 'zz:00'}}),
     "nets.net0.macaddr: 'zz:00' is not a MAC address (expected six hex pairs"),
    ('vm', dict(name='ok', nets={'eth0': 'virtio,bridge=vmbr0'}), "nets: 'eth0' is not a NIC (netN) slot"),
    ('vm', dict(name='ok', memory='lots'), "argument 'memory' is of type str and we were unable to convert to int"),
    ('vm', dict(name='ok', cdrom='debian.iso'),
     "cdrom: 'debian.iso' is neither storage:volume nor an absolute host path (/...)"),
    ('vm', dict(name='ok', state='running'), 'value of state must be one of: present, absent, started'),
    ('vm', dict(name='ok', disks={'scsi0': {'storage': 'nope', 'size': 4}}),
     "disks.scsi0: storage 'nope' does not exist (storages: local, local-lvm, shared)"),
    ('vm', dict(name='ok', nets={'net0': 'virtio,bridge=vmbr9'}),
     "nets.net0: bridge 'vmbr9' does not exist on node pve1 (bridges: vmbr0)"),
    ('vm', dict(name='web1', disks={'scsi0': {'storage': 'shared', 'size': '512M'}}),
     'disks.scsi0: size 512M is smaller than the disk (1G); disks only grow'),
    ('vm', dict(name='web1', disks={'scsi0': {'storage': 'local-lvm', 'size': 1}}),
     'disks.scsi0: the disk is shared:vm-100-disk-0; this module does not move or replace disks'),
    ('ct', dict(hostname='ok', mounts={'mp0': {'host_path': 'srv/data', 'path': '/data'}}),
     "mounts.mp0: 'srv/data' is neither storage:volume nor an absolute host path (/...)"),
    ('ct', dict(hostname='ok', nets={'net0': {'bridge': 'vmbr0', 'ip': '10.1.1.256/24'}}),
     "nets.net0.ip: '10.1.1.256/24' is not an IPv4 address in CIDR form (e.g. 192.0.2.10/24) nor one of dhcp, manual"),
    ('ct', dict(hostname='ok', nets={'net0': {'bridge': 'vmbr0', 'ip6': '2001:db8::1/129'}}),
     "nets.net0.ip6: '2001:db8::1/129' is not an IPv6 address in CIDR form"),
    ('ct', dict(hostname='ok', rootfs='local-lvm:4X'), "rootfs: 'local-lvm:4X': '4X' is not a size"),
    ('ct', dict(hostname='ok', rootfs={'storage': 'local-lvm', 'size': '4 gigs'}), "rootfs.size: '4 gigs' is not a size"),
    ('ct', dict(hostname='under_score'), "hostname: 'under_score' is not a valid DNS name"),
    ('ct', dict(hostname='ok', mounts={'mp0': {'storage': 'local-lvm', 'size': 4, 'path': '/data/../etc'}}),
     "mounts.mp0.path: '/data/../etc' contains illegal character sequences (PVE refuses /./, /../"),
    ('ct', dict(hostname='ok', mounts={'mp0': {'storage': 'local-lvm', 'size': 4}}),
     'mounts.mp0.path: a mount point needs the path inside the container'),
    ('ct', dict(hostname='ok', nets={'net0': {'bridge': 'vmbr0', 'ip': 'dhcp', 'gw': '1.2.3'}}),
     "nets.net0.gw: '1.2.3' is not an IPv4 address"),
    ('ct', dict(hostname='ok', ostemplate='local:vztmpl/nope.tar.zst'),
     'ostemplate: local:vztmpl/nope.tar.zst is not on storage local of node pve1'),
    ('fleet', dict(guests=[{'type': 'kvm', 'name': 'x'}]), "guests[0] (x): type: 'kvm' is not one of ct, lxc, qemu, vm"),
    ('fleet', dict(guests=[{'name': 'a', 'bogus': 1}]), 'guests[0] (a): bogus is not an option of a VM'),
    ('fleet', dict(guests=[{'name': 'a b'}]), "guests[0] (a b): name: 'a b' is not a valid DNS name"),
    ('fleet', dict(guests=[{'name': 'a', 'ipconfig': {'ipconfig0': 'ip=1.2.3.4'}}]),
     "guests[0] (a): ipconfig.ipconfig0.ip: '1.2.3.4' is not an IPv4 address in CIDR form"),
    ('fleet', dict(guests=[{'name': 'a'}], concurrency=0), 'concurrency: 0 is not a number of workers (at least 1)'),
    ('fleet', dict(guests=[{'name': 'a'}, {'name': 'a'}]), 'guests[1] (a) names the same guest as guests[0]'),
    ('snapshot', dict(name='ghost', snapname='s1'), "name 'ghost': no guest of that name in the cluster"),
    ('snapshot', dict(vmid=100, snapname='bad name'),
     "snapname 'bad name': a snapshot name is a letter, then letters, digits or _"),
    ('snapshot', dict(vmid=100, snapname='s1', retention=-1, prefix='s'), 'retention: keep at least 1 snapshot (got -1)'),
    ('backup', dict(name=['web1'], storage='shared', mode='fast'), 'value of mode must be one of: snapshot, suspend, stop'),
    ('backup', dict(name=['web1'], storage='shared', prune={'keep_last': -1}), 'prune: keep_last must be 0 or more, not -1'),
    ('backup', dict(name=['web1'], storage='nope'), "storage: storage 'nope' does not exist (storages: local"),
    ('restore', dict(archive='shared:backup/nope.vma.zst', target_vmid=150),
     "archive: 'shared:backup/nope.vma.zst' is not on any online node"),
    ('restore', dict(vmid=100), 'vmid 100: no backup of this guest on any storage'),
    ('migrate', dict(vmid=100, target='pve9'), "target: node 'pve9' is not in the cluster (nodes: pve1, pve2, pve3)"),
    ('template', dict(node='pve1', url='https://example.org/x.iso', checksum='zz', checksum_algorithm='sha256'),
     "checksum: a sha256 checksum is 64 hexadecimal digits, not 'zz'"),
    ('template', dict(node='pve1', template='no-such-appliance'),
     "template: no appliance 'no-such-appliance' in the catalogue of node pve1 (give a package name such as"),
    ('storage', dict(name='st1', type='dir', path='srv/x', content=['backup']),
     "path: 'srv/x' is not an absolute path (e.g. /srv/backup)"),
    ('storage', dict(name='st2', type='nfs', export='/x'), 'server: required to create a storage of type nfs'),
    ('storage', dict(name='st3', type='dir', path='/x', content=['bogus']), 'value of content must be one or more of:'),
    ('storage', dict(name='st4', type='dir', path='/x', prune_backups={'keep_last': -1}),
     'prune_backups: keep_last must be 0 or more, not -1'),
    ('storage', dict(name='9lives', type='dir', path='/x'), "name: '9lives' is not a storage id (a letter, then"),
    ('user', dict(userid='alice'), "userid: 'alice' is not a PVE user id (name@realm, for example alice@pve"),
    ('user', dict(userid='alice@pve', expire=-5), 'expire: seconds since the epoch, 0 for never; not -5'),
    ('user', dict(userid='alice@pve', email='not-an-email'), "email: 'not-an-email' does not look like an email address"),
    ('group', dict(groupid='bad id!'), "groupid: 'bad id!' is not a PVE group name (letters, digits, ., - and _)"),
    ('role', dict(roleid='R1', privs=['VM.Fly']), "privs: 'VM.Fly' is not a privilege of this cluster"),
    ('role', dict(roleid='bad role!', privs=['VM.Audit']), "roleid: 'bad role!' is not a PVE role name"),
    ('acl', dict(path='/nosuch/x', roles=['PVEAuditor'], users=['root@pam']),
     "path: '/nosuch/x' is not an ACL path PVE takes"),
    ('acl', dict(path='/vms', roles=['NoSuchRole'], users=['root@pam']),
     "roles: no role 'NoSuchRole' in the cluster; there are: Administrator"),
    ('acl', dict(path='/vms', roles=['PVEAuditor'], users=['nobody']), "users: 'nobody' is not a PVE user id (name@realm"),
    ('token', dict(userid='root@pam', tokenid='bad!id'), "tokenid: 'bad!id' is not a PVE token name (a letter, then"),
    ('token', dict(userid='root@pam', tokenid='t1', expire=-1), 'expire: seconds since the epoch, 0 for never; not -1'),
    ('pool', dict(poolid='a//b'), "poolid: 'a//b' is not a PVE pool name (each level a letter, then"),
    ('pool', dict(poolid='p1', vms=['ghost']), "vms: no guest 'ghost' in the cluster; there are: web1"),
    ('backup_job', dict(id='j1', schedule='every tuesday', all=True, storage='shared'),
     "schedule: 'every tuesday' is not a PVE calendar event: 'every' is not a weekday (mon..sun)"),
    ('backup_job', dict(id='bad id', schedule='daily', all=True, storage='shared'),
     "id: 'bad id' is not a job id PVE takes (a letter, then letters, digits, - or _; up to 50)"),
    ('ha_resource', dict(sid='xx:1'), "sid: 'xx:1' is not the HA resource id of a guest (vm:<vmid> or ct:<vmid>"),
    ('ha_resource', dict(vmid=100, max_restart=-1), 'max_restart: -1 is not a number of tries (0 or more)'),
    ('ha_rule', dict(rule='r2', type='node-affinity', resources=['vm:100'], nodes=['pve1:x']),
     "nodes: 'pve1:x' is not a node with an optional priority (pve1, or pve1:2)"),
    ('ha_rule', dict(rule='r1', type='node-affinity', resources=['vm:100'], nodes=['pve1']),
     'resources: vm:100 is not an HA resource; put it under HA first'),
    ('firewall', dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'source': '10.0.0.300'}]),
     "rules[0].source: '10.0.0.300' is not an IP address, a network (CIDR, no host bits), an a-b range"),
    ('firewall', dict(level='cluster', rules=[{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': 'http-ish'}]),
     "rules[0].dport: 'http-ish' is neither a port number, a range a:b, nor a service name"),
    ('firewall', dict(level='cluster', options={'policy_in': 'BLOCK'}),
     'value of policy_in must be one of: ACCEPT, REJECT, DROP, got: BLOCK found in options'),
    ('firewall', dict(level='rack'), 'value of level must be one of: cluster, node, vm, ct, got: rack'),
    ('evacuate', dict(node='pve9'), "node: node 'pve9' is not in the cluster (nodes: pve1, pve2, pve3)"),
    ('rebalance', dict(balanciness=-5), 'balanciness: must be between 0 and 100 (percent), got -5'),
    ('rebalance', dict(metric='disk'), 'value of metric must be one of: memory, cpu, got: disk'),
]


def test_bad_module_input_is_refused_before_any_write_naming_the_option(ansible, cluster):
    cluster.add_vm(100, 'web1', node='pve1', config={'memory': '512', 'scsi0': 'shared:vm-100-disk-0,size=1G'})
    tasks = [{'name': 'case {0}'.format(i), 'pve.fleet.' + module: options, 'ignore_errors': True}
             for i, (module, options, _expected) in enumerate(MODULE_CASES)]
    cluster.clear_log()
    result = ansible.run(tasks, diff=True)
    assert cluster.writes() == [], cluster.writes()
    assert 'Traceback' not in result.output and 'MODULE FAILURE' not in result.output, result.output
    got = dict((int(r['task'].split()[1]), r) for r in result.records)
    wrong = []
    for i, (module, options, expected) in enumerate(MODULE_CASES):
        record = got.get(i)
        msg = str(record['result'].get('msg', '')) if record else None
        if record is None or record['status'] != 'failed' or expected not in msg or '\n' in msg.strip():
            wrong.append((module, options, record and record['status'], msg))
    assert wrong == [], '\n'.join(repr(w) for w in wrong)


# ---------------------------------------------------------------------------------------------------- roles

ROLES_DIR = os.path.join(REPO, 'roles')
BAD_VALUE = {'int': 'not-a-number', 'bool': 'maybe', 'dict': 'not-a-dict', 'float': 'not-a-float'}
EXPECTED_FORM = {'int': 'unable to convert to int', 'bool': 'unable to convert to bool',
                 'dict': 'unable to convert to dict', 'float': 'unable to convert to float'}


def role_cases():
    """For each role's entry point: a wrong-typed value for each typed option, a value outside each choices
    list, and each required option left out: (role, arguments, option, what the message must say)."""
    cases = []
    for role in sorted(os.listdir(ROLES_DIR)):
        path = os.path.join(ROLES_DIR, role, 'meta', 'argument_specs.yml')
        if not os.path.exists(path):
            continue
        with open(path) as spec_file:
            options = (yaml.safe_load(spec_file)['argument_specs'].get('main') or {}).get('options') or {}
        required = dict((name, 'x') for name, opt in options.items() if opt.get('required'))
        for name, opt in sorted(options.items()):
            kind = opt.get('type', 'str')
            if opt.get('choices'):
                cases.append((role, dict(required, **{name: 'not-one-of-them'}), name, 'must be one of'))
            elif kind in BAD_VALUE:
                cases.append((role, dict(required, **{name: BAD_VALUE[kind]}), name, EXPECTED_FORM[kind]))
            if opt.get('required'):
                cases.append((role, dict((k, v) for k, v in required.items() if k != name), name,
                              'missing required arguments'))
    return cases


ROLE_CASES = role_cases()


def test_role_arguments_are_refused_by_the_roles_own_spec(ansible):
    assert len(ROLE_CASES) >= 10, ROLE_CASES
    tasks = []
    for i, (role, arguments, _option, _form) in enumerate(ROLE_CASES):
        tasks.append({'name': 'case {0}'.format(i), 'ignore_errors': True, 'ansible.builtin.validate_argument_spec': {
            'argument_spec': '{{{{ (lookup("file", "{0}") | from_yaml).argument_specs.main.options }}}}'.format(
                os.path.join(ROLES_DIR, role, 'meta', 'argument_specs.yml')),
            'provided_arguments': arguments}})
    result = ansible.run(tasks)
    assert 'Traceback' not in result.output, result.output
    got = dict((int(r['task'].split()[1]), r) for r in result.records)
    wrong = []
    for i, (role, arguments, option, form) in enumerate(ROLE_CASES):
        record = got.get(i)
        msg = json.dumps(record['result'].get('argument_errors') or record['result'].get('msg')) if record else ''
        if record is None or record['status'] != 'failed' or option not in msg or form not in msg:
            wrong.append((role, arguments, option, record and record['status'], msg))
    assert wrong == [], '\n'.join(repr(w) for w in wrong)


# ------------------------------------------------------------------------------------------------ playbooks

PLAYBOOK_CASES = [
    ('backup', {'guests': ['web1']}, 'storage: say where the archives go (-e storage=shared)'),
    ('backup', {'storage': 'shared'}, 'choose the guests: guests, group, tags, pool or node'),
    ('backup', {'storage': 'shared', 'guests': ['web1'], 'prune': {'keep_last': -1}},
     'prune: keep_last must be 0 or more, not -1'),
    ('restore', {}, 'guests or archive: name one guest (its newest backup) or one archive'),
    ('restore', {'guests': 'web1', 'new_vmid': 950}, 'new_vmid and new_name: a new guest needs both'),
    ('migrate', {'guests': ['web1']}, 'guests and target: say which guests go where'),
    ('migrate', {'guests': ['web1'], 'target': 'pve9'}, "target: node 'pve9' is not in the cluster"),
    ('evacuate', {}, 'node: say which node to empty (-e node=pve2)'),
    ('evacuate', {'node': 'pve9'}, "node: node 'pve9' is not in the cluster"),
    ('rebalance', {'metric': 'disk'}, 'value of metric must be one of: memory, cpu, got: disk'),
]


def test_bad_playbook_variables_are_refused_before_any_write(ansible, served, cluster):
    cluster.add_vm(100, 'web1', node='pve1', config={'memory': '512', 'scsi0': 'shared:vm-100-disk-0,size=1G'})
    cluster.clear_log()
    started = [start_playbook(ansible, 'pve.fleet.' + name, ['-e', json.dumps(extra)], env=served.env)
               for name, extra, _expected in PLAYBOOK_CASES]
    outputs = [proc.communicate(timeout=600)[0] for proc, _record in started]
    assert cluster.writes() == [], cluster.writes()
    wrong = []
    for (name, extra, expected), (proc, _record), output in zip(PLAYBOOK_CASES, started, outputs):
        if proc.returncode == 0 or expected not in output or 'Traceback' in output:
            wrong.append((name, extra, proc.returncode, output[-1500:]))
    assert wrong == [], '\n\n'.join(repr(w) for w in wrong)


@pytest.mark.parametrize('count', [len(MODULE_CASES) + len(ROLE_CASES) + len(PLAYBOOK_CASES)])
def test_there_are_at_least_sixty_bad_input_cases(count):
    assert count >= 60
