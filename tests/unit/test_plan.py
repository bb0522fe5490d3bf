"""The plan layer: diffs a person reads and YAML reads back, and the one place check mode stops."""

import pytest
import yaml
from hypothesis import given, strategies as st

from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.plan import Plan, Step, execute, execute_all, yaml_text

text = st.one_of(st.text(st.characters(blacklist_categories=('Cs', 'Cc')), max_size=30),
                 st.from_regex(r'\A[0-9a-z:.,+\-_ #=@~\[\]{}]{0,12}\Z'))
scalars = st.one_of(text, st.booleans(), st.none())
small_keys = st.from_regex(r'\A[a-z_]{1,8}\Z')
values = st.one_of(scalars, st.lists(text, max_size=4), st.dictionaries(small_keys, text, max_size=3))
keys = st.from_regex(r'\A[a-z][a-z0-9_]{0,10}\Z')


def as_read(value):
    """What YAML gives back for a value: numbers stay what they look like, so compare them as text."""
    if isinstance(value, (list, tuple)):
        return [as_read(v) for v in value]
    if isinstance(value, dict):
        return dict((k, as_read(v)) for k, v in value.items())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


@given(st.dictionaries(keys, values, max_size=6))
def test_yaml_text_reads_back_as_the_same_data(data):
    read = yaml.safe_load(yaml_text(data)) or {}
    expected = dict((k, v.strip() + '\n' if isinstance(v, str) and '\n' in v.strip() else v) for k, v in data.items())
    assert as_read(read) == as_read(expected)


def test_yaml_text_is_plain_where_it_can_be():
    assert yaml_text({'memory': '2048', 'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0', 'tags': ['a', 'b'],
                      'onboot': True, 'name': 'yes'}) == (
        "memory: 2048\nname: 'yes'\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\nonboot: true\ntags: [a, b]\n")


def test_steps_read_as_sentences_and_fill_the_diff():
    plan = Plan('VM 100 (web1)')
    plan.add(Step('set', 'memory', '1024', '2048'), before={'memory': '1024'}, after={'memory': '2048'})
    plan.add(Step('set', 'cores', None, '2'), after={'cores': '2'})
    plan.add(Step('delete', 'net1', 'virtio,bridge=vmbr1'), before={'net1': 'virtio,bridge=vmbr1'})
    assert plan.changes == ['set memory: 1024 -> 2048', 'add cores: 2', 'remove net1 (virtio,bridge=vmbr1)']
    diff = plan.diff()
    assert yaml.safe_load(diff['before']) == {'memory': 1024, 'net1': 'virtio,bridge=vmbr1'}
    assert yaml.safe_load(diff['after']) == {'memory': 2048, 'cores': 2}
    assert diff['before_header'] == 'VM 100 (web1) (before)'


def test_check_mode_never_calls_apply():
    called = []
    plan = Plan('x', [Step('create', text='create x')])
    run = execute(None, plan, lambda run, plan: called.append(plan), check_mode=True, timeout=1)
    assert called == [] and run.tasks == []
    execute(None, plan, lambda run, plan: called.append(plan), check_mode=False, timeout=1)
    assert called == [plan]


def test_an_empty_plan_is_not_applied():
    called = []
    execute(None, Plan('x'), lambda run, plan: called.append(plan), check_mode=False, timeout=1)
    assert called == []
    assert Plan('x').result() == dict(changed=False, changes=[], diff=dict(
        before='', after='', before_header='x (before)', after_header='x (after)'), tasks=[])


@pytest.mark.parametrize('fail_fast', [False, True])
def test_execute_all_reports_each_failure_and_fail_fast_skips_the_rest(fail_fast):
    plans = [Plan(str(i), [Step('create', text='create {0}'.format(i))]) for i in range(5)]

    def apply(run, plan):
        if plan.subject == '1':
            raise PveError('boom')

    outcomes = execute_all(None, plans, apply, check_mode=False, timeout=1, concurrency=1, fail_fast=fail_fast)
    assert [o.plan.subject for o in outcomes] == ['0', '1', '2', '3', '4']
    assert [o.failed for o in outcomes] == [False, True, False, False, False]
    assert [o.skipped for o in outcomes] == ([False, False, True, True, True] if fail_fast else [False] * 5)


def test_execute_all_runs_plans_concurrently_in_order():
    plans = [Plan(str(i), [Step('create', text='c')]) for i in range(20)]
    seen = []
    outcomes = execute_all(None, plans, lambda run, plan: seen.append(plan.subject), check_mode=False, timeout=1,
                           concurrency=4)
    assert [o.plan.subject for o in outcomes] == [str(i) for i in range(20)]
    assert sorted(seen, key=int) == [str(i) for i in range(20)]
