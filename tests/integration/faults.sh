# Helpers of the fault suites (test_fault_*.sh, test_cancel.sh), sourced
# after lib.sh: a slow source device, a destination, a breaking relay, and
# the checks every failed migration must pass.
SRC=sim:size=64M,pattern=random,seed=21
# slow enough that every phase lasts a while
SLOW=$SRC,faults=slow:32M/s
# pre-copy that never converges: the RAM the VMM says is left keeps it
PRECOPY="--ram-pending 100G --switchover-bandwidth 1G/s --precopy-timeout 20"
STOPCOPY=--no-precopy
TO="--timeout 3"
HASH=$(state_hash $SRC)
RELAY_OUT=$(mktemp)
trap 'kill $relay 2>/dev/null; rm -f "$OUT" "$ERR" "$RJ" "$RE" "$RELAY_OUT"' EXIT
relay=

# start_recv [RECV ARGS]: a destination on $port
start_recv() {
	recv_bg "$RJ" "$RE" -d sim:size=64M $TO -j "$@"
}

# start_relay ACTION CONN BYTES: a breaking relay in front of $port, at
# $rport, once it listens
start_relay() {
	: >"$RELAY_OUT"
	python3 tests/integration/relay.py 0 $port "$@" >"$RELAY_OUT" 2>/dev/null &
	relay=$!
	wait_for "$RELAY_OUT" "^listening [0-9]+" $relay relay.py
	rport=$(sed -n 's/^listening \([0-9]*\)/\1/p' "$RELAY_OUT")
}

# ended NAME SRC_RE DST_RE: both exited 1 with those messages (extended
# regexps), the source running with its hash, the destination reset
ended() {
	name=$1
	wait $spid; src_rc=$?
	wait $rpid; dst_rc=$?
	[ -n "$relay" ] && kill $relay 2>/dev/null && wait $relay 2>/dev/null
	relay=
	[ $src_rc -eq 1 ] || fail "$name: send exited $src_rc: $(cat "$ERR")"
	[ $dst_rc -eq 1 ] || fail "$name: recv exited $dst_rc: $(cat "$RE")"
	grep -qE "$2" "$ERR" || fail "$name: send's message lacks /$2/: $(cat "$ERR")"
	grep -qE "$3" "$RE" || fail "$name: recv's message lacks /$3/: $(cat "$RE")"
	python3 - "$OUT" "$RJ" "$HASH" <<'PY' || fail "$name: end states"
import sys
sys.path.insert(0, "tests/integration")
from report import load
s, r = (load(f) for f in sys.argv[1:3])
assert s["status"] == r["status"] == "failed", (s["status"], r["status"])
for d in s["devices"]:
    assert d["state"] == "running", ("source", d["state"])
    assert d["state-hash"] == sys.argv[3], ("source hash changed", d["state-hash"])
for d in r["devices"]:
    assert d["state"] == "running", ("destination", d["state"])
PY
	echo "ok $name"
}

# relayed NAME PHASE ACTION CONN BYTES CHANNELS SRC_RE DST_RE
relayed() {
	name=$1 sargs=$2
	start_recv
	start_relay $3 $4 $5
	"$T" send -d $SLOW -t tcp:127.0.0.1:$rport -c $6 $sargs $TO -j >"$OUT" 2>"$ERR" &
	spid=$!
	ended "$name" "$7" "$8"
	grep -q triggered "$RELAY_OUT" || fail "$name: the relay never broke the channel"
}

# channel_faults PHASE SEND_ARGS BYTES: channel 0 cut at either side and
# stalled once BYTES went through
channel_faults() {
	relayed "cut-src/$1" "$2" cut-src 0 $3 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "cut-dst/$1" "$2" cut-dst 0 $3 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "stall/$1" "$2" stall 0 $3 1 "$SILENT_DST" "$SILENT_SRC"
}

GONE="destination (closed|failed)|ECONNRESET|EPIPE|the connection"
SRC_GONE="the source closed the connection mid-stream|ECONNRESET|the peer closed"
SILENT_DST="the peer said nothing for 3000 ms|the destination is silent|ETIMEDOUT"
SILENT_SRC="no whole frame from the source for 3000 ms|without a valid HELLO: .*ETIMEDOUT"

# survivor NAME PID REPORT ERRFILE RE [HASH]: the side left exits 1 saying
# /RE/, its devices running (with HASH, when given)
survivor() {
	wait $2; rc=$?
	[ $rc -eq 1 ] || fail "$1: exited $rc: $(cat "$4")"
	grep -qE "$5" "$4" || fail "$1: $(cat "$4")"
	python3 - "$3" "${6:-}" <<'PY' || fail "$1: devices not running with their state"
import sys
sys.path.insert(0, "tests/integration")
from report import load
j = load(sys.argv[1])
assert j["status"] == "failed", j["status"]
for d in j["devices"]:
    assert d["state"] == "running", d["state"]
    assert not sys.argv[2] or d["state-hash"] == sys.argv[2], d["state-hash"]
PY
	echo "ok $1"
}

# direct SRC_SPEC DST_SPEC NAME SEND_ARGS SRC_RE DST_RE: a device fault
# (through a relay doing $VIA, when set)
direct() {
	recv_bg "$RJ" "$RE" -d $2 $TO -j
	rport=$port
	[ -z "${VIA:-}" ] || start_relay $VIA
	"$T" send -d $1 -t tcp:127.0.0.1:$rport $4 $TO -j >"$OUT" 2>"$ERR" &
	spid=$!
	HASH=$(state_hash "$(echo $1 | sed 's/,faults=[^,]*//')")
	ended "$3" "$5" "$6"
}
