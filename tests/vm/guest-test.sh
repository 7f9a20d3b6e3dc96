#!/bin/sh
# Runs inside the guest (tests/vm/run.sh): vfio-migrate against vfio_shim
# devices through the real vfio backend.  One "RESULT name PASS|FAIL ..."
# line per check, then "EXIT=<failures>".
T=/bin/vfio-migrate
P=/sys/class/mdev_bus/vfio_shim/mdev_supported_types
fails=0
result() { # name status detail
	echo "RESULT $1 $2 $3"
	[ "$2" = PASS ] || fails=$((fails + 1))
}
expect() { # name want-status cmd...
	name=$1 want=$2; shift 2
	"$@" >/tmp/out 2>/tmp/err
	got=$?
	if [ "$got" -eq "$want" ]; then
		result "$name" PASS ""
	else
		result "$name" FAIL "exit $got, expected $want: $(tr '\n' ' ' </tmp/err | cut -c1-300)"
	fi
}
mk() { # type uuid
	echo "$2" >"$P/$1/create" || result "create-$2" FAIL "cannot create $1"
}

U1=11111111-0000-4000-8000-000000000001
U2=11111111-0000-4000-8000-000000000002
U3=11111111-0000-4000-8000-000000000003
U4=11111111-0000-4000-8000-000000000004
mk vfio_shim-small $U1
mk vfio_shim-small $U2
mk vfio_shim-large $U3
mk vfio_shim-large $U4

expect info 0 $T info -d mdev:$U1 -j
grep -q '"backend": "vfio"' /tmp/out && grep -q '"migration-flags": \[' /tmp/out &&
	grep -q 'stop-copy' /tmp/out && grep -q '"state": "running"' /tmp/out ||
	result info-fields FAIL "$(tr '\n' ' ' </tmp/out)"

# save and load through a file: the load's RESUMING->STOP checks the
# stream's checksum in the driver
expect save 0 $T save -d mdev:$U1 -o /tmp/state.vfm -j
expect load 0 $T load -d mdev:$U2 -i /tmp/state.vfm -j
grep -q '"state": "running"' /tmp/out || result load-state FAIL "$(tr '\n' ' ' </tmp/out)"

# send/recv over loopback TCP, 2 channels, the stop-copy path
ip link set lo up
$T recv -d mdev:$U4 -l tcp:127.0.0.1:7000 -j >/tmp/recv.out 2>/tmp/recv.err &
rpid=$!
sleep 1
expect send 0 $T send -d mdev:$U3 -t tcp:127.0.0.1:7000 -c 2 -j
wait $rpid
rrc=$?
[ $rrc -eq 0 ] && result recv PASS "" || result recv FAIL "exit $rrc: $(tr '\n' ' ' </tmp/recv.err)"
# where the kernel has PRE_COPY (6.2+), the state went in pre-copy
if $T info -d mdev:$U1 | grep -q pre-copy; then
	sed -n 's/.*"precopy-bytes": \([0-9]*\).*/\1/p' /tmp/out | head -n 1 >/tmp/pre
	[ "$(cat /tmp/pre)" -gt 0 ] && result precopy PASS "" ||
		result precopy FAIL "precopy-bytes $(cat /tmp/pre)"
fi

# a corrupted stream: refused before it reaches the driver (the stream's
# crc32c), and the device is reset out of RESUMING
expect save-again 0 $T save -d mdev:$U1 -o /tmp/state2.vfm -z none -j
dd if=/dev/zero of=/tmp/state2.vfm bs=1 count=4 seek=4096 conv=notrunc 2>/dev/null
expect load-corrupt 1 $T load -d mdev:$U2 -i /tmp/state2.vfm -j
grep -q 'crc32c of the decoded bytes does not match' /tmp/err ||
	result corrupt-message FAIL "$(tr '\n' ' ' </tmp/err)"
grep -q '"state": "running"' /tmp/out ||
	result corrupt-reset FAIL "$(tr '\n' ' ' </tmp/out)"

for u in $U1 $U2 $U3 $U4; do
	echo 1 >/sys/bus/mdev/devices/$u/remove || result remove-$u FAIL ""
done
rmmod vfio_shim || result rmmod FAIL ""
dmesg | grep -E 'BUG|WARNING|Oops|vfio_shim' | head -20 | sed 's/^/DMESG /'
dmesg | grep -qE 'BUG|WARNING:|Oops' && result dmesg FAIL "kernel warnings"
echo "EXIT=$fails"
