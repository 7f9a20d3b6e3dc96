# Faults end to end: processes killed, device reads failing, state
# transitions failing into ERROR on either side, a destination write
# failing.  Every case ends as in test_fault_matrix.sh: both exit 1 naming
# the cause, the source devices RUNNING with their state, the destination
# devices reset, nothing left behind.
. tests/integration/lib.sh
. tests/integration/faults.sh

# a process killed in pre-copy and in stop-copy (the source's devices die
# with it: only the destination is checked then)
for phase in precopy stopcopy; do
	case $phase in
	precopy) args=$PRECOPY ;;
	stopcopy) args=$STOPCOPY ;;
	esac
	for victim in dst src; do
		start_recv
		: >"$OUT"
		"$T" send -d $SLOW -t tcp:127.0.0.1:$port $args $TO -j --interval 50 \
			>"$OUT" 2>"$ERR" &
		spid=$!
		wait_for "$OUT" '"transferred": [1-9]' $spid send
		if [ $victim = dst ]; then
			kill -9 $rpid
			wait $rpid 2>/dev/null
			survivor kill-dst/$phase $spid "$OUT" "$ERR" "$GONE" "$HASH"
		else
			kill -9 $spid
			wait $spid 2>/dev/null
			survivor kill-src/$phase $rpid "$RJ" "$RE" "$SRC_GONE"
		fi
	done
done
SMALL=sim:size=8M,pattern=random,seed=22
ERRSTATE="the migration stream ended with the device in ERROR|EIO"
PEER_FAILED="source: |the source failed|device sim"
# a device read failing with EIO in pre-copy (its initial data) and in
# stop-copy
direct $SMALL,faults=eio:2M sim:size=8M eio/precopy "$PRECOPY" "$ERRSTATE" "$PEER_FAILED"
direct $SMALL,faults=eio:2M sim:size=8M eio/stopcopy "$STOPCOPY" "$ERRSTATE" "$PEER_FAILED"
# a transition failing into ERROR: the source's PRE_COPY -> STOP_COPY,
# the destination's RESUMING -> STOP
direct $SMALL,faults=error:pre-copy-p2p:stop-copy sim:size=8M error/source "--switchover immediate" \
	"injected fault on arc PRE_COPY_P2P->STOP_COPY" "$PEER_FAILED"
direct $SMALL sim:size=8M,faults=error:resuming:stop error/destination "--switchover immediate" \
	"injected fault on arc RESUMING->STOP" \
	"injected fault on arc RESUMING->STOP.*\(it was written [0-9]+ bytes in [0-9]+ frames, crc32c [0-9a-f]{8}, as the source's DEVICE_END says\)"
# a destination write failing (the device takes 1 MiB, then refuses)
direct $SMALL sim:size=8M,faults=eio:1M write/destination "$STOPCOPY" \
	"the driver refused the stream" "the driver refused the stream at byte [0-9]+: EPIPE"
# ... and its reason reaching the source after another channel's reset:
# the source still gives that reason, not the reset
VIA="late 0 65536"
direct $SMALL,faults=slow:32M/s sim:size=8M,faults=eio:1M write/reason-late "$STOPCOPY -c 2" \
	"the driver refused the stream" "the driver refused the stream at byte [0-9]+: EPIPE"
VIA=
