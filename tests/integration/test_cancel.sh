# Ctrl-C, SIGTERM and SIGHUP during a migration: the signalled side says
# so, cancels, recovers and exits 128 + the signal (130, 143, 129); a
# second SIGINT while it recovers is noted and ignored.  The source's
# devices run again with their state, the destination's are reset with
# nothing loaded, and the peer is told (ERROR code cancelled: "source:
# cancelled" or "destination: cancelled").  Each signal is sent to each
# side in each phase: the handshake, pre-copy, stop-copy.
. tests/integration/lib.sh
. tests/integration/faults.sh

status() { case $1 in INT) echo 130 ;; TERM) echo 143 ;; HUP) echo 129 ;; esac; }

# devices_ok NAME REPORT STATUS [HASH]: the run ended with STATUS
# (cancelled: the signalled side; failed: its peer, told), the reason
# "cancelled", every device running (with HASH when given)
devices_ok() {
	python3 - "$2" "$3" "${4:-}" <<'PY' || fail "$1: not $3, or devices not running with their state"
import sys
sys.path.insert(0, "tests/integration")
from report import load
j = load(sys.argv[1])
assert j["status"] == sys.argv[2], j["status"]
assert j["error-desc"].endswith("cancelled"), j["error-desc"]
assert j["error"] == j["error-desc"]  # the alias, for one release
for d in j["devices"]:
    assert d["state"] == "running", d["state"]
    assert not sys.argv[3] or d["state-hash"] == sys.argv[3], d["state-hash"]
PY
}

# signalled SIG SIDE PHASE: a migration held in PHASE, SIDE (src, dst)
# signalled SIG
signalled() {
	sig=$1 side=$2 phase=$3 name="$2/$3/SIG$1"
	start_recv
	target=$port
	case $phase in
	handshake) start_relay stall 0 t0 && target=$rport args=$PRECOPY ;;
	precopy) args=$PRECOPY ;;
	stopcopy) args=$STOPCOPY ;;
	esac
	: >"$OUT"
	"$T" send -d $SLOW -t tcp:127.0.0.1:$target $args $TO -j --interval 50 >"$OUT" 2>"$ERR" &
	spid=$!
	if [ $phase = handshake ]; then
		wait_for "$RELAY_OUT" "^triggered" $relay relay.py
	else
		wait_for "$OUT" '"transferred": [1-9]' $spid send
	fi
	if [ $side = src ]; then
		kill -$sig $spid
		[ $sig = INT ] && kill -INT $spid 2>/dev/null
		wait $spid; rc=$?
		[ $rc -eq "$(status $sig)" ] || fail "$name: send exited $rc: $(cat "$ERR")"
		grep -q "SIG$sig: cancelling the migration; the devices go back to RUNNING" "$ERR" ||
			fail "$name: send does not say so: $(cat "$ERR")"
		devices_ok "$name" "$OUT" cancelled "$HASH"
		if [ $phase = handshake ]; then
			kill $rpid; wait $rpid # it never heard of the source
		else
			wait $rpid; rc=$?
			[ $rc -eq 1 ] || fail "$name: recv exited $rc: $(cat "$RE")"
			grep -q "source: cancelled" "$RE" || fail "$name: recv was not told: $(cat "$RE")"
			devices_ok "$name" "$RJ" failed
		fi
	else
		kill -$sig $rpid
		wait $rpid; rc=$?
		[ $rc -eq "$(status $sig)" ] || fail "$name: recv exited $rc: $(cat "$RE")"
		grep -q "SIG$sig: cancelling the migration; the devices are reset, nothing is loaded" "$RE" ||
			fail "$name: recv does not say so: $(cat "$RE")"
		devices_ok "$name" "$RJ" cancelled
		[ $phase = handshake ] && kill $spid
		wait $spid; rc=$?
		if [ $phase != handshake ]; then
			[ $rc -eq 1 ] || fail "$name: send exited $rc: $(cat "$ERR")"
			grep -q "destination: cancelled" "$ERR" || fail "$name: send was not told: $(cat "$ERR")"
			devices_ok "$name" "$OUT" failed "$HASH"
		fi
	fi
	[ -n "$relay" ] && kill $relay 2>/dev/null && wait $relay 2>/dev/null
	relay=
	echo "ok $name"
}

# the source cancelled with 2 channels, its reason on channel 0 late
# (after channel 1's end): the destination still says why
start_recv
start_relay lag 0 t0
: >"$OUT"
"$T" send -d $SLOW -t tcp:127.0.0.1:$rport -c 2 $PRECOPY $TO -j --interval 50 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"transferred": [1-9]' $spid send
kill -INT $spid
wait $spid; rc=$?
[ $rc -eq 130 ] || fail "reason-late: send exited $rc: $(cat "$ERR")"
wait $rpid; rc=$?
[ $rc -eq 1 ] || fail "reason-late: recv exited $rc: $(cat "$RE")"
grep -q "source: cancelled" "$RE" || fail "reason-late: recv: $(cat "$RE")"
devices_ok reason-late "$RJ" failed
kill $relay; wait $relay 2>/dev/null
relay=
echo "ok src/precopy/SIGINT, the reason late"

for phase in handshake precopy stopcopy; do
	for sig in INT TERM HUP; do
		signalled $sig src $phase
		signalled $sig dst $phase
	done
done
