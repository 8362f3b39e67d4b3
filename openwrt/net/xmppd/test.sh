#!/bin/sh
# Functional test for the packages feed's CI, run under QEMU with the
# package installed: the binary reports the packaged version, and the
# shipped configuration passes xmppd's own check without starting a server.

case "$1" in
xmppd)
	xmppd version | grep -F "$2" || exit 1
	xmppd check -c /etc/config/xmppd || exit 1
	;;
*)
	exit 1
	;;
esac
