#!/usr/bin/env bash
# Cross builds and cross tests for the architectures xmppd ships on.
#
#   cross.sh build   release binaries in dist/, with raw and xz sizes
#   cross.sh size    the same binaries, then raw, xz -9 and squashfs sizes checked
#                    against scripts/size/budget, and the biggest one's bytes per
#                    Go module (from a copy with symbols in dist/symbols/); fails
#                    when a binary is over its budget
#   cross.sh test    unit tests as mipsle, mips and armv7 under qemu-user, and as
#                    GOARCH=386 where this machine runs 32-bit x86 programs itself;
#                    then the smoke test
#   cross.sh smoke   the release binaries for mipsle, mips, armv7 and arm64 started
#                    under qemu-user on a UCI configuration: accounts added with the
#                    CLI, two clients log in over loopback and exchange a message,
#                    SIGHUP reloads, SIGTERM stops with status 0 (scripts/cross/smoke);
#                    prints the idle RSS of each emulated daemon
#
# Environment:
#   VERSION           version stamped into the binaries (default: git describe, else dev)
#   CROSS_TEST_PKGS   packages to test (default: ./internal/...)
#   CROSS_TEST_FLAGS  extra go test flags (default: -short; set it empty for the full suite)
#   SMOKE_TARGETS     targets of the smoke test (default: linux-mipsle linux-mips linux-armv7 linux-arm64)
#   SMOKE_TIMEOUT     limit per target (default: 4m)
#   GOFLAGS           honoured by every go command, as usual
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

die() {
	echo "cross.sh: $*" >&2
	exit 1
}

need() {
	command -v "$1" >/dev/null || die "$1 not found; install the Debian package $2 (apt-get install $2)"
}

# name, then the environment that selects it. Soft float for MIPS because most MIPS
# routers have no FPU and the kernel's FPU emulation is slow; GOARM=5 for old ARM SoCs.
targets=(
	"linux-mipsle GOARCH=mipsle GOMIPS=softfloat"
	"linux-mips   GOARCH=mips GOMIPS=softfloat"
	"linux-armv5  GOARCH=arm GOARM=5"
	"linux-armv7  GOARCH=arm GOARM=7"
	"linux-arm64  GOARCH=arm64"
	"linux-amd64  GOARCH=amd64"
)

# build_all builds the targets named in its arguments, or every target, into
# dist/ and sets version and outs (the binaries' paths).
build_all() {
	version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
	mkdir -p dist
	outs=()

	local entry name env out
	for entry in "${targets[@]}"; do
		read -r name env <<<"$entry"
		if (($# > 0)) && [[ " $* " != *" $name "* ]]; then
			continue
		fi
		out=dist/xmppd-$name
		echo "building $out ($env)" >&2
		# shellcheck disable=SC2086 # $env is a list of VAR=value words
		env CGO_ENABLED=0 GOOS=linux $env \
			go build -trimpath -tags nethttpomithttp2 -ldflags "-s -w -X xmppd/internal/version.Version=$version" \
			-o "$out" ./cmd/xmppd
		outs+=("$out")
	done
}

build() {
	need xz xz-utils
	build_all

	local rows=() out raw packed
	for out in "${outs[@]}"; do
		raw=$(wc -c <"$out")
		packed=$(xz -9 -k -c "$out" | wc -c)
		rows+=("$(printf '%-14s %10d %10d' "${out#dist/xmppd-}" "$raw" "$packed")")
	done

	printf '\nxmppd %s\n%-14s %10s %10s\n' "$version" target bytes xz-9
	printf '%s\n' "${rows[@]}"
}

size_report() {
	need xz xz-utils
	build_all

	printf '\nxmppd %s: stripped release binaries; squashfs is xz -9 in 256 KiB blocks, as OpenWrt stores a file\n' "$version"
	local status=0
	go run ./scripts/size table -budget scripts/size/budget "${outs[@]}" || status=$?

	# The breakdown needs symbols, which the release binaries lack: build the
	# biggest target again without -s. Symbol sizes are the same as in the
	# stripped binary.
	local entry name env out biggest='' biggest_env='' most=0 n
	for entry in "${targets[@]}"; do
		read -r name env <<<"$entry"
		n=$(wc -c <"dist/xmppd-$name")
		if ((n > most)); then
			most=$n biggest=$name biggest_env=$env
		fi
	done
	mkdir -p dist/symbols
	out=dist/symbols/xmppd-$biggest
	echo "building $out with symbols ($biggest_env)" >&2
	# shellcheck disable=SC2086 # $biggest_env is a list of VAR=value words
	env CGO_ENABLED=0 GOOS=linux $biggest_env \
		go build -trimpath -tags nethttpomithttp2 -ldflags "-w -X xmppd/internal/version.Version=$version" \
		-o "$out" ./cmd/xmppd
	echo
	go run ./scripts/size modules "$out"
	return "$status"
}

test_one() {
	local label=$1
	shift
	echo "==> go test as $label" >&2
	# -trimpath as the release builds have it, so that the smoke test's
	# builds reuse the packages compiled here.
	# shellcheck disable=SC2086 # package and flag lists are split on purpose
	if ! env CGO_ENABLED=0 GOOS=linux "$@" -trimpath ${flags[@]+"${flags[@]}"} $pkgs; then
		failed+=("unit tests as $label")
	fi
}

# runs_386_natively reports whether this machine executes 32-bit x86 binaries itself.
# The 386 run is there to catch 32-bit bugs (int size, 64-bit atomics alignment) at
# full speed, which needs an x86 host whose kernel still runs 32-bit programs.
runs_386_natively() {
	case "$(go env GOHOSTARCH)" in
	amd64 | 386) ;;
	*) return 1 ;;
	esac
	local dir ok=1
	dir=$(mktemp -d)
	printf 'package main\n\nfunc main() {}\n' >"$dir/main.go"
	# GOFLAGS is cleared because the probe is not part of the module and flags such
	# as -mod=vendor would not apply to it.
	if (cd "$dir" && GOFLAGS='' CGO_ENABLED=0 GOOS=linux GOARCH=386 go build -o probe main.go) &&
		"$dir/probe" 2>/dev/null; then
		ok=0
	fi
	rm -rf "$dir"
	return "$ok"
}

cross_test() {
	need qemu-mipsel-static qemu-user-static
	need qemu-mips-static qemu-user-static
	need qemu-arm-static qemu-user-static

	pkgs=${CROSS_TEST_PKGS:-./internal/...}
	# Unset means -short (slow tests check testing.Short(), and qemu is slow); an empty
	# value means the full suite.
	read -r -a flags <<<"${CROSS_TEST_FLAGS--short}"

	# The 386 run is kept only where the kernel runs 32-bit x86 programs itself.
	# Under qemu-i386 (7.x) Go programs die now and then inside the emulator
	# ("exitsyscall: syscall frame is no longer valid", "morestack on g0"), with
	# or without preemption signals, which says nothing about xmppd. mipsle and
	# armv7 below are 32-bit too and check the same rules (int size, 64-bit atomic
	# alignment); big-endian mips adds byte order, which 386 could not.
	if runs_386_natively; then
		test_one 386 GOARCH=386 go test
	else
		echo "==> no native 32-bit x86 here; 386 is left to the 32-bit qemu runs below" >&2
	fi
	test_one mipsle GOARCH=mipsle GOMIPS=softfloat go test -exec qemu-mipsel-static
	test_one mips GOARCH=mips GOMIPS=softfloat go test -exec qemu-mips-static
	test_one armv7 GOARCH=arm GOARM=7 go test -exec qemu-arm-static
}

# emulator prints the qemu-user program for a target.
emulator() {
	case "$1" in
	linux-mipsle) echo qemu-mipsel-static ;;
	linux-mips) echo qemu-mips-static ;;
	linux-armv5 | linux-armv7) echo qemu-arm-static ;;
	linux-arm64) echo qemu-aarch64-static ;;
	linux-amd64) echo qemu-x86_64-static ;;
	*) die "no emulator known for $1" ;;
	esac
}

smoke() {
	local names
	read -r -a names <<<"${SMOKE_TARGETS:-linux-mipsle linux-mips linux-armv7 linux-arm64}"
	local name
	for name in "${names[@]}"; do
		need "$(emulator "$name")" qemu-user-static
	done
	build_all "${names[@]}"
	# The client side runs natively.
	go build -o dist/smoke ./scripts/cross/smoke

	local started
	for name in "${names[@]}"; do
		echo "==> smoke test of dist/xmppd-$name under $(emulator "$name")" >&2
		started=$SECONDS
		if ! dist/smoke -qemu "$(emulator "$name")" -bin "dist/xmppd-$name" -timeout "${SMOKE_TIMEOUT:-4m}"; then
			failed+=("smoke test of $name")
		fi
		echo "    $((SECONDS - started)) s" >&2
	done
}

# A failure on one architecture does not hide the results of the others:
# failed collects them, and the script fails at the end.
failed=()
finish() {
	if ((${#failed[@]} > 0)); then
		printf 'cross.sh: failed: %s\n' "${failed[@]}" >&2
		exit 1
	fi
}

case "${1:-}" in
build) build ;;
size) size_report ;;
test)
	cross_test
	smoke
	finish
	;;
smoke)
	smoke
	finish
	;;
*)
	echo "usage: $0 build|size|test|smoke" >&2
	exit 2
	;;
esac
