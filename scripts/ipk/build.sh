#!/usr/bin/env bash
# Builds an OpenWrt .ipk of xmppd without the OpenWrt SDK: a static cross
# build of cmd/xmppd plus the files of openwrt/net/xmppd, packed the way the
# SDK's ipkg-build packs them, so `opkg install ./xmppd_*.ipk` takes it.
#
#   build.sh ARCH [OUTDIR]
#
# ARCH is an OpenWrt package architecture: mipsel_24kc, mips_24kc,
# arm_cortex-a7_neon-vfpv4, aarch64_cortex-a53 or x86_64. OUTDIR defaults to
# dist/. The version is the feed Makefile's PKG_VERSION and PKG_RELEASE, and
# the binary reports PKG_VERSION, as the feed's CI expects.
#
# Environment:
#   XMPPD_BIN  use this binary instead of building one (it must match ARCH)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

die() {
	echo "ipk/build.sh: $*" >&2
	exit 1
}

arch=${1:-}
outdir=${2:-dist}
# GOARCH settings as the feed's golang-values.mk derives them for each
# architecture: these MIPS cores have no FPU, the Cortex-A7 has NEON/VFPv4.
case "$arch" in
mipsel_24kc) goenv=(GOARCH=mipsle GOMIPS=softfloat) ;;
mips_24kc) goenv=(GOARCH=mips GOMIPS=softfloat) ;;
arm_cortex-a7_neon-vfpv4) goenv=(GOARCH=arm GOARM=7) ;;
aarch64_cortex-a53) goenv=(GOARCH=arm64 GOARM64=v8.0) ;;
x86_64) goenv=(GOARCH=amd64 GOAMD64=v1) ;;
*) die "usage: $0 mipsel_24kc|mips_24kc|arm_cortex-a7_neon-vfpv4|aarch64_cortex-a53|x86_64 [OUTDIR]" ;;
esac

pkgdir=openwrt/net/xmppd
mkvar() {
	sed -n "s/^$1:=//p" "$pkgdir/Makefile"
}
version=$(mkvar PKG_VERSION)
release=$(mkvar PKG_RELEASE)
userid=$(sed -n 's/^[[:space:]]*USERID:=//p' "$pkgdir/Makefile")
[[ -n $version && -n $release && -n $userid ]] || die "cannot read PKG_VERSION, PKG_RELEASE and USERID from $pkgdir/Makefile"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/data control=$work/control
mkdir -p "$data/usr/bin" "$data/etc/config" "$data/etc/init.d" "$data/etc/uci-defaults" "$control"

if [[ -n ${XMPPD_BIN:-} ]]; then
	install -m 0755 "$XMPPD_BIN" "$data/usr/bin/xmppd"
else
	echo "building xmppd $version for $arch (${goenv[*]})" >&2
	env CGO_ENABLED=0 GOOS=linux "${goenv[@]}" go build -trimpath -buildvcs=false -tags nethttpomithttp2 \
		-ldflags "-s -w -X xmppd/internal/version.Version=$version" -o "$data/usr/bin/xmppd" ./cmd/xmppd
	chmod 0755 "$data/usr/bin/xmppd"
fi
# Modes as the SDK's INSTALL_CONF and INSTALL_BIN give them.
install -m 0600 "$pkgdir/files/xmppd.config" "$data/etc/config/xmppd"
install -m 0755 "$pkgdir/files/xmppd.init" "$data/etc/init.d/xmppd"
install -m 0755 "$pkgdir/files/xmppd.uci-defaults" "$data/etc/uci-defaults/90-xmppd"

# The conffiles define of the feed Makefile, one path a line.
sed -n '/^define Package\/xmppd\/conffiles/,/^endef/{/^\//p}' "$pkgdir/Makefile" >"$control/conffiles"

size=$(find "$data" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
cat >"$control/control" <<CONTROL
Package: xmppd
Version: $version-r$release
Depends: ca-bundle
Source: net/xmppd
SourceName: xmppd
Section: net
Require-User: $userid
Architecture: $arch
Installed-Size: $size
Description:  XMPP server for routers and edge devices, with PEP device monitoring.
CONTROL

# The scripts the SDK writes for every package: default_postinst creates the
# Require-User account, runs the uci-defaults script and enables the service.
cat >"$control/postinst" <<'POSTINST'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
# shellcheck source=/dev/null # OpenWrt's base-files
. "${IPKG_INSTROOT}/lib/functions.sh"
default_postinst "$0" "$@"
POSTINST
cat >"$control/prerm" <<'PRERM'
#!/bin/sh
[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0
# shellcheck source=/dev/null # OpenWrt's base-files
. "${IPKG_INSTROOT}/lib/functions.sh"
default_prerm "$0" "$@"
PRERM
chmod 0755 "$control/postinst" "$control/prerm"
chmod 0644 "$control/control" "$control/conffiles"
echo 2.0 >"$work/debian-binary"

# Reproducible archives: root-owned, sorted, one fixed time.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
pack() {
	tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
		--mtime="@$epoch" -C "$1" -cf - "${@:3}" | gzip -9n >"$2"
}
pack "$control" "$work/control.tar.gz" .
pack "$data" "$work/data.tar.gz" .
mkdir -p "$outdir"
out=$outdir/xmppd_$version-r${release}_$arch.ipk
# The outer archive is a gzipped tar, not ar: it is what OpenWrt's
# ipkg-build writes, in this member order, and what opkg reads.
pack "$work" "$out" ./debian-binary ./data.tar.gz ./control.tar.gz
echo "$out $(wc -c <"$out") bytes"
