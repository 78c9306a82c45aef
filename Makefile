# Trivium — two commands: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/trivium

.PHONY: run build test fuzz test-e2e test-cluster screenshots bench bench-full vet fmt config clean

build:
	$(GO) build -o $(BIN) ./cmd/trivium

## run: start every role on the embedded default and print the URL to open
run: build
	./$(BIN) serve

## test: vet, format check, unit and integration tests against the real local services
test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	eval "$$(infra/test-env.sh)" && $(GO) test -count=1 ./... && \
		$(GO) test -count=1 -race ./services/games/... ./gateway/... ./cmd/... ./services/natsbus/... ./services/outbox/...

## fuzz: every fuzz target for FUZZTIME each (default 10s). go test -fuzz takes one package and
## one target per run; a failing input is written to that package's testdata/fuzz/<Target>/ —
## keep it there as a regression seed once fixed (plain `go test` replays every file there).
## Minimizing is capped so one slow input cannot hold up a short run.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	./moderation:FuzzValidateAndThumbnail \
	./gateway:FuzzWSFrame \
	./gateway:FuzzDecode \
	./services:FuzzQuizValidate \
	./services/webpush:FuzzValidateSubscription
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
	done

## test-e2e: browser tests in Debian Chromium driven by playwright-core
test-e2e:
	web/e2e/run.sh

## screenshots: regenerate docs/screenshots from the browser tests
screenshots:
	web/e2e/run.sh --screenshots

## test-cluster: the docker-compose topology as local processes (two gateways, workers, nginx,
## versitygw, PostgreSQL, Redis, NATS): a game across gateways, failover, avatars, boards
test-cluster:
	command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx)
	command -v docker-compose >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose)
	docker-compose -f docker-compose.yml config -q
	eval "$$(infra/test-env.sh)" && $(GO) test -tags cluster -count=1 -timeout 30m -run TestCluster ./cmd/trivium/

## bench: every benchmark scenario, small (~2 minutes); bench-full: the sizes in BENCHMARKS.md
bench:
	bench/run.sh quick

bench-full:
	bench/run.sh full

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

config: build
	./$(BIN) config

clean:
	rm -rf bin .tmp
