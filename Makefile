# arsctl — common tasks. `make test` is the one command that runs the whole
# suite on a fresh Debian machine (as root): it installs the system
# packages the tests use, starts a throwaway PostgreSQL on 127.0.0.1, and
# runs every Go test, including the network-namespace and browser tests.

GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build test deps pg lint fuzz bench demo man release-check clean

all: build

build:
	$(GO) build -o bin/arsctl ./cmd/arsctl
	$(GO) build -o bin/arsd ./cmd/arsd

deps:
	@if [ "$$(id -u)" -eq 0 ]; then scripts/install-deps.sh; \
	else echo "make: not root, skipping system packages (namespace tests will skip)"; fi

test: deps
	eval "$$(scripts/pg-start.sh)" && $(GO) test -count=1 -timeout 20m ./...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

# A minute of fuzzing for every network-bytes parser (seed corpora run in `make test`).
fuzz:
	scripts/fuzz.sh 60s

bench:
	bench/discover.sh
	bench/subnet.sh
	bench/arsd.sh
	bench/fleet.sh
	bench/startup.sh

demo:
	$(GO) run ./cmd/arsd demo

# Validates .goreleaser.yaml offline with the GoReleaser pinned in
# tools/goreleaser/go.mod (built on first use). Building and pushing the
# image needs docker buildx and a registry, which this target does not use.
release-check:
	$(GO) tool -modfile=tools/goreleaser/go.mod goreleaser check

man:
	./scripts/completions.sh

clean:
	rm -rf bin dist
