# Build and test entry points of the stormgmt.core collection.
#
# On a fresh Debian 12 machine (root, or a user with sudo) only two commands are needed:
#   make demo   - install the tooling into .venv and run docs/examples/demo.yml on the simulator
#   make test   - everything CI runs (.ci/run calls it), step by step, stopping at the first failure
# `make help` lists every target.
#
# Layout of generated files (all ignored by git, removed by `make clean`):
#   .venv/                      Python tooling pinned in requirements-dev.txt (`make distclean`)
#   .cache/dist/                the collection tarball built by `ansible-galaxy collection build`
#   .cache/collections/         that tarball installed: ansible_collections/stormgmt/core (demo, molecule)
#   .cache/src/                 ansible_collections/stormgmt/core -> the work tree, a symlink, so that
#                               pytest, ansible-lint and friends see the live sources
#   .cache/sanity/, .cache/integration/
#                               ansible_collections/stormgmt/core: fresh copies of the git-tracked
#                               files, where ansible-test runs (it needs that directory layout)
#   .cache/ansible-home/        ANSIBLE_HOME: ansible's tmp, galaxy and molecule state, kept out of ~

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

ROOT   := $(CURDIR)
VENV   := $(ROOT)/.venv
CACHE  := $(ROOT)/.cache
# ansible-core 2.19 runs on Python 3.11 here (Debian 12); ansible-test is told so explicitly.
TEST_PYTHON ?= 3.11
# The Python that makes .venv: Debian's own python3.11 when the machine has it, else python3 from
# PATH. Debian builds its interpreter with profile-guided optimisation; a python3 that comes first
# on PATH may be a plain source build (pyenv's is): with it every task of the suite costs more
# (an AnsiballZ module start measured 0.53 s against 0.44 s with Debian's, playbooks and pytest
# alike). A .venv made by another Python is made again (see $(VENV)/.stamp).
PYTHON ?= $(firstword $(wildcard /usr/bin/python$(TEST_PYTHON)) python3)

NAMESPACE  := stormgmt
COLLECTION := core

DIST_DIR        := $(CACHE)/dist
COLLECTIONS_DIR := $(CACHE)/collections
SRC_DIR         := $(CACHE)/src
SRC_LINK        := $(SRC_DIR)/ansible_collections/$(NAMESPACE)/$(COLLECTION)
SANITY_ROOT     := $(CACHE)/sanity/ansible_collections/$(NAMESPACE)/$(COLLECTION)
# `make integration TARGET=lun` runs one target (or several: TARGET="lun clone"), in a copy of
# its own, so that runs of different targets can go side by side (scripts/run-steps does).
TARGET ?=
empty :=
space := $(empty) $(empty)
comma := ,
INTEGRATION_ROOT := $(CACHE)/integration$(if $(strip $(TARGET)),-$(subst $(space),+,$(strip $(TARGET))))/ansible_collections/$(NAMESPACE)/$(COLLECTION)

# Every recipe uses the tools of .venv, as if it were activated.
export PATH        := $(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(VENV)
# Keep ansible's own state (tmp, galaxy cache, molecule's ephemeral dirs, and the copy of the
# collection that molecule's prerun installs) inside .cache instead of ~/.ansible, where a
# stale stormgmt.core would shadow the one under test. ansible-test keeps ~/.ansible/test.
export ANSIBLE_HOME := $(CACHE)/ansible-home
# Modules on localhost run with the Python that runs ansible (.venv, which has netaddr);
# interpreter discovery would pick the system python3 instead.
export ANSIBLE_PYTHON_INTERPRETER := $(VENV)/bin/python
export ANSIBLE_FORCE_COLOR ?= false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Tasks on localhost (molecule, the demo, the benchmarks) are piped to the module's Python
# instead of copied to a file, chmod-ed and run: two shell commands and a copy less per task.
# Python reads a script from an unbuffered stdin one byte at a time (one read(2) per byte of
# the ~200 KB AnsiballZ payload), so PYTHONUNBUFFERED, which some CI environments set, must
# not reach the modules: without it pipelining is the cheaper way, with it the dearer one.
# ansible-test gets the same setting from tests/integration/integration.cfg (it passes
# neither variable on).
export ANSIBLE_PIPELINING ?= true
unexport PYTHONUNBUFFERED
# Likewise PYTHONDONTWRITEBYTECODE would keep the modules from keeping their compiled
# module_utils between tasks (plugins/module_utils/_bytecode.py).
unexport PYTHONDONTWRITEBYTECODE
# Unit and conformance tests import ansible_collections.stormgmt.core.* from the live tree.
UNIT_ENV := PYTHONPATH=$(SRC_DIR)

# `make sanity UNTRACKED=1` also tests files not yet `git add`ed (CI never sees those).
UNTRACKED ?=

# A step with nothing to run yet (no tests/unit, no scenarios...) says so, exits 0, and
# notes it for the summary that `make test` prints.
SKIPPED_LOG := $(CACHE)/skipped-steps
skip = { echo "$(1): $(2), skipped"; mkdir -p $(CACHE); echo $(1) >>$(SKIPPED_LOG); exit 0; }

.PHONY: help deps venv collection src-link sanity lint unit integration molecule conformance \
        docs docs-lint demo test check check-sanity bench bench-peers clean distclean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------------------------
# Setup

deps: ## Install the missing Debian packages (tgt, libiscsi, qemu, filesystems, tooling)
	@$(ROOT)/scripts/install-system-deps

venv: $(VENV)/.stamp ## Create .venv and install requirements-dev.txt (again only when they change)

# The stamp is newer than the requirement files once they are installed; pip runs again
# only when one of them changes. A .venv whose python no longer starts (moved, or made on
# another machine) or that another Python made (its sys.base_prefix is not $(PYTHON)'s) is
# recreated.
VENV_BASE  = $(shell $(VENV)/bin/python -c 'import sys; print(sys.base_prefix)' 2>/dev/null)
VENV_STALE = $(if $(VENV_BASE),$(filter-out $(VENV_BASE),$(shell $(PYTHON) -c 'import sys; print(sys.base_prefix)' 2>/dev/null)),yes)
.PHONY: FORCE
FORCE:
$(VENV)/.stamp: requirements.txt requirements-dev.txt $(if $(VENV_STALE),FORCE)
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || $(ROOT)/scripts/install-system-deps python3-venv
	@if [ -n "$(VENV_STALE)" ]; then \
	    echo "creating $(VENV) with $$(command -v $(PYTHON))"; \
	    rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# ---------------------------------------------------------------------------------------------
# Build

src-link: ## Make .cache/src/ansible_collections/stormgmt/core a symlink to the work tree
	@mkdir -p $(dir $(SRC_LINK))
	@# relative, so that the tree may move: .cache/src/ansible_collections/stormgmt -> ../../../..
	@# (left alone when it is right already: steps running side by side all ask for it)
	@[ "$$(readlink $(SRC_LINK))" = ../../../.. ] || ln -sfn ../../../.. $(SRC_LINK)

collection: venv src-link ## Build the collection tarball and install it into .cache/collections
	rm -rf $(DIST_DIR)
	ansible-galaxy collection build --force --output-path $(DIST_DIR) $(ROOT)
	$(ROOT)/scripts/check-artifact $(DIST_DIR)/$(NAMESPACE)-$(COLLECTION)-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_DIR) ansible-galaxy collection install --offline --force \
	    -p $(COLLECTIONS_DIR) $(DIST_DIR)/$(NAMESPACE)-$(COLLECTION)-*.tar.gz

# ---------------------------------------------------------------------------------------------
# Tests

# ansible-test must run inside .../ansible_collections/stormgmt/core and only looks at files
# under version control, so it runs on a fresh copy of the git-tracked files (scripts/copy-tracked
# makes the copy a git repository of its own). Docker is not available here: scripts/sanity runs
# `ansible-test sanity --venv --requirements --python 3.11` (ansible-test manages the virtual
# environments, one per test, from PyPI), then compile and import on the other Pythons modules
# support, where the machine has them, and lists every test's result.
# scripts/ansible-test-pip-bootstrap lets ansible-test put pip into its environments offline.
# The project rule is "sanity with no ignores": tests/sanity/ignore-*.txt must not exist.
sanity: venv ## ansible-test sanity (all tests that can run here) on the git-tracked files
	@if compgen -G 'tests/sanity/ignore-*.txt' >/dev/null; then \
	    echo "error: tests/sanity/ignore-*.txt exists; this project runs sanity with no ignores" >&2; exit 1; \
	fi
	@$(ROOT)/scripts/copy-tracked $(if $(UNTRACKED),--untracked) $(SANITY_ROOT)
	@$(ROOT)/scripts/ansible-test-pip-bootstrap $(VENV)/bin/python
	$(ROOT)/scripts/sanity $(SANITY_ROOT) $(TEST_PYTHON)

# --offline: do not let ansible-lint build and install its own copy of the collection;
# it resolves stormgmt.core through the symlink tree, i.e. the live sources.
# ansible-test's shellcheck sanity test only looks at *.sh files: the extension-less shell
# helpers of the build get the same check here.
SHELL_SCRIPTS = $(shell grep -lE '^#!.*[/ ](ba)?sh$$' $(wildcard scripts/* .ci/run benchmarks/run) /dev/null)

lint: venv src-link ## ansible-lint, production profile (.ansible-lint); shellcheck on the build scripts
	ANSIBLE_COLLECTIONS_PATH=$(SRC_DIR) ansible-lint --offline
	shellcheck $(SHELL_SCRIPTS)

unit: venv src-link ## pytest tests/unit (imports ansible_collections.stormgmt.core from the work tree)
	@if [ ! -d tests/unit ]; then $(call skip,unit,no tests/unit yet); fi; \
	$(UNIT_ENV) pytest tests/unit

# The simulator and the reference external plug-in, each on a fresh state file (tgt runs it in the
# iscsi molecule scenario, against a real tgtd).
CONFORMANCE_DIR := $(CACHE)/conformance
conformance: venv src-link ## pytest tests/conformance (the suite every backend passes): sim, the reference plug-in, lsm test plug-in, Linux NAS
	@if [ ! -d tests/conformance ]; then $(call skip,conformance,no tests/conformance yet); fi; \
	rm -rf $(CONFORMANCE_DIR) && mkdir -p $(CONFORMANCE_DIR); \
	$(UNIT_ENV) STORMGMT_PLUGIN_PATH=$(ROOT)/contrib/plugins pytest tests/conformance \
	    --backend sim://$(CONFORMANCE_DIR)/sim.db --backend plugin+jsonfile://$(CONFORMANCE_DIR)/array.json \
	    --backend lsm+stormtest:// --backend linux://

# --local: the targets run with .venv's Python, which has the collection's requirements
# (netaddr); --venv would need them repeated in tests/integration/requirements.txt.
# Targets need root for tgt, loop devices and mounts (CI runs as root). Targets with the
# `destructive` alias (they start daemons, attach loop devices, mount) run too: `make test` is
# everything CI runs. On a machine you care about: make integration INTEGRATION_ARGS=
# The inner loop: `make integration TARGET=lun` (UNTRACKED=1 for files not yet added to git).
# tests/integration/integration.cfg is the ansible.cfg of these runs (pipelining).
INTEGRATION_ARGS ?= --allow-destructive
integration: venv ## ansible-test integration on the git-tracked files; one target: TARGET=<name>
	@if [ -z "$$(git ls-files $(if $(UNTRACKED),--cached --others --exclude-standard) tests/integration/targets)" ]; then \
	    $(call skip,integration,no tracked targets under tests/integration/targets yet); \
	fi; \
	for target in $(TARGET); do \
	    if [ ! -d tests/integration/targets/$$target ]; then \
	        echo "error: no integration target '$$target'; the targets are: $$(ls tests/integration/targets | tr '\n' ' ')" >&2; \
	        exit 2; \
	    fi; \
	done; \
	$(ROOT)/scripts/copy-tracked $(if $(UNTRACKED),--untracked) $(INTEGRATION_ROOT); \
	cd $(INTEGRATION_ROOT) && env -u ANSIBLE_COLLECTIONS_PATH \
	    ansible-test integration --local --python $(TEST_PYTHON) --color no $(INTEGRATION_ARGS) $(TARGET)

# molecule 26 in "collection mode": run from the directory holding galaxy.yml (it reads the
# namespace and name there), it collects scenarios from extensions/molecule/*/molecule.yml
# (extensions/molecule/config.yml, if present, is the base config they share; a molecule/
# directory at the root would switch it back to the old layout, with a warning).
# Its prerun builds and installs the collection into $ANSIBLE_HOME/collections, but its
# ansible runtime is not isolated: it does not add that directory to the search path, it
# relies on ansible's own (where ~/.ansible/collections, by default, would gather stale copies).
# So ANSIBLE_COLLECTIONS_PATH names the collections root (the directory that holds
# ansible_collections/, not ansible_collections/ itself) explicitly: the tarball installed by
# `make collection`, i.e. the collection as shipped. Scenarios use the default driver with
# `managed: false` on localhost (and ansible_python_interpreter: "{{ ansible_playbook_python }}"
# in their inventory), so nothing is fetched. molecule logs "CRITICAL 'extensions/molecule/
# default/molecule.yml' glob failed" when there is no `default` scenario; it is not an error.
# `make molecule SCENARIO=sim` runs one scenario; NO_BUILD=1 uses the collection that
# `make collection` installed before (scripts/run-steps builds it once for all scenarios).
SCENARIO ?=
NO_BUILD ?=
molecule: venv $(if $(NO_BUILD),,collection) ## molecule test --all for the scenarios under extensions/molecule; one: SCENARIO=<name>
	@if ! compgen -G 'extensions/molecule/*/molecule.yml' >/dev/null; then \
	    $(call skip,molecule,no scenarios under extensions/molecule yet); \
	fi; \
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_DIR) molecule test $(if $(SCENARIO),--scenario-name $(SCENARIO),--all)

# The guides (docs/*.md) are the source of the docsite's extra docs: scripts/docsite converts them
# with pandoc into docs/docsite/rst/*.rst and writes docs/docsite/extra-docs.yml; both are committed
# (antsibull-docs reads RST only), and docs-lint fails when they are not what the guides give.
docs: venv ## Generate docs/docsite (extra-docs.yml, rst/) from the guides docs/*.md (needs pandoc)
	$(VENV)/bin/python $(ROOT)/scripts/docsite

# antsibull-docs puts the collection into a temporary ansible_collections tree itself, so it
# takes the work tree directly; --plugin-docs also validates every plugin's and role's docs.
docs-lint: venv ## The docsite is up to date with docs/*.md; antsibull-docs lint-collection-docs --plugin-docs
	$(VENV)/bin/python $(ROOT)/scripts/docsite --check
	antsibull-docs lint-collection-docs --plugin-docs $(ROOT)

# `make test` is everything CI runs. deps, venv and collection run first, one after the other;
# then the other steps run side by side, JOBS at a time (default: one per CPU), split into jobs
# (one per integration target, one per molecule scenario) by scripts/run-steps, longest first.
# Each job's output goes to .cache/test-logs/<job>.log; the log of a failed job is printed.
# It prints the time of every step and ends with "steps: N passed, N failed, N skipped".
# JOBS=1 runs the jobs one by one in the order below; FAIL_FAST=1 starts no job after a failure.
TEST_SERIAL := deps venv collection
TEST_STEPS  := $(TEST_SERIAL) sanity lint unit conformance integration molecule docs-lint
JOBS ?=
FAIL_FAST ?=
RUN_STEPS = $(PYTHON) $(ROOT)/scripts/run-steps $(if $(JOBS),--jobs $(JOBS)) $(if $(FAIL_FAST),--fail-fast) \
	$(if $(UNTRACKED),--untracked)

test: ## Everything CI runs: deps venv collection, then sanity lint unit conformance integration molecule docs-lint side by side
	@$(RUN_STEPS) --label test --serial $(subst $(space),$(comma),$(TEST_SERIAL)) $(TEST_STEPS)

# The quick loop before a commit (under 3 minutes): lint, unit, conformance and the sanity
# tests that take seconds (CHECK_SANITY_TESTS), side by side. `make sanity` runs them all.
CHECK_SANITY_TESTS ?= validate-modules ansible-doc yamllint pep8 compile action-plugin-docs changelog \
	empty-init ignores line-endings no-assert no-get-exception no-illegal-filenames no-smart-quotes \
	replace-urlopen runtime-metadata shebang shellcheck symlinks use-argspec-type-path use-compat-six
check: venv src-link ## Lint, unit, conformance and a quick sanity subset, side by side (under 3 minutes)
	@$(RUN_STEPS) --label check lint unit conformance check-sanity

check-sanity: venv
	@$(ROOT)/scripts/copy-tracked $(if $(UNTRACKED),--untracked) $(SANITY_ROOT)
	@$(ROOT)/scripts/ansible-test-pip-bootstrap $(VENV)/bin/python
	cd $(SANITY_ROOT) && env -u ANSIBLE_COLLECTIONS_PATH ansible-test sanity --venv --requirements \
	    --python $(TEST_PYTHON) --color no $(addprefix --test ,$(CHECK_SANITY_TESTS))

# ---------------------------------------------------------------------------------------------
# Demo, benchmarks, cleaning

DEMO_PLAYBOOK := docs/examples/demo.yml

demo: venv collection ## Run docs/examples/demo.yml on the simulator twice: the second run changes nothing
	@if [ ! -f $(DEMO_PLAYBOOK) ]; then \
	    echo "error: $(DEMO_PLAYBOOK) does not exist yet; nothing to demonstrate" >&2; exit 1; \
	fi
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_DIR) $(ROOT)/scripts/demo $(DEMO_PLAYBOOK) $(CACHE)/demo

# The peers of benchmarks/noop_vs_peers.py (ansible.posix.mount, community.general.filesystem)
# are benchmark-only: taken from the `ansible` package on PyPI (the pinned release that goes
# with ansible-core 2.19) into .cache/bench/peers, never into the collection's requirements.
BENCH_ANSIBLE ?= ansible==12.3.0
BENCH_PEERS   := $(CACHE)/bench/peers
bench-peers: venv ## Put ansible.posix and community.general (benchmark peers) into .cache/bench/peers
	@if [ ! -d $(BENCH_PEERS)/ansible_collections/ansible/posix ] || [ ! -d $(BENCH_PEERS)/ansible_collections/community/general ]; then \
	    rm -rf $(CACHE)/bench/wheels $(BENCH_PEERS).tmp; \
	    pip download --quiet --no-deps -d $(CACHE)/bench/wheels '$(BENCH_ANSIBLE)'; \
	    $(VENV)/bin/python -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	        z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(("ansible_collections/ansible/posix/", "ansible_collections/community/general/"))])' \
	        $(CACHE)/bench/wheels/ansible-*.whl $(BENCH_PEERS).tmp; \
	    rm -rf $(BENCH_PEERS) $(CACHE)/bench/wheels; mv $(BENCH_PEERS).tmp $(BENCH_PEERS); \
	fi

bench: venv collection bench-peers ## Run benchmarks/run (JSON results under benchmarks/results)
	@if [ ! -x benchmarks/run ]; then $(call skip,bench,no benchmarks/run yet); fi; \
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_DIR) STORMGMT_BENCH_PEERS=$(BENCH_PEERS) benchmarks/run

clean: ## Remove .cache and test outputs (keeps .venv)
	@# the demo leaves its file system mounted under .cache/demo: unmount before removing
	@{ findmnt -rn -o TARGET | grep -F "$(CACHE)/" || true; } | sort -r | while read -r target; do umount "$$target"; done
	rm -rf $(CACHE) tests/output .pytest_cache
	find $(ROOT) -path $(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
