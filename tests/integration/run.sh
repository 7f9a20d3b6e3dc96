#!/bin/sh
# Run every tests/integration/test_*.sh against the built tool.
# A test exits 0 (pass), 77 (skip, printing why) or anything else (fail).
set -u
cd "$(dirname "$0")/../.."
export VFIO_MIGRATE="$PWD/tools/vfio-migrate/vfio-migrate"
# every command checks that it left no fd or thread behind (exit 3)
export VFMIG_CHECK_LEAKS=1
pass=0 fail=0 skip=0
for t in tests/integration/test_*.sh; do
	name=$(basename "$t" .sh)
	log=$(mktemp)
	start=$(date +%s.%N)
	timeout 300 sh "$t" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$log" ;;
	esac
	rm -f "$log"
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
