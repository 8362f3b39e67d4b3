#!/usr/bin/env bash
# The peer comparison behind `make bench-peers`: xmppd, Prosody and ejabberd
# on loopback under the same load generator scenarios, each scenario on a
# freshly started server, medians of RUNS runs, printed as one Markdown
# table per variant (plain, STARTTLS) and saved to WORK/table.md. Raw JSON
# lines go to WORK/results.jsonl. PEERS.md describes the scenarios.
#
# Quicker runs:  RUNS=1 SERVERS="xmppd prosody" VARIANTS=plain bash bench/peers/run.sh
set -euo pipefail
SCRIPT_NAME=bench-peers
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${WORK:-$REPO_DIR/bench/work}
# The xmppd binary (xmppd.sh reads the same variable).
export XMPPD=${XMPPD:-$REPO_DIR/bin/xmppd}
RUNS=${RUNS:-3}
SERVERS=${SERVERS:-xmppd prosody ejabberd}
VARIANTS=${VARIANTS:-plain starttls}
SCENARIOS=${SCENARIOS:-idle msg pep login}
ACCOUNTS=${ACCOUNTS:-10000}
MECH=${MECH:-SCRAM-SHA-1}
IDLE_STEPS=${IDLE_STEPS:-1000,5000}
# Scenario sizes: PEERS.md's, except a 6 s message phase and 1,000 logins
# in the login scenario, which keep three runs of both variants under 15
# minutes (the peers log in 150 to 400 clients a second). The table's notes
# show the flags used.
MSG_DURATION=${MSG_DURATION:-6s}
MSG_WARMUP=${MSG_WARMUP:-1s}
LOGIN_N=${LOGIN_N:-1000}
IDLE_SETTLE=${IDLE_SETTLE:-2s}
# The chat scenario's pairs, and whether every account also has a second,
# carbon-enabled resource (XEP-0280) that gets a copy of each message.
MSG_PAIRS=${MSG_PAIRS:-50}
MSG_CARBONS=${MSG_CARBONS:-0}
# Messages in flight per direction of a pair.
MSG_WINDOW=${MSG_WINDOW:-8}
# The PEP scenario: subscribers, items and publishes in flight.
PEP_SUBSCRIBERS=${PEP_SUBSCRIBERS:-50}
PEP_ITEMS=${PEP_ITEMS:-1000}
PEP_WINDOW=${PEP_WINDOW:-8}
# Sessions of the stream management scenarios (idlesm: idle sessions with
# XEP-0198 on; hibernate: sessions whose connection died, kept for
# resumption), and their wait before each memory sample.
SM_STEPS=${SM_STEPS:-1000,3000}
SM_SETTLE=${SM_SETTLE:-4s}
# The nodes scenario (xmppd only): nodes on pubsub.localhost, items each.
NODES=${NODES:-1000}
NODE_ITEMS=${NODE_ITEMS:-10}
# The mqtt scenario (mosquitto only): the PEP scenario's subscribers and
# items; the publisher waits for a PINGRESP after every MQTT_WINDOW
# publishes (0: never, QoS 0 has no acknowledgements).
MQTT_WINDOW=${MQTT_WINDOW:-0}
# TAG names the results of a run beside others in the same WORK (and its
# templates): results-TAG.jsonl, table-TAG.md, raw-TAG/. ROUND numbers
# repeated invocations with one TAG (results-TAG-rROUND.jsonl), which
# report ranges puts together.
TAG=${TAG:-}
ROUND=${ROUND:-}
NAME=${TAG:+-$TAG}${ROUND:+-r$ROUND}
# Seconds a fresh server gets before the idle scenario samples its memory
# (startup garbage settles), and before the other scenarios.
SETTLE=${SETTLE:-2}
SETTLE_OTHER=${SETTLE_OTHER:-0.5}
# auto: prepare a server's template only when it is missing or was made
# with other accounts, scripts or (for xmppd) another binary; always; never.
PREPARE=${PREPARE:-auto}
# Longest a single scenario may take before it counts as failed.
LOADGEN_TIMEOUT=${LOADGEN_TIMEOUT:-300}

for s in $SERVERS; do
	[[ $s == xmppd || $s == prosody || $s == ejabberd || $s == mosquitto ]] || die "unknown server '$s' in SERVERS"
done
for v in $VARIANTS; do
	[[ $v == plain || $v == starttls ]] || die "unknown variant '$v' in VARIANTS (plain, starttls)"
done
for sc in $SCENARIOS; do
	case $sc in
	idle | msg | pep | login | idlesm | hibernate | nodes | mqtt) ;;
	*) die "unknown scenario '$sc' in SCENARIOS" ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
RESULTS=$WORK/results$NAME.jsonl
RAW=$WORK/raw$NAME

# Every server this script may have started is stopped on any exit,
# Ctrl-C included; stop is a no-op for a server that is not running.
stop_all() {
	local s
	for s in $SERVERS; do
		bash "$PEERS_DIR/$s.sh" stop "$WORK" || true
	done
}
# On a signal: stop the servers, then die of the same signal, so that make
# (or a calling shell) sees an interrupted command, not a finished one.
on_signal() {
	trap - EXIT "$1"
	stop_all
	kill -s "$1" "$$"
}
trap stop_all EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# applies SERVER SCENARIO: whether the pair runs: the mqtt scenario runs on
# mosquitto and nothing else does; the nodes scenario needs xmppd's admin
# socket.
applies() {
	local broker=0 mqtt=0
	[[ $1 == mosquitto ]] && broker=1
	[[ $2 == mqtt ]] && mqtt=1
	((broker == mqtt)) && [[ $2 != nodes || $1 == xmppd ]]
}

# scenario_args SCENARIO: the load generator's flags for a scenario, less
# -addr, -tls and -pid (the same for every server).
scenario_args() {
	case $1 in
	idle) echo "-scenario idle -mech $MECH -accounts $ACCOUNTS -steps $IDLE_STEPS -inflight 50 -settle $IDLE_SETTLE" ;;
	msg)
		local cc=
		((MSG_CARBONS)) && cc=-carbons
		echo "-scenario msg -mech $MECH -pairs $MSG_PAIRS -window $MSG_WINDOW -duration $MSG_DURATION -warmup $MSG_WARMUP $cc"
		;;
	pep) echo "-scenario pep -mech $MECH -subscribers $PEP_SUBSCRIBERS -items $PEP_ITEMS -window $PEP_WINDOW" ;;
	login) echo "-scenario login -mech $MECH -n $LOGIN_N -accounts 200 -inflight 50" ;;
	idlesm) echo "-scenario idle -sm -mech $MECH -accounts $ACCOUNTS -steps $SM_STEPS -inflight 50 -settle $SM_SETTLE" ;;
	hibernate) echo "-scenario idle -sm -hibernate -mech $MECH -accounts $ACCOUNTS -steps $SM_STEPS -inflight 50 -settle $SM_SETTLE" ;;
	mqtt) echo "-scenario mqtt -subscribers $PEP_SUBSCRIBERS -items $PEP_ITEMS -window $MQTT_WINDOW" ;;
	nodes) echo "-scenario nodes -mech $MECH -nodes $NODES -items $NODE_ITEMS -window 8 -settle 3s" ;;
	esac
}

# json_str S: S as a JSON string (the values here have no control characters).
json_str() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

# xmppd_version: "1642d0c (go1.26.8 linux/amd64)" from "xmppd 1642d0c (…)".
xmppd_version() {
	local v
	v=$("$XMPPD" version 2>/dev/null | head -n 1) || v=unknown
	printf '%s\n' "${v#xmppd }"
}

pkg_version() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown
}

# template_stamp SERVER: what a template depends on; a change means prepare.
template_stamp() {
	local stamp
	stamp="$ACCOUNTS $HASH $(cat "$PEERS_DIR/$1.sh" "$PEERS_DIR/lib.sh" "$PEERS_DIR/mkaccounts/main.go" | cksum)"
	if [[ $1 == xmppd ]]; then
		stamp+=" $(cksum <"$XMPPD")"
	fi
	printf '%s\n' "$stamp"
}

prepare_server() {
	local s=$1 stamp marker=$WORK/$1/template.stamp t0=$SECONDS
	stamp=$(template_stamp "$s")
	case $PREPARE in
	never) return 0 ;;
	auto) [[ -d $WORK/$s/template && -f $marker && $(cat "$marker") == "$stamp" ]] && return 0 ;;
	esac
	log "preparing $s with $ACCOUNTS accounts"
	rm -f "$marker"
	# Called in an if, where set -e does not apply: check by hand.
	bash "$PEERS_DIR/$s.sh" prepare "$WORK" "$ACCOUNTS" || return 1
	printf '%s\n' "$stamp" >"$marker"
	log "prepared $s in $((SECONDS - t0))s"
}

# start_server SERVER: start it, retrying twice: a port can still be held
# for a moment by a connection of the previous run. Prints the PID.
start_server() {
	local attempt
	for attempt in 1 2 3; do
		if bash "$PEERS_DIR/$1.sh" start "$WORK"; then
			return 0
		fi
		log "start of $1 failed (attempt $attempt)"
		sleep 2
	done
	return 1
}

# record SERVER VARIANT RUN SCENARIO EXIT OUT ERR [WHY]: append the result
# line; WHY says why the load generator did not run at all.
record() {
	"$REPORT" add -server "$1" -variant "$2" -run "$3" -scenario "$4" -exit "$5" -out "$6" -err "$7" -error "${8:-}" >>"$RESULTS"
}

[[ $SERVERS != *xmppd* || -x $XMPPD ]] || die "no bin/xmppd: run 'make build' first"

log "building the load generator and the report tool"
# LOADGEN may name another load generator binary (to try a build of it).
if [[ -n ${LOADGEN:-} ]]; then
	[[ -x $LOADGEN ]] || die "LOADGEN=$LOADGEN is not an executable"
else
	LOADGEN=$WORK/loadgen
	(cd "$REPO_DIR" && go build -o "$LOADGEN" ./bench/loadgen) >&2
fi
REPORT=$(build_tool "$WORK" report)

# A server that cannot be prepared gets "failed" in the table, with the
# reason in the notes; the others are still measured.
declare -A broken=()
for s in $SERVERS; do
	if ! prepare_server "$s"; then
		broken[$s]="prepare failed (bash bench/peers/$s.sh prepare WORK $ACCOUNTS says why)"
		log "$s: ${broken[$s]}"
	fi
done

mkdir -p "$RAW"
[[ -f $RESULTS ]] && mv "$RESULTS" "$RESULTS.prev"
{
	printf '{"meta":{"runs":%d,"accounts":%d,"cores":%d,"mech":%s,"idle_steps":%s,"started":%s' \
		"$RUNS" "$ACCOUNTS" "$(nproc)" "$(json_str "$MECH")" "$(json_str "$IDLE_STEPS")" "$(json_str "$(date -u '+%Y-%m-%d %H:%M UTC')")"
	printf ',"tag":%s,"round":%s,"mam":%s,"hash":%s,"msg_pairs":%d,"msg_carbons":%d' \
		"$(json_str "$TAG")" "$(json_str "$ROUND")" "$(json_str "$MAM")" "$(json_str "$HASH")" "$MSG_PAIRS" "$MSG_CARBONS"
	printf ',"servers":[%s],"variants":[%s]' \
		"$(for s in $SERVERS; do json_str "$s"; echo; done | paste -sd,)" \
		"$(for v in $VARIANTS; do json_str "$v"; echo; done | paste -sd,)"
	printf ',"versions":{"xmppd":%s,"prosody":%s,"ejabberd":%s,"mosquitto":%s}' \
		"$(json_str "$(xmppd_version)")" \
		"$(json_str "$(pkg_version prosody)")" "$(json_str "$(pkg_version ejabberd)")" "$(json_str "$(pkg_version mosquitto)")"
	printf ',"commands":{'
	sep=
	for sc in $SCENARIOS; do
		printf '%s"%s":%s' "$sep" "$sc" "$(json_str "$(scenario_args "$sc") -addr 127.0.0.1:PORT -pid PID")"
		sep=,
	done
	printf '}}}\n'
} >"$RESULTS"

total=0
for v in $VARIANTS; do for s in $SERVERS; do for sc in $SCENARIOS; do
	applies "$s" "$sc" && total=$((total + RUNS))
done; done; done
done_n=0
t_start=$SECONDS

for v in $VARIANTS; do
	tls=()
	[[ $v == starttls ]] && tls=(-tls)
	for ((run = 1; run <= RUNS; run++)); do
		for s in $SERVERS; do
			port=$(bash "$PEERS_DIR/$s.sh" port)
			for sc in $SCENARIOS; do
				applies "$s" "$sc" || continue
				t0=$SECONDS
				base=$RAW/$v-$run-$s-$sc
				: >"$base.out"
				: >"$base.err"
				status=0
				# why: the scenario could not run or finish (else the load
				# generator's own output says what happened).
				why=
				if [[ -n ${broken[$s]:-} ]]; then
					status=1 why=${broken[$s]}
				elif pid=$(start_server "$s" 2>"$base.start"); then
					cat "$base.start" >&2
					if [[ $sc == idle ]]; then sleep "$SETTLE"; else sleep "$SETTLE_OTHER"; fi
					# --foreground keeps the load generator in our process group,
					# so a Ctrl-C reaches it at once instead of after the scenario.
					# The nodes and stream management scenarios read xmppd's
					# heap (and data directory) too.
					extra=()
					case $s/$sc in
					xmppd/nodes) extra=(-admin "$WORK/xmppd/xmppd.sock" -data "$WORK/xmppd/data") ;;
					xmppd/idlesm | xmppd/hibernate) extra=(-admin "$WORK/xmppd/xmppd.sock") ;;
					esac
					# shellcheck disable=SC2046 # scenario_args is a list of flags
					timeout --foreground -k 10 "$LOADGEN_TIMEOUT" "$LOADGEN" $(scenario_args "$sc") \
						-addr "127.0.0.1:$port" "${tls[@]}" -pid "$pid" "${extra[@]}" \
						>"$base.out" 2>"$base.err" || status=$?
					bash "$PEERS_DIR/$s.sh" stop "$WORK"
					if ((status == 124 || status == 137)); then
						why="the load generator did not finish within ${LOADGEN_TIMEOUT}s"
					fi
				else
					cat "$base.start" >&2
					status=1 why="the server did not start: $(grep -v '^ ' "$base.start" | tail -n 1)"
				fi
				record "$s" "$v" "$run" "$sc" "$status" "$base.out" "$base.err" "$why"
				done_n=$((done_n + 1))
				elapsed=$((SECONDS - t_start))
				msg="[$v run $run/$RUNS] $s $sc: $((SECONDS - t0))s"
				if ((status != 0)); then
					[[ -n $why ]] || why=$(tail -n 1 "$base.err")
					[[ -n $why ]] || why=$(tail -n 1 "$base.out")
					msg+=" (exit $status: ${why:0:160})"
				fi
				log "$msg; $done_n/$total done, about $((elapsed * (total - done_n) / done_n))s left"
			done
		done
	done
done

# The table knows the XMPP servers' scenarios; ranges covers the rest.
"$REPORT" table -o "$WORK/table$NAME.md" "$RESULTS" || log "no table for these scenarios; see report ranges"
log "done in $((SECONDS - t_start))s; table in $WORK/table$NAME.md, raw lines in $RESULTS"
