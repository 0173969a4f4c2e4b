# Tidegate: `make demo` runs the demo, `make test` runs every check CI runs.
# Both install what is missing first (scripts/install-deps.sh).

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: deps build demo test lint fmt bench api-check aws-check

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release -p tidegate

demo: build
	$(TARGET_DIR)/release/tidegate demo

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) build -p tidegate
	$(CARGO) test --workspace
	@for f in conf/examples/*.toml; do $(TARGET_DIR)/debug/tidegate check -c $$f >/dev/null || exit 1; done
	@echo "all example configurations pass tidegate check"
	TIDEGATE_BIN=$(TARGET_DIR)/debug/tidegate bash scripts/api-check.sh
	TIDEGATE_BIN=$(TARGET_DIR)/debug/tidegate bash scripts/aws-check.sh

fmt:
	$(CARGO) fmt --all

bench: deps
	$(CARGO) bench -p tidegate-balancer --bench pick

# The admin API against its OpenAPI document, with schemathesis (about 30 s).
api-check: deps
	$(CARGO) build -p tidegate
	TIDEGATE_BIN=$(TARGET_DIR)/debug/tidegate bash scripts/api-check.sh

# The aws_asg driver against moto's Auto Scaling and EC2 emulation (about 10 s once
# moto is installed).
aws-check: deps
	$(CARGO) build -p tidegate
	TIDEGATE_BIN=$(TARGET_DIR)/debug/tidegate bash scripts/aws-check.sh
