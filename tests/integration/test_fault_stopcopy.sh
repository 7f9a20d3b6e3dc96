# Faults end to end, as test_fault_matrix.sh, in stop-copy, and one channel
# of three lost in pre-copy and in stop-copy.
. tests/integration/lib.sh
. tests/integration/faults.sh

channel_faults stopcopy "$STOPCOPY" $((8 << 20))
relayed "one-of-3/precopy" "$PRECOPY" cut-src 1 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
relayed "one-of-3/stopcopy" "$STOPCOPY" cut-dst 2 t1 3 "$GONE|$SILENT_DST" "$SRC_GONE|$SILENT_SRC"
