# leverance — see README.md. Targets: build run test lint bench fuzz install package clean.
GO        ?= go
BIN       := bin/leverance
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 10s
NFPM      := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0

PREFIX    ?= /usr/local
DESTDIR   ?=
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

# Packages (make package): version and release of the .deb and .rpm, and
# where they are written.
PKGVERSION ?= 0.1.0
PKGRELEASE ?= $(shell git rev-list --count HEAD 2>/dev/null || echo 1)
PKGDIR    ?= dist

.PHONY: build run test unit long lint fuzz bench clean install package

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
# (docs/performance.md; under -race the unit run uses 2,000).
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
	GO="$(GO)" FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh ./compute/ ./compute/internal/linescan/ ./config/ ./transfer/sftpserver/ ./receipt/ ./packaging/genman/

# The go benchmarks, the national-scale compute benchmark of docs/performance.md and the
# SFTP benchmarks against OpenSSH (scripts/bench-sftp.sh, about 6 minutes)
# (scripts/bench-compute.sh: generates the extracts once into ./bench, writes
# its figures into docs/performance.md; CITIZENS=100000 for a quick run).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	./scripts/bench-compute.sh
	./scripts/bench-sftp.sh

clean:
	rm -rf bin demo dist

# Installs the binary, the units (ExecStart pointing at $(PREFIX)/bin), the
# sysusers.d and tmpfiles.d entries, the example configuration (never over an
# existing one), the man page and the docs: the files of the package. Without
# DESTDIR it then does what the package's maintainer script does: creates the
# leverance user (sysusers), gives /etc/leverance and the configuration to its
# group (tmpfiles: root:leverance 0750 and 0640) and reloads systemd; it
# neither enables nor starts the service. Packagers: make install DESTDIR=...
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
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man1
	$(GO) run ./packaging/genman $(BIN) $(VERSION) | gzip -9n > $(DESTDIR)$(PREFIX)/share/man/man1/leverance.1.gz
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/leverance.1.gz
	install -D -m 0644 examples/leverance.service.d-ipaddress.conf $(DESTDIR)$(PREFIX)/share/doc/leverance/examples/leverance.service.d-ipaddress.conf
	install -m 0644 examples/leverance.toml $(DESTDIR)$(PREFIX)/share/doc/leverance/examples/leverance.toml
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/leverance/
	if [ -z "$(DESTDIR)" ]; then \
		systemd-sysusers $(PREFIX)/lib/sysusers.d/leverance.conf && \
		systemd-tmpfiles --create $(PREFIX)/lib/tmpfiles.d/leverance.conf && \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# The .deb and .rpm (nfpm, run pinned like staticcheck: nothing to install):
# the binary built with the package's version, the units, sysusers.d and
# tmpfiles.d entries, the example configuration as a conffile, the man page
# generated from --help, the docs. Checked with lintian where it is installed.
package:
	$(MAKE) build VERSION=$(PKGVERSION)-$(PKGRELEASE)
	rm -rf $(PKGDIR)/root
	mkdir -p $(PKGDIR)/root/doc/examples
	cp $(BIN) systemd/leverance.service systemd/leverance.socket systemd/leverance.sysusers systemd/leverance.tmpfiles \
		examples/leverance.toml packaging/copyright packaging/lintian-overrides $(PKGDIR)/root/
	cp -r packaging/deb packaging/rpm $(PKGDIR)/root/
	cp README.md docs/*.md $(PKGDIR)/root/doc/
	cp examples/leverance.toml examples/leverance.service.d-ipaddress.conf $(PKGDIR)/root/doc/examples/
	$(GO) run ./packaging/genman $(BIN) $(PKGVERSION)-$(PKGRELEASE) | gzip -9n > $(PKGDIR)/root/leverance.1.gz
	sed -e 's/@VERSION@/$(PKGVERSION)-$(PKGRELEASE)/' -e "s/@DATE@/$$(date -R)/" packaging/changelog | gzip -9n > $(PKGDIR)/root/changelog.Debian.gz
	cd $(PKGDIR) && PKGVERSION=$(PKGVERSION) PKGRELEASE=$(PKGRELEASE) $(GO) run $(NFPM) package -f $(CURDIR)/packaging/nfpm.yaml -p deb -t .
	cd $(PKGDIR) && PKGVERSION=$(PKGVERSION) PKGRELEASE=$(PKGRELEASE) $(GO) run $(NFPM) package -f $(CURDIR)/packaging/nfpm.yaml -p rpm -t .
	if command -v lintian >/dev/null; then lintian --fail-on error,warning $(PKGDIR)/leverance_$(PKGVERSION)-$(PKGRELEASE)_amd64.deb; fi
