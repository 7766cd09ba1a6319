# nnf.kube_audit — one command proves the project: `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
BIN         := $(CURDIR)/$(VENV)/bin
STAMP       := $(VENV)/.requirements.stamp
TMP         := $(CURDIR)/.tmp
# The collection is found through a symlink named as Ansible expects it.
COLLECTIONS := $(TMP)/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/nnf/kube_audit
# ansible-test needs the collection at a real ansible_collections/nnf/kube_audit path: a copy.
SANITY_ROOT := $(TMP)/sanity/ansible_collections/nnf/kube_audit
APT_PACKAGES := openssh-server openssl jq shellcheck util-linux
# default first: it is the main flow; then the rest alphabetically.
SCENARIOS   ?= default $(sort $(filter-out default,$(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))))

# The manifest editor's oldest supported ruamel.yaml (Debian 12's); the newest is the one requirements.txt pins.
RUAMEL_OLDEST := 0.17.21
RUAMEL_VENV   := $(TMP)/venv-ruamel-$(RUAMEL_OLDEST)
# The tests of everything that touches ruamel.yaml: the editor, the planning, the action plugins.
EDITOR_TESTS  := tests/unit/plugins/plugin_utils tests/unit/plugins/action

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)

.PHONY: help test lint sanity unit unit-ruamel-oldest molecule demo bench bench-log build deps venv collection clean

help:
	@echo "make test       lint + ansible-test sanity + unit tests + molecule scenarios (what CI runs)"
	@echo "make demo       start 3 local test masters, enable auditing, show the log, disable, tear down"
	@echo "make bench      no-op rerun cost vs ansible -m ping on 3 test masters"
	@echo "make bench-log  audit_log_info vs jq on a generated 1 GB audit log"
	@echo "make build      build the collection tarball"

test: lint sanity unit molecule

venv: $(STAMP)
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# System packages the test masters and the linters need (root on Debian; skipped when present).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

lint: venv deps collection
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --offline --strict --profile production

sanity: venv deps
	rm -rf $(TMP)/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard \
	  | while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done \
	  | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)
	# A repository of its own: ansible-test lists files with git, and the checkout's .gitignore hides .tmp/.
	cd $(SANITY_ROOT) && git init -q && git add -A
	# ansible-test fetches get-pip.py from a host this machine cannot reach; it reuses a cached one.
	pip_version=$$($(BIN)/python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; print(g(type("P", (), {"version": "3.11"})())["pip"])'); \
	  mkdir -p ~/.ansible/test/cache && \
	  cp tools/get_pip_offline.py ~/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --python 3.11 --color no

unit: venv collection
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider
	$(MAKE) --no-print-directory unit-ruamel-oldest

# A second small venv: the project venv's packages (a .pth file) under its own, older ruamel.yaml.
unit-ruamel-oldest: venv collection
	test -x $(RUAMEL_VENV)/bin/python || $(BIN)/python -m venv --without-pip $(RUAMEL_VENV)
	echo "$(CURDIR)/$$($(BIN)/python -c 'import os, sysconfig; print(os.path.relpath(sysconfig.get_paths()["purelib"]))')" \
	  > "$$($(RUAMEL_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_project_venv.pth"
	$(BIN)/pip --python $(RUAMEL_VENV)/bin/python install -q --no-deps --disable-pip-version-check \
	  ruamel.yaml==$(RUAMEL_OLDEST)
	KUBE_AUDIT_EXPECT_RUAMEL=$(RUAMEL_OLDEST) $(RUAMEL_VENV)/bin/python -m pytest $(EDITOR_TESTS) -q -p no:cacheprovider

molecule: venv deps collection
	for s in $(SCENARIOS); do echo "=== molecule scenario $$s"; $(BIN)/molecule test -s $$s || exit 1; done

demo: venv deps collection
	$(BIN)/python tests/demo.py

bench: venv deps collection
	$(BIN)/python tests/bench/bench_rollout.py

bench-log: venv
	$(BIN)/python tests/bench/bench_log.py --size 1G

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(TMP)/build .

clean:
	rm -rf $(TMP) tests/output
