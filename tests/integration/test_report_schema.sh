# Every -j record of send, recv, save and load is one JSON object on a
# line of its own (NDJSON) and valid against
# Documentation/report.schema.json: recv's listening record, the progress
# records of --interval (setup, active, device), and the report, always
# last (completed, failed, cancelled).  A record with a field the schema
# does not know, or missing one it requires, is not valid.
. tests/integration/lib.sh

SCHEMA=Documentation/report.schema.json
D=/tmp/vfmig-it-$$
mkdir -p $D
trap 'rm -rf "$OUT" "$ERR" "$RJ" "$RE" $D' EXIT

# validate FILE valid|invalid [STATUSES]: valid: every line parses alone,
# is valid, the last (only the last) is a report, and the statuses seen
# include each of STATUSES (space-separated); invalid: some record is not
validate() {
	python3 - "$SCHEMA" "$1" "$2" "${3:-}" <<'PY' || fail "schema: $1 should be $2${3:+ with $3}"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
text = open(sys.argv[2]).read()
recs = [json.loads(l) for l in text.splitlines()]  # NDJSON: each line alone
v = jsonschema.Draft7Validator(schema)
bad = 0
for i, r in enumerate(recs):
    for e in v.iter_errors(r):
        bad += 1
        print("   line %d:" % (i + 1), "/".join(map(str, e.path)), e.message[:300],
              file=sys.stderr)
if sys.argv[3] == "invalid":
    sys.exit(0 if bad else 1)
assert text.endswith("\n"), "the last record has no newline"
ends = ("completed", "failed", "cancelled")
assert recs and recs[-1]["status"] in ends, "the last record is no report"
assert all(r["status"] not in ends for r in recs[:-1]), "a report before the last line"
seen = {r["status"] for r in recs}
want = set(sys.argv[4].split())
assert want <= seen, "statuses %s, expected %s among them" % (sorted(seen), sorted(want))
sys.exit(1 if bad else 0)
PY
}

# send/recv with pre-copy, a given bandwidth, RAM
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=4M -j
run 0 send -d sim:size=8M,pattern=fb,dirty=8M/s,seed=1 -d sim:size=4M,pattern=text,seed=2 \
	-t tcp:127.0.0.1:$port -c 2 --ram-pending 64M --switchover-bandwidth 1G/s -j
wait $rpid || fail "recv failed"
cp "$OUT" $D/send.json && cp "$RJ" $D/recv.json
validate $D/send.json valid completed
validate $D/recv.json valid "listening completed"
# recv's first record: where it listens, the port its ready line gave
python3 - $D/recv.json "$port" <<'PY' || fail "recv's listening record: $(head -n 1 $D/recv.json)"
import json, sys
first = json.loads(open(sys.argv[1]).readline())
assert first["status"] == "listening"
a = first["socket-address"][0]
assert a == {"type": "inet", "host": "127.0.0.1", "port": sys.argv[2]}, a
PY

# --interval: progress records on both sides, the set-up's first, then
# pre-copy; a stop-copy-only device behind a cap shows "device" records
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=16M -j --interval 20
run 0 send -d sim:size=8M,pattern=fb,dirty=8M/s,seed=1 -d sim:size=16M,pattern=random,precopy=off,seed=2 \
	-t tcp:127.0.0.1:$port --max-bandwidth 64MB/s -j --interval 20
wait $rpid || fail "recv failed"
cp "$OUT" $D/send-progress.json && cp "$RJ" $D/recv-progress.json
validate $D/send-progress.json valid "setup active device completed"
validate $D/recv-progress.json valid "listening active completed"
head -n 1 $D/send-progress.json | grep -q '^{"status": "setup", "phase": "setup"' ||
	fail "send's first record is not its set-up: $(head -n 1 $D/send-progress.json)"

# a unix socket's address, a long one (90-odd of the 107 bytes a path may
# have): the ready line and the record name all of it
S=$D/$(printf 'long%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)/recv.sock
mkdir -p "$(dirname $S)"
# emptied here: the child's own truncation may come after our look, which
# would then find the ready line of the recv before it
: >"$RJ"
: >"$RE"
"$T" recv -d sim:size=2M -l unix:$S -j >"$RJ" 2>"$RE" &
rpid=$!
wait_listening "$RE" $rpid
run 0 send -d sim:size=2M -t unix:$S -j
wait $rpid || fail "recv on unix:$S failed"
grep -qxF "vfio-migrate: listening on unix:$S" "$RE" || fail "the ready line: $(head -n 1 "$RE")"
validate "$RJ" valid "listening completed"
head -n 1 "$RJ" | grep -qF '{"status": "listening", "socket-address": [{"type": "unix", "path": "'$S'"}]}' ||
	fail "recv's listening record: $(head -n 1 "$RJ")"

# dry runs: one that would start, one that would not
recv_bg "$RJ" "$RE" -d sim:size=2M -j
run 0 send -d sim:size=2M -t tcp:127.0.0.1:$port --dry-run -j --interval 20
validate "$OUT" valid "setup completed"
run 1 send -d sim:size=1M -t tcp:127.0.0.1:$port --dry-run -j
validate "$OUT" valid failed
kill $rpid
wait $rpid

# interrupted: the report says cancelled, with the reason
recv_bg "$RJ" "$RE" -d sim:size=64M -j
: >"$OUT"
"$T" send -d sim:size=64M,pattern=random -t tcp:127.0.0.1:$port --max-bandwidth 8MB/s \
	-j --interval 20 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"status": "active"' $spid send
kill -INT $spid
wait $spid && fail "an interrupted send exited 0"
wait $rpid && fail "recv succeeded after the source was interrupted"
cp "$OUT" $D/send-cancelled.json && cp "$RJ" $D/recv-cancelled.json
validate $D/send-cancelled.json valid "setup active cancelled"
validate $D/recv-cancelled.json valid "listening"
json 'j["status"] == "cancelled" and j["error-desc"] == j["error"] and "cancel" in j["error-desc"]'

# save and load through a file
run 0 save -d sim:size=4M,pattern=fb,seed=3 -o $D/state -j
cp "$OUT" $D/save.json
run 0 load -d sim:size=4M -i $D/state -j
cp "$OUT" $D/load.json
validate $D/save.json valid
validate $D/load.json valid

# failed: a manifest mismatch, and a truncated file
recv_bg "$RJ" "$RE" -d sim:size=2M -j
run 1 send -d sim:size=4M -t tcp:127.0.0.1:$port -j
wait $rpid && fail "recv accepted another size"
cp "$OUT" $D/send-failed.json && cp "$RJ" $D/recv-failed.json
validate $D/send-failed.json valid
validate $D/recv-failed.json valid
head -c 1000 $D/state >$D/short
run 1 load -d sim:size=4M -i $D/short -j
cp "$OUT" $D/load-failed.json
validate $D/load-failed.json valid

# the schema refuses what the tool must not print
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["colour"]="blue"; json.dump(j, open(sys.argv[2],"w"))' \
	$D/send.json $D/extra.json
validate $D/extra.json invalid
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); del j["devices"][0]["state"]; json.dump(j, open(sys.argv[2],"w"))' \
	$D/send.json $D/missing.json
validate $D/missing.json invalid
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["status"]="completed"; json.dump(j, open(sys.argv[2],"w"))' \
	$D/send-failed.json $D/contradiction.json
validate $D/contradiction.json invalid
# a progress record with a report's field, a listening record without
# its address
sed -n '2p' $D/send-progress.json | sed 's/^{/{"devices": [], /' >$D/progress-extra.json
validate $D/progress-extra.json invalid
echo '{"status": "listening"}' >$D/listening-bare.json
validate $D/listening-bare.json invalid
