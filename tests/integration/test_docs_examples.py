"""The shell examples of README.md and docs/*.md, run verbatim from a fresh clone, as a newcomer would.

The clone is what a commit would hold: `git clone` of this checkout, then every file git tracks
or does not ignore copied over from the working tree (as tests/bin/sanity does), so uncommitted
edits are tested before they are committed and nothing ignored (.venv, .collections, .cluster.env)
comes along. Building a venv would take minutes: the clone's `.venv` is a symlink to the venv
running this test, so `make` finds it installed (the copies keep their mtimes) and the clone's
own `make venv` only links `.collections/` to the clone.

Every ```sh block runs as one bash script from the clone root. `make cluster &` is started in
the background, the script waits for .cluster.env, runs the rest of the block, and stops the
cluster on exit. Inline `ansible-playbook`/`ansible-inventory`/`ansible-doc` commands run after
the cluster block, while it is up, with .venv/bin on PATH (as after `source .venv/bin/activate`).
Commands in NOT_RUN are listed with why; every other command runs, and each NOT_RUN entry must
still match a command the docs hold.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from demo_story import assert_the_demo_story
from harness import REPO

HOST = '127.0.0.78'  # the fake cluster's address for this test: others use 127.0.0.1-3 and .77
FENCE = re.compile(r'^```(?:sh|bash|shell)\n(.*?)^```', re.M | re.S)
INLINE = re.compile(r'`((?:\.venv/bin/)?ansible-(?:playbook|inventory|doc) [^`]+)`')
BACKGROUND_CLUSTER = re.compile(r'^make cluster\s*&(?!&)')
NOT_RUN = {
    r'^make test(\s|$)': 'the whole suite, this test included',
    r'^\.venv/bin/python benchmarks/': 'benchmarks: minutes of measuring each, they assert nothing',
    r'^ansible-playbook site\.yml': "the reader's own playbook against the reader's hosts",
    r'^ansible-playbook pve\.fleet\.shorewall_clear -i inventory': 'needs a host running Shorewall (make test-roles)',
    r'make test-roles$': 'the roles suite on a Debian VM under TCG (make test runs it)',
}
HARNESS = '  # (test harness)'
# ansible-core 2.21 says this on every `ansible-doc -t role`, about a collection of its own.
ANSIBLE_CORE_NOISE = re.compile(r"Collection at '.*/ansible/_internal/ansible_collections/ansible/_protomatter' "
                                r'does not have a MANIFEST.json')


def doc_files(root):
    return [os.path.join(root, 'README.md')] + sorted(glob.glob(os.path.join(root, 'docs', '*.md')))


def command_lines(block):
    """A block's commands: its lines without comments-only and blank lines."""
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith('#')]


def not_run(command):
    for pattern, why in NOT_RUN.items():
        if re.search(pattern, command):
            return why
    return None


def examples(root):
    """(blocks, inline commands) of the docs under root: blocks as (file, text), inline as (file, command)."""
    blocks, inline = [], []
    for path in doc_files(root):
        with open(path) as src:
            text = src.read()
        name = os.path.relpath(path, root)
        blocks.extend((name, match.group(1)) for match in FENCE.finditer(text))
        inline.extend((name, match.group(1)) for match in INLINE.finditer(FENCE.sub('', text)))
    return blocks, inline


def expand(command, root):
    """Fill the docs' placeholders with every name they stand for (one command lists them all)."""
    names = {
        '<name>': sorted(f[:-3] for f in os.listdir(os.path.join(root, 'plugins', 'modules'))
                         if f.endswith('.py') and not f.startswith('_')),
        '<role>': sorted(d for d in os.listdir(os.path.join(root, 'roles'))
                         if os.path.isdir(os.path.join(root, 'roles', d, 'meta'))),
    }
    for placeholder, values in names.items():
        token = re.search(r'(\S*)' + re.escape(placeholder) + r'(\S*)', command)
        if token:
            command = command.replace(token.group(0), ' '.join(token.group(1) + v + token.group(2) for v in values))
    assert '<' not in command, 'a placeholder this test cannot fill: {0}'.format(command)
    return command


def script_for(block):
    """The block as a bash script: verbatim, plus the waiting and stopping `make cluster &` needs."""
    lines = ['set -euo pipefail']
    for line in block.splitlines():
        command = line.strip()
        if command and not command.startswith('#') and not_run(command):
            lines.append('# not run here ({0}): {1}'.format(not_run(command), command))
            continue
        lines.append(line)
        if BACKGROUND_CLUSTER.match(command):
            lines += [
                'cluster_pid=$!' + HARNESS,
                "trap 'kill -TERM $cluster_pid 2>/dev/null; wait $cluster_pid 2>/dev/null || true' EXIT" + HARNESS,
                'for _ in $(seq 1 600); do [ -f .cluster.env ] && break; kill -0 $cluster_pid || exit 1; '
                'sleep 0.1; done' + HARNESS,
                'test -f .cluster.env' + HARNESS,
            ]
    return '\n'.join(lines) + '\n'


def fresh_clone(dest):
    """`git clone` of the checkout with its uncommitted, not ignored state on top, and the venv linked."""
    subprocess.run(['git', 'clone', '--quiet', REPO, dest], check=True)
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=REPO,
                            check=True, stdout=subprocess.PIPE).stdout.decode().split('\0')
    for rel in filter(None, listed):
        src, dst = os.path.join(REPO, rel), os.path.join(dest, rel)
        if os.path.lexists(dst) and not os.path.isdir(dst):
            os.remove(dst)
        if not os.path.lexists(src):
            continue  # deleted in the working tree: deleted in the commit too
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)  # keeps mtimes: make sees the venv as up to date
    venv = os.path.join(dest, '.venv')
    if os.path.lexists(venv):  # a checkout whose .venv is itself a link (.gitignore's `.venv/` misses links)
        os.remove(venv)
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), venv)
    return dest


def newcomer_env(extra_path=None):
    """A shell as a newcomer's: no PROXMOX_*/ANSIBLE_* settings, no venv on PATH, not inside a make
    (`make integration` run by hand would make the docs' own `make` a sub-make, which prints
    "Entering directory" lines a newcomer never sees)."""
    here = os.path.dirname(sys.executable)
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(('PROXMOX_', 'ANSIBLE_', 'PYTHON', 'VIRTUAL_ENV', 'FAKECLUSTER_'))
               and k not in ('MAKEFLAGS', 'MAKELEVEL', 'MFLAGS', 'MAKEOVERRIDES'))
    path = [p for p in os.environ.get('PATH', '').split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(here)]
    env['PATH'] = os.pathsep.join(([extra_path] if extra_path else []) + path)
    env.update(FAKECLUSTER_HOST=HOST, ANSIBLE_NOCOLOR='1')  # an address of its own; no colour codes in the output
    return env


def bash(script, cwd, env):
    proc = subprocess.run(['bash', '-c', script], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    return proc.returncode, proc.stdout


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    return fresh_clone(str(tmp_path_factory.mktemp('newcomer') / 'pve-fleet'))


@pytest.fixture(scope='module')
def docs(clone):
    return examples(clone)


def cluster_block(blocks):
    found = [b for b in blocks if any(BACKGROUND_CLUSTER.match(c) for c in command_lines(b[1]))]
    assert len(found) == 1, 'expected one block that starts `make cluster &`: {0}'.format(found)
    return found[0]


def test_every_doc_command_runs_or_says_why_not(docs):
    blocks, inline = docs
    commands = [c for _name, b in blocks for c in command_lines(b)] + [c for _name, c in inline]
    assert any(c.startswith('make demo') for c in commands) and any(BACKGROUND_CLUSTER.match(c) for c in commands)
    unused = [p for p in NOT_RUN if not any(re.search(p, c) for c in commands)]
    assert unused == [], 'NOT_RUN entries no doc command matches any more: {0}'.format(unused)


def test_make_demo_block(clone, docs):
    blocks = [b for b in docs[0] if any(c.startswith('make demo') for c in command_lines(b[1]))]
    assert blocks, 'no doc block runs make demo'
    for name, block in blocks:
        rc, out = bash(script_for(block), clone, newcomer_env())
        assert rc == 0, '{0}:\n{1}\n{2}'.format(name, block, out)
        assert 'failed=0' in out and '== try it yourself' in out, out
        assert '[WARNING]' not in out, out
        assert_the_demo_story(out)


def test_cluster_block_then_the_inline_commands_while_it_runs(clone, docs):
    blocks, inline = docs
    name, block = cluster_block(blocks)
    runnable = [expand(c, clone) for _doc, c in inline if not not_run(c)]
    # The inline commands, after the block, with the venv on PATH (bare `ansible-doc` as in the docs).
    tail = ['export PATH="$PWD/.venv/bin:$PATH"' + HARNESS] + ['echo "== $ {0}"{1}\n{2}'.format(
        c.replace('"', ''), HARNESS, c) for c in runnable]
    script = script_for(block) + '\n'.join(tail) + '\n'
    rc, out = bash(script, clone, newcomer_env())
    assert rc == 0, '{0}:\n{1}\n{2}'.format(name, script, out)
    assert not os.path.exists(os.path.join(clone, '.cluster.env')), 'the cluster did not stop: ' + out

    assert 'PLAY RECAP' in out and 'failed=0' in out, out
    warnings = [line for line in out.splitlines() if line.startswith(('[WARNING]', '[ERROR]'))
                and not ANSIBLE_CORE_NOISE.search(line)]
    assert warnings == [], out
    assert "(converged again in PVE's raw strings: 0 of 5 changed)" in out
    # ansible-doc found the modules of this clone, through ansible.cfg and .collections/.
    own = os.path.join(clone, '.collections', 'ansible_collections', 'pve', 'fleet', 'plugins', 'modules', 'vm.py')
    assert own in out, out
    # The inventory of the docs sees what the demo made.
    assert '@pve_qemu:' in out and 'web1-restored' in out, out
