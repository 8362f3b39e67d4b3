# Shared helpers for the peer benchmark scripts; sourced, not run.
# shellcheck shell=bash
# The settings below are used by the scripts that source this file.
# shellcheck disable=SC2034

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$PEERS_DIR/../.." && pwd)

# Every server and account uses these; the load generator's defaults match.
BENCH_DOMAIN=localhost
BENCH_USER=bench
BENCH_PASS=bench
# PBKDF2 rounds for every stored credential: ejabberd's and xmppd's default,
# and the RFC 7677 minimum. Prosody's own default is 10000, which would only
# make the load generator's first login per account slower, not the server.
BENCH_ITERATIONS=4096
# Message archiving (XEP-0313) on every server: "default" leaves each
# server as it comes (xmppd archives, Debian's Prosody and ejabberd do
# not), "on" turns it on everywhere (archiving every chat message by
# default), "off" everywhere. The server scripts read it at start.
MAM=${MAM:-default}
[[ $MAM == default || $MAM == on || $MAM == off ]] || { echo "MAM must be default, on or off" >&2; exit 2; }
# The hash of the SCRAM credentials the peers store: sha1 (the default) or
# sha256, for SCRAM-SHA-256 logins. Prosody and ejabberd keep one hash per
# account, so a template is made for one of them; xmppd stores both.
HASH=${HASH:-sha1}
[[ $HASH == sha1 || $HASH == sha256 ]] || { echo "HASH must be sha1 or sha256" >&2; exit 2; }
# Seconds a server gets to open its port, and to exit after SIGTERM.
START_TIMEOUT=${START_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

log() { printf '%s: %s\n' "${SCRIPT_NAME:-peers}" "$*" >&2; }
die() { log "$*"; exit 1; }

# abs_workdir DIR: the work directory as an absolute path, created if needed,
# because the servers' configs must not depend on their working directory.
abs_workdir() {
	[[ -n ${1:-} ]] || die "give the work directory"
	mkdir -p "$1"
	(cd "$1" && pwd)
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# proc_start PID: the process's start time in clock ticks (field 22 of
# /proc/PID/stat), which tells a recycled PID from ours.
proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# The command name in field 2 may hold spaces; count from after it.
	stat=${stat##*) }
	# shellcheck disable=SC2086 # word splitting of the fields is the point
	set -- $stat
	printf '%s\n' "${20}"
}

# alive PID: the process exists and is not a zombie (a zombie whose parent
# never reaps it, as under some container inits, has exited for our purposes).
alive() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# write_pidfile FILE PID: remember the process with its start time.
write_pidfile() {
	printf '%s %s\n' "$2" "$(proc_start "$2")" >"$1"
}

# read_pidfile FILE: print the PID if that very process still runs.
read_pidfile() {
	local pid start
	[[ -f $1 ]] || return 1
	read -r pid start <"$1" || return 1
	[[ -n $pid ]] && alive "$pid" && [[ $(proc_start "$pid") == "$start" ]] || return 1
	printf '%s\n' "$pid"
}

# stop_pidfile FILE NAME: SIGTERM the process the pidfile names, wait for it
# to exit, SIGKILL it after STOP_TIMEOUT seconds. Quiet when nothing runs.
stop_pidfile() {
	local pid i
	if ! pid=$(read_pidfile "$1"); then
		rm -f "$1"
		return 0
	fi
	log "stopping $2 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "$2 (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
	fi
	rm -f "$1"
}

# wait_port PORT PID NAME LOG: wait until the server accepts connections,
# failing early when it has exited (its log tells why).
wait_port() {
	local i
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		if ! alive "$2"; then
			log "$3 exited during start; last lines of $4:"
			tail -n 20 "$4" >&2 || true
			return 1
		fi
		if port_open "$1"; then
			return 0
		fi
		sleep 0.1
	done
	log "$3 did not open port $1 within ${START_TIMEOUT}s; last lines of $4:"
	tail -n 20 "$4" >&2 || true
	return 1
}

# require_free_port PORT NAME: refuse to start over another listener, which
# would otherwise take our connections and make a benchmark measure it.
require_free_port() {
	if port_open "$1"; then
		die "port $1 for $2 is already in use by another process (ss -ltnp 'sport = :$1')"
	fi
}

# fresh_copy TEMPLATE DIR [link]: replace DIR with a copy of the prepared
# template; much faster than creating thousands of accounts for every start.
# With "link" the files are hard links instead of copies, for a server that
# only ever replaces whole files (write a new one, rename it over the old)
# and so never changes the template through a link.
fresh_copy() {
	[[ -d $1 ]] || die "no template at $1: run '$(basename "$0") prepare WORKDIR N' first"
	rm -rf "$2"
	if [[ ${3:-} == link ]]; then
		cp -al "$1" "$2"
	else
		cp -a "$1" "$2"
	fi
}

# ensure_packages CMD PKG...: install Debian packages when CMD is missing.
# The packages' maintainer scripts would start the system services (which
# listen on 5222 and use /etc and /var/lib); a policy-rc.d that answers 101
# ("action forbidden") stops invoke-rc.d from doing that. We remove the
# guard afterwards only if we created it, so a system's own policy stays.
ensure_packages() {
	local cmd=$1 guard=/usr/sbin/policy-rc.d created=0 status=0
	shift
	# A path (/usr/sbin is not on every user's PATH) or a command name.
	if [[ $cmd == */* ]]; then
		[[ -x $cmd ]] && return 0
	else
		command -v "$cmd" >/dev/null && return 0
	fi
	[[ $(id -u) == 0 ]] || die "$cmd is missing; install it as root: apt-get install $*"
	command -v apt-get >/dev/null || die "$cmd is missing and there is no apt-get; install: $*"
	log "installing $* (services kept from starting by $guard)"
	if [[ ! -e $guard ]]; then
		printf '#!/bin/sh\n# Keep package installs from starting services (benchmark setup).\nexit 101\n' >"$guard"
		chmod 755 "$guard"
		created=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update >&2 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2 || status=$?
	if ((created)); then
		rm -f "$guard"
	fi
	((status == 0)) || die "apt-get install $* failed"
	[[ -x $cmd ]] || command -v "$cmd" >/dev/null || die "$cmd still missing after installing $*"
}

# ensure_cert WORKDIR: one self-signed ECDSA P-256 certificate for the
# domain, shared by all servers, so TLS logins compare the same key type and
# the same bytes on the wire. Prints nothing; the files are
# WORKDIR/tls/localhost.{crt,key}.
ensure_cert() {
	local dir=$1/tls
	[[ -s $dir/$BENCH_DOMAIN.crt && -s $dir/$BENCH_DOMAIN.key ]] && return 0
	command -v openssl >/dev/null || ensure_packages openssl openssl
	mkdir -p "$dir"
	openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-days 3650 -subj "/CN=$BENCH_DOMAIN" -addext "subjectAltName=DNS:$BENCH_DOMAIN" \
		-keyout "$dir/$BENCH_DOMAIN.key" -out "$dir/$BENCH_DOMAIN.crt" 2>/dev/null
	chmod 600 "$dir/$BENCH_DOMAIN.key"
}

# build_tool WORKDIR NAME: compile bench/peers/NAME into WORKDIR/bin/NAME
# (Go's build cache makes a repeat build instant) and print its path.
build_tool() {
	mkdir -p "$1/bin"
	(cd "$REPO_DIR" && go build -o "$1/bin/$2" "./bench/peers/$2") >&2
	printf '%s\n' "$1/bin/$2"
}

# launch LOG CMD...: start a server in its own session, so a Ctrl-C in the
# terminal reaches run.sh (which stops it in order) and not the server, with
# its output to LOG; prints the PID of the process that runs CMD.
launch() {
	local out=$1
	shift
	# From a non-interactive shell the background job is no process group
	# leader, so setsid execs CMD in place and $! is CMD's PID.
	setsid "$@" </dev/null >>"$out" 2>&1 &
	printf '%s\n' "$!"
}

# serve NAME PIDFILE SERVERLOG OUT CMD...: launch CMD with its output to OUT,
# record its PID, and wait for PORT; a server that does not come up is
# stopped and the script exits (SERVERLOG is shown). Prints the PID.
serve() {
	local name=$1 pidfile=$2 serverlog=$3 out=$4 pid
	shift 4
	pid=$(launch "$out" "$@")
	write_pidfile "$pidfile" "$pid"
	if ! wait_port "$PORT" "$pid" "$name" "$serverlog"; then
		stop_pidfile "$pidfile" "$name"
		exit 1
	fi
	printf '%s\n' "$pid"
}

# server_main NAME ARGS...: the subcommands of a server script, which
# defines cmd_prepare and cmd_start itself.
server_main() {
	local name=$1
	shift
	case ${1:-} in
	prepare) cmd_prepare "${2:-}" "${3:-}" ;;
	start) cmd_start "${2:-}" ;;
	stop) stop_pidfile "$(abs_workdir "${2:-}")/$name/server.pid" "$name" ;;
	port) printf '%s\n' "$PORT" ;;
	*) usage_exit ;;
	esac
}

# usage_exit: the subcommands every server script has.
usage_exit() {
	cat >&2 <<EOF
usage: $(basename "$0") prepare WORKDIR N   config, certificate and accounts ${BENCH_USER}0..${BENCH_USER}N-1 and ${BENCH_USER} (password '$BENCH_PASS')
       $(basename "$0") start WORKDIR       fresh data from the prepared template; prints the server's PID
       $(basename "$0") stop WORKDIR        SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s
       $(basename "$0") port                the client port on 127.0.0.1
EOF
	exit 2
}
