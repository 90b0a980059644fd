# leverance — see README.md. Targets: build run test lint bench fuzz install clean.
GO        ?= go
BIN       := bin/leverance
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s

.PHONY: build run test unit lint fuzz bench clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/leverance

# The demo: a state directory under ./demo, the example configuration with
# windows open now, a generated extract, and the daemon in the foreground.
run: build
	./scripts/demo.sh

# What CI runs (.ci/run): lint, the race-enabled test suite, a short fuzz run.
test: lint unit fuzz

unit:
	$(GO) test -race -count=1 ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@cp go.mod /tmp/leverance-go.mod.bak; cp go.sum /tmp/leverance-go.sum.bak; \
	$(GO) mod tidy; \
	if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum"; git diff -- go.mod go.sum; exit 1; fi

# Short runs of every fuzzer (longer: make fuzz FUZZTIME=10m).
fuzz:
	@for f in $$($(GO) test -list '^Fuzz' ./compute/ | grep ^Fuzz); do \
		echo "fuzz compute $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./compute/ || exit 1; done
	@for f in $$($(GO) test -list '^Fuzz' ./config/ | grep ^Fuzz); do \
		echo "fuzz config $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./config/ || exit 1; done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin demo
