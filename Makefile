# The two commands of the README: `make run` and `make test`.
# Everything else here is a step they use.

PY          := /usr/bin/python3
# A test that hangs fails after ten minutes instead of holding the run.
PYTEST      := $(PY) -m pytest -q -p no:cacheprovider --timeout=600
BUILD       := build
ASAN_BUILD  := build-asan
JOBS        := $(shell nproc 2>/dev/null || echo 2)
LISTEN      ?= 127.0.0.1:8080
DEMO_PORT   ?= 8081
DATA        ?= $(CURDIR)/porten-data

DEB_PKGS := build-essential cmake pkg-config clang libmicrohttpd-dev libcjose-dev \
	libjansson-dev libsqlite3-dev libssl-dev libcmocka-dev python3 python3-pytest python3-pytest-timeout \
	python3-requests python3-authlib python3-jwcrypto libpq-dev postgresql haproxy \
	libsodium-dev liboath-dev libcurl4-openssl-dev libunistring-dev libpsl-dev gettext chromium nodejs \
	libp11-dev libp11-kit-dev softhsm2 opensc prometheus python3-yaml systemd sqlite3 \
	libxml2-dev libgd-dev liblasso3-dev python3-lasso zlib1g-dev xmlsec1 \
	libapache2-mod-auth-mellon libqrencode-dev \
	$(if $(shell command -v npm 2>/dev/null),,npm)

.PHONY: all deps build asan run test unit e2e e2e-asan unit-asan fuzz-replay style fuzz clean \
	test-pg cluster analyze deploy-test

all: build

# Install the Debian packages that are missing (needs root, as on a fresh machine).
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DWITH_SANITIZERS=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# Start Porten on $(LISTEN) in the test environment with a demo client.
run: build
	@sh tools/run-demo.sh "$(BUILD)" "$(LISTEN)" "$(DATA)" "$(DEMO_PORT)"

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

unit-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

e2e: build upstream-deps
	PORTEN_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) tests/e2e

e2e-asan: asan upstream-deps
	PORTEN_BUILD=$(CURDIR)/$(ASAN_BUILD) PORTEN_SANITIZED=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:log_path=$(CURDIR)/$(ASAN_BUILD)/asan \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_BUILD)/ubsan \
		$(PYTEST) tests/e2e
	@if ls $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.* >/dev/null 2>&1; then \
		echo "sanitizer reports:"; cat $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.* 2>/dev/null; exit 1; fi

# Banned functions (STYLE.md) stay out of src/; includes point down the layers
# of tools/layers.txt (tools/check-layers.sh).
style:
	@if grep -nE '\b(atoi|sscanf|strcpy|sprintf|strtok|gets)\s*\(' -r src; then \
		echo "banned function used"; exit 1; else echo "style: ok"; fi
	@sh tools/check-layers.sh

# Every test: unit, end-to-end, the same under ASan+UBSan, fuzz corpus replay (ctest), style.
test: style
	rm -f $(ASAN_BUILD)/asan.* $(ASAN_BUILD)/ubsan.*
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory unit-asan
	$(MAKE) --no-print-directory e2e-asan
	$(MAKE) --no-print-directory test-pg
	$(MAKE) --no-print-directory browser-test
	$(MAKE) --no-print-directory deploy-test
	$(MAKE) --no-print-directory analyze

# The independent OIDC server tests/e2e/test_upstream.py starts as an upstream eID.
.PHONY: upstream-deps
upstream-deps:
	cd tests/upstream && npm ci --no-audit --no-fund

# The pages in Debian's Chromium (playwright-core) with axe-core checks; screenshots
# land in tests/browser/artifacts/.
.PHONY: browser-test
browser-test: build
	cd tests/browser && npm ci --no-audit --no-fund
	cd tests/browser && PORTEN_BUILD=$(CURDIR)/$(BUILD) node --test --test-concurrency=1

# deploy/k8s against the Kubernetes API's schemas (kubernetes-models, offline),
# deploy/Dockerfile through a Dockerfile validator (dockerfile-utils);
# the unit, the Dockerfile and the manifests' cross-references are ctest
# deploy/check (tests/deploy/check.py).
deploy-test:
	cd tests/deploy && npm ci --no-audit --no-fund
	cd tests/deploy && node validate.mjs ../../deploy/k8s
	cd tests/deploy && node lint-dockerfile.mjs ../../deploy/Dockerfile

# The store tests, the end-to-end suite and the multi-node tests (tests/cluster)
# on a throwaway PostgreSQL (tools/pg-test.sh), stopped after; a server named
# by PORTEN_TEST_PG (a postgresql:// URI) is used instead when set.
test-pg: build upstream-deps
	@uri=$$(sh tools/pg-test.sh start) || exit 1; echo "PostgreSQL for tests: $$uri"; rc=0; \
	PORTEN_TEST_PG=$$uri ctest --test-dir $(BUILD) --output-on-failure -R '^store/' || rc=1; \
	PORTEN_TEST_PG=$$uri PORTEN_STORE=$$uri PORTEN_BUILD=$(CURDIR)/$(BUILD) \
		$(PYTEST) tests/e2e || rc=1; \
	PORTEN_TEST_PG=$$uri PORTEN_BUILD=$(CURDIR)/$(BUILD) \
		$(PYTEST) tests/cluster || rc=1; \
	sh tools/pg-test.sh stop; exit $$rc

# Only the multi-node tests: three portend behind haproxy on one PostgreSQL.
cluster: build
	@uri=$$(sh tools/pg-test.sh start) || exit 1; rc=0; \
	PORTEN_TEST_PG=$$uri PORTEN_BUILD=$(CURDIR)/$(BUILD) \
		$(PYTEST) tests/cluster || rc=1; \
	sh tools/pg-test.sh stop; exit $$rc

# libFuzzer runs (clang, ASan+UBSan): FUZZ_SECONDS each, FUZZ_TARGETS (default all);
# executions per target go to build-fuzz/summary.txt.  CI: make fuzz FUZZ_SECONDS=30
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	sh tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Static analysis and memcheck (docs/SECURITY.md): cppcheck and clang-tidy 14
# (.clang-tidy) over src/, valgrind memcheck over every unit test binary.
# Under memcheck OpenSSL's RSA prime search is ~100x slower and not ours:
# tools/vg-keypool.c answers RSA key generation from keys made natively first.
ANALYZE_PKGS := cppcheck clang-tidy-14 valgrind openssl
VG_DIR       := $(BUILD)/memcheck
analyze: build
	@missing=$$(for p in $(ANALYZE_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	cppcheck -q -j$(JOBS) --std=c11 --enable=warning,performance,portability --error-exitcode=1 \
		--inline-suppr -Isrc -D_GNU_SOURCE -D__CPPCHECK__ --include=/usr/include/jansson.h \
		--library=posix --library=gnu --library=openssl --library=sqlite3 \
		--suppress=missingIncludeSystem --suppress=readdirCalled src
	@echo "clang-tidy-14 over src/"; \
	out=$$(find src -name '*.c' | sort | xargs -P$(JOBS) -n2 clang-tidy-14 -p $(BUILD) --quiet \
		2>/dev/null); rc=$$?; [ -z "$$out" ] || printf '%s\n' "$$out"; exit $$rc
	@mkdir -p $(VG_DIR)/pool; \
	for spec in 1024:4 2048:16 3072:2; do b=$${spec%:*}; n=0; while [ $$n -lt $${spec#*:} ]; do \
		f=$(VG_DIR)/pool/rsa$$b-$$n.pem; [ -s $$f ] || openssl genrsa -out $$f $$b 2>/dev/null; \
		n=$$((n + 1)); done; done; \
	cc -shared -fPIC -O2 -o $(VG_DIR)/keypool.so tools/vg-keypool.c -ldl -lcrypto
	@echo "valgrind memcheck over $(BUILD)/unit_*"; \
	find $(BUILD) -maxdepth 1 -type f -perm -u+x -name 'unit_*' | sort | xargs -P$(JOBS) -I{} sh -c \
		'log=$(VG_DIR)/$$(basename {}).log; \
		 PORTEN_VG_KEYPOOL=$(abspath $(VG_DIR))/pool LD_PRELOAD=$(abspath $(VG_DIR))/keypool.so \
		 valgrind -q --error-exitcode=1 --leak-check=full {} >$$log 2>&1 || \
		 { echo "memcheck failed: {} (log $$log)"; grep "^==" $$log | head -n 60; exit 1; }'
	@echo "analyze: ok"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
