"""ansible-playbook runs forked from an interpreter that has already imported Ansible.

A run is still ansible-playbook's own entry point (``ansible.cli.playbook.main``, what the
console script calls) in a process of its own, with the run's argv, working directory,
environment, stdin from /dev/null and its output in a file. What it skips is the start-up a
fresh interpreter repeats each time: importing Ansible, about half of a one-task run's CPU.

Ansible reads its configuration when ``ansible.constants`` is imported, so the server reports
the environment its configuration came from, and the harness forks a run only when the run's
own is the same; any other run execs ansible-playbook as before (``PVE_FLEET_TEST_EXEC=1``
execs every run). The server runs one play at a time: a run that finds it busy execs too.

Protocol, one JSON line each way: the server says ``{"config_env": {...}, "names": [...]}`` once
(the values it started with, and every name whose value must match); then for each
``{"argv", "cwd", "env", "output"}`` it answers ``{"pid"}`` when the run started and ``{"rc"}``
when it ended.
"""

import atexit
import json
import os
import sys
import traceback

# Environment that shapes a run beyond Ansible's own settings, read once at import time.
IMPORT_TIME_ENV = ('HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'LC_CTYPE', 'PYTHONPATH', 'PYTHONHASHSEED')


def config_env_names(constants):
    """Every environment variable Ansible's configuration reads, and the import-time ones."""
    names = set(IMPORT_TIME_ENV)
    for definition in constants.config.get_configuration_definitions().values():
        names.update(entry['name'] for entry in definition.get('env', ()))
    return sorted(names)


def _reply(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


def _run_child(request, constants):
    """In the forked child: become the run, then exit with its code (never returns)."""
    code = 250
    try:
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        output = os.open(request['output'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.stdin = open(os.devnull)
        # The server's exit handlers (its local temp dir) are not this run's; the run gets its own
        # ansible-local-<pid> directory, made and cleaned up as a fresh process would.
        atexit._clear()
        server_tmp = constants.DEFAULT_LOCAL_TMP
        # (Its default is a template of ANSIBLE_HOME, rendered with the constants as Ansible does;
        # unrendered, it made a directory named '{{ ANSIBLE_HOME ~ "/tmp" }}' in the run's cwd.)
        constants.DEFAULT_LOCAL_TMP = constants.config.get_config_value('DEFAULT_LOCAL_TMP', variables=vars(constants))
        # Except for the AnsiballZ payloads, which Ansible caches there by module name: the
        # server's runs share one cache (in the server's own temp dir, one run at a time), as
        # the tasks of one run do. The same module files make the same payload; building it
        # took 0.13-0.17 s of CPU per module and run. The run's cleanup removes only the link.
        shared = os.path.join(server_tmp, 'ansiballz_cache')
        os.makedirs(shared, exist_ok=True)
        os.symlink(shared, os.path.join(constants.DEFAULT_LOCAL_TMP, 'ansiballz_cache'))
        sys.argv = list(request['argv'])
        from ansible.cli.playbook import main
        try:
            main(sys.argv)
            code = 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                sys.stderr.write('{0}\n'.format(exit_.code))
                code = 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve():
    from ansible import constants
    import ansible.cli.playbook  # noqa: F401  the imports every run would repeat

    names = config_env_names(constants)
    _reply({'config_env': dict((name, os.environ[name]) for name in names if name in os.environ),
            'names': names})
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request, constants)
        _reply({'pid': pid})
        status = os.waitpid(pid, 0)[1]
        _reply({'rc': os.waitstatus_to_exitcode(status)})


if __name__ == '__main__':
    serve()
