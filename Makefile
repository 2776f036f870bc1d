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

.PHONY: all build demo demo-go test test-go test-fuzz vet generate bench clean

all: build

build: $(BIN)

$(BIN): $(shell find cmd internal gen -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lakegate

## demo: real Spark with the extension against a planner on its embedded store: admin, alice and bob side by side
demo: demo-spark

## demo-go: the planner alone (no Spark): the same policy, decisions printed by the CLI
demo-go: build
	./scripts/demo.sh

## test: the whole suite (unit, attack, differential, fuzz smoke, integration, crash)
test: vet test-go test-fuzz fuzz-ensemble test-spark test-security test-databricks test-ensemble-py test-ensemble-s3a
	@echo "make test: all suites passed"

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-go: build
	scripts/ensure-slapd.sh
	LAKEGATE_BIN=$(CURDIR)/$(BIN) LAKEGATE_REQUIRE_SLAPD=1 $(GO) test -count=1 -timeout 15m ./...

# Each fuzz target runs briefly; the corpus under testdata/fuzz is replayed by test-go.
# A count of executions, not a duration: with a duration, Go 1.26's fuzzing coordinator can report
# "context deadline exceeded" as a failure when the time runs out under load (golang/go#75804,
# fixed in Go 1.27), with no failing input; a count has no deadline to race.
FUZZTIME ?= 150000x
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/policysql
	$(GO) test -run='^$$' -fuzz='^FuzzParseFilter$$' -fuzztime=$(FUZZTIME) ./internal/policysql
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/authn
	$(GO) test -run='^$$' -fuzz='^FuzzClaimsNeverWiden$$' -fuzztime=5000x ./internal/policy

## generate: regenerate the Connect/protobuf code from proto/ (installs buf and the plugins into .cache)
generate:
	scripts/generate.sh

## bench: planner benchmarks with the OPA baseline (see bench/RESULTS.md)
bench: build
	./bench/run.sh

clean:
	rm -rf bin build

# ---- spark: the extension's jars, the end-to-end suite on both Spark lines, the demo ----
# A missing or stale jar is rebuilt from spark/; if spark/build.sh cannot produce it, make stops
# there (a build failure), so `make test` can never pass with Spark tests skipped.

SPARK_SRC := $(shell find spark/src spark/pom.xml spark/build.sh -type f 2>/dev/null)
SPARK_JARS := build/spark/lakegate-spark-3.5_2.12.jar build/spark/lakegate-spark-3.5_2.13.jar \
              build/spark/lakegate-spark-4.0_2.13.jar

.PHONY: spark-jars spark-env test-spark test-spark-35 test-spark-40 test-spark-213 demo-spark bench-spark

build/spark/lakegate-spark-%.jar: $(SPARK_SRC)
	spark/build.sh $*
	@test -s $@ || { echo "spark/build.sh $* did not produce $@"; exit 1; }

spark-jars: $(SPARK_JARS)

## spark-env: the Spark venvs (.venv-spark35, .venv-spark40) and Delta's jars (.cache/jars)
spark-env:
	scripts/spark-env.sh all

## test-spark: the Spark end-to-end suite on both Spark lines, and the Scala 2.13 smoke test
test-spark: test-spark-35 test-spark-40 test-spark-213

test-spark-35: build build/spark/lakegate-spark-3.5_2.12.jar
	LAKEGATE_SPARK_REQUIRE_JAR=1 scripts/spark-test.sh 3.5

test-spark-40: build build/spark/lakegate-spark-4.0_2.13.jar
	LAKEGATE_SPARK_REQUIRE_JAR=1 scripts/spark-test.sh 4.0

test-spark-213: build build/spark/lakegate-spark-3.5_2.13.jar
	LAKEGATE_SPARK_REQUIRE_JAR=1 scripts/spark-smoke-213.sh

.PHONY: test-security test-security-35 test-security-40

## test-security: the security suite (tests/security: every known bypass as an attack and its blocked outcome)
## on both Spark lines
test-security: test-security-35 test-security-40

test-security-35: build build/spark/lakegate-spark-3.5_2.12.jar
	scripts/ensure-slapd.sh
	LAKEGATE_SPARK_REQUIRE_JAR=1 LAKEGATE_REQUIRE_SLAPD=1 scripts/security-test.sh 3.5

test-security-40: build build/spark/lakegate-spark-4.0_2.13.jar
	scripts/ensure-slapd.sh
	LAKEGATE_SPARK_REQUIRE_JAR=1 LAKEGATE_REQUIRE_SLAPD=1 scripts/security-test.sh 4.0

## bench-spark: Spark planning time with and without the extension, 22 TPC-H shapes (bench/RESULTS.md)
bench-spark: build build/spark/lakegate-spark-3.5_2.12.jar
	scripts/spark-env.sh 3.5
	.venv-spark35/bin/python bench/spark/planning.py

## demo-spark: the demo on real Spark (what `make demo` runs)
demo-spark: build build/spark/lakegate-spark-3.5_2.12.jar
	scripts/spark-env.sh 3.5
	.venv-spark35/bin/python scripts/demo-spark.py

# ---- databricks: the kit's init script, cluster configuration and policy, tested in a sandbox ----
# The init script's fixed part is embedded in the binary: a change to it rebuilds bin/lakegate.
$(BIN): $(wildcard internal/databricks/*.sh)

.PHONY: test-databricks

## test-databricks: the init script run unchanged in sandboxes (every runtime, every refusal), then real
## pyspark 3.5 and 4.0 started with the configuration it wrote, per authentication mode, against real planners
test-databricks: build $(SPARK_JARS)
	scripts/databricks-test.sh

# ---- ensemble ----
# The S3 proxy (lakegate ensemble). Its Go tests (internal/sigv4, internal/s3keys, internal/ensemble,
# tests/ensemble) already run in test-go; these targets run them alone, plus the boto3/AWS CLI suite
# (moto's S3 server as the upstream, in .venv-ensemble) and the proxy's fuzz target.

.PHONY: ensemble-env test-ensemble test-ensemble-go test-ensemble-py test-ensemble-s3a fuzz-ensemble bench-ensemble

## ensemble-env: the Python venv of the ensemble's client tests (.venv-ensemble: boto3, awscli, moto, pytest)
ensemble-env:
	scripts/ensemble-env.sh

## test-ensemble: the ensemble's Go tests and its boto3 / AWS CLI end-to-end suite
test-ensemble: test-ensemble-go test-ensemble-py

test-ensemble-go: build
	LAKEGATE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./internal/sigv4/... ./internal/s3keys/... ./internal/ensemble/... ./tests/ensemble/...

test-ensemble-py: build
	LAKEGATE_BIN=$(CURDIR)/$(BIN) scripts/ensemble-test.sh

## test-ensemble-s3a: OKERA_ENABLE_OKERA_FS: Spark's s3a through the proxy with each user's key (Spark 3.5 and 4.0)
test-ensemble-s3a: build
	LAKEGATE_BIN=$(CURDIR)/$(BIN) scripts/ensemble-s3a-test.sh

## fuzz-ensemble: SigV4 request parsing and canonicalisation (FuzzVerify in internal/sigv4)
fuzz-ensemble:
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./internal/sigv4
	$(GO) test -run='^$$' -fuzz='^FuzzStrictDeleteBody$$' -fuzztime=20000x ./internal/ensemble

## bench-ensemble: proxy throughput, added latency and memory (bench/RESULTS.md, section "Ensemble")
bench-ensemble:
	bench/ensemble.sh
