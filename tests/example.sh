#!/bin/sh
# The example VMM (Documentation/examples/toy-vmm.c) as a VMM author would
# build it: against the library installed under $1 through pkg-config; then
# a migration it drives from its own loop, deciding the switchover itself,
# into `vfio-migrate recv`, with equal state hashes; then again into a
# toy-vmm destination, both ends event-driven.
set -eu
prefix=$1
out=$PWD/build/example
tool=$PWD/tools/vfio-migrate/vfio-migrate
mkdir -p "$out"
rm -f "$out/toy-vmm"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig make -s -C Documentation/examples \
	OUT="$out/toy-vmm" CFLAGS="-O2 -Wall -Wextra -Werror" \
	LDFLAGS="-Wl,-rpath,$prefix/lib"
# the README's library example, as its reader builds it
sed -n '/^```c$/,/^```$/p' README.md | sed '1d;$d' >"$out/readme.c"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc -std=gnu11 -Wall -Wextra -Werror \
	-o "$out/readme" "$out/readme.c" \
	$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs libvfmig) ||
	{ echo "example: README.md's C example does not build"; exit 1; }
# a consumer's compile sees our header alone: no private include paths
# (libnl, p11-kit) leak through the .pc file
cflags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags libvfmig)
[ "$(echo $cflags)" = "-I$prefix/include" ] ||
	{ echo "example: libvfmig.pc gives Cflags '$cflags', not -I$prefix/include"; exit 1; }
# it runs on the installed library, not the build tree's
ldd "$out/toy-vmm" | grep -q "$prefix/lib/libvfmig.so" ||
	{ echo "example: not linked to $prefix/lib"; exit 1; }

fail() { echo "example: FAIL: $*"; sed 's/^/    /' "$out/vmm.out" "$out/vmm.err" "$out/recv.err" "$out/dst.out" "$out/dst.err" 2>/dev/null | tail -n 30; exit 1; }
# no ready line of an earlier run may be read as this one's
rm -f "$out/recv.err" "$out/dst.out" "$out/dst.err"
# port_of FILE PID WHAT: the port a destination's ready line in FILE says,
# once it says it (bounded: 30 s), into $port; the file may not be there
# yet (the background process opens it)
port_of() {
	n=0
	until port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$1" 2>/dev/null) && [ -n "$port" ]; do
		kill -0 "$2" 2>/dev/null || fail "$3 ended before listening"
		n=$((n + 1))
		[ $n -le 1500 ] || fail "$3 did not listen in 30 s"
		sleep 0.02
	done
}
dev1=sim:size=64M,pattern=fb,dirty=8M/s,seed=1
dev2=sim:size=32M,pattern=text,seed=2
"$tool" recv -d "$dev1" -d "$dev2" -l tcp:127.0.0.1:0 -j >"$out/recv.out" 2>"$out/recv.err" &
rpid=$!
port_of "$out/recv.err" $rpid recv
# 1 GiB of "RAM" moving at 512 MiB/s, dirtied at 16 MiB/s: about two
# seconds before the estimate comes within the limit
"$out/toy-vmm" -t tcp:127.0.0.1:$port -c 2 -r 1G -b 512M/s -w 16M/s -l 300 \
	"$dev1" "$dev2" >"$out/vmm.out" 2>"$out/vmm.err" || { kill $rpid 2>/dev/null; fail "toy-vmm exited $?"; }
wait $rpid || fail "recv failed"
[ "$(grep -c 'expected downtime' "$out/vmm.out")" -ge 2 ] || fail "no estimate printed each tick"
grep -q 'switching over' "$out/vmm.out" || fail "the VMM did not decide the switchover"
# the VMM switched over only once its RAM model was within the limit
grep 'switching over' "$out/vmm.out" | grep -q 'expected [0-9]* ms <= 300 ms' || fail "switchover above the limit"
for h in $(sed -n 's/.*state-hash \([0-9a-f]*\)$/\1/p' "$out/vmm.out"); do
	grep -q "\"state-hash\": \"$h\"" "$out/recv.out" || fail "hash $h not restored"
done
[ "$(grep -c 'state-hash' "$out/vmm.out")" -eq 2 ] || fail "no hashes printed"
summary="$(grep -c 'expected downtime' "$out/vmm.out") estimates, switched over at $(sed -n 's/.*expected \([0-9]*\) ms <=.*/\1/p' "$out/vmm.out") ms expected, $(sed -n 's/.*device downtime \([0-9]*\) ms$/\1/p' "$out/vmm.out") ms device downtime measured, 2 hashes equal"

# Both ends in toy-vmm's poll loops: its hashes against the source's.
"$out/toy-vmm" -L tcp:127.0.0.1:0 "$dev1" "$dev2" >"$out/dst.out" 2>"$out/dst.err" &
dpid=$!
port_of "$out/dst.out" $dpid "the toy-vmm destination"
"$out/toy-vmm" -t tcp:127.0.0.1:$port -c 2 -r 256M -b 512M/s -w 16M/s -l 300 \
	"$dev1" "$dev2" >"$out/vmm.out" 2>"$out/vmm.err" || { kill $dpid 2>/dev/null; fail "toy-vmm (source) exited $?"; }
wait $dpid || fail "the toy-vmm destination failed"
grep -q '^toy-vmm: loaded 2 devices$' "$out/dst.out" || fail "the destination did not say it loaded both"
# the VMM's points in the devices' state machines, in order: each end's
# vCPU callback once, between its devices' events
line() { grep -n "$2" "$1" | head -n 1 | cut -d: -f1; }
stop=$(line "$out/vmm.out" 'devices quiesced (P2P): stopping the vCPUs')
start=$(line "$out/dst.out" 'every device loaded (in RUNNING_P2P): starting the vCPUs')
[ -n "$stop" ] && [ -n "$start" ] || fail "no vCPU stop or start point printed"
[ "$(line "$out/vmm.out" 'initial data acknowledged')" -lt "$stop" ] || fail "initial data acked after the vCPU stop"
[ "$(line "$out/vmm.out" 'stop-copy done')" -gt "$stop" ] || fail "a stop-copy ended before the vCPU stop"
[ "$(grep -c ': loaded, [0-9]* bytes$' "$out/dst.out")" -eq 2 ] || fail "the destination did not report each device loaded"
[ "$(line "$out/dst.out" ': loaded, ')" -lt "$start" ] || fail "the vCPUs started before the devices were loaded"
[ "$(grep -c 'loaded there, its downtime' "$out/vmm.out")" -eq 2 ] || fail "the source did not hear each device loaded"
[ "$(grep -c 'state-hash' "$out/vmm.out")" -eq 2 ] || fail "no hashes printed by the source"
for h in $(sed -n 's/.*state-hash \([0-9a-f]*\)$/\1/p' "$out/vmm.out"); do
	grep -q "state-hash $h\$" "$out/dst.out" || fail "hash $h not restored by the toy-vmm destination"
done
echo "example: README.md example and toy-vmm built against $prefix through pkg-config; into recv: $summary; into a toy-vmm destination (both ends event-driven): 2 hashes equal"
