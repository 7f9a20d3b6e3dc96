# Faults end to end, in each phase: a channel cut on either side or stalled
# (one of several, too).  Every case ends the same way: both processes exit
# 1 with a message naming the cause, the source devices RUNNING with their
# state as before (no workload here, so the same hash), the destination
# devices reset, no fd or thread left (VFMIG_CHECK_LEAKS: exit 3 otherwise)
# and no crash.  Processes and devices failing: test_fault_ends.sh.
. tests/integration/lib.sh
. tests/integration/faults.sh

# a channel cut at the source's side, at the destination's side, stalled:
# in the handshake, in pre-copy, in stop-copy
for phase in handshake precopy stopcopy; do
	case $phase in
	handshake) args=$PRECOPY bytes=40 ;;
	precopy) args=$PRECOPY bytes=$((4 << 20)) ;;
	stopcopy) args=$STOPCOPY bytes=$((8 << 20)) ;;
	esac
	relayed "cut-src/$phase" "$args" cut-src 0 $bytes 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "cut-dst/$phase" "$args" cut-dst 0 $bytes 1 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
	relayed "stall/$phase" "$args" stall 0 $bytes 1 "$SILENT_DST" "$SILENT_SRC"
done
# one of three channels lost, in pre-copy and in stop-copy
relayed "one-of-3/precopy" "$PRECOPY" cut-src 1 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
relayed "one-of-3/stopcopy" "$STOPCOPY" cut-dst 2 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
