# Real reports of send, recv, save and load, completed and failed, are
# valid against Documentation/report.schema.json; a report with a field
# the schema does not know, or missing one it requires, is not.
. tests/integration/lib.sh

SCHEMA=Documentation/report.schema.json
D=/tmp/vfmig-it-$$
mkdir -p $D
trap 'rm -rf "$OUT" "$ERR" "$RJ" "$RE" $D' EXIT

validate() { # file want(valid|invalid)
	python3 - "$SCHEMA" "$1" "$2" <<'PY' || fail "schema: $1 should be $2"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
doc = json.load(open(sys.argv[2]))
errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
for e in errors:
    print("  ", "/".join(map(str, e.path)), e.message, file=sys.stderr)
sys.exit(0 if (not errors) == (sys.argv[3] == "valid") else 1)
PY
}

# send/recv with pre-copy, a given bandwidth, RAM
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=4M -j
run 0 send -d sim:size=8M,pattern=fb,dirty=8M/s,seed=1 -d sim:size=4M,pattern=text,seed=2 \
	-t tcp:127.0.0.1:$port -c 2 --ram-pending 64M --switchover-bandwidth 1G/s -j
wait $rpid || fail "recv failed"
cp "$OUT" $D/send.json && cp "$RJ" $D/recv.json
validate $D/send.json valid
validate $D/recv.json valid

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
