# The two set-up commands of the README:
#   make train   builds adsales (release) and trains on the bundled sample data
#   make test    runs the whole test suite (dev profile)
# Both install what they need on a fresh machine.

CARGO ?= cargo
CONFIG ?= config.yaml

.PHONY: setup train test build release fmt lint fixtures clean-outputs

# libtorch (for the LSTM, through tch) from the PyPI torch wheel into .libtorch/; idempotent
# and fast when already there. It must exist before any cargo command: torch-sys needs it.
setup:
	scripts/setup-libtorch.sh

train: release
	./target/release/adsales train --config $(CONFIG)

release: setup
	$(CARGO) build --release --locked

build: setup
	$(CARGO) build --locked

# Starts one real MLflow server (scripts/mlflow-server.sh installs it into .venv-mlflow on
# first use) for the REST tests, runs every test, and stops the server whatever happened.
# The server starts (on a fresh machine: installs, about a minute) while the tests build.
test: setup
	@scripts/mlflow-server.sh start >/dev/null & srv=$$!; \
	  $(CARGO) test --locked --no-run; built=$$?; \
	  wait $$srv; started=$$?; \
	  if [ $$built -ne 0 ] || [ $$started -ne 0 ]; then \
	    echo "make test: the build or the MLflow server failed" >&2; \
	    scripts/mlflow-server.sh stop; exit 1; \
	  fi; \
	  ADSALES_TEST_MLFLOW_URI=$$(scripts/mlflow-server.sh uri) $(CARGO) test --locked --no-fail-fast; \
	  rc=$$?; scripts/mlflow-server.sh stop; exit $$rc

fmt:
	$(CARGO) fmt --all

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

# Regenerate the pandas golden feature tables (needs python3 with pandas).
fixtures:
	python3 tests/fixtures/gen_features.py

# Remove generated outputs (not the build cache).
clean-outputs:
	rm -rf logs/*.log mlruns/* artifacts/* data/processed/*.csv
	touch logs/.gitkeep mlruns/.gitkeep artifacts/.gitkeep data/processed/.gitkeep
