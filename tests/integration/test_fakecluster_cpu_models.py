"""The fake cluster refuses a CPU model PVE does not know, with PVE's 400 (qemu-server CPUConfig.pm)."""

import pytest

from fakecluster.client import ResourceException, api, run
from fakecluster.cpu_models import KNOWN_CPU_MODELS

UNKNOWN = "invalid format - Built-in cputype '{0}' is not defined (missing 'custom-' prefix?)\n"


@pytest.fixture
def pve(served):
    return api(served)


@pytest.fixture
def vm(pve):
    assert run(pve, pve.nodes('pve1').qemu.post(vmid=100, name='vm100', cpu='kvm64')).ok
    return pve.nodes('pve1').qemu(100)


def refused(call, **params):
    with pytest.raises(ResourceException) as caught:
        call(**params)
    assert caught.value.status_code == 400, caught.value
    assert caught.value.content.startswith('Parameter verification failed'), caught.value
    return caught.value.errors


@pytest.mark.parametrize('cpu', ['host', 'max', 'kvm64', 'qemu64', 'x86-64-v2-AES', 'x86-64-v4', 'Skylake-Server-v5',
                                 'EPYC-Genoa', 'cortex-a72', 'host,flags=+aes;-pcid', 'cputype=Haswell,hidden=1'])
def test_known_models_are_accepted_on_create(pve, cpu):
    assert run(pve, pve.nodes('pve1').qemu.post(vmid=101, name='vm101', cpu=cpu)).ok
    assert pve.nodes('pve1').qemu(101).config.get()['cpu'] == cpu


@pytest.mark.parametrize('cpu, model', [('Skylake', 'Skylake'), ('kvm', 'kvm'), ('HOST', 'HOST'),
                                        ('nehalem,flags=+aes', 'nehalem'), ('x86-64-v5', 'x86-64-v5')])
def test_unknown_models_are_refused_on_create(pve, cluster, cpu, model):
    cluster.clear_log()
    assert refused(pve.nodes('pve1').qemu.post, vmid=101, name='vm101', cpu=cpu) == {'cpu': UNKNOWN.format(model)}
    assert [g for g in pve.cluster.resources.get(type='vm') if g['vmid'] == 101] == []


def test_unknown_model_is_refused_on_config_update_both_ways(pve, vm):
    errors = refused(vm.config.put, cpu='Icelake')
    assert errors == {'cpu': UNKNOWN.format('Icelake')}
    errors = refused(vm.config.post, cpu='Icelake')  # the asynchronous form: still a 400, no task
    assert errors == {'cpu': UNKNOWN.format('Icelake')}
    assert vm.config.get()['cpu'] == 'kvm64'
    vm.config.put(cpu='Icelake-Server')
    assert vm.config.get()['cpu'] == 'Icelake-Server'


def test_the_cpu_error_comes_with_the_other_parameter_errors(pve, vm):
    errors = refused(vm.config.put, cpu='Icelake', memory='lots')
    assert errors['cpu'] == UNKNOWN.format('Icelake') and 'memory' in errors


def test_custom_models_must_exist(pve, vm, cluster, served):
    assert refused(vm.config.put, cpu='custom-fast') == {'cpu': "invalid format - Custom cputype 'fast' not found\n"}
    served.run(cluster.custom_cpu_models.__setitem__, 'fast', {'reported-model': 'Skylake-Server', 'flags': '+aes'})
    vm.config.put(cpu='custom-fast')
    assert vm.config.get()['cpu'] == 'custom-fast'


@pytest.mark.parametrize('cpu, message', [
    ('flags=+aes', 'CPU is missing cputype\n'),
    ('host,reported-model=kvm64', "Property 'reported-model' not allowed in VM-specific CPU config.\n"),
    ('host,turbo=1', 'invalid key in comma-separated list property: turbo\n'),
])
def test_other_cpu_refusals(pve, vm, cpu, message):
    assert refused(vm.config.put, cpu=cpu) == {'cpu': 'invalid format - ' + message}


def test_node_lists_its_cpu_models(pve, cluster, served):
    served.run(cluster.custom_cpu_models.__setitem__, 'fast', {'reported-model': 'EPYC'})
    models = dict((m['name'], m) for m in pve.nodes('pve1').capabilities.qemu.cpu.get())
    assert models['host'] == {'name': 'host', 'custom': 0, 'vendor': 'default'}
    assert models['Skylake-Server']['vendor'] == 'GenuineIntel'
    assert models['x86-64-v2-AES'] == {'name': 'x86-64-v2-AES', 'custom': 0, 'abstract': 1, 'vendor': 'default'}
    assert models['custom-fast'] == {'name': 'custom-fast', 'custom': 1, 'vendor': 'AuthenticAMD'}
    assert set(models) - {'custom-fast'} <= KNOWN_CPU_MODELS
    arm = set(m['name'] for m in pve.nodes('pve1').capabilities.qemu.cpu.get(arch='aarch64'))
    assert 'cortex-a72' in arm and 'host' not in arm and 'max' in arm
