# send --dry-run: connect, agree, and have the destination check its
# devices against the manifest, then end both sides: exit 0 when a
# migration would start, 1 with the destination's reason otherwise.  No
# device changes state on either side (hashes, states), and the same recv
# then takes the real migration.  A 1.0 destination, which cannot do a dry
# run, is told why before any manifest, and the source says so.
. tests/integration/lib.sh

D=/tmp/vfmig-dry-$$
mkdir -p $D
trap 'rm -rf "$OUT" "$ERR" "$RJ" "$RE" $D' EXIT
SRC="-d sim:size=8M,pattern=fb,seed=1 -d sim:size=4M,pattern=text,name=nic,seed=2"
h_src=$(state_hash sim:size=8M,pattern=fb,seed=1)

# a dry run that would start, one that would not (another size), then
# the migration itself on the same recv (test_tls.sh: one over TLS)
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=4M,name=nic -j
run 0 send $SRC -t tcp:127.0.0.1:$port -c 3 --dry-run -j
json 'j["status"] == "completed" and j["dry-run"] is True and j["transferred"] == 0'
json 'all(d["state"] == "running" for d in j["devices"]) and j["devices"][0]["state-hash"] == "'$h_src'"'
json '"downtime" not in j'
run 0 send $SRC -t tcp:127.0.0.1:$port --dry-run
stdout_has "dry run          a migration would start; nothing moved"
run 1 send -d sim:size=8M -d sim:size=2M,name=nic -t tcp:127.0.0.1:$port --dry-run -j
json 'j["status"] == "failed" and j["dry-run"] is True'
json '"device nic: the source'"'"'s is sim sim size=2097152, this side'"'"'s is sim sim size=4194304" in j["error-desc"]'
stderr_has "destination: manifest mismatch"
run 1 send -d sim:size=8M -t tcp:127.0.0.1:$port --dry-run
stderr_has "device nic here is not in the source's manifest"
kill -0 $rpid || fail "recv ended after dry runs: $(cat "$RE")"
run 0 send $SRC -t tcp:127.0.0.1:$port -c 2 -j
wait $rpid || fail "recv failed after the dry runs: $(cat "$RE")"
same_hashes

# the destination's devices: untouched by a dry run (never RESUMING, so
# neither loaded nor reset): a recv interrupted after one reports them
# running with the state they opened with
h_dst=$(state_hash sim:size=4M,pattern=random,seed=7)
recv_bg "$RJ" "$RE" -d sim:size=4M,pattern=random,seed=7 -j
run 0 send -d sim:size=4M -t tcp:127.0.0.1:$port --dry-run
kill -INT $rpid
wait $rpid
[ $? -eq 130 ] || fail "recv was not interrupted: $(cat "$RE")"
rjson 'j["status"] == "cancelled" and j["devices"][0]["state"] == "running"'
rjson 'j["devices"][0]["state-hash"] == "'$h_dst'"'

# a 1.0 destination grants no dry run: told, before any manifest
rm -f $D/port
python3 tests/integration/old_destination.py $D/port >$D/old.out 2>&1 &
opid=$!
wait_for $D/port . $opid old_destination.py
run 1 send -d sim:size=1M -t tcp:127.0.0.1:$(cat $D/port) --dry-run
stderr_has "the destination cannot do a dry run (it did not grant the preflight capability: vfio-migrate before 0.4)"
wait $opid || fail "the 1.0 destination: $(cat $D/old.out)"
grep -q "^hello 1.1 caps 0x3" $D/old.out || fail "no preflight asked: $(cat $D/old.out)"
grep -q "^then 12 the source asked for a dry run, which this destination cannot do" $D/old.out ||
	fail "the 1.0 destination was not told (ERROR): $(cat $D/old.out)"

# usage
run 2 save -d sim:size=1M -o $D/state --dry-run
stderr_has "save: --dry-run asks a destination: send only"
run 2 recv -d sim:size=1M -l tcp:127.0.0.1:0 --dry-run
stderr_has "recv: --dry-run asks a destination: send only"
echo "ok: dry runs"
