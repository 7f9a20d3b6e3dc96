#!/bin/sh
# Fail when a LeakSanitizer report in LOG has a frame in our sources.
# Criterion does not fail a test whose process leaks, and its runner leaks
# a little of its own: so leaks are reported without an exit code, and
# judged here by where they were allocated.
# usage: leak-check.sh LOG
awk '
/ERROR: LeakSanitizer/ { inblk = 1; blk = ""; ours = 0 }
inblk { blk = blk $0 "\n" }
inblk && / (lib|tests|tools)\/[^ ]+\.c:[0-9]+/ { ours = 1 }
inblk && /^SUMMARY: AddressSanitizer/ {
	inblk = 0
	if (ours) { printf "%s", blk; bad++ }
}
END {
	if (bad) { print "leak-check: " bad " leak report(s) in our code"; exit 1 }
	print "leak-check: no leaks in our code"
}' "$1"
