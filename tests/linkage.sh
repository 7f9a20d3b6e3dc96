#!/bin/sh
# Every function the public header declares is exported by the shared
# library, nothing else is, and the header compiles on its own.
# usage: linkage.sh HEADER SO OUT CC   (OUT: a script that prints the result)
set -eu
hdr=$1 so=$2 out=$3 cc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# declared functions: "name(" after a type, at the start of a declaration
grep -oE '^[a-z].*[ *]vfmig_[a-z0-9_]+\(' "$hdr" |
	grep -oE 'vfmig_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$tmp/declared"
nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/exported"

# a program that calls each one through the .so
{
	echo '#include "vfmig.h"'
	echo 'int main(void) { void *volatile p;'
	sed 's/.*/p = (void *)\&&; (void)p;/' "$tmp/declared"
	echo 'return 0; }'
} >"$tmp/use.c"
"$cc" -std=gnu11 -Wall -Wextra -Werror -Iinclude -o "$tmp/use" "$tmp/use.c" \
	-L"$(dirname "$so")" -l:"$(basename "$so")"

missing=$(comm -23 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
extra=$(comm -13 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
n=$(wc -l <"$tmp/declared")
cat >"$out" <<EOS
#!/bin/sh
if [ -n "$missing" ] || [ -n "$extra" ]; then
	echo "linkage: declared but not exported: $missing"
	echo "linkage: exported but not declared: $extra"
	exit 1
fi
echo "linkage: $n functions declared in $hdr, all exported by $so, nothing else"
EOS
chmod +x "$out"
