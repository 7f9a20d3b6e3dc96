# Helpers for the integration tests (sourced).
set -u
T=${VFIO_MIGRATE:?}
OUT=$(mktemp) ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT

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
