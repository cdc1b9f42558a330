# The policy back-office. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
HTMX_VERSION := 2.0.11
AXE_VERSION := 4.14.1
# Test binaries may run in parallel, but the browser tests are heavy on 2 cores.
TEST_FLAGS ?= -race -count=1 -timeout 15m
FUZZTIME ?= 5s

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: build ## Build and start the dashboard on http://127.0.0.1:8080 against the embedded sandbox
	./bin/dashboard

.PHONY: run-live
run-live: build ## Start the dashboard against the upstreams in KASKO_API_URL, KASKO_PUSH_URL, CASCO_API_URL
	@test -n "$(KASKO_API_URL)$(KASKO_PUSH_URL)$(CASCO_API_URL)" || { echo "set KASKO_API_URL, KASKO_PUSH_URL and/or CASCO_API_URL"; exit 2; }
	./bin/dashboard

.PHONY: sandbox
sandbox: ## Start the sandbox upstream alone on SANDBOX_ADDR (default 127.0.0.1:8090)
	go run ./cmd/sandbox

.PHONY: cluster
cluster: ## Two dashboards behind HAProxy (round robin) with Redis, PostgreSQL and the sandbox, until Ctrl-C (needs haproxy, redis-server, postgresql)
	go run ./cmd/cluster

.PHONY: build
build: ## Build static binaries into bin/ (the same command the Dockerfile runs)
	$(GO_BUILD) -o bin/dashboard ./cmd/dashboard
	$(GO_BUILD) -o bin/sandbox ./cmd/sandbox

.PHONY: generate
generate: ## Generate Go code from the templ files
	go tool templ generate

.PHONY: check-generate
check-generate: ## Fail when the templ output in the tree is stale (or missing)
	@before=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs -r sha256sum); \
	go tool templ generate >/dev/null 2>&1 || go tool templ generate; \
	after=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs -r sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "generated templ code was stale: 'make generate' has now refreshed it; commit it"; exit 1; fi

.PHONY: fmt
fmt: ## Format Go and templ sources
	go tool templ fmt .
	gofmt -w $$(git ls-files --cached --others --exclude-standard '*.go')

.PHONY: lint
lint: ## go vet, staticcheck, and gofmt must have nothing to change
	go vet ./...
	go tool staticcheck ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); test -z "$$out" || { echo "gofmt would change:"; echo "$$out"; exit 1; }

.PHONY: test
test: check-generate lint gosec test-tools ## Run every test (browser tests need chromium; .ci/run installs it)
	@skiplog=$$(mktemp); \
	BACKOFFICE_SKIP_LOG=$$skiplog go test $(TEST_FLAGS) ./... ; status=$$?; \
	if [ -s $$skiplog ]; then \
	  echo; echo "================ SKIPPED TESTS (something they need is missing) ================"; \
	  cat $$skiplog; echo "================================================================================"; \
	fi; rm -f $$skiplog; exit $$status

# test-tools installs what the tests use from npm (package.json, pinned in
# package-lock.json): the W3C HTML checker. Skipped when already there,
# or when npm is missing (the HTML test then says so, and fails in CI).
.PHONY: test-tools
test-tools:
	@if [ ! -f node_modules/vnu-jar/build/dist/vnu.jar ]; then \
	  if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	  else echo "npm is missing: the HTML validation test will be skipped (CI fails it)"; fi; \
	fi

# gosec, pinned; run with `go run` so that its own dependencies stay out
# of go.mod. What it is told to leave alone, and why:
#   G104  unchecked errors: the ones left are Close, Kill and cleanup calls
#         on paths that are already returning another error or shutting
#         down; nothing is decided on them.
#   G202  SQL built by concatenation: every query is constant SQL joined
#         with the dialect's placeholders (sqlstore.Args); values are always
#         bound, never spliced in.
#   internal/sandbox  a fake of the upstreams: deterministic math/rand data,
#         published demo credentials and generated numbers, by design.
#   internal/cluster, internal/audit/pgtest, internal/redistest,
#   internal/testenv, web/webtest  test harnesses that start local servers
#         (exec) and write test logs where the test says.
# Single findings elsewhere carry a #nosec comment with their reason.
GOSEC := github.com/securego/gosec/v2/cmd/gosec@v2.29.0

.PHONY: gosec
gosec: ## Security linter (gosec), with the exclusions explained in the Makefile
	go run $(GOSEC) -quiet -exclude=G104,G202 \
		-exclude-dir=internal/sandbox -exclude-dir=internal/cluster -exclude-dir=internal/audit/pgtest \
		-exclude-dir=internal/redistest -exclude-dir=internal/testenv -exclude-dir=web/webtest ./...

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 5s): redirect targets, VINs
	go test -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./internal/vin/

.PHONY: bench
bench: ## Run the benchmarks (sandbox list serving, list page render, dashboard/upstream latency ratio)
	go test -run '^$$' -bench . -benchmem ./internal/sandbox/ ./views/policies/ ./web/

.PHONY: docker
docker: ## Build the container image (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) -t backoffice:$(VERSION) .

.PHONY: vendor
vendor: ## Fetch the vendored front-end files again from the npm registry
	@tmp=$$(mktemp -d); cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null && tar xzf htmx.org-$(HTMX_VERSION).tgz; \
	cp $$tmp/package/dist/htmx.min.js $(CURDIR)/static/js/htmx.min.js; rm -rf $$tmp; \
	echo "static/js/htmx.min.js is htmx.org $(HTMX_VERSION)"
	@tmp=$$(mktemp -d); cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar xzf axe-core-$(AXE_VERSION).tgz; \
	cp $$tmp/package/axe.min.js $(CURDIR)/internal/browsertest/axe/axe.min.js; cp $$tmp/package/LICENSE $(CURDIR)/internal/browsertest/axe/LICENSE; rm -rf $$tmp; \
	echo "internal/browsertest/axe/axe.min.js is axe-core $(AXE_VERSION)"

.PHONY: clean
clean: ## Remove build output and local data
	rm -rf bin var
