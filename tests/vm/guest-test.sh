#!/bin/sh
# Runs inside the guest (tests/vm/run.sh): vfio-migrate against vfio_shim
# devices through the real vfio backend (container/group), configured with
# `vfio-migrate shim`.  One "RESULT name PASS|FAIL|INFO detail" line per
# check, "TIME name seconds" per case, then "EXIT=<failures>".
T=/bin/vfio-migrate
P=/sys/class/mdev_bus/vfio_shim/mdev_supported_types
fails=0
result() { # name status detail
	echo "RESULT $1 $2 $3"
	[ "$2" = FAIL ] && fails=$((fails + 1))
	return 0
}
check() { # name detail-if-false 'shell condition'
	if eval "$3"; then result "$1" PASS ""; else result "$1" FAIL "$2"; fi
}
expect() { # name want-status cmd...
	name=$1 want=$2
	shift 2
	"$@" >/tmp/out 2>/tmp/err
	got=$?
	if [ "$got" -eq "$want" ]; then
		result "$name" PASS ""
	else
		result "$name" FAIL "exit $got, expected $want: $(tr '\n' ' ' </tmp/err | cut -c1-400)"
	fi
}
has() { grep -q -- "$2" "$1"; } # file pattern
field() { # json-file key: the first value of "key" (pretty or NDJSON)
	grep -o "\"$2\": \"*[^\",}]*" "$1" | head -n 1 | sed 's/^"[^"]*": "*//'
}
shimget() { $T shim get "$1" -j >/tmp/shim.json && field /tmp/shim.json "$2"; }
clock() { cut -d' ' -f1 /proc/uptime; }
case_start() { CASE=$1 T0=$(clock); }
case_end() { echo "TIME $CASE $(awk "BEGIN { print $(clock) - $T0 }")"; }

# waitfor FILE ERE PID: until FILE has a line matching ERE (30 s at most,
# and not past PID's end): readiness is read, never slept for.  Empty
# FILE before starting PID.
waitfor() {
	n=0
	until grep -qE "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		n=$((n + 1))
		[ $n -le 600 ] || return 1
		sleep 0.05
	done
}
# a TCP port listened on (busybox nc says nothing when it is)
port_listening() {
	n=0
	until grep -q ":$(printf %04X "$1") 0*:0000 0A" /proc/net/tcp /proc/net/tcp6; do
		n=$((n + 1))
		[ $n -le 600 ] || return 1
		sleep 0.05
	done
}
# recv_ready PID: recv's ready line
recv_ready() { waitfor /tmp/recv.err "listening on" "$1"; }

# One migration over loopback TCP with 2 channels: recv into $2, send from
# $1 with the remaining options; the exit statuses in $srs and $rrs.
migrate() {
	src=$1 dst=$2
	shift 2
	: >/tmp/recv.err
	$T recv -d mdev:$dst -l tcp:127.0.0.1:7000 -j >/tmp/recv.out 2>/tmp/recv.err &
	rpid=$!
	recv_ready $rpid
	$T send -d mdev:$src -t tcp:127.0.0.1:7000 -c 2 -j "$@" >/tmp/send.out 2>/tmp/send.err
	srs=$?
	wait $rpid
	rrs=$?
}
# The destination holds exactly the state the source's stream ended with.
same_state() { # name src dst
	sent=$(shimget "$2" sent-hash) got=$(shimget "$3" state-hash)
	check "$1" "sent $sent, restored $got" \
		'[ -n "$got" ] && [ "$sent" = "$got" ] && [ "$sent" != 0000000000000000 ]'
}
migrated() { # name src dst [send options]: a migration that must succeed
	name=$1 src=$2 dst=$3
	shift 3
	migrate "$src" "$dst" "$@"
	check "$name" "send $srs: $(tr '\n' ' ' </tmp/send.err | cut -c1-300) recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-300)" \
		'[ $srs -eq 0 ] && [ $rrs -eq 0 ]'
	same_state "$name-hash" "$src" "$dst"
}
# A failed migration: both sides exit 1, and each put its device back in
# RUNNING before closing it (closing would reset it anyway: the report says
# what the tool left), the source's state unchanged.
failed() { # name src-hash-before
	check "$1-fails" "send $srs recv $rrs" '[ $srs -eq 1 ] && [ $rrs -eq 1 ]'
	check "$1-source-running" "$(tr '\n' ' ' </tmp/send.out | cut -c1-300)" \
		'has /tmp/send.out "\"state\": \"running\""'
	check "$1-dest-running" "$(tr '\n' ' ' </tmp/recv.out | cut -c1-300)" \
		'has /tmp/recv.out "\"state\": \"running\""'
	before=$2
	check "$1-source-intact" "hash $before -> $(shimget $U3 state-hash)" \
		'[ "$(shimget $U3 state-hash)" = "$before" ]'
}
reset_cfg() { # dev...: default switches, no workload
	for d in "$@"; do
		$T shim set "$d" dirty-rate=0 end=enomsg read=nonblock gated=off \
			size-report=exact precopy=on fail=none eio-after=off corrupt-at=off ||
			result "reset-$d" FAIL "cannot reset the switches"
	done
}

U1=11111111-0000-4000-8000-000000000001
U2=11111111-0000-4000-8000-000000000002
U3=11111111-0000-4000-8000-000000000003
U4=11111111-0000-4000-8000-000000000004
for u in $U1 $U2; do echo $u >$P/vfio_shim-small/create || result create FAIL "$u"; done
for u in $U3 $U4; do echo $u >$P/vfio_shim-large/create || result create FAIL "$u"; done
ip link set lo up

case_start control
expect shim-list 0 $T shim list -j
check shim-list-all "$(tr '\n' ' ' </tmp/out)" '[ "$(grep -c "\"name\"" /tmp/out)" -eq 4 ]'
expect shim-bad-size 1 $T shim set $U1 size=12345
check shim-kernel-message "$(cat /tmp/err)" 'has /tmp/err "size must be a multiple of 4096"'
expect shim-no-device 1 $T shim get 99999999-0000-4000-8000-000000000000
check shim-no-device-message "$(cat /tmp/err)" 'has /tmp/err "no vfio_shim device of that name"'
expect shim-bad-key 2 $T shim set $U1 colour=blue
expect shim-resize 0 $T shim set $U3 size=16M
expect shim-resize-dst 0 $T shim set $U4 size=16M
$T shim set $U3 dirty-rate=8M/s
expect shim-list-text 0 $T shim list
check shim-list-lines "$(tr '\n' ' ' </tmp/out)" '[ "$(grep -c vfio_shim- /tmp/out)" -eq 4 ]'
sed 's/^/LIST /' /tmp/out
$T shim set $U3 dirty-rate=off
case_end

# the driver's uAPI with raw ioctls: every (from, to) pair against the
# library's model, MIG_DATA_SIZE, ends, ENODEV, O_NONBLOCK, .poll, gating
case_start uapi
shim-uapi $U2 || true
case_end

case_start info
expect info 0 $T info -d mdev:$U1 -j
cp /tmp/out /tmp/info.json
check info-backend "$(tr '\n' ' ' </tmp/info.json)" 'has /tmp/info.json "\"backend\": \"vfio\""'
check info-precopy "$(tr '\n' ' ' </tmp/info.json)" 'has /tmp/info.json "\"pre-copy\""'
# MIG_DATA_SIZE (6.1: the driver's device_feature): header 32, one 16-byte
# record per MiB, the END record
check info-stopcopy-size "$(field /tmp/info.json stopcopy-bytes)" \
	'[ "$(field /tmp/info.json stopcopy-bytes)" = 1048640 ]'
case_end

# list: every shim device is a migratable mdev that root can open, with
# its type, flags and stop-copy size; one another process holds is busy
case_start list
expect list 0 $T list -j
check list-all "$(tr '\n' ' ' </tmp/out | cut -c1-400)" \
	'[ "$(grep -c "\"device\": \"mdev:11111111-" /tmp/out)" -eq 4 ]'
check list-access "$(grep access /tmp/out | tr '\n' ' ')" \
	'[ "$(grep -c "\"access\": \"yes\"" /tmp/out)" -eq 4 ]'
check list-flags "$(grep -c '"stop-copy"' /tmp/out)" '[ "$(grep -c "\"stop-copy\"" /tmp/out)" -eq 4 ]'
check list-type "$(grep mdev-type /tmp/out | tr '\n' ' ')" 'has /tmp/out "\"mdev-type\": \"vfio_shim-small\""'
check list-size "$(sed -n "/mdev:$U1/,/stopcopy/p" /tmp/out | tr '\n' ' ')" \
	'sed -n "/mdev:$U1/,/stopcopy/p" /tmp/out | grep -q "\"stopcopy-bytes\": 1048640"'
: >/tmp/recv.err
$T recv -d mdev:$U2 -l tcp:127.0.0.1:7002 --timeout 10 >/dev/null 2>/tmp/recv.err &
rpid=$!
recv_ready $rpid
expect list-held 0 $T list -j
kill $rpid
wait $rpid
check list-busy "$(sed -n "/mdev:$U2/,/error/p" /tmp/out | tr '\n' ' ')" \
	'sed -n "/mdev:$U2/,/access/p" /tmp/out | grep -q "\"access\": \"busy\""'
case_end

# send --dry-run: neither device changes state (the destination's is not
# in RESUMING while its recv waits on), then the same recv migrates
case_start dry-run
reset_cfg $U3
h=$(shimget $U3 state-hash)
: >/tmp/recv.err
$T recv -d mdev:$U4 -l tcp:127.0.0.1:7000 -j >/tmp/recv.out 2>/tmp/recv.err &
rpid=$!
recv_ready $rpid
expect dry-run 0 $T send -d mdev:$U3 -t tcp:127.0.0.1:7000 -c 2 --dry-run -j
check dry-run-report "$(tr '\n' ' ' </tmp/out | cut -c1-200)" 'has /tmp/out "\"dry-run\": true"'
check dry-run-dst-running "$U4 $(shimget $U4 state)" '[ "$(shimget $U4 state)" = running ]'
check dry-run-src-running "$U3 $(shimget $U3 state)" '[ "$(shimget $U3 state)" = running ]'
check dry-run-src-intact "hash $h -> $(shimget $U3 state-hash)" '[ "$(shimget $U3 state-hash)" = "$h" ]'
$T send -d mdev:$U3 -t tcp:127.0.0.1:7000 -c 2 -j >/tmp/send.out 2>/tmp/send.err
srs=$?
wait $rpid
rrs=$?
check dry-run-then-migrate "send $srs recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-200)" \
	'[ $srs -eq 0 ] && [ $rrs -eq 0 ]'
same_state dry-run-then-migrate-hash $U3 $U4
case_end

case_start save-load
h1=$(shimget $U1 state-hash)
check hashes-differ "both $h1" '[ "$h1" != "$(shimget $U2 state-hash)" ]'
expect save 0 $T save -d mdev:$U1 -o /tmp/state.vfm -j
expect load 0 $T load -d mdev:$U2 -i /tmp/state.vfm -j
check load-running "$(tr '\n' ' ' </tmp/out)" 'has /tmp/out "\"state\": \"running\""'
check load-hash "saved $h1, loaded $(shimget $U2 state-hash)" '[ "$h1" = "$(shimget $U2 state-hash)" ]'
case_end

# pre-copy with a workload: the dirtied pages go again, the state matches
case_start precopy-dirty
$T shim set $U3 dirty-rate=8M/s
migrated precopy-dirty $U3 $U4
check precopy-bytes "$(field /tmp/send.out precopy-bytes)" '[ "$(field /tmp/send.out precopy-bytes)" -gt 0 ]'
check dirtied "$(shimget $U3 dirtied)" '[ "$(shimget $U3 dirtied)" -gt 0 ]'
result precopy-dirty-throughput INFO "$(field /tmp/send.out throughput) B/s, 16 MiB, downtime $(field /tmp/send.out downtime) ms, expected $(field /tmp/send.out expected-downtime) ms"
case_end

case_start stop-copy-only
reset_cfg $U3
expect shim-precopy-off 0 $T shim set $U3 precopy=off
expect info-no-precopy 0 $T info -d mdev:$U3 -j
check no-precopy-flag "$(tr '\n' ' ' </tmp/out)" '! has /tmp/out "\"pre-copy\""'
migrated stop-copy-only $U3 $U4
check stop-copy-no-precopy-bytes "$(field /tmp/send.out precopy-bytes)" '[ "$(field /tmp/send.out precopy-bytes)" = 0 ]'
case_end

case_start end-modes
reset_cfg $U3
$T shim set $U3 end=zero dirty-rate=4M/s
migrated end-zero $U3 $U4
reset_cfg $U3
$T shim set $U3 end=enomsg dirty-rate=4M/s
migrated end-enomsg $U3 $U4
reset_cfg $U3
# reads that wait (io_uring's worker blocks in read; a cancel interrupts
# it) and new data only after PRECOPY_INFO
$T shim set $U3 read=block gated=on dirty-rate=4M/s
q=$(shimget $U3 precopy-info)
migrated block-gated $U3 $U4
check gated-queries "$q -> $(shimget $U3 precopy-info)" '[ "$(shimget $U3 precopy-info)" -gt "$q" ]'
case_end

case_start size-reports
# The bandwidth is given: with a garbage size the estimate stands on the
# bytes streamed, which a dirtying device keeps adding to, and on
# loopback (no link speed, no cap) on the average rate so far, which idle
# pre-copy keeps lowering; whether saturated time measured the link first
# is a matter of TCG's timing (stats.md: how uncertain each input is).
for r in zero wrong huge; do
	reset_cfg $U3
	$T shim set $U3 size-report=$r dirty-rate=4M/s
	migrated size-$r $U3 $U4 --switchover-bandwidth 1G/s
done
check size-huge-flagged "$(grep size-report /tmp/send.out | tr '\n' ' ')" \
	'has /tmp/send.out "\"size-report\": \"untrusted\""'
case_end

case_start failed-arc
reset_cfg $U3
h=$(shimget $U3 state-hash)
$T shim set $U3 fail=pre-copy-p2p-stop-copy:error
migrate $U3 $U4
failed arc-error "$h"
check arc-error-message "$(cat /tmp/send.err)" 'has /tmp/send.err "STOP_COPY failed: EIO"'
reset_cfg $U3
$T shim set $U3 fail=running-pre-copy:stay
migrate $U3 $U4
failed arc-stay "$h"
check arc-stay-message "$(cat /tmp/send.err)" 'has /tmp/send.err "PRE_COPY failed: EIO"'
reset_cfg $U3
$T shim set $U3 eio-after=300000
migrate $U3 $U4
failed eio "$h"
check eio-message "$(cat /tmp/send.err)" 'has /tmp/send.err "EIO"'
case_end

# a stream the driver refuses: our own checks pass (the source's device
# produced these bytes), the destination driver's RESUMING->STOP does not
case_start corrupt
reset_cfg $U3
$T shim set $U3 corrupt-at=5000
errs=$(shimget $U4 load-errors)
migrate $U3 $U4
failed corrupt "$h"
check corrupt-message "$(cat /tmp/recv.err)" 'has /tmp/recv.err "RESUMING->STOP failed: EINVAL"'
check corrupt-counted "load-errors $errs -> $(shimget $U4 load-errors)" '[ "$(shimget $U4 load-errors)" -gt "$errs" ]'
case_end

# devices are matched by the id the VM knows them by (",id="), whatever
# each host calls them: the same id migrates, another is refused by name
case_start ids
reset_cfg $U3 $U4
migrate "$U3,id=gpu0" "$U4,id=gpu0"
check id-match "send $srs recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-300)" '[ $srs -eq 0 ] && [ $rrs -eq 0 ]'
same_state id-match-hash $U3 $U4
check id-in-report "$(grep '"id"' /tmp/recv.out | tr '\n' ' ')" 'has /tmp/recv.out "\"id\": \"gpu0\""'
migrate "$U3,id=gpu0" "$U4,id=gpu1"
check id-mismatch "send $srs recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-300)" \
	'[ $srs -eq 1 ] && [ $rrs -eq 1 ] && has /tmp/recv.err "the source.s device gpu0 (vfio vfio_shim-large) has no device with that id here (this side has gpu1)"'
check id-mismatch-running "$(shimget $U3 state) $(shimget $U4 state)" '[ "$(shimget $U3 state)" = running ] && [ "$(shimget $U4 state)" = running ]'
case_end

# another device type: refused by name before any state moves
case_start wrong-type
reset_cfg $U3
saved=$(shimget $U3 saved) loaded=$(shimget $U1 loaded)
migrate $U3 $U1
check type-refused "send $srs recv $rrs" '[ $srs -eq 1 ] && [ $rrs -eq 1 ]'
check type-message "$(cat /tmp/recv.err)" 'has /tmp/recv.err "device dev0: the source.s is vfio vfio_shim-large, this side.s is vfio vfio_shim-small"'
check type-nothing-moved "saved $saved -> $(shimget $U3 saved), loaded $loaded -> $(shimget $U1 loaded)" \
	'[ "$(shimget $U3 saved)" = "$saved" ] && [ "$(shimget $U1 loaded)" = "$loaded" ]'
case_end

# the fault matrix (tests/integration/test_fault_matrix.sh) where the shim
# and busybox can stage it; cut and stalled channels mid-stream need its
# relay (python), which the guest does not have
hasE() { grep -qE -- "$2" "$1"; } # file extended-regexp
PRECOPY="--ram-pending 100G --switchover-bandwidth 1G/s --precopy-timeout 20"
case_start faults
reset_cfg $U3 $U4
h=$(shimget $U3 state-hash)
# a device read failing in stop-copy
$T shim set $U3 eio-after=300000
migrate $U3 $U4 --no-precopy
failed eio-stopcopy "$h"
check eio-stopcopy-message "$(cat /tmp/send.err)" 'has /tmp/send.err "EIO"'
# the destination's RESUMING->STOP failing into ERROR
reset_cfg $U3 $U4
$T shim set $U4 fail=resuming-stop:error
migrate $U3 $U4 --switchover immediate
failed dst-arc "$h"
check dst-arc-message "$(cat /tmp/recv.err)" 'has /tmp/recv.err "RESUMING->STOP failed: EIO"'
# a destination write failing
reset_cfg $U3 $U4
$T shim set $U4 eio-after=300000
migrate $U3 $U4
failed dst-write "$h"
check dst-write-message "$(cat /tmp/recv.err) / $(cat /tmp/send.err)" \
	'has /tmp/recv.err "the driver refused the stream at byte 300000: EIO" && has /tmp/send.err "the driver refused the stream"'
reset_cfg $U3 $U4
# signalled SIG dst|src: a migration held in pre-copy ($PRECOPY), that
# side sent SIG once data flows; the exit statuses in $srs and $rrs
signalled() {
	: >/tmp/recv.err
	: >/tmp/send.out
	$T recv -d mdev:$U4 -l tcp:127.0.0.1:7000 -j --timeout 3 >/tmp/recv.out 2>/tmp/recv.err &
	rpid=$!
	recv_ready $rpid
	$T send -d mdev:$U3 -t tcp:127.0.0.1:7000 -c 2 -j --timeout 3 --interval 50 $PRECOPY \
		>/tmp/send.out 2>/tmp/send.err &
	spid=$!
	waitfor /tmp/send.out '"transferred": [1-9]' $spid
	if [ $2 = dst ]; then kill -$1 $rpid; else kill -$1 $spid; fi
	wait $spid
	srs=$?
	wait $rpid
	rrs=$?
}
# killed dst|src: the other side's exit status in $left
killed() {
	signalled KILL $1
	if [ $1 = dst ]; then left=$srs; else left=$rrs; fi
}
# the destination killed: the source runs on, intact
killed dst
check kill-dst "send $left: $(tr '\n' ' ' </tmp/send.err | cut -c1-300)" \
	'[ $left -eq 1 ] && hasE /tmp/send.err "destination (closed|failed)|ECONNRESET|EPIPE|the connection"'
check kill-dst-source-running "$(grep '"state"' /tmp/send.out | tr '\n' ' ')" 'has /tmp/send.out "\"state\": \"running\""'
check kill-dst-source-intact "hash $h -> $(shimget $U3 state-hash)" '[ "$(shimget $U3 state-hash)" = "$h" ]'
check kill-dst-closed "$U4 $(shimget $U4 state)" '[ "$(shimget $U4 state)" = running ]'
# the source killed: the destination gives up and resets
killed src
check kill-src "recv $left: $(tr '\n' ' ' </tmp/recv.err | cut -c1-300)" \
	'[ $left -eq 1 ] && hasE /tmp/recv.err "the source closed the connection mid-stream|ECONNRESET|the peer closed"'
check kill-src-dest-running "$(grep '"state"' /tmp/recv.out | tr '\n' ' ')" 'has /tmp/recv.out "\"state\": \"running\""'
check kill-src-closed "$U3 $(shimget $U3 state)" '[ "$(shimget $U3 state)" = running ]'
# Ctrl-C in pre-copy: send cancels and exits 130, the shim runs again
# with its state (no workload here: the same hash), and the destination,
# told, resets its device
signalled INT src
check sigint-src "send $srs: $(tr '\n' ' ' </tmp/send.err | cut -c1-200) recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-200)" \
	'[ $srs -eq 130 ] && [ $rrs -eq 1 ] && has /tmp/send.err "SIGINT: cancelling the migration" && has /tmp/recv.err "source: cancelled"'
check sigint-src-running "$U3 $(shimget $U3 state)" '[ "$(shimget $U3 state)" = running ]'
check sigint-src-intact "hash $h -> $(shimget $U3 state-hash)" '[ "$(shimget $U3 state-hash)" = "$h" ]'
check sigint-dst-reset "$U4 $(shimget $U4 state)" '[ "$(shimget $U4 state)" = running ]'
# a destination that accepts and never answers (nc ends at the end of its
# input: the pipe keeps it open)
sleep 4 | nc -l -p 7001 >/dev/null &
ncpid=$!
port_listening 7001
$T send -d mdev:$U3 -t tcp:127.0.0.1:7001 -j --timeout 2 >/tmp/send.out 2>/tmp/send.err
srs=$?
kill $ncpid 2>/dev/null
check stall-dst "send $srs: $(tr '\n' ' ' </tmp/send.err | cut -c1-300)" \
	'[ $srs -eq 1 ] && hasE /tmp/send.err "said nothing for 2000 ms|silent|ETIMEDOUT"'
check stall-dst-intact "hash $h -> $(shimget $U3 state-hash)" '[ "$(shimget $U3 state-hash)" = "$h" ]'
# a source that connects and never speaks
: >/tmp/recv.err
$T recv -d mdev:$U4 -l tcp:127.0.0.1:7000 -j --timeout 2 >/tmp/recv.out 2>/tmp/recv.err &
rpid=$!
recv_ready $rpid
sleep 4 | nc 127.0.0.1 7000 >/dev/null &
wait $rpid
rrs=$?
check stall-src "recv $rrs: $(tr '\n' ' ' </tmp/recv.err | cut -c1-300)" \
	'[ $rrs -eq 1 ] && hasE /tmp/recv.err "without a valid HELLO: .*\(the source stalled\)"'
check stall-src-dest-running "$U4 $(shimget $U4 state)" '[ "$(shimget $U4 state)" = running ]'
case_end

# the example VMM opens the device itself (container, group, device fd),
# hands the fd to libvfmig and drives it from its own poll loop
case_start toy-vmm
reset_cfg $U3
$T shim set $U3 dirty-rate=4M/s
: >/tmp/recv.err
$T recv -d mdev:$U4 -l tcp:127.0.0.1:7000 -j >/tmp/recv.out 2>/tmp/recv.err &
rpid=$!
recv_ready $rpid
toy-vmm -t tcp:127.0.0.1:7000 -c 2 -r 64M -b 64M/s -w 1M/s -l 300 mdev:$U3 >/tmp/toy.out 2>/tmp/toy.err
srs=$?
wait $rpid
rrs=$?
check toy-vmm "toy $srs: $(tail -n 3 /tmp/toy.out /tmp/toy.err | tr '\n' ' ') recv $rrs: $(tr '\n' ' ' </tmp/recv.err)" \
	'[ $srs -eq 0 ] && [ $rrs -eq 0 ] && grep -q "switching over" /tmp/toy.out'
same_state toy-vmm-hash $U3 $U4
# both ends in toy-vmm's poll loops, each opening its device itself
reset_cfg $U3
$T shim set $U3 dirty-rate=4M/s
: >/tmp/toyd.out
toy-vmm -L tcp:127.0.0.1:7000 mdev:$U4 >/tmp/toyd.out 2>/tmp/toyd.err &
dpid=$!
waitfor /tmp/toyd.out "listening on port 7000" $dpid
toy-vmm -t tcp:127.0.0.1:7000 -c 2 -r 64M -b 64M/s -w 1M/s -l 300 mdev:$U3 >/tmp/toy.out 2>/tmp/toy.err
srs=$?
wait $dpid
drs=$?
check toy-vmm-both "toy $srs: $(tail -n 3 /tmp/toy.out /tmp/toy.err | tr '\n' ' ') dest $drs: $(tr '\n' ' ' </tmp/toyd.out /tmp/toyd.err)" \
	'[ $srs -eq 0 ] && [ $drs -eq 0 ] && grep -q "^toy-vmm: loaded 1 device$" /tmp/toyd.out'
# the vCPU points, and the events around them, on the real kernel path
check toy-vmm-vcpus "$(grep -h "vCPUs\|loaded\|stop-copy\|acknowledged" /tmp/toy.out /tmp/toyd.out | tr '\n' ' ')" \
	'grep -q "stopping the vCPUs" /tmp/toy.out && grep -q "starting the vCPUs" /tmp/toyd.out && grep -q ": loaded, [0-9]* bytes" /tmp/toyd.out && grep -q "loaded there, its downtime" /tmp/toy.out'
same_state toy-vmm-both-hash $U3 $U4
case_end

# the driver benchmark on a real driver: exact sizes, pre-copy data read
case_start bench-driver
reset_cfg $U3
expect bench-d 0 $T bench -d mdev:$U3 --runs 2 -j
cp /tmp/out /tmp/bench.json
check bench-d-precopy "$(tr '\n' ' ' </tmp/bench.json)" '[ "$(field /tmp/bench.json precopy-bytes)" -gt 0 ]'
check bench-d-exact "$(field /tmp/bench.json stopcopy-size-ratio)" '[ "$(field /tmp/bench.json stopcopy-size-ratio)" = 1.0000 ]'
result bench-d-figures INFO "$(tr -d ' \n' </tmp/bench.json | cut -c1-400)"
case_end

# for reference only (TCG emulates every instruction): 64 MiB of
# incompressible state, stop-copy only, with and without the codec
case_start throughput
reset_cfg $U3
$T shim set $U3 size=64M precopy=off && $T shim set $U4 size=64M ||
	result throughput-setup FAIL "cannot resize"
for z in auto none; do
	migrated throughput-z$z $U3 $U4 -z $z
	result throughput-z$z INFO "$(field /tmp/send.out throughput) B/s, 64 MiB, -z $z, downtime $(field /tmp/send.out downtime) ms"
done
case_end

case_start teardown
# a session's fd that outlives its device fd and the mdev (shim-uapi
# removes $U2 while holding it)
shim-uapi --remove $U2 || true
for u in $U1 $U3 $U4; do
	echo 1 >/sys/bus/mdev/devices/$u/remove || result remove-$u FAIL ""
done
rmmod vfio_shim || result rmmod FAIL ""
dmesg | grep -E 'BUG|WARNING|Oops|vfio_shim' | head -30 | sed 's/^/DMESG /'
check dmesg "kernel warnings" '! dmesg | grep -qE "BUG|WARNING:|Oops"'
case_end
echo "EXIT=$fails"
