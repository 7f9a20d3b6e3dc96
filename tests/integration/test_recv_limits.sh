# A hostile source sending valid-looking frames meets a bound: buffers
# within --memory, no more channels than the session's (at most 64),
# other connections refused, a gap never filled, a trickle (slow-loris)
# and an endless pre-copy all end with a message; memory is measured.
. tests/integration/lib.sh

PEER_OUT=$(mktemp)
trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE" "$PEER_OUT"' EXIT

# limit MODE TEXT [RECV ARGS]: recv (its peak RSS in KiB in $rss) against
# peer.py MODE; recv exits 1 saying TEXT, its device reset (the device:
# $LIMIT_DEV, a 1 MiB sim by default)
limit() {
	mode=$1 text=$2
	shift 2
	: >"$ERR"
	/usr/bin/time -f "%M" -o "$RE" "$T" recv -d "${LIMIT_DEV:-sim:size=1M}" -l tcp:127.0.0.1:0 \
		--timeout 3 -j "$@" >"$OUT" 2>"$ERR" &
	pid=$!
	wait_for "$ERR" "listening on port [0-9]+" $pid recv
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$ERR")
	timeout 60 python3 tests/integration/peer.py $port $mode 1048576 >"$PEER_OUT" 2>&1
	wait $pid
	rc=$(sed -n 's/^Command exited with non-zero status \([0-9]*\)/\1/p' "$RE")
	rss=$(tail -n 1 "$RE")
	[ "${rc:-0}" -eq 1 ] || fail "$mode: recv exited ${rc:-0}, expected 1"
	grep -qE -- "$text" "$ERR" || fail "$mode: stderr lacks /$text/"
	json 'j["status"] == "failed" and j["devices"][0]["state"] == "running"'
	echo "ok $mode (peak RSS $rss KiB)"
}

# what a session costs without buffers to speak of: a stream refused at
# its first frame
limit magic "bad magic" --memory 4M
base=$rss

# frames that never fill the gap before them, on 8 channels asking for
# 16 MiB chunks: the chunk shrinks to what --memory holds (a reserve per
# channel, for the frame next in order, and two shared buffers), the
# shared buffers fill, and then nothing moves
limit fill "no progress for 3000 ms: device sim waits for frame 0, and [0-9]+ later frames wait behind it" --memory 32M
chunk=$(sed -n 's/^chunk //p' "$PEER_OUT")
[ -n "$chunk" ] && [ $((chunk * 2 * (8 + 2))) -le $((32 << 20)) ] ||
	fail "fill: chunks of ${chunk:-?} bytes accepted for 8 channels in 32 MiB"
python3 - "$rss" "$base" <<'PY' || fail "fill: peak RSS $rss KiB, base $base KiB, --memory 32M"
import sys
rss, base = (int(x) for x in sys.argv[1:3])
# within --memory plus a fixed overhead (threads' stacks, zstd contexts)
assert rss <= base + (32 << 10) + 8192, (rss, base)
PY
# the same with --memory 8M: the bound moves with it
limit fill "a gap the source never filled" --memory 8M
python3 -c 'import sys; r, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if r <= b + 8192 + 8192 else 1)' "$rss" "$base" ||
	fail "fill: peak RSS $rss KiB with --memory 8M (base $base KiB)"

# more channels than --memory has room for, or than a session may have
limit overbook "--memory 8388608 cannot hold 64 channel\(s\) of 65536-byte chunks: give --memory 8650752 or more" --memory 8M
grep -q "refused: --memory 8388608 cannot hold" "$PEER_OUT" || fail "overbook: the source was not told: $(cat "$PEER_OUT")"
limit channels "the source asks for 1000 channels \(1 to 64\)"

# a frame a byte at a time, each byte well within --timeout
limit loris "no whole frame from the source for 3000 ms, though bytes keep arriving on channel 0: it trickles"

# valid pre-copy frames for ever
limit endless "the source has pre-copied for 2 s without stopping its devices \(the destination's limit\): refusing an endless pre-copy" --max-precopy 2

# a thousand more connections while a session runs: each refused, the
# session unharmed until its source leaves
limit flood "the source closed the connection mid-stream"
grep -q "^refused 1000$" "$PEER_OUT" || fail "flood: $(cat "$PEER_OUT")"

# the source's ERROR waits behind frames the destination has no buffer
# for (its device loads at 1 MB/s), and the source resets the connection:
# the PROGRESS the destination then sends fails, and it reads on past
# those frames for the reason instead of reporting its own failed send
LIMIT_DEV=sim:size=1M,faults=slow:1MB/s limit reason-behind "source: the source gave up behind its frames" --memory 2M
grep -q "^unacknowledged 0$" "$PEER_OUT" || fail "reason-behind: $(cat "$PEER_OUT")"

run 2 recv -d sim -l tcp::1 --max-precopy 0
stderr_has "--max-precopy: '0' is outside 1000 ms.."
run 2 send -d sim -t tcp::1 --max-precopy 5
stderr_has "--max-precopy applies to recv only"
