#!/usr/bin/env bash
# Start a Janus of its own for the class media (TUTORING_CLASS_MEDIA=janus), in a folder of its own.
#
#   scripts/ensure-janus.sh DIR        # DIR: where its configuration, log, pid and recordings go
#
# Installs Debian's `janus` package when it is missing (apt-get), writes a minimal configuration
# into DIR — the Duktape plugin running classroom/janus/classroom.js (every participant one
# sendrecv connection; the tutor's or the floor holder's Opus packets relayed in C to the others,
# never decoded), the WebSocket API on 127.0.0.1 and a port the OS picks, an API secret, host
# candidates on the machine's non-loopback addresses, half-trickle (candidates inside the SDP,
# as the page sends them), a static pool of event loops that the service may pick per handle (it
# keeps a room's connections on one loop, classroom/janus.py), no 200 ms TWCC timer per
# connection (twcc_period = 1000: TWCC is never negotiated) — starts it and waits until its API
# answers. JANUS_EVENT_LOOPS (default: the cores), JANUS_LOOP_INDICATION (true) and
# JANUS_TWCC_PERIOD (1000) override those three, for measurements. Prints, one per line, what the service needs:
#
#   TUTORING_JANUS_URL=ws://127.0.0.1:PORT
#   TUTORING_JANUS_API_SECRET=…
#   JANUS_PID=…
#
# With TUTORING_JANUS_TURN_REST_API=http://<service>/api/classes/media/turn, Janus asks the service
# for TURN credentials for each connection (the TURN servers the service hands browsers).
# Fails loudly (exit 1, the log's tail on stderr) when Janus cannot be installed or started:
# the tests that need it fail rather than skip. Stop it with `kill $(cat DIR/janus.pid)`.
set -euo pipefail

DIR=${1:?usage: scripts/ensure-janus.sh DIR}
HERE=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR/recordings"
DIR=$(cd "$DIR" && pwd)

if ! command -v janus >/dev/null; then
  echo "janus is missing; installing Debian's package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends janus >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends janus >&2; } \
    || { echo "FATAL: could not install janus with apt-get" >&2; exit 1; }
fi
LIBDIR=$(dirname "$(dpkg -L janus 2>/dev/null | grep -m1 '/janus/plugins/libjanus_duktape.so$')" 2>/dev/null || true)
LIBDIR=${LIBDIR%/plugins}
if [ -z "$LIBDIR" ] || [ ! -e "$LIBDIR/plugins/libjanus_duktape.so" ]; then
  echo "FATAL: Janus's Duktape plugin (libjanus_duktape.so) was not found" >&2; exit 1
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
SECRET=${TUTORING_JANUS_API_SECRET:-$(python3 -c 'import secrets; print(secrets.token_hex(16))')}
# Host candidates on the machine's own non-loopback IPv4 addresses (no STUN: local tests and a LAN).
IFACES=$(ip -4 -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); printf "%s%s", sep, a[1]; sep=","}')
[ -n "$IFACES" ] || { echo "FATAL: no non-loopback IPv4 address for ICE" >&2; exit 1; }

cp "$HERE/classroom/janus/classroom.js" "$DIR/classroom.js"
cp /usr/share/janus/duktape/janus-sdp.js "$DIR/janus-sdp.js"

cat > "$DIR/janus.jcfg" <<EOF
general: {
	configs_folder = "$DIR"
	plugins_folder = "$LIBDIR/plugins"
	transports_folder = "$LIBDIR/transports"
	events_folder = "$LIBDIR/events"
	loggers_folder = "$LIBDIR/loggers"
	debug_level = 4
	api_secret = "$SECRET"
	session_timeout = 60
	server_name = "tutoring-classroom"
}
certificates: {
}
media: {
	rtp_port_range = "20000-60000"
	twcc_period = ${JANUS_TWCC_PERIOD:-1000}
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = false
	ice_enforce_list = "$IFACES"
	ignore_mdns = false
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
}
EOF
# A static pool of event loops (one per core) instead of a thread per connection: hundreds of
# listeners share a few threads. With allow_loop_indication the service puts all of a room's
# connections on one loop: the thread that receives the tutor's packet queues and sends every
# listener's copy itself, rather than waking another loop's thread for each copy (Janus's default
# spreads a room's handles over the loops). (janus.jcfg's "event_loops", set here so the file
# above stays readable.)
sed -i "s/^\tserver_name = .*/&\n\tevent_loops = ${JANUS_EVENT_LOOPS:-$(nproc)}\n\tallow_loop_indication = ${JANUS_LOOP_INDICATION:-true}/" "$DIR/janus.jcfg"
# TURN for Janus's own side: the service's TURN servers and credentials (the ones browsers get),
# fetched per connection from the service (GET /api/classes/media/turn, keyed by the API secret).
if [ -n "${TUTORING_JANUS_TURN_REST_API:-}" ]; then
  sed -i "s|^\tice_enforce_list = .*|&\n\tturn_rest_api = \"$TUTORING_JANUS_TURN_REST_API\"\n\tturn_rest_api_key = \"$SECRET\"\n\tturn_rest_api_method = \"GET\"\n\tturn_rest_api_timeout = 5|" "$DIR/janus.jcfg"
fi

cat > "$DIR/janus.plugin.duktape.jcfg" <<EOF
general: {
	path = "$DIR"
	script = "$DIR/classroom.js"
}
EOF

cat > "$DIR/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "compact"
	ws = true
	ws_port = $PORT
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF

: > "$DIR/janus.log"
rm -f "$DIR/janus.pid"
janus -C "$DIR/janus.jcfg" -F "$DIR" -L "$DIR/janus.log" -N -o -H "$DIR" -b -p "$DIR/janus.pid" >/dev/null 2>&1 || true

up() { (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
for _ in $(seq 1 100); do
  if up && [ -s "$DIR/janus.pid" ] && grep -q "classroom.js loaded" "$DIR/janus.log"; then
    echo "TUTORING_JANUS_URL=ws://127.0.0.1:$PORT"
    echo "TUTORING_JANUS_API_SECRET=$SECRET"
    echo "JANUS_PID=$(cat "$DIR/janus.pid")"
    exit 0
  fi
  sleep 0.2
done
echo "FATAL: Janus did not start (its API on 127.0.0.1:$PORT is not answering, or the classroom script did not load); log tail:" >&2
tail -n 40 "$DIR/janus.log" >&2 || true
[ -s "$DIR/janus.pid" ] && kill "$(cat "$DIR/janus.pid")" 2>/dev/null || true
exit 1
