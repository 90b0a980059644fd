# leverance — see README.md. Targets: build run test lint bench fuzz install clean.
GO        ?= go
BIN       := bin/leverance
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s

PREFIX    ?= /usr/local
DESTDIR   ?=
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

.PHONY: build run test unit long lint fuzz bench clean install

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/leverance

# The demo: a state directory under ./demo, the example configuration with
# windows open now, a generated extract, and the daemon in the foreground.
run: build
	./scripts/demo.sh

# What CI runs (.ci/run): lint, the race-enabled test suite, a short fuzz run.
test: lint unit long fuzz

unit:
	$(GO) test -race -count=1 ./...

# The fast path against the single-goroutine reference on 100,000 citizens
# (SPEC §11; under -race the unit run uses 2,000).
long:
	LEVERANCE_LONG=1 $(GO) test -count=1 -run '^TestPipelineMatchesReference$$' ./compute

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@cp go.mod /tmp/leverance-go.mod.bak; cp go.sum /tmp/leverance-go.sum.bak; \
	$(GO) mod tidy; \
	if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum"; git diff -- go.mod go.sum; exit 1; fi

# Short runs of every fuzzer (longer: make fuzz FUZZTIME=10m).
fuzz:
	GO="$(GO)" FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh ./compute/ ./config/ ./transfer/sftpserver/

# The go benchmarks, the national-scale compute benchmark of SPEC §11 and the
# SFTP benchmarks against OpenSSH (scripts/bench-sftp.sh, about 6 minutes)
# (scripts/bench-compute.sh: generates the extracts once into ./bench, writes
# its figures into docs/performance.md; CITIZENS=100000 for a quick run).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	./scripts/bench-compute.sh
	./scripts/bench-sftp.sh

clean:
	rm -rf bin demo

# Installs the binary, the units (ExecStart pointing at $(PREFIX)/bin), the
# sysusers.d and tmpfiles.d entries, the example configuration (never over an
# existing one) and the docs. Packagers: make install PREFIX=/usr DESTDIR=...
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/leverance
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/leverance|$(PREFIX)/bin/leverance|' systemd/leverance.service > $(DESTDIR)$(UNITDIR)/leverance.service
	install -m 0644 systemd/leverance.socket $(DESTDIR)$(UNITDIR)/leverance.socket
	chmod 0644 $(DESTDIR)$(UNITDIR)/leverance.service
	install -D -m 0644 systemd/leverance.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/leverance.conf
	install -D -m 0644 systemd/leverance.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/leverance.conf
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/leverance
	test -e $(DESTDIR)$(SYSCONFDIR)/leverance/leverance.toml || install -m 0640 examples/leverance.toml $(DESTDIR)$(SYSCONFDIR)/leverance/leverance.toml
	install -D -m 0644 examples/leverance.service.d-ipaddress.conf $(DESTDIR)$(PREFIX)/share/doc/leverance/examples/leverance.service.d-ipaddress.conf
	install -m 0644 examples/leverance.toml $(DESTDIR)$(PREFIX)/share/doc/leverance/examples/leverance.toml
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/leverance/
	$(DESTDIR)$(PREFIX)/bin/leverance help > $(DESTDIR)$(PREFIX)/share/doc/leverance/leverance.txt
