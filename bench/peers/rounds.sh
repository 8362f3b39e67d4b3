#!/usr/bin/env bash
# The IM and publish/subscribe comparison (issues 10 and 11): chat with and
# without carbons and archiving at 50 and 500 pairs, memory of
# stream-managed and hibernated sessions, SCRAM-SHA-256 logins, PEP
# fan-out beside mosquitto, and pubsub memory per node and item. Each round
# runs every part once, through run.sh, with one run per server; ROUNDS
# rounds interleave the configurations, so a noisy moment hits one run of
# each, not all runs of one. The medians and ranges go to
# WORK/summary.md.
#
#   bash bench/peers/rounds.sh                      # everything, 3 rounds
#   ROUNDS=1 PARTS="pep mqtt" bash bench/peers/rounds.sh
set -euo pipefail
SCRIPT_NAME=rounds
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${WORK:-$REPO_DIR/bench/work}
# SCRAM-SHA-256 needs templates of their own (the peers keep one hash).
WORK256=${WORK256:-$WORK-sha256}
ROUNDS=${ROUNDS:-3}
FIRST_ROUND=${FIRST_ROUND:-1}
PARTS=${PARTS:-chat sm login pep pep1000 nodes}
CHAT_PAIRS=${CHAT_PAIRS:-50 500}
# Longest one run.sh invocation may take.
PART_TIMEOUT=${PART_TIMEOUT:-900}
export MSG_DURATION=${MSG_DURATION:-5s} MSG_WARMUP=${MSG_WARMUP:-2s}
export RUNS=1 VARIANTS=plain
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $FIRST_ROUND =~ ^[1-9][0-9]*$ ]] || die "ROUNDS and FIRST_ROUND must be positive numbers"

# part TAG VAR=VALUE...: one run.sh invocation with the settings given.
part() {
	local tag=$1 status=0
	shift
	log "round $round: $tag"
	env WORK="$WORK" TAG="$tag" ROUND="$round" "$@" \
		timeout -k 30 "$PART_TIMEOUT" bash "$PEERS_DIR/run.sh" >/dev/null || status=$?
	((status == 0)) || log "round $round: $tag exited $status (its results file says what ran)"
}

for ((round = FIRST_ROUND; round < FIRST_ROUND + ROUNDS; round++)); do
	for p in $PARTS; do
		case $p in
		chat)
			for pairs in $CHAT_PAIRS; do
				# About 800 messages in flight whatever the pairs (8 per
				# direction for 50 pairs, 1 for 500), so that more pairs
				# measure more sessions, not a deeper backlog: a server
				# that archives 100 messages a second would take a
				# minute to drain 8,000.
				window=$((400 / pairs))
				((window >= 1)) || window=1
				for cc in 0 1; do
					for mam in off on; do
						part "chat-p$pairs-c$cc-mam$mam" MAM=$mam MSG_PAIRS=$pairs MSG_WINDOW=$window MSG_CARBONS=$cc SCENARIOS=msg
					done
				done
			done
			;;
		sm) part sm SCENARIOS="idlesm hibernate" ;;
		login) part login256 WORK="$WORK256" HASH=sha256 MECH=SCRAM-SHA-256 ACCOUNTS=1000 SCENARIOS=login ;;
		pep) part pep SERVERS="xmppd prosody ejabberd mosquitto" SCENARIOS="pep mqtt" MQTT_WINDOW=8 ;;
		flood) part flood SERVERS="xmppd mosquitto" SCENARIOS="pep mqtt" PEP_WINDOW=1000 MQTT_WINDOW=0 ;;
		# The peers take minutes to set up 1,000 mutual subscriptions.
		pep1000) part pep1000 SERVERS=xmppd PEP_SUBSCRIBERS=1000 PEP_ITEMS=200 SCENARIOS=pep ;;
		nodes) part nodes SERVERS=xmppd SCENARIOS=nodes ;;
		*) die "unknown part '$p' in PARTS (chat sm login pep flood pep1000 nodes)" ;;
		esac
	done
done

# summary DIR TITLE SCENARIO FIELDS: one ranges table.
REPORT=$(build_tool "$WORK" report)
summary() {
	local files
	files=$(ls "$1"/results-*-r*.jsonl 2>/dev/null | grep -v '\.prev$' || true)
	[[ -n $files ]] || return 0
	printf '\n### %s\n\n' "$2"
	# shellcheck disable=SC2086 # one file per word
	"$REPORT" ranges -scenario "$3" -fields "$4" $files || true
}
{
	printf '# Rounds of %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	summary "$WORK" chat msg msgs_per_sec,lat_p50_ms,lat_p99_ms,server_cpu_per_100k_sec,carbons_per_sec,carbon_lat_p99_ms,bytes_per_message,loadgen_cpu_sec,server_cpu_sec
	summary "$WORK" "idle sessions with stream management" idle-sm rss_idle_kib,steps.0.rss_kib,steps.1.rss_kib,bytes_per_session,heap_bytes_per_session,logins_per_sec
	summary "$WORK" "hibernated sessions" hibernate rss_idle_kib,steps.0.rss_kib,steps.1.rss_kib,bytes_per_session,bytes_per_session_all,heap_bytes_per_session,resumed,resume_tried
	summary "$WORK256" "SCRAM-SHA-256 logins" login logins_per_sec,login_p50_ms,login_p99_ms,server_cpu_sec,logins,loadgen_cpu_sec
	summary "$WORK" PEP pep notifications_per_sec,lat_p50_ms,lat_p99_ms,server_cpu_per_100k_sec,bytes_per_notification,loadgen_cpu_sec,server_cpu_sec,missing,subscribers,items
	summary "$WORK" MQTT mqtt deliveries_per_sec,lat_p50_ms,lat_p99_ms,server_cpu_per_100k_sec,bytes_per_delivery,loadgen_cpu_sec,server_cpu_sec,missing,window
	summary "$WORK" "pubsub nodes and items" nodes rss_bytes_per_node,heap_bytes_per_node,store_bytes_per_node,rss_bytes_per_item,heap_bytes_per_item,store_bytes_per_item,nodes_per_sec,items_per_sec,payload_bytes
} >"$WORK/summary.md"
log "summary in $WORK/summary.md"
