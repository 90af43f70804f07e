# MailWarden: `make run` sets up a Debian machine, builds and starts the daemon; `make test` runs everything.
SHELL := /bin/bash
SWIFT ?= swift
BIN := .build/debug
# Debian packages, installed only when missing: what the build and `make run` need, and what the
# tests add (an MTA, PostgreSQL, scanners; from lintian on, for `make deb` and `make deb-test`).
# `make run` installs only the first list: installing postfix would replace a machine's own MTA.
BUILD_PACKAGES := libmilter-dev libsqlite3-dev libpq-dev pkg-config publicsuffix
TEST_PACKAGES := python3 postgresql postfix sasl2-bin libsasl2-modules swaks sqlite3 jq gcc iproute2 util-linux miltertest bc curl spamd spamassassin rspamd lintian dpkg-dev binutils adduser passwd init-system-helpers systemd sendmail-cf python3-seccomp
DEV_CONFIG := packaging/dev.conf

.PHONY: all deps build-deps install-missing build run test unit milter e2e docs docs-check bench clean deb deb-test recipes fuzz fuzz-build fuzz-smoke

all: build

build-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(BUILD_PACKAGES)"

deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(BUILD_PACKAGES) $(TEST_PACKAGES)"

install-missing:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "run as root (or install:$$missing)" >&2; exit 1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

build: build-deps
	$(SWIFT) build

run: build
	@mkdir -p var
	@echo "mailwardend: store ./var/mailwarden.db, socket inet:8890@127.0.0.1 (config $(DEV_CONFIG))"
	@echo "Postfix main.cf lines to use it:"
	@echo "  smtpd_milters = inet:127.0.0.1:8890"
	@echo "  non_smtpd_milters = inet:127.0.0.1:8890"
	@echo "  milter_default_action = tempfail"
	@echo "Admin CLI: $(BIN)/mailwarden locks --config $(DEV_CONFIG)"
	@echo "The abuse desk worker (mailwarden desk) runs beside it and stops with it."
	$(BIN)/mailwarden desk --config $(DEV_CONFIG) & desk=$$!; trap 'kill $$desk 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/mailwardend --config $(DEV_CONFIG)

test: deps build docs-check unit milter e2e recipes deb-test fuzz-smoke

# The example config and the README reference are rendered from the settings table.
docs: build
	bash packaging/render-docs.sh

docs-check: build
	bash packaging/render-docs.sh --check

# The scanner clients are also tested against a real spamd and rspamd on loopback ports, and the
# store contract against SQLite and a real, private PostgreSQL cluster.
SCANNERS_DIR := /tmp/mailwarden-scanners
POSTGRES_DIR := /tmp/mailwarden-postgres-unit
unit: deps
	bash Tests/scanners/start-scanners.sh $(SCANNERS_DIR) && set -a && . $(SCANNERS_DIR)/scanners.env && set +a && \
	  bash Tests/postgres/start-postgres.sh $(POSTGRES_DIR) && set -a && . $(POSTGRES_DIR)/postgres.env && set +a && \
	  $(SWIFT) test 2>&1 | tee .build/unit-test.log; rc=$${PIPESTATUS[0]}; \
	  bash Tests/scanners/stop-scanners.sh $(SCANNERS_DIR); bash Tests/postgres/stop-postgres.sh $(POSTGRES_DIR); exit $$rc

e2e: deps build
	MW_BIN=$(BIN) bash Tests/e2e/run.sh
	MW_BIN=$(BIN) bash Tests/e2e/postgres.sh

# The milter protocol without an MTA (negotiated flags, no-reply events, modifications): miltertest.
milter: deps build
	MW_BIN=$(BIN) bash Tests/milter/run.sh

# The Postfix and Sendmail recipes of packaging/examples/, loaded as shipped (Sendmail: m4 and an unpacked binary).
recipes: deps build
	MW_BIN=$(BIN) bash Tests/recipes/run.sh

# The Debian package: dist/mailwarden_VERSION_amd64.deb (VERSION: packaging/debian/changelog).
deb: build-deps
	@$(MAKE) --no-print-directory install-missing PACKAGES="dpkg-dev binutils"
	SWIFT=$(SWIFT) bash packaging/build-deb.sh

# Builds the .deb (make deb), lints it, installs, runs, removes and purges it on this machine.
deb-test: deps
	bash Tests/deb/run.sh

# libFuzzer targets (Fuzz/, a package of its own): the report parser, MIME, ZIP, the config parser,
# identity rules and the message session, with AddressSanitizer. `make fuzz` runs each for
# FUZZ_SECONDS; `make fuzz-smoke` for 30 s each and fails on a crash, leak, slow or huge input.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := report-parser mime zip config identity-rules message-session
# SwiftPM misses a source file added to the main package (a path dependency here) and builds from its
# old plan ("cannot find X in scope"): the plan is dropped so that it is made again (objects are kept).
fuzz-build: build-deps
	rm -f .build-fuzz/release.yaml .build-fuzz/release/description.json
	$(SWIFT) build --package-path Fuzz --scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing

fuzz: fuzz-build
	@rc=0; for t in $(FUZZ_TARGETS); do bash Fuzz/run.sh $$t $(FUZZ_SECONDS) || rc=1; done; exit $$rc

fuzz-smoke: fuzz-build
	@rc=0; for t in $(FUZZ_TARGETS); do bash Fuzz/run.sh $$t 30 || rc=1; done; exit $$rc

# A benchmark, not a test (never in CI): throughput through a private Postfix, ingest rate, lock
# propagation between two hosts on PostgreSQL, two hosts' aggregate throughput on it, memory.
bench: deps
	$(SWIFT) build -c release
	{ echo "# make bench, $$(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo; \
	  MW_BIN=.build/release bash bench/throughput.sh; echo; \
	  MW_BIN=.build/release bash bench/ingest.sh; echo; \
	  MW_BIN=.build/release bash bench/propagation.sh; echo; \
	  MW_BIN=.build/release bash bench/two-hosts.sh; echo; \
	  MW_BIN=.build/release bash bench/memory.sh; } 2>&1 | grep -v '^# round\|^# work dir' | tee bench/latest.md

clean:
	rm -rf .build var .build-deb .build-fuzz dist
