# Helpers for the integration tests (sourced).
set -u
T=${VFIO_MIGRATE:?}
OUT=$(mktemp) ERR=$(mktemp) RJ=$(mktemp) RE=$(mktemp)
trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE"' EXIT

fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$OUT"; echo "--- stderr"; cat "$ERR"; exit 1; }

# run EXPECTED_STATUS CMD...: run the tool, check the exit status
run() {
	want=$1; shift
	"$T" "$@" >"$OUT" 2>"$ERR"
	got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# stderr_has TEXT / stdout_has TEXT
stderr_has() { grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
stdout_has() { grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1'"; }

# json EXPR: evaluate a Python expression over the JSON on stdout (as j)
json() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1" ||
		fail "JSON check failed: $1"
}

# a TCP port nobody listens on now
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# same_hashes: the send report in $OUT, the recv report in $RJ
same_hashes() {
	python3 - "$OUT" "$RJ" <<'PY' || fail "hashes differ or a side failed"
import json, sys
s, r = (json.load(open(f)) for f in sys.argv[1:3])
assert s["status"] == r["status"] == "completed", (s.get("error"), r.get("error"))
assert len(s["devices"]) == len(r["devices"])
for a, b in zip(s["devices"], r["devices"]):
    assert a["state-hash"] == b["state-hash"], (a["name"], a["state-hash"], b["state-hash"])
    assert a["state"] == "stop" and b["state"] == "running", (a["state"], b["state"])
    assert a["raw-bytes"] == b["raw-bytes"]
PY
}
