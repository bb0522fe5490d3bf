"""Tests only: remember the bytecode of modules imported from zip archives.

Every Ansible task runs its module from a fresh AnsiballZ zip, and Python's zipimport never
writes bytecode, so each task compiles ansible.module_utils again: about 1.1 s of the
4.4 s a task takes in the TCG guest of the role tests, and about 13 % of a module test's CPU
in the integration suite. This keeps the compiled code of each source it has seen (keyed on
a hash of the source itself, so a changed module compiles afresh) in CACHE_DIR, and gives it
the archive path of the run asking for it. What runs is unchanged: the same source compiled
by the same interpreter. The role tests' image loads it with a .pth file
(tests/roles/vm/build-image.sh), the integration suite through sitecustomize.py next to it
on PYTHONPATH (tests/integration/conftest.py); real hosts and users never have it.
"""

import _imp
import marshal
import os
import sys
import zipimport

CACHE_DIR = os.path.join(os.environ.get('PVE_FLEET_ZIP_PYC_CACHE') or '/var/cache/pve-fleet-test',
                         'zip-pyc-%d.%d' % sys.version_info[:2])
_KEY = 0x7076652D666C6565  # any fixed 64-bit key for the source hash
_compile_source = zipimport._compile_source


def _with_filename(code, filename):
    consts = tuple(_with_filename(const, filename) if isinstance(const, type(code)) else const
                   for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _cached_compile_source(pathname, source):
    path = os.path.join(CACHE_DIR, '%s-%d' % (_imp.source_hash(_KEY, source).hex(), len(source)))
    try:
        with open(path, 'rb') as cached:
            return _with_filename(marshal.load(cached), pathname)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = _compile_source(pathname, source)
    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        partial = '%s.%d' % (path, os.getpid())
        with open(partial, 'wb') as out:
            marshal.dump(code, out)
        os.replace(partial, path)
    except OSError:
        pass
    return code


zipimport._compile_source = _cached_compile_source
