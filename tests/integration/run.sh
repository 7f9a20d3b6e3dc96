#!/bin/sh
# Run every tests/integration/test_*.sh against the built tool, or the
# suites named: run.sh [-j N] [SUITE...] (run.sh -j 2 test_tls test_faults).
# A test exits 0 (pass), 77 (skip, printing why) or anything else (fail).
#
# With -j N, N suites run at once: most of their time is spent waiting on
# peers, timeouts and slow simulated devices, not on the CPU.  A suite
# whose figures are timings (a line "# integration: alone" in it) runs
# first, by itself.
set -u
cd "$(dirname "$0")/../.."
export VFIO_MIGRATE="$PWD/tools/vfio-migrate/vfio-migrate"
# every command checks that it left no fd or thread behind (exit 3)
export VFMIG_CHECK_LEAKS=1
jobs=1
if [ "${1:-}" = -j ]; then
	jobs=$2
	shift 2
fi
suites=$(ls tests/integration/test_*.sh)
[ $# -eq 0 ] || suites=$(for n in "$@"; do echo tests/integration/$n.sh; done)
alone=$(grep -l '^# integration: alone' $suites)
shared=$(for t in $suites; do echo "$alone" | grep -qx "$t" || echo "$t"; done)
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
# The suites' Python modules (jsonschema, prometheus_client) are Debian's
# packages (make deps): Debian's python3 runs them even where another comes
# first in PATH (a pyenv shim has none of them).  PYTHON_START_DELAY=S
# (make check's second pass) makes it start S seconds late, as a loaded
# machine's may.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
mkdir -p "$res/bin"
if [ -n "${PYTHON_START_DELAY:-}" ]; then
	printf '#!/bin/sh\n# a slow interpreter start\nsleep %s\nexec %s "$@"\n' \
		"$PYTHON_START_DELAY" "$py" >"$res/bin/python3"
	chmod +x "$res/bin/python3"
else
	ln -s "$py" "$res/bin/python3"
fi
export PATH="$res/bin:$PATH"

for t in $alone; do
	sh tests/integration/run-one.sh "$res" "$t"
done
[ -z "$shared" ] ||
	printf '%s\n' $shared | xargs -P "$jobs" -n 1 sh tests/integration/run-one.sh "$res"

pass=0 fail=0 skip=0
for t in $suites; do
	name=$(basename "$t" .sh)
	read -r rc secs <"$res/$name.rc"
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); echo "--- $name (exit $rc, ${secs}s)"; sed 's/^/    /' "$res/$name.log" ;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
