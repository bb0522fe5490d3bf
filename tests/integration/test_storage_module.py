"""pve.fleet.storage through ansible-playbook against the fake cluster: each type created, updated, removed."""

import re

import pytest
import yaml

TYPES = {
    'dir': dict(path='/srv/backup', content=['backup', 'iso']),
    'nfs': dict(server='192.0.2.51', export='/export/media', content=['iso', 'vztmpl']),
    'lvm': dict(vgname='drbdvg', shared=True, content=['images', 'rootdir']),
    'lvmthin': dict(vgname='nvme', thinpool='data', content=['images', 'rootdir']),
    'iscsi': dict(portal='192.0.2.60', target='iqn.2003-01.org.example:storage.lun1', content=['images']),
}
# An update each type takes: options that are not fixed at creation.
UPDATES = {
    'dir': dict(content=['backup', 'iso', 'vztmpl'], nodes=['pve1', 'pve2'], prune_backups={'keep_last': 3}),
    'nfs': dict(content=['iso'], disable=True, prune_backups={'keep_daily': 7, 'keep_weekly': 4}),
    'lvm': dict(shared=False, nodes=['pve2']),
    'lvmthin': dict(content=['images'], nodes=['pve3', 'pve1']),
    'iscsi': dict(nodes=['pve1', 'pve3'], disable=True),
}


def task(title, **options):
    return {'name': title, 'pve.fleet.storage': options}


def run(ansible, served, tasks, **kwargs):
    # The connection comes from module_defaults (group/pve.fleet.pve) and, should that ever miss,
    # the PROXMOX_* environment: the module's documented fallbacks.
    return ansible.run(tasks, env=served.env, **kwargs)


def idempotent(ansible, served, tasks):
    return ansible.assert_idempotent(tasks, env=served.env)


def check_mode_clean(ansible, served, cluster, tasks, diff=False):
    assert served.cluster is cluster  # the harness reads this cluster's request log
    return ansible.assert_check_mode_writes_nothing(tasks, env=served.env, diff=diff).assert_ok()


def options_of(cluster, name):
    store = cluster.storages[name]
    return dict((k, v) for k, v in store.items() if k not in ('files', 'avail', 'active', 'volumes', 'total'))


def failure(result):
    """The only task's failure message: one line, no traceback."""
    assert result.rc != 0
    assert len(result.failed) == 1, result.output
    msg = result.failed[0]['result']['msg']
    assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
    return msg


def test_each_type_created_updated_removed(ansible, served, cluster):
    # One task per type in each play (storage st-<type>), so every phase is one ansible-playbook run.
    names = dict((kind, 'st-' + kind) for kind in TYPES)
    create = [task(kind, name=names[kind], type=kind, **TYPES[kind]) for kind in sorted(TYPES)]
    check = check_mode_clean(ansible, served, cluster, create)
    assert check.changed == sorted(TYPES)
    assert not any(name in cluster.storages for name in names.values())

    first, _second = idempotent(ansible, served, create)
    assert first.changed == sorted(TYPES)
    made = {}
    for kind, name in names.items():
        made[kind] = options_of(cluster, name)
        assert made[kind]['type'] == kind
        assert set(made[kind]['content'].split(',')) == set(TYPES[kind]['content'])
        for key in ('path', 'server', 'export', 'vgname', 'thinpool', 'portal', 'target'):
            if key in TYPES[kind]:
                assert made[kind][key] == TYPES[kind][key]
        result = first.task(kind)
        assert result['name'] == name and result['type'] == kind and result['storage']['type'] == kind
        assert 'digest' not in result['storage']
    assert made['lvm']['shared'] in (1, '1', True)

    update = [task(kind, name=names[kind], type=kind, **dict(TYPES[kind], **UPDATES[kind])) for kind in sorted(TYPES)]
    check = check_mode_clean(ansible, served, cluster, update)
    assert check.changed == sorted(TYPES)
    assert dict((kind, options_of(cluster, name)) for kind, name in names.items()) == made
    first, _second = idempotent(ansible, served, update)
    for kind, name in names.items():
        assert sorted(touched(first.task(kind))) == sorted(UPDATES[kind]), first.task(kind)
        after, wanted = options_of(cluster, name), UPDATES[kind]
        for key in ('path', 'server', 'export', 'vgname', 'thinpool', 'portal', 'target'):
            assert after.get(key) == made[kind].get(key)  # fixed options untouched
        if 'content' in wanted:
            assert set(after['content'].split(',')) == set(wanted['content'])
        if 'nodes' in wanted:
            assert set(after['nodes'].split(',')) == set(wanted['nodes'])
        if wanted.get('disable'):
            assert str(after['disable']) == '1'
        if wanted.get('shared') is False:
            assert 'shared' not in after
        if 'prune_backups' in wanted:
            got = dict(item.split('=') for item in after['prune-backups'].split(','))
            assert got == dict((k.replace('_', '-'), str(v)) for k, v in wanted['prune_backups'].items())

    remove = [task(kind, name=names[kind], state='absent') for kind in sorted(TYPES)]
    check = check_mode_clean(ansible, served, cluster, remove)
    assert check.changed == sorted(TYPES) and all(name in cluster.storages for name in names.values())
    first, _second = idempotent(ansible, served, remove)
    assert first.changed == sorted(TYPES)
    assert all(first.task(kind)['storage'] is None for kind in TYPES)
    assert not any(name in cluster.storages for name in names.values())


def test_normalized_values_compare_equal(ansible, served, cluster):
    # Content and nodes in another order, as PVE's comma strings, flags PVE spells 1: no change.
    served.run(cluster.storages.__setitem__, 'pre', {
        'type': 'dir', 'path': '/srv/pre', 'content': 'vztmpl,iso,backup', 'nodes': 'pve2,pve1', 'shared': 1,
        'disable': 1, 'prune-backups': 'keep-weekly=2,keep-last=3,keep-daily=0', 'files': set(), 'active': 1})
    same = [task('same', name='pre', type='dir', path='/srv/pre/', content=['backup', 'iso', 'vztmpl'],
                 nodes=['pve1', 'pve2'], shared=True, disable=True,
                 prune_backups={'keep_last': 3, 'keep_weekly': 2})]
    cluster.clear_log()
    result = run(ansible, served, same).assert_ok()
    assert result.changed == [] and cluster.writes() == []


def test_only_options_the_user_set_are_compared(ansible, served, cluster):
    # 'local' holds content and options this task does not mention: disabling it touches only disable.
    before = options_of(cluster, 'local')
    first, _second = idempotent(ansible, served, [task('off', name='local', disable=True)])
    assert first.task('off')['changes'] == ['set disable: false -> true']
    assert options_of(cluster, 'local') == dict(before, disable=1)
    first, _second = idempotent(ansible, served, [task('on', name='local', disable=False)])
    assert first.task('on')['changes'] == ['remove disable (true)']
    assert options_of(cluster, 'local') == before


def test_unset_options_and_empty_lists(ansible, served, cluster):
    tasks = [task('create', name='st2', type='dir', path='/srv/st2', nodes=['pve1'], prune_backups={'keep_last': 2})]
    idempotent(ansible, served, tasks)
    assert options_of(cluster, 'st2')['content'] == 'images,rootdir'  # PVE's default for dir
    # nodes: [] is every node, prune_backups: {} removes the retention.
    clear = [task('clear', name='st2', nodes=[], prune_backups={})]
    first, _second = idempotent(ansible, served, clear)
    assert first.task('clear')['changes'] == ['remove nodes (pve1)', 'remove prune_backups (keep_last=2)']
    after = options_of(cluster, 'st2')
    assert 'nodes' not in after and 'prune-backups' not in after


def test_content_none_as_stored_compares_equal(ansible, served, cluster):
    # A storage holding no content reads back as 'none'; [] and [none] both mean it.
    served.run(cluster.storages.__setitem__, 'lun', {
        'type': 'iscsi', 'portal': '192.0.2.60', 'target': 'iqn.2003-01.org.example:lun', 'content': 'none',
        'files': set(), 'active': 1})
    for content in ([], ['none']):
        cluster.clear_log()
        result = run(ansible, served, [task('same', name='lun', type='iscsi', content=content)]).assert_ok()
        assert result.changed == [] and cluster.writes() == []


@pytest.mark.parametrize('content', [[], ['none']])
def test_content_none_is_set(ansible, served, cluster, content):
    idempotent(ansible, served, [task('create', name='st8', type='dir', path='/srv/st8')])
    first, _second = idempotent(ansible, served, [task('none', name='st8', content=content)])
    assert first.task('none')['changes'] == ['set content: images, rootdir -> none']
    assert options_of(cluster, 'st8')['content'] == 'none'


def test_keep_all_and_no_positive_count_mean_the_same(ansible, served, cluster):
    idempotent(ansible, served, [task('all', name='st3', type='dir', path='/srv/st3',
                                      prune_backups={'keep_all': True})])
    assert options_of(cluster, 'st3')['prune-backups'] == 'keep-all=1'
    cluster.clear_log()
    result = run(ansible, served, [task('zero', name='st3', prune_backups={'keep_last': 0})]).assert_ok()
    assert result.changed == [] and cluster.writes() == []


def test_nfs_is_shared_by_itself(ansible, served, cluster):
    tasks = [task('nfs', name='st4', type='nfs', server='192.0.2.52', export='/export/x', shared=True)]
    idempotent(ansible, served, tasks)
    # Not sent (PVE refuses it: nfs has no shared option); PVE marks nfs shared by itself.
    assert options_of(cluster, 'st4').get('shared') in (None, 1)
    msg = failure(run(ansible, served, [task('nfs', name='st4', shared=False)]))
    assert msg.startswith('shared:') and 'always shared' in msg


def touched(result):
    """The options a result's change sentences name ('set content: a -> b', 'remove nodes (pve1)')."""
    return [re.match(r'^(?:add|set|remove) ([a-z_]+)', sentence).group(1) for sentence in result['changes']]


def diff_of(result, name):
    """The task's diff, before and after, read back as YAML (None for an empty side)."""
    diff = result.task(name)['diff']
    diff = diff[0] if isinstance(diff, list) else diff
    return yaml.safe_load(diff['before']), yaml.safe_load(diff['after'])


def test_diff_shows_before_and_after_of_changed_keys(ansible, served, cluster):
    run(ansible, served, [task('create', name='st5', type='dir', path='/srv/st5', content=['iso'],
                               nodes=['pve1'])]).assert_ok()
    tasks = [task('update', name='st5', type='dir', path='/srv/st5', content=['iso', 'backup'], nodes=['pve1'],
                  prune_backups={'keep_daily': 7})]
    for check in (True, False):
        if check:
            result = check_mode_clean(ansible, served, cluster, tasks, diff=True)
        else:
            result = run(ansible, served, tasks, diff=True).assert_ok()
        before, after = diff_of(result, 'update')
        assert before == {'content': ['iso']}
        assert after == {'content': ['backup', 'iso'], 'prune_backups': {'keep_daily': 7}}
        assert '+content: [backup, iso]' in result.output and '+prune_backups: {keep_daily: 7}' in result.output

    result = run(ansible, served, [task('remove', name='st5', state='absent')], diff=True).assert_ok()
    before, after = diff_of(result, 'remove')
    assert after is None
    assert before['type'] == 'dir' and before['path'] == '/srv/st5' and before['nodes'] == ['pve1']
    result = run(ansible, served, [task('create', name='st6', type='nfs', server='192.0.2.1', export='/e')],
                 diff=True).assert_ok()
    before, after = diff_of(result, 'create')
    assert before is None and after == {'type': 'nfs', 'server': '192.0.2.1', 'export': '/e'}


BAD_INPUT = [
    (dict(name='local', type='nfs', server='192.0.2.1', export='/e'), 'type', 'of type dir, not nfs'),
    (dict(name='local', path='/srv/elsewhere'), 'path', 'fixes it when the storage is created'),
    (dict(name='shared', server='192.0.2.99'), 'server', 'fixes it when the storage is created'),
    (dict(name='shared', export='/export/other'), 'export', 'fixes it when the storage is created'),
    (dict(name='local-lvm', vgname='other'), 'vgname', 'fixes it when the storage is created'),
    (dict(name='local-lvm', thinpool='other'), 'thinpool', 'fixes it when the storage is created'),
    (dict(name='local', nodes=['pve1', 'pve9']), 'nodes', "node 'pve9' is not in the cluster"),
    (dict(name='new', type='dir', path='/srv/new', nodes=['pve9']), 'nodes', "node 'pve9' is not in the cluster"),
    (dict(name='new', type='dir'), 'path', 'required to create a storage of type dir'),
    (dict(name='new', type='lvmthin', vgname='vg'), 'thinpool', 'required to create'),
    (dict(name='new', path='/srv/new'), 'type', 'creating it needs its type'),
    (dict(name='new', type='lvm', vgname='vg', content=['iso']), 'content', 'cannot hold iso'),
    (dict(name='new', type='dir', path='/srv/x', content=['none', 'iso']), 'content', "'none' cannot be combined"),
    (dict(name='new', type='lvmthin', vgname='vg', thinpool='tp', shared=True), 'shared', 'not an option of'),
    (dict(name='new', type='dir', path='/srv/x', server='192.0.2.1'), 'server', 'not an option of storage type dir'),
    (dict(name='new', type='lvm', vgname='vg', prune_backups={'keep_last': 1}), 'prune_backups', 'not an option'),
    (dict(name='new', type='dir', path='/srv/x', prune_backups={'keep_all': True, 'keep_last': 2}), 'prune_backups',
     'keep_all cannot be set together'),
    (dict(name='local', state='absent', type='nfs'), 'type', 'nothing removed'),
    (dict(name='9lives', type='dir', path='/srv/x'), 'name', 'is not a storage id'),
]


def test_bad_input_rejected_before_any_write(ansible, served, cluster):
    # One play, one failing task per case (ignore_errors), so the cases run in a single ansible-playbook.
    before = dict((name, options_of(cluster, name)) for name in cluster.storages)
    tasks = [dict(task('bad{0}'.format(i), **case[0]), ignore_errors=True) for i, case in enumerate(BAD_INPUT)]
    cluster.clear_log()
    result = run(ansible, served, tasks)
    for i, (options, option, words) in enumerate(BAD_INPUT):
        assert result.status('bad{0}'.format(i)) == 'failed', (options, result.output)
        msg = result.task('bad{0}'.format(i))['msg']
        assert '\n' not in msg.strip() and 'Traceback' not in msg, msg
        assert msg.startswith(option + ':'), (options, msg)
        assert words in msg, (options, msg)
    assert cluster.writes() == []
    assert dict((name, options_of(cluster, name)) for name in cluster.storages) == before


@pytest.mark.parametrize('options, option', [
    (dict(name='new', type='zfspool'), 'type'),
    (dict(name='new', type='dir', path='/srv/x', content=['movies']), 'content'),
    (dict(name='new', type='dir', path='/srv/x', prune_backups={'keep_forever': 1}), 'keep_forever'),
])
def test_invalid_values_fail_before_any_request(ansible, served, cluster, options, option):
    cluster.clear_log()
    result = run(ansible, served, [task('bad', **options)])
    assert result.rc != 0 and option in result.failed[0]['result']['msg']
    assert cluster.request_log == []


def test_absent_storage_stays_absent_without_a_write(ansible, served, cluster):
    cluster.clear_log()
    result = run(ansible, served, [task('gone', name='nothing-here', state='absent')]).assert_ok()
    assert result.changed == [] and cluster.writes() == []
    assert result.task('gone')['storage'] is None


def test_pve_refusal_is_one_line(ansible, served, cluster):
    # PVE's own refusal (an illegal path for a directory storage) comes back as one line with its status.
    msg = failure(run(ansible, served, [task('bad', name='st7', type='dir', path='/srv/bad path')]))
    assert 'PVE API error' in msg and 'illegal path' in msg
