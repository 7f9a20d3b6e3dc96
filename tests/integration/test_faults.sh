# Failures end with a message naming the problem, exit 1, no hang, source
# devices back in RUNNING and destination devices reset out of RESUMING.
. tests/integration/lib.sh

trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE" /tmp/vfmig-ft-$$*' EXIT
running() { json 'all(d["state"] == "running" for d in j["devices"]) and j["status"] == "failed"'; }

# nobody listening
port=$(free_port)
run 1 send -d sim:size=1M -t tcp:127.0.0.1:$port -j
stderr_has "nobody is listening (ECONNREFUSED): is 'vfio-migrate recv' running there?"
running

# the destination dies mid-stream
recv_bg "$RJ" "$RE" -d sim:size=64M -j
: >"$OUT"
"$T" send -d sim:size=64M,pattern=random,faults=slow:16M/s -t tcp:127.0.0.1:$port -j \
	--interval 50 --timeout 5 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"transferred": [1-9]' $spid send
kill -9 $rpid
wait $spid
rc=$?
[ $rc -eq 1 ] || fail "send exited $rc after the destination died"
grep -qE "destination (closed|failed)|sending: E(PIPE|CONNRESET)" "$ERR" || fail "no reason given: $(cat "$ERR")"
running

# slow_pair: recv (its errors in $ERR), and a slow send (pid $spid) that
# has sent something
slow_pair() {
	recv_bg "$OUT" "$ERR" -d sim:size=64M -j
	: >"$RJ"
	"$T" send -d sim:size=64M,pattern=random,faults=slow:16M/s -t tcp:127.0.0.1:$port -j \
		--interval 50 >"$RJ" 2>/dev/null &
	spid=$!
	wait_for "$RJ" '"transferred": [1-9]' $spid send
}

# the source dies mid-stream
slow_pair
kill -9 $spid
wait $rpid
rc=$?
[ $rc -eq 1 ] || fail "recv exited $rc after the source died"
# a FIN, or a reset where our PROGRESS was still unread in the dead
# source's socket: the kernel's choice, and both named for what they are
grep -qE "channel 0: the source (closed|reset) the connection( \(ECONNRESET\))? mid-stream$" "$ERR" ||
	fail "recv did not name the source's end: $(cat "$ERR")"
running

# the source dies with the destination's answers unread in its socket:
# its kernel resets the connection, and recv names that
unread() { # the source's end of the connection to $port has bytes queued
	awk -v p="$(printf '%04X' "$port")" 'NR > 1 && $3 ~ ":" p "$" {
		split($5, q, ":"); if (q[2] != "00000000") f = 1 } END { exit !f }' \
		/proc/net/tcp
}
slow_pair
kill -STOP $spid
wait_until "recv sent the stopped source nothing" unread
kill -9 $spid
wait $rpid
rc=$?
[ $rc -eq 1 ] || fail "recv exited $rc after the source was reset"
stderr_has "channel 0: the source reset the connection (ECONNRESET) mid-stream"
running

# manifests that do not match: nothing moves on either side
recv_bg "$RJ" "$RE" -d sim:size=4M -j
run 1 send -d sim:size=4M -d sim:size=4M -t tcp:127.0.0.1:$port -j
wait $rpid && fail "recv accepted a wrong manifest"
stderr_has "the source's device dev1 (sim sim size=4194304) has no device with that id here (this side has dev0)"
running
grep -qF "the source's device dev1 (sim sim size=4194304) has no device with that id here" "$RE" || fail "recv gave no reason"

# a source device that fails mid-stream
recv_bg "$RJ" "$RE" -d sim:size=4M,precopy=off -j
run 1 send -d sim:size=4M,precopy=off,pattern=random,faults=eio:1M -t tcp:127.0.0.1:$port -j
stderr_has "the migration stream ended with the device in ERROR"
running
wait $rpid && fail "recv completed a broken stream"

# load: a truncated file, a corrupted file
f=/tmp/vfmig-ft-$$.state
run 0 save -d sim:size=2M,pattern=random,seed=3 -o $f
size=$(stat -c %s $f)
head -c $((size - 100)) $f >$f.short
run 1 load -d sim:size=2M -i $f.short -j
stderr_has "the file ends mid-stream"
running
python3 - $f <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x40
open(sys.argv[1] + ".bad", "wb").write(b)
PY
run 1 load -d sim:size=2M -i $f.bad -j
stderr_has "crc32c of the decoded bytes does not match"
running
run 1 load -d sim:size=2M -i /tmp/vfmig-ft-$$.nonexistent
stderr_has "cannot open /tmp/vfmig-ft-"
