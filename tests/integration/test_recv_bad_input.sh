# Bad input sent to recv: a message naming the problem, exit 1, no hang,
# and the destination device reset out of RESUMING (running again).
. tests/integration/lib.sh

SIZE=1048576
# try MODE TEXT: run recv, send MODE from the hostile peer, check.
try() {
	mode=$1 text=$2
	: >"$ERR"
	"$T" recv -d sim:size=1M -l tcp:127.0.0.1:0 --timeout 5 -j >"$OUT" 2>"$ERR" &
	pid=$!
	wait_for "$ERR" "listening on port [0-9]+" $pid recv
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$ERR")
	timeout 20 python3 tests/integration/peer.py $port $mode $SIZE 2>/dev/null
	wait $pid
	rc=$?
	[ $rc -eq 1 ] || fail "$mode: recv exited $rc, expected 1"
	grep -qF -- "$text" "$ERR" || fail "$mode: stderr lacks '$text'"
	json 'j["status"] == "failed" and j["devices"][0]["state"] == "running"'
	echo "ok $mode"
}

try empty "the peer closed the connection"
try random "not a vfio-migrate stream"
try http "not a vfio-migrate stream (an HTTP request?)"
try magic "bad magic 0x12345678"
try version "unsupported stream version 2.0"
try manifest "manifest mismatch: device dev0: the source's is sim sim size=1052672, this side's is sim sim size=1048576 (sim)"
try codec "DATA frame: unknown codec 7"
try nocap "codec zero was not negotiated"
try crc "crc32c of the decoded bytes does not match"
try length "raw length 33554432 outside 1..1048576"
try window "is outside the window"
try device "DATA frame: device 9 out of range (1 devices)"
try zstdlen "zstd frame decodes to 4096 bytes, the header says 8192"
try truncate "the source closed the connection mid-stream"
try close "the source closed the connection mid-stream"
try stall "no whole frame from the source for 5000 ms: it stalled (nothing arrived)"
