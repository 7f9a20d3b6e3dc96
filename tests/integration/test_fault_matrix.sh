# Faults end to end, in the handshake and in pre-copy: a channel cut on
# either side or stalled.  Every case ends the same way: both processes exit
# 1 with a message naming the cause, the source devices RUNNING with their
# state as before (no workload here, so the same hash), the destination
# devices reset, no fd or thread left (VFMIG_CHECK_LEAKS: exit 3 otherwise)
# and no crash.  Stop-copy and one channel of several:
# test_fault_stopcopy.sh; processes and devices failing: test_fault_ends.sh.
. tests/integration/lib.sh
. tests/integration/faults.sh

# a channel cut at the source's side, at the destination's side, stalled:
# in the handshake, in pre-copy, in stop-copy
for phase in handshake precopy; do
	case $phase in
	handshake) bytes=40 ;;
	precopy) bytes=$((4 << 20)) ;;
	esac
	channel_faults $phase "$PRECOPY" $bytes
done
