"""Property-based fuzzing of every module's input parsing: whatever a playbook passes, after Ansible's own
argument-spec check, the module's spec builder either accepts it or fails with a PveError whose message
names the option. Any other exception is a bug (a traceback a user would see).

The inputs come from each module's own argument spec (read from its main()) and are seeded with the values
of its EXAMPLES, mutated, so that the fuzzer reaches past the first check. Regressions the fuzzer found are
at the end, each with its failing example.
"""

import importlib
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, example, given, settings, strategies as st

from ansible_collections.pve.fleet.plugins.module_utils import lxc, propstr, qemu
from ansible_collections.pve.fleet.plugins.module_utils.api import CONNECTION_SPEC
from ansible_collections.pve.fleet.plugins.module_utils.calendar import check_schedule
from ansible_collections.pve.fleet.plugins.module_utils.errors import PveError
from ansible_collections.pve.fleet.plugins.module_utils.fleet import specs_from_items
from ansible_collections.pve.fleet.plugins.module_utils.prune import (
    PRUNE_OPTIONS, format_prune, normalize_prune, prune_from_option)

MODULES = 'ansible_collections.pve.fleet.plugins.modules.'
UTILS = 'ansible_collections.pve.fleet.plugins.module_utils.'

# Each module's spec builder: what its action calls on module.params before any request.
BUILDERS = {
    'vm': (UTILS + 'qemu', 'spec_from_params'),
    'ct': (UTILS + 'lxc', 'spec_from_params'),
    'storage': (UTILS + 'storage', 'StorageSpec.from_params'),
    'template': (UTILS + 'templates', 'TemplateSpec.from_params'),
    'snapshot': (UTILS + 'snapshots', 'SnapshotSpec.from_params'),
    'backup': (UTILS + 'backup', 'BackupSpec.from_params'),
    'restore': (UTILS + 'backup', 'RestoreSpec.from_params'),
    'migrate': (UTILS + 'migration', 'MigrationSpec.from_params'),
    'user': (UTILS + 'access', 'UserSpec.from_params'),
    'group': (UTILS + 'access', 'GroupSpec.from_params'),
    'role': (UTILS + 'access', 'RoleSpec.from_params'),
    'token': (UTILS + 'access', 'TokenSpec.from_params'),
    'acl': (UTILS + 'acl', 'AclSpec.from_params'),
    'pool': (UTILS + 'pools', 'PoolSpec.from_params'),
    'backup_job': (UTILS + 'backup_jobs', 'JobSpec.from_params'),
    'ha_resource': (UTILS + 'ha', 'ResourceSpec.from_params'),
    'ha_rule': (UTILS + 'ha', 'RuleSpec.from_params'),
    'firewall': (UTILS + 'firewall', 'FirewallSpec.from_params'),
}
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


class _Captured(Exception):
    pass


def module_spec(name):
    """(argument_spec, AnsibleModule kwargs, EXAMPLES text) of a module, read by running its main() up to the
    point where it builds its AnsibleModule."""
    module = importlib.import_module(MODULES + name)
    captured = {}

    def capture(argument_spec, supports_check_mode=True, **kwargs):
        captured.update(spec=argument_spec, kwargs=kwargs)
        raise _Captured()
    original = module.pve_module
    module.pve_module = capture
    try:
        module.main()
    except _Captured:
        pass
    finally:
        module.pve_module = original
    return captured['spec'], captured['kwargs'], module.EXAMPLES


def builder(name):
    path, attr = BUILDERS[name]
    target = importlib.import_module(path)
    for part in attr.split('.'):
        target = getattr(target, part)
    return target


class _ExampleLoader(yaml.SafeLoader):
    """EXAMPLES as data: `!unsafe` strings are plain strings here."""


_ExampleLoader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))


def example_values(examples, fqcn):
    """option -> the values the module's EXAMPLES give it."""
    seeds = {}
    for task in yaml.load(examples, Loader=_ExampleLoader) or []:
        for key, options in (task or {}).items():
            if key == fqcn and isinstance(options, dict):
                for option, value in options.items():
                    seeds.setdefault(option, []).append(value)
    return seeds


# ------------------------------------------------------------------------------------------ strategies

TEXT = st.text(st.characters(blacklist_categories=('Cs',)), max_size=24)
PVE_ISH = st.from_regex(r'\A[a-z0-9:=,;/._ @!+*\-]{0,24}\Z')
SCALARS = st.one_of(TEXT, PVE_ISH, st.integers(-(2 ** 40), 2 ** 40), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False))


def mutated(seed):
    """A seed value with a few characters changed, added or cut (strings) or nudged (numbers)."""
    if isinstance(seed, bool):
        return st.booleans()
    if isinstance(seed, int):
        return st.integers(seed - 1000, seed + 1000) | st.sampled_from([0, -1, 2 ** 31, -(2 ** 63)])
    if isinstance(seed, str):
        def edit(ops):
            text = seed
            for pos, char, cut in ops:
                pos = pos % (len(text) + 1)
                text = text[:pos] + char + text[pos + cut:]
            return text
        return st.lists(st.tuples(st.integers(0, 64), st.sampled_from(list(',=:;/.-_ 0aZ9%{}[]"\'\\\n\x00é')) | st.just(''),
                                  st.integers(0, 3)), max_size=3).map(edit)
    if isinstance(seed, list):
        return st.lists(st.one_of([mutated(s) for s in seed] + [SCALARS]) if seed else SCALARS, max_size=4)
    if isinstance(seed, dict):
        if not seed:
            return st.just({})
        return st.fixed_dictionaries({}, optional=dict((k, mutated(v) | SCALARS) for k, v in seed.items())) | \
            st.dictionaries(st.sampled_from(sorted(map(str, seed))) | PVE_ISH, SCALARS, max_size=4)
    return SCALARS


def value_strategy(spec, seeds):
    kind = spec.get('type', 'str')
    options = [st.sampled_from(seeds)] + [mutated(s) for s in seeds[:6]] if seeds else []
    if spec.get('choices'):
        options.append(st.sampled_from(list(spec['choices'])))
    if kind in ('str', 'path'):
        options += [TEXT, PVE_ISH]
    elif kind == 'int':
        options.append(st.integers(-(2 ** 40), 2 ** 40))
    elif kind == 'float':
        options.append(st.floats(allow_nan=False, allow_infinity=False))
    elif kind == 'bool':
        options.append(st.booleans())
    elif kind == 'list':
        element = value_strategy(dict(type=spec.get('elements', 'str'), options=spec.get('options'),
                                      choices=spec.get('choices')), [])
        options.append(st.lists(element, max_size=4))
    elif kind == 'dict':
        if spec.get('options'):
            options.append(params_strategy(spec['options'], {}))
        else:
            options.append(st.dictionaries(PVE_ISH, SCALARS | st.dictionaries(PVE_ISH, SCALARS, max_size=3),
                                           max_size=3))
    else:  # raw
        options += [SCALARS, st.dictionaries(PVE_ISH, SCALARS, max_size=3)]
    return st.one_of(options)


def params_strategy(spec, seeds, most=4, always=()):
    """A dict of a few of the spec's options (the required ones always), values from the seeds or made up.
    Few at a time: with every option set at once, nearly every input is refused by Ansible's own check."""
    strategies = dict((name, value_strategy(opt, seeds.get(name, []))) for name, opt in spec.items())
    required = sorted(set(name for name, opt in spec.items() if opt.get('required')) | set(always))
    optional = sorted(name for name in spec if name not in required)
    # Options the examples use come first, so shrinking keeps to the options that matter.
    optional.sort(key=lambda name: name not in seeds)
    picked = st.lists(st.sampled_from(optional), max_size=most, unique=True) if optional else st.just([])
    return picked.flatmap(lambda names: st.fixed_dictionaries(
        dict((name, strategies[name]) for name in required + names)))


def option_names(spec):
    names = set()
    for name, opt in spec.items():
        names.add(name)
        names.update(opt.get('aliases') or [])
        if opt.get('options'):
            names.update(option_names(opt['options']))
    return names


def checked(spec, kwargs, raw):
    """What AnsibleModule gives the module for raw input, or None when Ansible itself refuses it."""
    full = dict(CONNECTION_SPEC)
    full.update(spec)
    raw = dict(raw, api_host='pve.example.com')
    kwargs = dict((k, v) for k, v in kwargs.items() if k in ('mutually_exclusive', 'required_together',
                                                             'required_one_of', 'required_if', 'required_by'))
    result = ArgumentSpecValidator(full, **kwargs).validate(raw)
    return None if result.error_messages else result.validated_parameters


def assert_names_an_option(message, names, extra=()):
    words = set(re.findall(r'[A-Za-z_][A-Za-z0-9_\-]*', message))
    assert words & (names | set(extra)), 'the message names no option: {0!r}'.format(message)


# --------------------------------------------------------------------------------------------- the fuzzing

@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_any_input_parses_or_fails_naming_the_option(name):
    spec, kwargs, examples = module_spec(name)
    build = builder(name)
    names = option_names(spec)

    # One option of each required_one_of group is always given (else Ansible refuses nearly every input).
    always = [group[0] for group in kwargs.get('required_one_of') or []]

    @FUZZ
    @given(params_strategy(spec, example_values(examples, 'pve.fleet.' + name), always=always))
    def fuzz(raw):
        params = checked(spec, kwargs, raw)
        if params is None:
            return  # Ansible's own argument check refused it, with its own message
        try:
            build(params)
        except PveError as exc:
            assert_names_an_option(str(exc), names)
    fuzz()


def guest_items():
    """fleet items: a type and some options of that type's module, seeded from vm's and ct's examples."""
    def items_of(kind, type_names, examples, fqcn):
        seeds = example_values(examples, fqcn)
        return st.tuples(st.sampled_from(type_names), params_strategy(
            dict((k, v) for k, v in kind.argument_spec.items() if k in seeds or k in ('vmid', 'state', 'tags')),
            seeds)).map(lambda pair: dict(pair[1], type=pair[0]))
    vm = items_of(qemu.QEMU, ['vm', 'qemu'], module_spec('vm')[2], 'pve.fleet.vm')
    ct = items_of(lxc.LXC, ['ct', 'lxc'], module_spec('ct')[2], 'pve.fleet.ct')
    junk = st.dictionaries(PVE_ISH, SCALARS, max_size=3)
    return st.lists(st.one_of(vm, ct, junk), max_size=3)


@FUZZ
@given(guest_items())
def test_fleet_items_parse_or_fail_naming_the_item_and_option(items):
    try:
        specs_from_items(items)
    except PveError as exc:
        assert re.match(r'^guests\[\d+\]', str(exc)), str(exc)


@FUZZ
@given(st.one_of(TEXT, PVE_ISH, st.from_regex(r'\A(mon|tue|sat|sun|\.\.|,|\*|-|/|:|[0-9]{1,3}| ){1,12}\Z')))
@example('mon..fri 25:00')
@example('*-*-* 0/6:00')
def test_calendar_events_parse_or_fail_naming_schedule(text):
    try:
        check_schedule(text)
    except PveError as exc:
        assert str(exc).startswith('schedule: '), str(exc)


@FUZZ
@given(params_strategy(PRUNE_OPTIONS, {}))
def test_prune_options_parse_or_fail_naming_the_option(raw):
    params = ArgumentSpecValidator(PRUNE_OPTIONS).validate(raw)
    if params.error_messages:
        return
    try:
        prune_from_option(params.validated_parameters, 'prune')
    except PveError as exc:
        assert str(exc).startswith('prune: '), str(exc)


@FUZZ
@given(st.dictionaries(st.sampled_from(['keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly',
                                        'keep-yearly']), st.integers(0, 10 ** 6), max_size=6))
def test_a_retention_as_pve_stores_it_normalizes_and_round_trips(counts):
    # normalize_prune reads what PVE stored (its schema allows only integer counts there); the user's side,
    # prune_from_option, is fuzzed above.
    text = ','.join('{0}={1}'.format(k, v) for k, v in counts.items())
    out = normalize_prune(text)
    assert normalize_prune(format_prune(out)) == out
    assert out == ({'keep-all': 1} if not any(counts.values()) else dict((k, v) for k, v in counts.items() if v))


@FUZZ
@given(st.sampled_from(sorted(propstr.FORMATS)), st.one_of(TEXT, PVE_ISH))
def test_property_strings_parse_or_fail_as_property_string_errors(name, text):
    try:
        propstr.parse(text, propstr.FORMATS[name])
    except propstr.PropStringError:
        pass


# ---------------------------------------------------------------- what the fuzzing and review found (regressions)

def vm_spec(**options):
    return qemu.spec_from_params(checked(*module_spec('vm')[:2], raw=options))


def ct_spec(**options):
    return lxc.spec_from_params(checked(*module_spec('ct')[:2], raw=options))


@pytest.mark.parametrize('build, options, message', [
    # Found by the fuzzer: a cpu that is not a property string raised PropStringError (a traceback).
    (vm_spec, dict(vmid=9000, cpu='0,0'), "cpu: '0,0': the item '0' needs the form key=value"),
    (vm_spec, dict(name='a', config={'cpu': 'host,host'}), "config.cpu: 'host,host': the item 'host' needs"),
    # A size with a bad unit in the storage:size form was taken for a volume named "8Q" and sent to PVE.
    (vm_spec, dict(name='a', disks={'scsi0': 'local-lvm:8Q'}), "disks.scsi0: 'local-lvm:8Q': '8Q' is not a size"),
    (ct_spec, dict(hostname='a', rootfs='local-lvm:4X'), "rootfs: 'local-lvm:4X': '4X' is not a size"),
    # A relative host path (or a bare number) was taken for a volume id: PVE refuses it when the guest is written.
    (ct_spec, dict(hostname='a', mounts={'mp0': {'host_path': 'srv/data', 'path': '/data'}}),
     "mounts.mp0: 'srv/data' is neither storage:volume nor an absolute host path"),
    (ct_spec, dict(hostname='a', rootfs=5), "rootfs: '5' is neither storage:volume nor an absolute host path"),
    (vm_spec, dict(name='a', cdrom='debian.iso'), "cdrom: 'debian.iso' is neither storage:volume nor an absolute"),
    # pve-container's verify_lxc_mp_string.
    (ct_spec, dict(hostname='a', mounts={'mp0': {'storage': 'local-lvm', 'size': 4, 'path': '/data/../etc'}}),
     "mounts.mp0.path: '/data/../etc' contains illegal character sequences"),
    # Addresses PVE's pve-ipv4-config / pve-ipv6-config / CIDR formats refuse.
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': 'ip=10.0.0.300/24'}),
     "ipconfig.ipconfig0.ip: '10.0.0.300/24' is not an IPv4 address in CIDR form"),
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': {'ip': '10.0.0.3/33'}}),
     "ipconfig.ipconfig0.ip: '10.0.0.3/33' is not an IPv4 address in CIDR form"),
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': 'ip=10.0.0.3,gw=10.0.0.1'}),
     "ipconfig.ipconfig0.ip: '10.0.0.3' is not an IPv4 address in CIDR form"),
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': 'ip6=10.0.0.3/24'}),
     "ipconfig.ipconfig0.ip6: '10.0.0.3/24' is not an IPv6 address in CIDR form"),
    (ct_spec, dict(hostname='a', nets={'net0': {'bridge': 'vmbr0', 'ip': '10.1.1.256/24'}}),
     "nets.net0.ip: '10.1.1.256/24' is not an IPv4 address in CIDR form"),
    (ct_spec, dict(hostname='a', nets={'net0': {'bridge': 'vmbr0', 'ip': 'dhcp', 'gw': '1.2.3'}}),
     "nets.net0.gw: '1.2.3' is not an IPv4 address"),
])
def test_values_pve_would_refuse_are_refused_first(build, options, message):
    with pytest.raises(PveError) as caught:
        build(**options)
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize('build, options', [
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': 'ip=dhcp,ip6=auto'})),
    (vm_spec, dict(name='a', ipconfig={'ipconfig0': 'ip=192.0.2.3/24,gw=192.0.2.1,ip6=2001:db8::2/64,gw6=2001:db8::1'})),
    (vm_spec, dict(name='a', disks={'scsi0': '/dev/disk/by-id/ata-X', 'scsi1': 'local-lvm:8'}, cdrom='local:iso/d.iso')),
    (ct_spec, dict(hostname='a', nets={'net0': {'bridge': 'vmbr0', 'ip': 'manual', 'ip6': 'manual'}})),
    (ct_spec, dict(hostname='a', rootfs='local-lvm:4', mounts={'mp0': {'host_path': '/srv/x', 'path': '/srv/x'}})),
])
def test_what_pve_takes_still_parses(build, options):
    build(**options)
