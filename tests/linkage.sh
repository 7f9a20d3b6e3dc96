#!/bin/sh
# Every function the public header declares is exported by the shared
# library, nothing else is, and the header compiles on its own, as strict
# C11 and as C++.
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

# the header alone: strict C11, and C++ (extern "C": a mangled name would
# not link against the .so)
echo '#include "vfmig.h"' >"$tmp/alone.c"
"$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror -Iinclude -c \
	-o "$tmp/alone.o" "$tmp/alone.c"
cat >"$tmp/use.cc" <<'EOC'
#include "vfmig.h"
int main() { return vfmig_version()[0] && vfmig_state_parse("stop") == 1 ? 0 : 1; }
EOC
${CXX:-c++} -std=c++11 -Wall -Wextra -Werror -Iinclude -o "$tmp/usecc" \
	"$tmp/use.cc" -L"$(dirname "$so")" -l:"$(basename "$so")"
LD_LIBRARY_PATH="$(dirname "$so")" "$tmp/usecc"

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
echo "linkage: $n functions declared in $hdr, all exported by $so, nothing else; the header compiles alone as C11 and links as C++"
EOS
chmod +x "$out"
