# k8s-manage — the two set-up commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/k8s-manage
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X k8s-manage/internal/version.version=$(VERSION) -X k8s-manage/internal/version.commit=$(COMMIT)
# Packages under test: everything in the main module (hack/sandbox/modules are separate modules).
PKGS := ./...

.PHONY: build build-all web-build run test test-short lint bench clean test-deps sandbox-bins sandbox-up sandbox-down sandbox-status docs eval eval-retrieval eval-paraphrase eval-teamchat eval-usage eval-metrics eval-diagnosis eval-heldout image tools-bins kustomize-base

build: ## build bin/k8s-manage, embedding whatever web/dist holds (run web-build first, or use build-all)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/k8s-manage

web-build: ## build the console and widget (TypeScript, Vite) into web/dist; installs the npm packages from the lock file
	cd web && (npm ci --no-audit --no-fund >/dev/null || npm ci --no-audit --no-fund) && npm run build

build-all: web-build build ## web-build, then build (the binary embeds the console)

# The OCI image, built without a container daemon (hack/image, go-containerregistry): one
# docker-loadable tarball per platform and an OCI layout with the index under bin/image.
# IMAGE_PUSH=registry.example.com/k8s-manage:v1 also pushes it. deploy/docker/Dockerfile runs
# this same target (IMAGE_FLAGS=--rootfs).
IMAGE_REPO ?= k8s-manage
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_PUSH ?=
IMAGE_FLAGS ?=
image: web-build ## build the k8s-manage image for linux/amd64 and linux/arm64 into bin/image (IMAGE_PUSH=ref to push)
	$(GO) run ./hack/image --repo $(IMAGE_REPO) --version $(VERSION) --commit $(COMMIT) --platforms $(IMAGE_PLATFORMS) \
		--ldflags "$(LDFLAGS)" --out bin/image $(if $(IMAGE_PUSH),--push $(IMAGE_PUSH)) $(IMAGE_FLAGS)

# With no cluster configured (K8SM_CLUSTER_MODE / K8SM_CLUSTER_KUBECONFIG / K8SM_CONFIG unset),
# `make run` uses the local sandbox control plane, building and starting it as needed.
run: build-all sandbox-bins ## serve on 127.0.0.1:8080 (SQLite under ./data, the sandbox cluster unless one is configured)
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) ingest && exec ./$(BIN) serve

# test-deps installs and starts what the suites need (PostgreSQL, milvus-lite, the sandbox control plane)
# and writes their environment to bin/.test.env.
test-deps: sandbox-up web-build tools-bins
	@mkdir -p bin
	@echo "K8SM_TEST_HELM=$$(hack/tools/build.sh)/helm" > bin/.test.env
	@echo "K8SM_TEST_POSTGRES_DSN=$$(hack/ci/postgres.sh)" >> bin/.test.env
	@echo "K8SM_TEST_MILVUS_ADDR=$$(hack/ci/milvus.sh)" >> bin/.test.env
	@echo "K8SM_TEST_CHROMIUM=$$(hack/ci/chromium.sh)" >> bin/.test.env
	@echo "K8SM_TEST_SCHEMATHESIS=$$(hack/ci/schemathesis.sh)" >> bin/.test.env

sandbox-bins: ## build the control-plane binaries (cached by pinned versions; cold build ~10-20 min)
	hack/sandbox/build.sh >/dev/null

tools-bins: ## build the test tools pinned under hack/tools (the helm CLI; cached by pins, cold ~6 min)
	hack/tools/build.sh >/dev/null

# kustomize-base regenerates deploy/kustomize/base from the chart's defaults (a test fails when it is stale).
kustomize-base: tools-bins ## regenerate deploy/kustomize/base from deploy/helm/k8s-manage
	$(GO) run ./hack/genkustomize

sandbox-up: sandbox-bins ## start (or reuse) the local control plane: 3 kwok nodes, loopback only
	$(GO) run ./cmd/k8s-manage sandbox up

sandbox-down: ## stop the local control plane and remove its files
	$(GO) run ./cmd/k8s-manage sandbox down

sandbox-status: ## each component's state, the nodes, the kubeconfig and kubectl paths
	$(GO) run ./cmd/k8s-manage sandbox status

test: test-deps lint ## install what is missing, then vet and run every test (race detector on)
	set -a && . bin/.test.env && set +a && hack/ci/gotest.sh -race -count=1 -timeout 30m $(PKGS)

test-short: ## the fast tier while developing: every test that needs no control plane, database or browser (-short), no installs
	hack/ci/gotest.sh -short -count=1 -timeout 15m $(PKGS)

lint: ## gofmt check and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

bench: test-deps ## run the benchmarks and print their figures
	set -a && . bin/.test.env && set +a && $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

docs: ## regenerate the documents derived from the knowledge sources (KB chunks, FAQ markdown)
	$(GO) run ./hack/gendocs

# EVAL_FLAGS adds flags, e.g. EVAL_FLAGS="--model default --repeat 3".
eval: build-all sandbox-bins ## run every eval dataset with the builtin model on the sandbox; reports in bin/eval
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/datasets --dataset evals/tasks --out bin/eval \
		--min-pass chat=0.95 --min-pass safety=1 --min-pass diagnosis=0.9 --min-pass retrieval=0.9 $(EVAL_FLAGS)

# HALF=test reports the held-out half: run it once, after tuning on dev (see evals/paraphrase/README.md).
HALF ?= dev
eval-paraphrase: build-all sandbox-bins ## score the builtin model on the everyday-phrasing dataset (dev half; HALF=test once at the end), per group and language
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/paraphrase/$(HALF).jsonl --out bin/eval-paraphrase-$(HALF) $(EVAL_FLAGS)

eval-teamchat: build-all sandbox-bins ## score the builtin model on messages typed the way people type in team chat (dev half; HALF=test once at the end), per group and language
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/teamchat/$(HALF).jsonl --out bin/eval-teamchat-$(HALF) $(EVAL_FLAGS)

eval-usage: build-all sandbox-bins ## score the builtin model on usage questions (top, slowness, right-sizing; dev half; HALF=test once at the end)
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/usage/$(HALF).jsonl --out bin/eval-usage-$(HALF) $(EVAL_FLAGS)

eval-metrics: build-all sandbox-bins ## score the builtin model on questions about an app's metrics over time (query_metrics; dev half; HALF=test once at the end)
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	export K8SM_PROMETHEUS_URL=$${K8SM_PROMETHEUS_URL:-http://127.0.0.1:9}; \
	./$(BIN) eval --dataset evals/metrics/$(HALF).jsonl --out bin/eval-metrics-$(HALF) $(EVAL_FLAGS)

eval-diagnosis: build-all sandbox-bins ## score diagnosis on the new fault scenarios (dev half; HALF=test once at the end): through chat and through diagnose directly, per fault kind
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/diagnosis/$(HALF).jsonl --out bin/eval-diagnosis-$(HALF) $(EVAL_FLAGS)

eval-heldout: build-all sandbox-bins ## the held-out halves, reported once after tuning on dev: retrieval (evals/heldout) and the everyday phrasings (test)
	@if [ -z "$$K8SM_CLUSTER_MODE$$K8SM_CLUSTER_KUBECONFIG$$K8SM_CONFIG" ]; then export K8SM_CLUSTER_MODE=sandbox; fi; \
	./$(BIN) eval --dataset evals/heldout --dataset evals/paraphrase/test.jsonl --out bin/eval-heldout $(EVAL_FLAGS)

eval-retrieval: ## score lexical, dense and hybrid retrieval on the dev half, evals/datasets/retrieval.jsonl
	$(GO) test -count=1 -v -run TestRetrievalEval ./evals/retrieval/ | grep -v -E '^(=== RUN|--- PASS|PASS$$)'

clean: ## remove build output and local data (stop the sandbox first: make sandbox-down)
	rm -rf bin data
