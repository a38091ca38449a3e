# ffwatt — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Debian packages the tests use (real FFmpeg 5.1; the imageio-ffmpeg wheel's FFmpeg is the fallback for `make run`;
# sshd and sudo for the Ansible test hosts).
APT_PACKAGES := ffmpeg chromium nginx libnginx-mod-rtmp openssh-server sudo \
	victoria-metrics prometheus prometheus-alertmanager prometheus-node-exporter

.PHONY: run test lint install system-deps bench clean fleet-lock

$(BIN)/campaign: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/campaign

run: install
	$(BIN)/campaign run campaigns/quick.yml

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	else echo "not root or no apt-get: skipping Debian packages ($(APT_PACKAGES)); tests that need them are skipped"; fi

test: install system-deps lint
	$(BIN)/python -m pytest -q

# Ruff's lint rules and formatting ([tool.ruff] in pyproject.toml), run by `make test`; neither command changes a
# file (`ruff check --fix .` and `ruff format .` do).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/sampler_overhead.py
	$(BIN)/python bench/rapl_sim_error.py
	$(BIN)/python bench/quick_walltime.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/master_memory.py
	$(BIN)/python bench/result_validation.py
	$(BIN)/python bench/content_presets.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/exporter_scrape.py

# The exact dependency versions every fleet host installs (roles/common/files/requirements.txt), from a clean venv.
fleet-lock:
	rm -rf .fleet-lock && $(PYTHON) -m venv .fleet-lock
	.fleet-lock/bin/python -m pip install --quiet .
	{ echo "# What every ffwatt host installs besides the ffwatt wheel: exact versions, the ones the tests ran against."; \
	  echo "# Regenerate with 'make fleet-lock' after changing dependencies in pyproject.toml."; \
	  .fleet-lock/bin/python -m pip freeze --exclude ffwatt; } > roles/common/files/requirements.txt
	rm -rf .fleet-lock

clean:
	rm -rf $(VENV) .ffwatt reports .pytest_cache
