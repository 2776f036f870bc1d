# lakegate — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/lakegate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/lakegate/lakegate/internal/cli.Version=$(VERSION)
export CGO_ENABLED ?= 0
# Keep Go's caches inside the repo's ignored folders when asked (CI).
ifdef LAKEGATE_LOCAL_CACHE
export GOMODCACHE := $(CURDIR)/.cache/gomod
export GOCACHE := $(CURDIR)/.cache/gobuild
endif

.PHONY: all build demo test test-go test-fuzz test-integration vet lint generate bench clean

all: build

build: $(BIN)

$(BIN): $(shell find cmd internal gen -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lakegate

## demo: build, start a planner on an embedded store, apply a sample policy, show three users' views
demo: build
	./scripts/demo.sh

## test: the whole suite (unit, attack, differential, fuzz smoke, integration, crash)
test: vet test-go test-fuzz
	@echo "make test: all suites passed"

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-go: build
	LAKEGATE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 15m ./...

# Each fuzz target runs briefly; the corpus under testdata/fuzz is replayed by test-go.
FUZZTIME ?= 10s
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/policysql
	$(GO) test -run='^$$' -fuzz='^FuzzParseFilter$$' -fuzztime=$(FUZZTIME) ./internal/policysql
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/authn

## generate: regenerate the Connect/protobuf code from proto/ (needs buf, protoc-gen-go, protoc-gen-connect-go)
generate:
	buf lint && buf generate

## bench: planner benchmarks with the OPA baseline (see bench/RESULTS.md)
bench: build
	./bench/run.sh

clean:
	rm -rf bin
