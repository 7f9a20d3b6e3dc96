#!/bin/sh
# abi-check.sh LIB: compare the built library with the ABI of the last
# release kept in abi/libvfmig.abi (abidw; make abi-dump writes it at a
# release).  Growth the size fields allow (abi/libvfmig.suppr) and added
# functions pass; any other change fails, unless the soname moved (then
# the old ABI no longer binds: say so, and refresh abi/ at the release).
set -u
lib=$1
base=abi/libvfmig.abi
command -v abidiff >/dev/null || { echo "abi-check: skip: abidiff missing (abigail-tools; make deps)"; exit 77; }
[ -f "$base" ] || { echo "abi-check: FAIL: no $base (make abi-dump)"; exit 1; }
old=$(sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$base")
new=$(objdump -p "$lib" | sed -n 's/^ *SONAME *//p')
out=build/abidiff.txt
abidiff --suppressions abi/libvfmig.suppr \
	--no-added-syms "$base" "$lib" >"$out" 2>&1
rc=$?
# abidiff's status bits: 1 error, 2 usage, 4 an ABI change, 8 an
# incompatible one (a symbol gone)
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: FAIL: abidiff could not compare (status $rc)"
	cat "$out"
	exit 1
fi
if [ $rc -eq 0 ]; then
	echo "abi-check: $new keeps the ABI of $old in $base (abidiff)"
	exit 0
fi
if [ "$old" != "$new" ]; then
	echo "abi-check: the ABI changed and the soname moved ($old -> $new): allowed; make abi-dump at the release"
	exit 0
fi
echo "abi-check: FAIL: $new changed the ABI of the last release ($base) without moving the soname:"
sed 's/^/    /' "$out"
exit 1
