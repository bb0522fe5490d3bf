# pve.fleet: every target installs what it needs itself.
#   make demo    the fake cluster, playbooks/demo.yml against it, then stop
#   make test    every suite (unit, integration, sanity, lint, compat leg, roles), timed
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
COMPAT_VENV := .venv-compat
PY          := $(VENV)/bin/python
COLLECTION  := .collections/ansible_collections/pve/fleet
TIMED       := tests/bin/timed
export TIMED_LOG := $(CURDIR)/tests/output/timings.tsv
# Python writes bytecode on first import (the venvs are installed without compiling it).
# Where the environment says PYTHONDONTWRITEBYTECODE=1, as CI's does, every process compiled
# all it imported again: ansible-playbook's imports took 2.2 s of CPU instead of 1.1 s, and
# each module run 0.25 s more for requests and proxmoxer alone.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help venv compat-venv test unit integration sanity lint compat test-roles cluster demo build bench clean

help:
	@echo "make demo | test | venv | unit | integration | sanity | lint | compat | test-roles | cluster | build | bench | clean"

# The main leg: ansible-core 2.21 on Python 3.13 (3.12 if that is all there is).
# --no-compile: the modules a run imports get their bytecode when first imported; compiling
# every file at install (the `ansible` package alone is about 30,000) took 50 s of 77.
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check --no-compile
$(VENV)/.installed: requirements.txt requirements-test.txt
	@python=$$(tests/bin/find-python 3.13 3.12); \
	  [ -x $(PY) ] || { echo "creating $(VENV) with $$python"; "$$python" -m venv $(VENV); }
	$(PY) $(PIP_INSTALL) -r requirements-test.txt
	@touch $@

$(COLLECTION):
	@mkdir -p $(dir $@) && ln -sfn ../../.. $@

venv: $(VENV)/.installed $(COLLECTION)

# The compatibility leg: the oldest ansible-core meta/runtime.yml promises, on Python 3.11.
$(COMPAT_VENV)/.installed: requirements.txt requirements-compat.txt
	@python=$$(tests/bin/find-python 3.11); \
	  [ -x $(COMPAT_VENV)/bin/python ] || { echo "creating $(COMPAT_VENV) with $$python"; "$$python" -m venv $(COMPAT_VENV); }
	$(COMPAT_VENV)/bin/python $(PIP_INSTALL) -r requirements-compat.txt
	@touch $@

compat-venv: $(COMPAT_VENV)/.installed $(COLLECTION)

# Two chains share the machine. The roles suite spends most of its time in a TCG guest; its
# host packages and VM image need no venv, so they are made in the background while the
# venvs are. Then the other parts run one after another in the background, and the roles
# suite starts as soon as its image is ready (its output in tests/output/roles.log, printed
# at the end): neither chain waits for the other's set-up.
# Each chain has CPUs of its own (tests/bin/cpus): the roles chain the last CPU, the other
# parts the rest. Beside the integration suite on the same two CPUs the guest ran at half
# speed or less, whatever the niceness; on a CPU of its own, at the speed it has alone. When
# one chain ends, the other may use every CPU: the integration suite (two workers) runs last
# so that its end can use both once the roles suite is done.
ROLES_LOG := tests/output/roles.log
ROLES_PREP_LOG := tests/output/roles-prepare.log
ROLES_PID := tests/output/roles.pid
test:
	@$(TIMED) reset
	@prep=; others_cpus=; roles_cpus=; all_cpus=; mkdir -p tests/output; rm -f $(ROLES_PID); \
	on() { local cpus=$$1; shift; if [ -n "$$cpus" ]; then taskset -c "$$cpus" "$$@"; else "$$@"; fi; }; \
	if [ -f tests/roles/run.sh ]; then \
	  read -r others_cpus roles_cpus <<<"$$(tests/bin/cpus split)"; \
	  all_cpus=$${roles_cpus:+$$others_cpus,$$roles_cpus}; \
	  echo "== roles: host packages and the VM image, in the background while the venvs are made =="; \
	  [ -z "$$roles_cpus" ] || echo "   (CPUs: $$roles_cpus for the roles suite, $$others_cpus for the other parts)"; \
	  on "$$roles_cpus" $(TIMED) "roles: host packages, VM image" bash tests/roles/run.sh prepare >$(ROLES_PREP_LOG) 2>&1 & prep=$$!; \
	fi; \
	on "$$others_cpus" $(TIMED) "venvs (main and compat legs)" $(MAKE) --no-print-directory venv compat-venv; \
	[ -f $(VENV)/.installed ] && [ -f $(COMPAT_VENV)/.installed ] || { wait; $(TIMED) summary; exit 1; }; \
	on "$$others_cpus" bash -c ' \
	  $(TIMED) "unit tests" $(MAKE) --no-print-directory unit; \
	  $(TIMED) "sanity (ansible-core 2.21, py3.13)" $(MAKE) --no-print-directory sanity; \
	  $(TIMED) "ansible-lint" $(MAKE) --no-print-directory lint; \
	  $(TIMED) "compat leg (ansible-core 2.19, py3.11)" $(MAKE) --no-print-directory compat; \
	  $(TIMED) "integration tests" $(MAKE) --no-print-directory integration; \
	  [ ! -s $(ROLES_PID) ] || tests/bin/cpus widen "$$(cat $(ROLES_PID))" "$$1"' _ "$$all_cpus" & others=$$!; \
	if [ -n "$$prep" ]; then \
	  wait "$$prep"; \
	  echo "== roles on a Debian 12 VM: started beside the other parts, output in $(ROLES_LOG) =="; \
	  on "$$roles_cpus" $(TIMED) "roles on a Debian 12 VM" $(MAKE) --no-print-directory test-roles >$(ROLES_LOG) 2>&1 & roles=$$!; \
	  echo "$$roles" >$(ROLES_PID); \
	  wait "$$roles" || true; \
	  tests/bin/cpus widen "$$others" "$$all_cpus"; \
	fi; \
	wait "$$others"; \
	if [ -n "$$prep" ]; then echo; echo "== the roles suite =="; cat $(ROLES_PREP_LOG) $(ROLES_LOG); fi; \
	$(TIMED) summary

unit: venv
	$(PY) -m pytest tests/unit -q

integration: venv
	$(PY) -m pytest tests/integration -q -n 2 --dist loadfile --durations=20

sanity: venv
	tests/bin/sanity $(VENV) $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

lint: venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-lint --offline
	$(VENV)/bin/antsibull-changelog lint

compat: compat-venv
	tests/bin/sanity $(COMPAT_VENV) 3.11
	$(COMPAT_VENV)/bin/python -m pytest tests/integration -q -m compat

test-roles: venv
	VENV=$(CURDIR)/$(VENV) bash tests/roles/run.sh

# The fake cluster in the foreground; .cluster.env says how to reach it (source it).
cluster: venv
	PYTHONPATH=tests $(PY) -m fakecluster --env-file .cluster.env --pki-dir .cluster/pki

demo: venv
	tests/bin/demo $(PY)

build: venv
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build/

# Not part of test: fleet against loops and the floor, the inventory, fleet at 5,000 (docs/benchmarks.md).
bench: venv
	$(PY) benchmarks/fleet.py --json tests/output/bench.json

clean:
	rm -rf $(VENV) $(COMPAT_VENV) .collections build tests/output .pytest_cache .cluster .cluster.env
