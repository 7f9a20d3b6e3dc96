#!/bin/sh
# deb-check.sh: the Debian packages of this tree (debian/), built the way a
# Debian builder would and checked as installed.
#   1. dpkg-buildpackage -us -uc -b in a throwaway copy of the tree (the
#      files git tracks or would add), so the build sees no build/ of ours;
#   2. lintian on the result: an error fails, warnings are shown;
#   3. each package unpacked into a throwaway root, and used from there:
#      the tool runs on the packaged library's neighbours, a program builds
#      against libvfmig-dev through pkg-config and links the packaged
#      libvfmig1, the man pages render, the units and completion are there.
# Exit 77 (skip, saying why) without dpkg-buildpackage, debhelper or
# lintian (make deps installs them).
set -u
cd "$(dirname "$0")/.."
fail() { echo "deb-check: FAIL: $*"; exit 1; }
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || { echo "deb-check: skip: $t missing (make deps)"; exit 77; }
done
V=$(dpkg-parsechangelog -S Version)
MV=$(sed -n 's/^VERSION := //p' Makefile)
[ "$V" = "$MV" ] || fail "debian/changelog says $V, the Makefile $MV"
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
W=$PWD/build/deb
rm -rf "$W"
mkdir -p "$W/src/vfio-migrate-$V" "$W/root"
if [ -d .git ]; then
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$W/src/vfio-migrate-$V"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$W/src/vfio-migrate-$V"
fi
t0=$(date +%s)
(cd "$W/src/vfio-migrate-$V" && dpkg-buildpackage -us -uc -b -j2) >"$W/build.log" 2>&1 ||
	{ tail -n 30 "$W/build.log"; fail "dpkg-buildpackage (build/deb/build.log)"; }
t1=$(date +%s)
changes=$(ls "$W"/src/*.changes)
for p in libvfmig1 libvfmig-dev vfio-migrate; do
	[ -f "$W/src/${p}_${V}_$(dpkg --print-architecture).deb" ] || fail "no $p package"
done

# lintian: errors fail; warnings and the rest are printed
lintian --fail-on error --suppress-tags-from-file /dev/null "$changes" >"$W/lintian.log" 2>&1
lrc=$?
sed 's/^/    /' "$W/lintian.log"
[ $lrc -eq 0 ] || fail "lintian reports errors"

for d in "$W"/src/*.deb; do
	dpkg-deb -x "$d" "$W/root" || fail "unpacking $d"
done
R=$W/root
L=$R/usr/lib/$MA
real=$(readlink "$L/libvfmig.so.1")
[ "$real" = "libvfmig.so.1.$(echo $V | cut -d. -f2-)" ] || fail "libvfmig.so.1 points at $real"
objdump -p "$L/$real" | grep -q 'SONAME *libvfmig.so.1' || fail "soname"
for f in usr/include/vfmig.h usr/lib/$MA/libvfmig.a usr/lib/$MA/pkgconfig/libvfmig.pc \
	usr/share/man/man3/vfmig_sink_step.3.gz usr/share/man/man8/vfio-migrate.8.gz \
	usr/share/bash-completion/completions/vfio-migrate \
	lib/systemd/system/vfio-migrate-recv@.socket lib/systemd/system/vfio-migrate-recv@.service; do
	[ -e "$R/$f" ] || fail "$f is not in a package"
done
grep -q '^ExecStart=/usr/bin/vfio-migrate recv -l systemd' "$R/lib/systemd/system/vfio-migrate-recv@.service" ||
	fail "the unit does not run /usr/bin/vfio-migrate"
man --warnings -l "$R/usr/share/man/man8/vfio-migrate.8.gz" >/dev/null 2>"$W/man.err" && [ ! -s "$W/man.err" ] ||
	fail "vfio-migrate(8): $(cat "$W/man.err")"

# the tool, as installed: its version, and a save and load through a file
out=$("$R/usr/bin/vfio-migrate" -V) || fail "vfio-migrate -V"
[ "$out" = "vfio-migrate $V (libvfmig $V)" ] || fail "-V says '$out'"
"$R/usr/bin/vfio-migrate" save -d sim:size=2M,pattern=fb,seed=1 -o "$W/state" -j >"$W/save.json" &&
	"$R/usr/bin/vfio-migrate" load -d sim:size=2M -i "$W/state" -j >"$W/load.json" ||
	fail "save and load with the packaged tool"
[ "$(grep -o '"state-hash": "[0-9a-f]*"' "$W/save.json")" = "$(grep -o '"state-hash": "[0-9a-f]*"' "$W/load.json")" ] ||
	fail "the packaged tool's load differs from its save"

# a program against libvfmig-dev, linked to the packaged libvfmig1
cat >"$W/v.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <vfmig.h>
int main(void)
{
	/* the header's version and the library's agree */
	printf("%s %d.%d.%d\n", vfmig_version(), VFMIG_VERSION_MAJOR,
	       VFMIG_VERSION_MINOR, VFMIG_VERSION_PATCH);
	return 0;
}
C
flags=$(PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_LIBDIR=$L/pkgconfig pkg-config --cflags --libs libvfmig) ||
	fail "pkg-config libvfmig"
cc -o "$W/v" "$W/v.c" $flags || fail "building against libvfmig-dev ($flags)"
out=$(LD_LIBRARY_PATH=$L "$W/v") || fail "running against libvfmig1"
[ "$out" = "$V $V" ] || fail "the program says '$out'"
LD_LIBRARY_PATH=$L ldd "$W/v" | grep -q "libvfmig.so.1 => $L/libvfmig.so.1" || fail "not linked to the packaged library"
echo "deb-check: libvfmig1, libvfmig-dev, vfio-migrate $V built in $((t1 - t0)) s; lintian: no errors ($(grep -c '^W:' "$W/lintian.log") warnings); unpacked and used: the tool, a program through pkg-config, man pages, units"
