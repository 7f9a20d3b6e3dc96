#!/bin/sh
# run-one.sh DIR SUITE: run one integration suite (run.sh), its output in
# DIR/NAME.log, "EXIT SECONDS" in DIR/NAME.rc, and a line saying how it went.
dir=$1 t=$2
name=$(basename "$t" .sh)
start=$(date +%s.%N)
# send's history (stats.md) is the suite's own: none from the user's
# migrations or another suite's, and it goes with DIR
XDG_STATE_HOME="$dir/$name.state" timeout 300 sh "$t" >"$dir/$name.log" 2>&1
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "$rc $secs" >"$dir/$name.rc"
case $rc in
0) echo "PASS $name (${secs}s)" ;;
77) echo "SKIP $name: $(tail -n 1 "$dir/$name.log")" ;;
*) echo "FAIL $name (exit $rc, ${secs}s)" ;;
esac
