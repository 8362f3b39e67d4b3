#!/usr/bin/env bash
# Interoperability tests: real slixmpp clients (Debian's python3-slixmpp) against
# bin/xmppd, run as a daemon on loopback with a configuration of its own.
#
#   bash scripts/interop/run.sh [unittest arguments, e.g. -k presence]
#
# Needs bin/xmppd (`make build`) and /usr/bin/python3 with slixmpp. The system
# Python is used on purpose: a pyenv or virtualenv python3 earlier on PATH
# does not see Debian's python3-slixmpp.
#
# Environment:
#   PYTHON           the interpreter with slixmpp (default: /usr/bin/python3)
#   INTEROP_TIMEOUT  seconds the whole Python suite may take (default: 240)
#   INTEROP_VERBOSE  set to 1 to print the daemon's log even when all passed
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON=${PYTHON:-/usr/bin/python3}
INTEROP_TIMEOUT=${INTEROP_TIMEOUT:-240}
XMPPD=bin/xmppd
DOMAIN=localhost
# Accounts the tests log in as (see ACCOUNTS in test_interop.py); every test
# has its own, so that rosters and subscriptions left by one cannot change what
# another sees. The other test_*.py files each use a block of user01..user40
# (written at the top of each file).
USERS=(alice bob carol dave erin frank)
for ((i = 1; i <= 40; i++)); do
	USERS+=("$(printf 'user%02d' "$i")")
done
# Non-ASCII and punctuation, so SASLprep and the SCRAM encoding of the
# password are exercised on both sides.
PASSWORD='Pässwörd <&> 42!'

die() {
	echo "interop: $*" >&2
	exit 1
}

[[ -x $XMPPD ]] || die "$XMPPD not found: run 'make build' first"
[[ -x $PYTHON ]] || die "$PYTHON not found; install the Debian package python3-slixmpp (apt-get install python3-slixmpp)"
if ! slixmpp_version=$("$PYTHON" -c 'import slixmpp; print(slixmpp.__version__)' 2>/dev/null); then
	die "$PYTHON cannot import slixmpp; install the Debian package python3-slixmpp (apt-get install python3-slixmpp)"
fi

# The admin socket path must fit in a sockaddr_un (107 bytes), so a long
# $TMPDIR falls back to /tmp.
tmp_parent=${TMPDIR:-/tmp}
((${#tmp_parent} <= 60)) || tmp_parent=/tmp
work=$(mktemp -d "$tmp_parent/xmppd-interop.XXXXXX")
daemon_pid=
cleanup() {
	# A daemon still running here means the script failed half-way: stop it
	# so that nothing outlives the run, then drop every file it made.
	if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

config=$work/xmppd.uci
log=$work/xmppd.log

show_log() {
	echo "---- xmppd log ($log) ----" >&2
	cat "$log" >&2 || true
	echo "---- end of xmppd log ----" >&2
}

# Two ports that are free right now. Another process may still take one before
# the daemon binds it, so start_daemon below tries again with new ports.
free_ports() {
	"$PYTHON" - <<-'EOF'
		import socket
		socks = []
		for _ in range(2):
		    s = socket.socket()
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		print(*(s.getsockname()[1] for s in socks))
		for s in socks:
		    s.close()
	EOF
}

write_config() {
	cat >"$config" <<-EOF
		config xmppd 'main'
			option data_dir '$work/data'
			option admin_socket '$work/xmppd.sock'
			option log_level 'debug'
			option allow_root '1'
			option c2s_resource_conflict 'kick_old'

		config host 'localhost'
			option domain '$DOMAIN'

		config listener 'c2s'
			option address '127.0.0.1'
			option port '$port_starttls'
			option tls 'starttls'

		config listener 'c2s_direct_tls'
			option address '127.0.0.1'
			option port '$port_direct'
			option tls 'direct'
	EOF
}

# port_open PORT: whether something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_daemon: serve in the background; true once both listeners accept.
start_daemon() {
	"$XMPPD" serve -c "$config" >>"$log" 2>&1 &
	daemon_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$daemon_pid" 2>/dev/null; then
			wait "$daemon_pid" || true
			daemon_pid=
			return 1
		fi
		if port_open "$port_starttls" && port_open "$port_direct"; then
			return 0
		fi
		sleep 0.1
	done
	die "xmppd did not open ports $port_starttls and $port_direct within 10 s"
}

echo "interop: slixmpp $slixmpp_version, $($XMPPD version)"
started=
for attempt in 1 2 3; do
	read -r port_starttls port_direct < <(free_ports)
	write_config
	if ((attempt == 1)); then
		"$XMPPD" check -c "$config" || die "xmppd check rejected $config"
	fi
	echo "interop: starting xmppd on 127.0.0.1:$port_starttls (STARTTLS) and :$port_direct (direct TLS)"
	if start_daemon; then
		started=1
		break
	fi
	echo "interop: xmppd exited during start-up (a port taken meanwhile?); retrying" >&2
done
if [[ -z $started ]]; then
	show_log
	die "xmppd did not start"
fi

for user in "${USERS[@]}"; do
	printf '%s\n' "$PASSWORD" | "$XMPPD" user add "$user@$DOMAIN" --password-stdin -c "$config" >/dev/null ||
		{ show_log; die "could not create $user@$DOMAIN"; }
done

status=0
INTEROP_DOMAIN=$DOMAIN INTEROP_PASSWORD=$PASSWORD INTEROP_LOG=$log \
	INTEROP_PORT_STARTTLS=$port_starttls INTEROP_PORT_DIRECT=$port_direct \
	timeout --kill-after=5 "$INTEROP_TIMEOUT" \
	"$PYTHON" -m unittest discover -s scripts/interop -p 'test_*.py' -v "$@" || status=$?
if ((status == 124 || status == 137)); then
	echo "interop: the tests did not finish within ${INTEROP_TIMEOUT}s" >&2
fi

# A clean stop: SIGTERM must end the daemon with status 0 in good time.
kill -TERM "$daemon_pid"
stop_status=
for ((i = 0; i < 100; i++)); do
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		wait "$daemon_pid" && stop_status=0 || stop_status=$?
		break
	fi
	sleep 0.1
done
if [[ -z $stop_status ]]; then
	echo "interop: xmppd did not stop within 10 s of SIGTERM" >&2
	status=1
elif ((stop_status != 0)); then
	echo "interop: xmppd exited with status $stop_status after SIGTERM" >&2
	status=1
fi
daemon_pid=

if ((status != 0)) || [[ ${INTEROP_VERBOSE:-} == 1 ]]; then
	show_log
fi
if ((status != 0)); then
	echo "interop: FAILED" >&2
	exit 1
fi
echo "interop: all passed"
