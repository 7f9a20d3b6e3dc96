# make demo: two processes, four devices, every hash equal on both sides.
. tests/integration/lib.sh

run 0 demo
stdout_has "result       every device arrived bit for bit"
n=$(awk '$1 ~ /^gpu[0-3]$/ && $2 == $3 && $4 == "equal"' "$OUT" | wc -l)
[ "$n" -eq 4 ] || fail "$n of 4 devices with equal hashes"
# the measured downtime, in ms and in us
awk '/^downtime \(ms\)/ { ms = $3 } /^  in us/ { us = $3 } END { exit !(us > 0 && us >= ms * 1000 - 1000) }' "$OUT" ||
	fail "downtime figures: $(grep -A1 '^downtime' "$OUT")"
