# Developer entry points for xmppd. `make help` lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# A release name from git when there is one; a tarball without .git builds as "dev".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 10s

# Static, reproducible, stripped: the binary has to fit in a router's flash.
# nethttpomithttp2 leaves net/http's HTTP/2 out (about 0.4 MB on mipsle): the
# web listeners speak HTTP/1.1 only, which WebSocket upgrades need anyway.
GO_BUILD := CGO_ENABLED=0 go build -trimpath -tags nethttpomithttp2 -ldflags "-s -w -X xmppd/internal/version.Version=$(VERSION)"

.PHONY: help build run test interop test-web bench bench-peers fuzz lint cross size test-cross ipk clean

help:
	@echo 'build       bin/xmppd for this machine'
	@echo 'run         build, then run bin/xmppd serve'
	@echo 'test        go test ./...'
	@echo 'interop     slixmpp clients (python3-slixmpp) against bin/xmppd'
	@echo 'test-web    the admin UI in Chromium (apt chromium, npm); screenshots into dist/web-screenshots/'
	@echo 'bench       all benchmarks with allocation counts'
	@echo 'bench-peers load scenarios against xmppd, Prosody and ejabberd (about 15 min)'
	@echo 'fuzz        every Fuzz target for FUZZTIME each (default $(FUZZTIME))'
	@echo 'lint        gofmt, go vet, and staticcheck when installed'
	@echo 'cross       release binaries for the router targets into dist/'
	@echo 'size        sizes of the release binaries against scripts/size/budget, bytes per module'
	@echo 'test-cross  unit tests as 386, and as mipsle and armv7 under qemu'
	@echo 'ipk         OpenWrt package for ARCH (mipsel_24kc, mips_24kc, arm_cortex-a7_neon-vfpv4, aarch64_cortex-a53, x86_64) into dist/'
	@echo 'clean       remove bin/ and dist/'

build:
	$(GO_BUILD) -o bin/xmppd ./cmd/xmppd

# Runs in the foreground on the built-in default (or /etc/config/xmppd when present);
# Ctrl-C stops it cleanly.
run: build
	bin/xmppd serve

test:
	go test ./...

# Real slixmpp clients from Debian's python3-slixmpp against the built daemon.
interop: build
	bash scripts/interop/run.sh

# Browser tests: Debian's Chromium driven by playwright-core (npm ci in
# scripts/web the first time). Each test has its own timeout; the whole run
# is bounded too, so a hung browser cannot stall CI.
test-web: build
	go build -o bin/web-test-client ./scripts/web/client
	[[ -d scripts/web/node_modules/playwright-core ]] || (cd scripts/web && npm ci)
	cd scripts/web && timeout -k 10 300 npm test

bench:
	go test -run='^$$' -bench=. -benchmem ./...

# Not part of test or CI: it installs Prosody and ejabberd when missing and
# takes about 15 minutes. docs/PERFORMANCE.md explains the figures.
bench-peers: build
	bash bench/peers/run.sh

# One target at a time: `go test -fuzz` accepts only a single target per run.
fuzz:
	@for pkg in $$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
		names=$$(go test -list '^Fuzz' "$$pkg"); \
		for name in $$(grep '^Fuzz' <<<"$$names" || true); do \
			echo "==> $$pkg $$name ($(FUZZTIME))"; \
			go test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
		done; \
	done

lint:
	@unformatted=$$(gofmt -l .); \
	if [[ -n "$$unformatted" ]]; then \
		echo 'gofmt -l lists files that need `gofmt -w`:' >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	go vet ./...
	@if command -v staticcheck >/dev/null; then \
		echo 'staticcheck ./...'; staticcheck ./...; \
	else \
		echo 'staticcheck not on PATH; skipped'; \
	fi

cross:
	VERSION='$(VERSION)' bash scripts/cross/cross.sh build

# Builds what `make cross` builds, prints raw, xz -9 and squashfs sizes and the
# biggest binary's bytes per module, and fails over scripts/size/budget.
size:
	VERSION='$(VERSION)' bash scripts/cross/cross.sh size

test-cross:
	bash scripts/cross/cross.sh test

# No OpenWrt SDK needed: a static cross build plus openwrt/net/xmppd's files.
ipk:
	@[[ -n '$(ARCH)' ]] || { echo 'make ipk ARCH=mipsel_24kc|mips_24kc|arm_cortex-a7_neon-vfpv4|aarch64_cortex-a53|x86_64' >&2; exit 2; }
	bash scripts/ipk/build.sh '$(ARCH)' dist

# var/ is left alone: it holds a development run's accounts and data.
clean:
	rm -rf bin dist
