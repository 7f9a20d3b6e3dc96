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
# (the report: the last JSON value, after any -j --interval records);
# rjson EXPR: the same over the destination's report in $RJ
json() { json_of "$OUT" "$1"; }
rjson() { json_of "$RJ" "$1"; }
json_of() {
	python3 -c 'import sys; sys.path.insert(0, "tests/integration"); from report import load; j=load(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
		fail "JSON check failed on $1: $2"
}

# Readiness is waited for, never slept for: a helper or an interpreter
# may take a second to start on a loaded machine.
WAIT_SECS=${WAIT_SECS:-30}

# wait_until WHAT CMD...: until CMD succeeds, polled every 20 ms; fails
# saying "WHAT in WAIT_SECS s" after WAIT_SECS
wait_until() {
	_what=$1
	shift
	_n=0
	until "$@"; do
		_n=$((_n + 1))
		[ $_n -le $((WAIT_SECS * 50)) ] || fail "$_what in $WAIT_SECS s"
		sleep 0.02
	done
}

# wait_for FILE ERE PID [WHO]: until a line of FILE matches ERE; fails
# when PID exits first, or after WAIT_SECS.  Empty FILE before starting
# the process: a redirection in a background job truncates it late.
printed() {
	grep -qE -- "$2" "$1" 2>/dev/null && return 0
	kill -0 "$3" 2>/dev/null ||
		fail "${4:-process $3} ended before printing /$2/: $(tail -n 5 "$1")"
	return 1
}
wait_for() { wait_until "${4:-process $3} printed no /$2/" printed "$@"; }

# recv_bg REPORT ERRORS RECV_ARGS...: recv on a fresh loopback port, once
# it says it listens: its pid in $rpid, its port in $port
recv_bg() {
	_rep=$1 _errs=$2
	shift 2
	# emptied here: the child's own truncation may come after our look
	: >"$_rep"
	: >"$_errs"
	"$T" recv -l tcp:127.0.0.1:0 "$@" >"$_rep" 2>"$_errs" &
	rpid=$!
	wait_for "$_errs" "listening on port [0-9]+" $rpid recv
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$_errs" | head -n 1)
}

# wait_listening ERRORS PID: a recv given its own -l says it listens
wait_listening() { wait_for "$1" "listening on " "$2" recv; }

# state_hash SPEC: a sim device's state hash as it opens
state_hash() { "$T" info -d "$1" -j | sed -n 's/.*"state-hash": "\([0-9a-f]*\)".*/\1/p'; }

# a TCP port nobody listens on now
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# same_hashes: the send report in $OUT, the recv report in $RJ
same_hashes() {
	python3 - "$OUT" "$RJ" <<'PY' || fail "hashes differ or a side failed"
import sys
sys.path.insert(0, "tests/integration")
from report import load
s, r = (load(f) for f in sys.argv[1:3])
assert s["status"] == r["status"] == "completed", (s.get("error"), r.get("error"))
assert len(s["devices"]) == len(r["devices"])
# matched by name: the destination may list its devices in another order
rd = {d["name"]: d for d in r["devices"]}
for a in s["devices"]:
    b = rd[a["name"]]
    assert a["state-hash"] == b["state-hash"], (a["name"], a["state-hash"], b["state-hash"])
    assert a["state"] == "stop" and b["state"] == "running", (a["state"], b["state"])
    assert a["raw-bytes"] == b["raw-bytes"]
PY
}
