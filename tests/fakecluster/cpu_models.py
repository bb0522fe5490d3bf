"""CPU models: a VM's `cpu` must name one PVE knows, as qemu-server checks it.

Follows qemu-server src/PVE/QemuServer/CPUConfig.pm (9.2.6): `validate_vm_cpu_conf`, the
validator of the `pve-vm-cpu-conf` format of `cpu`, runs during parameter verification, so an
unknown model is PVE's 400 before anything else happens (pve-common JSONSchema.pm prefixes the
validator's message with "invalid format - "). The known models are the ones
`get_all_cpu_models` returns from CPUConfig.pm's own list (both architectures' models, `max`,
and `host` for the node's architecture), the abstract `x86-64-v2`... profiles, and
`custom-<name>` for a model in /etc/pve/virtual-guest/cpu-models.conf (here
`cluster.custom_cpu_models`). fakepve accepted any text.

`GET /nodes/{node}/capabilities/qemu/cpu` (API2/Qemu/CPU.pm, `get_cpu_models`) lists them.
"""

from fakepve import PveError
from fakepve.routing import param_error

# CPUConfig.pm's list (used when QEMU ships no cpu-models-<arch>.json): model -> vendor.
_INTEL = ('486 pentium pentium2 pentium3 coreduo core2duo Conroe Penryn Nehalem Nehalem-IBRS Westmere '
          'Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell Haswell-IBRS '
          'Haswell-noTSX Haswell-noTSX-IBRS Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS '
          'Skylake-Client Skylake-Client-IBRS Skylake-Client-noTSX-IBRS Skylake-Client-v4 Skylake-Server '
          'Skylake-Server-IBRS Skylake-Server-noTSX-IBRS Skylake-Server-v4 Skylake-Server-v5 Cascadelake-Server '
          'Cascadelake-Server-v2 Cascadelake-Server-noTSX Cascadelake-Server-v4 Cascadelake-Server-v5 Cooperlake '
          'Cooperlake-v2 KnightsMill Icelake-Client Icelake-Client-noTSX Icelake-Server Icelake-Server-noTSX '
          'Icelake-Server-v3 Icelake-Server-v4 Icelake-Server-v5 Icelake-Server-v6 Icelake-Server-v7 '
          'SapphireRapids SapphireRapids-v2 SapphireRapids-v3 SapphireRapids-v4 GraniteRapids GraniteRapids-v2 '
          'GraniteRapids-v3 SierraForest SierraForest-v2 SierraForest-v3 ClearwaterForest').split()
_AMD = ('athlon phenom Opteron_G1 Opteron_G2 Opteron_G3 Opteron_G4 Opteron_G5 EPYC EPYC-IBPB EPYC-v3 EPYC-v4 '
        'EPYC-v5 EPYC-Rome EPYC-Rome-v2 EPYC-Rome-v3 EPYC-Rome-v4 EPYC-Rome-v5 EPYC-Milan EPYC-Milan-v2 '
        'EPYC-Milan-v3 EPYC-Genoa EPYC-Genoa-v2 EPYC-Turin').split()
_ARM = ('a64fx cortex-a35 cortex-a53 cortex-a55 cortex-a57 cortex-a710 cortex-a72 cortex-a76 neoverse-n1 '
        'neoverse-n2 neoverse-v1').split()
HOST_ARCH = 'x86_64'  # the fake's nodes: `host` exists only for the node's own architecture
CPU_MODELS = {
    'x86_64': dict([(m, 'GenuineIntel') for m in _INTEL] + [(m, 'AuthenticAMD') for m in _AMD]
                   + [(m, 'default') for m in ('kvm32', 'kvm64', 'qemu32', 'qemu64', 'max', 'host')]),
    'aarch64': dict([(m, 'ARM') for m in _ARM] + [('max', 'default')]),
}
# PVE's own profiles ($builtin_models_by_arch): they report themselves as qemu64.
ABSTRACT_CPU_MODELS = ('x86-64-v2', 'x86-64-v2-AES', 'x86-64-v3', 'x86-64-v4')
# Every name `cpu: <name>` may use without a custom model: what a test (or a module) can check against.
KNOWN_CPU_MODELS = frozenset(set(CPU_MODELS['x86_64']) | set(CPU_MODELS['aarch64']) | set(ABSTRACT_CPU_MODELS))
CPU_KEYS = ('cputype', 'reported-model', 'hidden', 'hv-vendor-id', 'flags', 'guest-phys-bits', 'phys-bits', 'level')
INVALID = 'invalid format - '


def cpu_error(value, custom_models):
    """PVE's message for a `cpu` value validate_vm_cpu_conf refuses, or None."""
    props = {}
    for part in str(value).split(','):
        if not part:
            continue
        key, eq, text = part.partition('=')
        if not eq:
            key, text = 'cputype', part  # the default key
        if key not in CPU_KEYS:
            return INVALID + 'invalid key in comma-separated list property: {0}\n'.format(key)
        if key in props:
            return INVALID + 'duplicate key in comma-separated list property: {0}\n'.format(key)
        props[key] = text
    cputype = props.get('cputype')
    if not cputype:
        return INVALID + 'CPU is missing cputype\n'
    if cputype.startswith('custom-'):
        if cputype[len('custom-'):] not in custom_models:
            return INVALID + "Custom cputype '{0}' not found\n".format(cputype[len('custom-'):])
    elif cputype not in KNOWN_CPU_MODELS:
        return INVALID + "Built-in cputype '{0}' is not defined (missing 'custom-' prefix?)\n".format(cputype)
    if 'reported-model' in props:
        return INVALID + "Property 'reported-model' not allowed in VM-specific CPU config.\n"
    return None


class CpuModels(object):
    """Mixin of FakePve: `cpu` checked on qemu create and config, the node's CPU model list."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # cpu-models.conf: name (without 'custom-') -> {'reported-model': ..., 'flags': ...}
        self.custom_cpu_models = {}

    def _routes_fleet_cpu_models(self):
        return [('GET', '/nodes/{node}/capabilities/qemu/cpu', self._cpu_models)]

    def _check_cpu(self, values):
        why = cpu_error(values['cpu'], self.custom_cpu_models) if values.get('cpu') else None
        if why:
            raise param_error(cpu=why)

    async def _qm_create(self, v, user):
        self._check_cpu(v)
        return await super()._qm_create(v, user)

    def _verify(self, request, values, drop=()):
        """POST/PUT .../qemu/{vmid}/config: the cpu check joins the schema's other parameter errors."""
        if not (request.path.endswith('/config') and '/qemu/' in request.path and request.method in ('POST', 'PUT')):
            return super()._verify(request, values, drop)
        why = cpu_error(values['cpu'], self.custom_cpu_models) if values.get('cpu') else None
        try:
            checked = super()._verify(request, values, drop)
        except PveError as exc:  # PVE reports every parameter error in one 400
            if why and exc.status == 400 and isinstance(exc.errors, dict):
                exc.errors.setdefault('cpu', why)
            raise
        if why:
            raise param_error(cpu=why)
        return checked

    async def _cpu_models(self, v, user):
        arch = v.get('arch') or HOST_ARCH
        models = CPU_MODELS[arch]
        data = [{'name': name, 'custom': 0, 'vendor': vendor} for name, vendor in sorted(models.items())]
        if arch == 'x86_64':
            data += [{'name': name, 'custom': 0, 'abstract': 1, 'vendor': models['qemu64']}
                     for name in ABSTRACT_CPU_MODELS]
        for name, model in sorted(self.custom_cpu_models.items()):
            reported = model.get('reported-model', 'kvm64')
            if reported in models:
                data.append({'name': 'custom-' + name, 'custom': 1, 'vendor': models[reported]})
        return data
