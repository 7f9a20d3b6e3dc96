# Faults end to end, in each phase: a channel cut on either side or stalled
# (one of several, too), a process killed, a device read failing, a state
# transition failing into ERROR on either side, a destination write
# failing.  Every case ends the same way: both processes exit 1 with a
# message naming the cause, the source devices RUNNING with their state
# as before (no workload here, so the same hash), the destination devices
# reset, no fd or thread left (VFMIG_CHECK_LEAKS: exit 3 otherwise) and
# no crash.
. tests/integration/lib.sh

SRC=sim:size=64M,pattern=random,seed=21
# slow enough that every phase lasts a while
SLOW=$SRC,faults=slow:32M/s
# pre-copy that never converges: the RAM the VMM says is left keeps it
PRECOPY="--ram-pending 100G --switchover-bandwidth 1G/s --precopy-timeout 20"
STOPCOPY=--no-precopy
TO="--timeout 3"
HASH=$("$T" info -d $SRC -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["state-hash"])')
RELAY_OUT=$(mktemp)
trap 'kill $relay 2>/dev/null; rm -f "$OUT" "$ERR" "$RJ" "$RE" "$RELAY_OUT"' EXIT
relay=

# start_recv [RECV ARGS]: a destination on $port
start_recv() {
	port=$(free_port)
	"$T" recv -d sim:size=64M -l tcp:127.0.0.1:$port $TO -j "$@" >"$RJ" 2>"$RE" &
	rpid=$!
	sleep 0.3
}

# start_relay ACTION CONN BYTES: a breaking relay in front of $port, at $rport
start_relay() {
	rport=$(free_port)
	python3 tests/integration/relay.py $rport $port "$@" >"$RELAY_OUT" 2>/dev/null &
	relay=$!
	sleep 0.3
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
import json, sys
s, r = (json.load(open(f)) for f in sys.argv[1:3])
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

GONE="destination (closed|failed)|ECONNRESET|EPIPE|the connection"
SRC_GONE="the source closed the connection mid-stream|ECONNRESET|the peer closed"
SILENT_DST="the peer said nothing for 3000 ms|the destination is silent|ETIMEDOUT"
SILENT_SRC="no whole frame from the source for 3000 ms|without a valid HELLO: .*ETIMEDOUT"

# a channel cut at the source's side, at the destination's side, stalled:
# in the handshake, in pre-copy, in stop-copy
for phase in handshake precopy stopcopy; do
	case $phase in
	handshake) args=$PRECOPY bytes=40 ;;
	precopy) args=$PRECOPY bytes=$((4 << 20)) ;;
	stopcopy) args=$STOPCOPY bytes=$((8 << 20)) ;;
	esac
	relayed "cut-src/$phase" "$args" cut-src 0 $bytes 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "cut-dst/$phase" "$args" cut-dst 0 $bytes 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "stall/$phase" "$args" stall 0 $bytes 1 "$SILENT_DST" "$SILENT_SRC"
done
# one of three channels lost, in pre-copy and in stop-copy
relayed "one-of-3/precopy" "$PRECOPY" cut-src 1 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
relayed "one-of-3/stopcopy" "$STOPCOPY" cut-dst 2 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"

# survivor NAME PID REPORT ERRFILE RE [HASH]: the side left exits 1 saying
# /RE/, its devices running (with HASH, when given)
survivor() {
	wait $2; rc=$?
	[ $rc -eq 1 ] || fail "$1: exited $rc: $(cat "$4")"
	grep -qE "$5" "$4" || fail "$1: $(cat "$4")"
	python3 - "$3" "${6:-}" <<'PY' || fail "$1: devices not running with their state"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["status"] == "failed", j["status"]
for d in j["devices"]:
    assert d["state"] == "running", d["state"]
    assert not sys.argv[2] or d["state-hash"] == sys.argv[2], d["state-hash"]
PY
	echo "ok $1"
}

# a process killed in pre-copy and in stop-copy (the source's devices die
# with it: only the destination is checked then)
for phase in precopy stopcopy; do
	case $phase in
	precopy) args=$PRECOPY ;;
	stopcopy) args=$STOPCOPY ;;
	esac
	for victim in dst src; do
		start_recv
		"$T" send -d $SLOW -t tcp:127.0.0.1:$port $args $TO -j >"$OUT" 2>"$ERR" &
		spid=$!
		sleep 1
		if [ $victim = dst ]; then
			kill -9 $rpid
			wait $rpid 2>/dev/null
			survivor kill-dst/$phase $spid "$OUT" "$ERR" "$GONE" "$HASH"
		else
			kill -9 $spid
			wait $spid 2>/dev/null
			survivor kill-src/$phase $rpid "$RJ" "$RE" "$SRC_GONE"
		fi
	done
done

# direct SRC_SPEC DST_SPEC NAME SEND_ARGS SRC_RE DST_RE: a device fault
# (through a relay doing $VIA, when set)
direct() {
	port=$(free_port)
	"$T" recv -d $2 -l tcp:127.0.0.1:$port $TO -j >"$RJ" 2>"$RE" &
	rpid=$!
	sleep 0.3
	rport=$port
	[ -z "${VIA:-}" ] || start_relay $VIA
	"$T" send -d $1 -t tcp:127.0.0.1:$rport $4 $TO -j >"$OUT" 2>"$ERR" &
	spid=$!
	HASH=$("$T" info -d "$(echo $1 | sed 's/,faults=[^,]*//')" -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["state-hash"])')
	ended "$3" "$5" "$6"
}
SMALL=sim:size=8M,pattern=random,seed=22
ERRSTATE="the migration stream ended with the device in ERROR|EIO"
PEER_FAILED="source: |the source failed|device sim"
# a device read failing with EIO in pre-copy (its initial data) and in
# stop-copy
direct $SMALL,faults=eio:2M sim:size=8M eio/precopy "$PRECOPY" "$ERRSTATE" "$PEER_FAILED"
direct $SMALL,faults=eio:2M sim:size=8M eio/stopcopy "$STOPCOPY" "$ERRSTATE" "$PEER_FAILED"
# a transition failing into ERROR: the source's PRE_COPY -> STOP_COPY,
# the destination's RESUMING -> STOP
direct $SMALL,faults=error:pre-copy-p2p:stop-copy sim:size=8M error/source "--switchover immediate" \
	"injected fault on arc PRE_COPY_P2P->STOP_COPY" "$PEER_FAILED"
direct $SMALL sim:size=8M,faults=error:resuming:stop error/destination "--switchover immediate" \
	"injected fault on arc RESUMING->STOP" "injected fault on arc RESUMING->STOP"
# a destination write failing (the device takes 1 MiB, then refuses)
direct $SMALL sim:size=8M,faults=eio:1M write/destination "$STOPCOPY" \
	"the driver refused the stream" "the driver refused the stream at byte [0-9]+: EPIPE"
# ... and its reason reaching the source after another channel's reset:
# the source still gives that reason, not the reset
VIA="late 0 65536"
direct $SMALL,faults=slow:32M/s sim:size=8M,faults=eio:1M write/reason-late "$STOPCOPY -c 2" \
	"the driver refused the stream" "the driver refused the stream at byte [0-9]+: EPIPE"
VIA=
