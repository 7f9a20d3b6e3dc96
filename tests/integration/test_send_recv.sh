# Migrations between two processes: hashes equal on both sides.
. tests/integration/lib.sh

trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE" /tmp/vfmig-it-$$*' EXIT

# tcp, 3 devices, 2 channels, pre-copy with dirtying, zstd
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=4M -d sim:size=4M,precopy=off -j
run 0 send -d sim:size=8M,pattern=fb,dirty=16M/s,seed=1 -d sim:size=4M,pattern=text,seed=2 \
	-d sim:size=4M,pattern=random,precopy=off,seed=3 -t tcp:127.0.0.1:$port -c 2 -z zstd -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["channels"] == 2 and j["ratio"] < 1 and j["downtime"] >= 0'

# the default, -z auto, to a destination on this host: nothing compressed
recv_bg "$RJ" "$RE" -d sim:size=4M -j
run 0 send -d sim:size=4M,pattern=fb,seed=6 -t tcp:127.0.0.1:$port --no-precopy -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["ratio"] >= 1'

# send's history: the default file under $XDG_STATE_HOME (run-one.sh gives
# each suite its own), the kind's ratio from a migration that compressed,
# used by the next; --history elsewhere; --no-history writes nothing; a
# file that is not a history is used for nothing and left as it was (a
# cap: no estimate without a bandwidth; 16 MiB behind 100 MB/s, more than
# the cap's credit lets out at once, a frame and 10 ms of the cap: were
# the whole device to go at once, its ratio would make no difference)
hist=$XDG_STATE_HOME/vfio-migrate/history
rm -f "$hist"
recv_bg "$RJ" "$RE" -d sim:size=16M -j
run 0 send -d sim:size=16M,pattern=fb,seed=8 -t tcp:127.0.0.1:$port -z zstd --max-bandwidth 100MB/s --no-precopy -j
wait $rpid || fail "recv failed"
json 'j["ratio-source"] == "assumed" and j["expected-downtime-min"] < j["expected-downtime-max"]'
grep -q "^sim	sim size=16777216	ratio=0\.[0-3]" "$hist" || fail "history: $(cat "$hist" 2>&1)"
recv_bg "$RJ" "$RE" -d sim:size=16M -j
run 0 send -d sim:size=16M,pattern=fb,seed=9 -t tcp:127.0.0.1:$port -z zstd --max-bandwidth 100MB/s --no-precopy -j
wait $rpid || fail "recv failed"
json 'j["ratio-source"] == "history" and j["expected-downtime-min"] == j["expected-downtime-max"]'
grep -q "runs=2$" "$hist" || fail "history not averaged: $(cat "$hist")"
recv_bg "$RJ" "$RE" -d sim:size=16M -j
run 0 send -d sim:size=16M,pattern=fb,seed=9 -t tcp:127.0.0.1:$port -z zstd --max-bandwidth 100MB/s --no-precopy --no-history -j
wait $rpid || fail "recv failed"
json 'j["ratio-source"] == "assumed"'
grep -q "runs=2$" "$hist" || fail "--no-history wrote: $(cat "$hist")"
echo "my notes" >/tmp/vfmig-it-$$.notes
recv_bg "$RJ" "$RE" -d sim:size=16M -j
run 0 send -d sim:size=16M,pattern=fb,seed=9 -t tcp:127.0.0.1:$port -z zstd --max-bandwidth 100MB/s --no-precopy --history /tmp/vfmig-it-$$.notes -j
wait $rpid || fail "recv failed"
json 'j["ratio-source"] == "assumed"'
[ "$(cat /tmp/vfmig-it-$$.notes)" = "my notes" ] || fail "a foreign file was changed"
run 2 recv -d sim:size=4M -l tcp:127.0.0.1:0 --history /tmp/x
stderr_has "recv: the switchover options apply to send only"

# unix socket, no compression, 3 channels, IPv6-free
sock=/tmp/vfmig-it-$$.sock
: >"$RE"
"$T" recv -d sim:size=2M -l unix:$sock -j >"$RJ" 2>"$RE" &
wait_listening "$RE" $!
run 0 send -d sim:size=2M,pattern=random,seed=4 -t unix:$sock -c 3 -z none -j
wait $! || fail "recv failed"
same_hashes
json 'j["wire-bytes"] > j["transferred"]'

# the fast zstd levels
recv_bg "$RJ" "$RE" -d sim:size=4M -j
run 0 send -d sim:size=4M,pattern=fb,seed=5 -t tcp:127.0.0.1:$port -z zstd:-3 --no-precopy -j
wait $rpid || fail "recv failed"
same_hashes

# save and load through a file
run 0 save -d sim:size=4M,pattern=fb,seed=6 -d sim:size=2M,pattern=text,seed=7 -o /tmp/vfmig-it-$$.state -j
cp "$OUT" "$RJ.save"
run 0 load -d sim:size=4M -d sim:size=2M -i /tmp/vfmig-it-$$.state -j
python3 - "$RJ.save" "$OUT" <<'PY' || fail "load does not restore what save saved"
import json, sys
s, r = (json.load(open(f)) for f in sys.argv[1:3])
assert [d["state-hash"] for d in s["devices"]] == [d["state-hash"] for d in r["devices"]]
PY
rm -f "$RJ.save"

# --no-start: loaded, left stopped
recv_bg "$RJ" "$RE" -d sim:size=2M --no-start -j
run 0 send -d sim:size=2M,pattern=fb,seed=8 -t tcp:127.0.0.1:$port -j
wait $rpid || fail "recv failed"
rjson 'j["devices"][0]["state"] == "stop"' ||
	fail "--no-start: the device runs"

# one session at a time: a stray connection is refused, the migration goes
# on (a 4 s stream: the stray comes once it flows, its interpreter's start
# included)
recv_bg "$RJ" "$RE" -d sim:size=64M -j
: >"$OUT"
"$T" send -d sim:size=64M,pattern=random,precopy=off,faults=slow:16M/s -t tcp:127.0.0.1:$port \
	-j --interval 50 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"transferred": [1-9]' $spid send
stray=$(timeout 10 python3 tests/integration/peer.py $port stray 0)
echo "$stray" | grep -qF "REJECT another session is in progress" || fail "stray got: $stray"
wait $spid || fail "send failed: $(cat "$ERR")"
wait $rpid || fail "recv failed"
same_hashes

# devices are matched by id (a sim's name=): the destination lists them in
# another order, and each gets its own state
recv_bg "$RJ" "$RE" -d sim:size=4M,name=gpu1 -d sim:size=4M,name=gpu0 -j
run 0 send -d sim:size=4M,pattern=random,seed=31,name=gpu0 \
	-d sim:size=4M,pattern=fb,seed=32,name=gpu1 -t tcp:127.0.0.1:$port -c 2 -j
wait $rpid || fail "recv failed: $(cat "$RE")"
same_hashes
rjson '[d["id"] for d in j["devices"]] == ["gpu1", "gpu0"]'
# an id the other side lacks: refused by name before any state moves
recv_bg "$RJ" "$RE" -d sim:size=4M,name=gpu0 -d sim:size=4M,name=gpu9 -j
run 1 send -d sim:size=4M,name=gpu0 -d sim:size=4M,name=gpu1 -t tcp:127.0.0.1:$port -j
wait $rpid && fail "recv accepted a device it does not have"
grep -qF "the source's device gpu1 (sim sim size=4194304) has no device with that id here (this side has gpu0, gpu9)" "$RE" ||
	fail "recv: $(cat "$RE")"
stderr_has "has no device with that id here"
json 'all(d["state"] == "running" for d in j["devices"])'
# one id twice: a usage error before anything opens a connection
run 2 send -d sim:size=1M,name=a -d sim:size=1M,name=a -t tcp:127.0.0.1:1
stderr_has "devices 1 and 2 have the same id 'a'"
run 2 send -d sim:size=1M,name=dev1 -d sim:size=1M -t tcp:127.0.0.1:1
stderr_has "devices 1 and 2 have the same id 'dev1'"
