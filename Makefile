# zkobserver — build, test and lint. `make test` installs what the tests need
# (Debian's zookeeper, python3-kazoo, a headless JRE) when it is missing.

GO        ?= go
PKGS      ?= ./...
TESTFLAGS ?= -count=1 -timeout 25m

.PHONY: all build test test-unit deps lint fuzz clean demo demo-stop

all: build

build:
	$(GO) build -o bin/zkobserver ./cmd/zkobserver

deps:
	bash scripts/install-deps.sh

# The whole suite, under the race detector: unit tests and the interop tests
# against a real ZooKeeper 3.8 ensemble.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) -race $(PKGS)

test-unit:
	$(GO) test -count=1 -short $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS); \
	else echo "staticcheck unavailable from the module proxy; skipped"; fi

# Each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeRequest$$' -fuzztime=$(FUZZTIME) ./core/proto/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeConnectRequest$$' -fuzztime=$(FUZZTIME) ./core/proto/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeTxn$$' -fuzztime=$(FUZZTIME) ./core/proto/
	$(GO) test -run='^$$' -fuzz='^FuzzReadQuorumPacket$$' -fuzztime=$(FUZZTIME) ./core/proto/
	$(GO) test -run='^$$' -fuzz='^FuzzSnapshotBody$$' -fuzztime=$(FUZZTIME) ./snapshot/
	$(GO) test -run='^$$' -fuzz='^FuzzLogFile$$' -fuzztime=$(FUZZTIME) ./snapshot/
	$(GO) test -run='^$$' -fuzz='^FuzzRestoreLog$$' -fuzztime=$(FUZZTIME) ./snapshot/
	$(GO) test -run='^$$' -fuzz='^FuzzSnapshotFile$$' -fuzztime=$(FUZZTIME) ./snapshot/
	$(GO) test -run='^$$' -fuzz='^FuzzModel$$' -fuzztime=$(FUZZTIME) ./core/watch/

clean:
	rm -rf bin

# The README's run command: installs what is missing, builds zkobserver,
# starts a local 3-voter ZooKeeper ensemble and `zkobserver run` (pebble,
# metrics) on loopback, prints where everything listens. Ctrl-C, or
# `make demo-stop` from another terminal, stops it all.
demo:
	bash scripts/demo.sh

demo-stop:
	bash scripts/demo.sh stop
