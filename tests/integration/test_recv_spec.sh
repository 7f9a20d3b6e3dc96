# The destination enforces its own stream format
# (Documentation/stream-format.md) against a source that breaks one rule:
# each case ends at once with exit 1, a message naming the frame and the
# field, exactly one ERROR to the source with the code the spec names, the
# device reset (running) and nothing loaded.
. tests/integration/lib.sh

PEER_OUT=$(mktemp)
trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE" "$PEER_OUT"' EXIT
SIZE=1048576

# violates MODE CODE TEXT [RECV ARGS]: recv against peer.py MODE
violates() {
	mode=$1 code=$2 text=$3
	shift 3
	: >"$ERR"
	"$T" recv -d sim:size=1M -l tcp:127.0.0.1:0 --timeout 5 -j "$@" >"$OUT" 2>"$ERR" &
	pid=$!
	wait_for "$ERR" "listening on port [0-9]+" $pid recv
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$ERR")
	start=$(date +%s)
	timeout 30 python3 tests/integration/peer.py $port $mode $SIZE >"$PEER_OUT" 2>&1
	wait $pid
	rc=$?
	secs=$(($(date +%s) - start))
	[ $rc -eq 1 ] || fail "$mode: recv exited $rc, expected 1"
	grep -qF -- "$text" "$ERR" || fail "$mode: stderr lacks '$text': $(cat "$ERR")"
	json 'j["status"] == "failed" and j["devices"][0]["state"] == "running"'
	grep -q "^got DEVICE_LOADED" "$PEER_OUT" && fail "$mode: a device was loaded: $(cat "$PEER_OUT")"
	n=$(grep -c "^got ERROR" "$PEER_OUT")
	[ "$n" -eq 1 ] || fail "$mode: $n ERROR frames to the source: $(cat "$PEER_OUT")"
	grep -q "^got ERROR $code " "$PEER_OUT" || fail "$mode: ERROR code is not $code: $(cat "$PEER_OUT")"
	echo "ok $mode (${secs}s)"
}

# a sequence number received twice: written already, or still waiting
violates dup-written 5 "DATA frame: sequence 0 of device sim was already received"
violates dup-waiting 5 "DATA frame: sequence 1 of device sim was already received"
# DONE before every DEVICE_END; anything on channel 0 after DONE
violates done-early 5 "DONE before the DEVICE_END of device sim"
violates after-done 5 "unexpected NOP frame on channel 0 after DONE"
# control frames belong to channel 0
violates ctl-ch1 5 "unexpected DEVICE_END frame on channel 1: control frames travel on channel 0"
violates manifest-ch1 5 "unexpected MANIFEST frame on channel 1 (expected MANIFEST on channel 0)"
# a DEVICE_END the frames seen cannot be part of
violates end-frames 5 "DEVICE_END of device sim says 2 frames, and frame 3 arrived"
violates end-bytes 5 "DEVICE_END of device sim says 100 bytes, and 4096 arrived already"
violates end-impossible 5 "DEVICE_END of device sim says 3145728 bytes in 1 frames: the 1 frames to come cannot carry the 3145728 bytes left (1 to 1048576 each)"
# pre-copy, then stop-copy, in sequence order; pre-copy only when offered
violates pre-after-stop 5 "DATA frame 1 of device sim: a pre-copy frame after its stop-copy frame 0"
violates stop-before-pre 5 "DATA frame 0 of device sim: a stop-copy frame before its pre-copy frame 1"
violates pre-not-negotiated 5 "DATA frame 0 of device sim: a pre-copy frame, and pre-copy was not negotiated"
violates init-not-negotiated 5 "INIT_DONE of device sim: switchover-ack was not negotiated"
# a field refusal names the field
violates flags 5 "channel 0: DATA frame: flags 0x80 are reserved"
# HELLOs of one session that disagree; a channel said twice
violates hello-count 5 "channel 1's HELLO says 3 channels, channel 0's said 2"
violates hello-twice 5 "channel 0 said HELLO twice"
# a connection of another session is refused (REJECT, code session), and
# named when the session's own channel never comes
violates stray-session 5 "(1 of 2 channels connected); refused meanwhile: a connection of session" --timeout 2
grep -q "^got REJECT 3 another session is in progress (this connection's session is $(sed -n 's/^session \([0-9a-f]*\) other \([0-9a-f]*\)/\2/p' "$PEER_OUT"), the one in progress $(sed -n 's/^session \([0-9a-f]*\) other.*/\1/p' "$PEER_OUT"))" "$PEER_OUT" ||
	fail "stray-session: the stray was not told both ids: $(cat "$PEER_OUT")"
grep -qF "a connection of session $(sed -n 's/^session \([0-9a-f]*\) other \([0-9a-f]*\)/\2/p' "$PEER_OUT") (this session is $(sed -n 's/^session \([0-9a-f]*\) other.*/\1/p' "$PEER_OUT"))" "$ERR" ||
	fail "stray-session: recv does not name both ids: $(cat "$ERR")"

# A source written from stream-format.md and sim-device.md alone
# (spec_source.py) migrates into recv: the restored state is the one the
# spec computes, which is also the simulator's own
for case in "fb 7 1" "text 3 3" "random 5 2"; do
	set -- $case
	recv_bg "$RJ" "$RE" -d sim:size=1M -j
	timeout 60 python3 tests/integration/spec_source.py $port 1048576 $1 $2 $3 >"$PEER_OUT" 2>&1 ||
		fail "spec source, $1: $(cat "$PEER_OUT") / $(cat "$RE")"
	wait $rpid || fail "recv refused the spec source ($1): $(cat "$RE")"
	spec=$(sed -n 's/^hash //p' "$PEER_OUT")
	rjson "j['status'] == 'completed' and j['devices'][0]['state-hash'] == '$spec'"
	[ "$(state_hash sim:size=1M,pattern=$1,seed=$2)" = "$spec" ] ||
		fail "sim-device.md's hash $spec is not the simulator's for $1 seed $2"
	echo "ok spec source: $1 over $3 channel(s), hash $spec"
done
