#!/usr/bin/env bash
# Web transports, xmppd beside Prosody (mod_websocket, mod_bosh), one server
# at a time on 127.0.0.1:$PORT: memory per idle WebSocket session, per idle
# BOSH session with a held request, and chat messages/s over WebSocket.
# Results: one JSON line per run in $WORK/results.jsonl.
#
#   bash bench/web/run.sh                      # RUNS=3 N=2000 STEPS=500,2000
#   RUNS=1 SERVERS=prosody SCENARIOS=ws-msg bash bench/web/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-/tmp/webbench}
PORT=${PORT:-15280}
N=${N:-2000}
STEPS=${STEPS:-500,$N}
RUNS=${RUNS:-3}
SERVERS=${SERVERS:-xmppd prosody}
SCENARIOS=${SCENARIOS:-ws-idle bosh-idle ws-msg}
PAIRS=${PAIRS:-50}
WINDOW=${WINDOW:-8}
DURATION=${DURATION:-10s}
SETTLE=${SETTLE:-5s}
XMPPD=${XMPPD:-$ROOT/bin/xmppd}
RUN_TIMEOUT=${RUN_TIMEOUT:-240}

log() { printf 'web: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$WORK/bin" "$WORK/xmppd" "$WORK/prosody"
[[ -x $XMPPD ]] || die "no $XMPPD: make build first"
(cd "$ROOT" && go build -o "$WORK/bin/web" ./bench/web && go build -o "$WORK/bin/loadgen" ./bench/loadgen &&
	go build -o "$WORK/bin/mkaccounts" ./bench/peers/mkaccounts)
ulimit -n 20000

PID=
stop_server() {
	[[ -n $PID ]] || return 0
	kill -TERM "$PID" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}
trap stop_server EXIT

wait_port() {
	for _ in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || die "$1 exited; see its log in $WORK/$1"
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	die "$1 does not listen on $PORT"
}

xmppd_config() {
	local d=$WORK/xmppd root= mam=
	[[ $(id -u) == 0 ]] && root=$'\n\t'"option allow_root '1'"
	# MAM=off: no archive, as the Prosody configuration (no mod_mam); by
	# default xmppd archives every chat message, as it ships.
	[[ ${MAM:-default} == off ]] && mam=$'\n\t'"list modules_disabled 'mam'"
	cat >"$d/xmppd.uci" <<EOF
# Written by bench/web/run.sh.
config xmppd 'main'
	option data_dir '$d/data'
	option admin_socket '$d/xmppd.sock'
	option log_level 'info'
	option c2s_plain_on_loopback '1'
	option c2s_max_per_ip '0'
	option c2s_max_unauth '0'
	option c2s_max_unauth_per_ip '64'
	option max_resources '0'$root

config host 'localhost'
	option domain 'localhost'
	option enabled '1'$mam

config module 'http'
	option max_connections '20000'

config listener 'web'
	option type 'http'
	option address '127.0.0.1'
	option port '$PORT'
EOF
	"$XMPPD" check -c "$d/xmppd.uci" >&2 || die "xmppd check rejects $d/xmppd.uci"
}

prosody_config() {
	local d=$WORK/prosody nagle=
	# PROSODY_NAGLE=off: TCP_NODELAY on Prosody's sockets (its default
	# leaves Nagle's algorithm on).
	[[ ${PROSODY_NAGLE:-on} == off ]] && nagle='network_settings = { nagle = false }'
	cat >"$d/prosody.cfg.lua" <<EOF
-- Written by bench/web/run.sh: bench/peers/prosody.sh's configuration with
-- the web transports on one plain HTTP port.
run_as_root = true
pidfile = "$d/prosody.pid"
data_path = "$d/data"
log = { info = "$d/prosody.log" }
admins = { }
modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "blocklist"; "bookmarks";
	"carbons"; "pep"; "private"; "smacks"; "vcard4"; "vcard_legacy";
	"csi_simple"; "invites"; "invites_adhoc"; "invites_register"; "ping";
	"register"; "time"; "uptime"; "version"; "admin_adhoc"; "admin_shell";
	"posix"; "bosh"; "websocket";
}
modules_disabled = { "s2s" }
c2s_ports = { 15222 }
c2s_interfaces = { "127.0.0.1" }
http_ports = { $PORT }
http_interfaces = { "127.0.0.1" }
https_ports = { }
consider_bosh_secure = true
consider_websocket_secure = true
$nagle
authentication = "internal_hashed"
default_iteration_count = 4096
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
VirtualHost "localhost"
EOF
}

start_server() {
	case $1 in
	xmppd)
		xmppd_config
		"$XMPPD" serve -c "$WORK/xmppd/xmppd.uci" >>"$WORK/xmppd/xmppd.log" 2>&1 &
		PID=$!
		;;
	prosody)
		prosody_config
		: >"$WORK/prosody/prosody.log"
		prosody --config "$WORK/prosody/prosody.cfg.lua" -F >>"$WORK/prosody/stdout.log" 2>&1 &
		PID=$!
		;;
	esac
	wait_port "$1"
	sleep 1
}

prepare() {
	if [[ ! -f $WORK/xmppd/accounts.$N ]]; then
		rm -rf "$WORK/xmppd/data"
		start_server xmppd
		"$WORK/bin/loadgen" -scenario create -admin "$WORK/xmppd/xmppd.sock" -accounts "$N" >&2
		stop_server
		touch "$WORK/xmppd/accounts.$N"
	fi
	if [[ ! -f $WORK/prosody/accounts.$N ]]; then
		rm -rf "$WORK/prosody/data"
		mkdir -p "$WORK/prosody/data"
		"$WORK/bin/mkaccounts" -n "$N" -hash sha1 -iterations 4096 -prosody "$WORK/prosody/data" >&2
		touch "$WORK/prosody/accounts.$N"
	fi
}

one() { # one SERVER SCENARIO RUN
	local s=$1 sc=$2 r=$3 args line load
	case $sc in
	ws-idle) args=(-transport ws -scenario idle -accounts "$N" -steps "$STEPS" -settle "$SETTLE") ;;
	bosh-idle) args=(-transport bosh -scenario idle -accounts "$N" -steps "$STEPS" -settle "$SETTLE") ;;
	ws-msg) args=(-transport ws -scenario msg -accounts "$N" -pairs "$PAIRS" -window "$WINDOW" -duration "$DURATION") ;;
	*) die "unknown scenario $sc" ;;
	esac
	start_server "$s"
	[[ $s == xmppd && $sc == *-idle ]] && args+=(-admin "$WORK/xmppd/xmppd.sock")
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	line=$(timeout -k 5 "$RUN_TIMEOUT" "$WORK/bin/web" -url "http://127.0.0.1:$PORT" -pid "$PID" \
		-timeout "$((RUN_TIMEOUT - 10))s" "${args[@]}") || log "$s $sc run $r failed"
	stop_server
	[[ -n $line ]] || line='{"error":"no output"}'
	jq -c --arg s "$s" --arg r "$r" --arg l "$load" --arg n "${PROSODY_NAGLE:-on}" \
		--arg m "${MAM:-default}" \
		'{server: $s, run: ($r | tonumber), loadavg: $l} + (if $s == "prosody" then {nagle: $n} else {mam: $m} end) + .' <<<"$line" | tee -a "$WORK/results.jsonl"
}

prepare
{
	printf '{"meta":{"date":"%s","xmppd":"%s","prosody":"%s","lua":"%s","n":%s,"steps":"%s","pairs":%s,"window":%s,"duration":"%s","settle":"%s"}}\n' \
		"$(date -u +%FT%TZ)" "$(git -C "$ROOT" rev-parse --short HEAD)" \
		"$(dpkg-query -W -f '${Version}' prosody 2>/dev/null)" "$(dpkg-query -W -f '${Version}' lua5.4 2>/dev/null)" \
		"$N" "$STEPS" "$PAIRS" "$WINDOW" "$DURATION" "$SETTLE"
} >>"$WORK/results.jsonl"
for r in $(seq "$RUNS"); do
	for sc in $SCENARIOS; do
		for s in $SERVERS; do
			log "run $r: $s $sc"
			one "$s" "$sc" "$r"
		done
	done
done
