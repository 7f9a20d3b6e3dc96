# make demo's round trip: both hashes printed and equal.
. tests/integration/lib.sh

run 0 demo
stdout_has "result       hashes equal"
src=$(awk '/^source hash/ { print $3 }' "$OUT")
dst=$(awk '/^destination hash/ { print $3 }' "$OUT")
[ -n "$src" ] && [ "$src" = "$dst" ] || fail "hashes '$src' and '$dst'"
