# --metrics FILE: the Prometheus text format, rewritten whole at every
# interval and at the end.  A reader polling it during a migration (as
# node exporter's textfile collector does) parses every read with
# prometheus_client's parser and never sees a torn file; the last rewrite
# agrees with the JSON report (totals, per device, downtime); a failed
# run says failed; a path that cannot be written is a usage error.
. tests/integration/lib.sh
python3 -c 'import prometheus_client' 2>/dev/null ||
	{ echo "skip: python3-prometheus-client missing (make deps)"; exit 77; }

D=/tmp/vfmig-metrics-$$
mkdir -p $D
trap 'kill $wpid $wpid2 2>/dev/null; rm -rf "$OUT" "$ERR" "$RJ" "$RE" $D' EXIT
wpid= wpid2=

# both ends, a 20 ms interval, a capped pre-copy: many rewrites
python3 tests/integration/metrics_watch.py $D/send.prom $D/send.watch &
wpid=$!
python3 tests/integration/metrics_watch.py $D/recv.prom $D/recv.watch &
wpid2=$!
recv_bg "$RJ" "$RE" -d sim:size=16M -d sim:size=4M,name=nic -j --metrics $D/recv.prom --interval 20
run 0 send -d sim:size=16M,pattern=fb,dirty=4M/s,seed=1 -d sim:size=4M,pattern=random,name=nic,seed=2 \
	-t tcp:127.0.0.1:$port --max-bandwidth 40MB/s -j --metrics $D/send.prom --interval 20
wait $rpid || fail "recv failed: $(cat "$RE")"
wait $wpid || fail "reading send's metrics: $(cat $D/send.watch 2>/dev/null)"
wait $wpid2 || fail "reading recv's metrics: $(cat $D/recv.watch 2>/dev/null)"
wpid= wpid2=
same_hashes
grep -q "statuses.* active.*completed" $D/send.watch || fail "send's file: $(cat $D/send.watch)"
grep -q "statuses.* active.*completed" $D/recv.watch || fail "recv's file: $(cat $D/recv.watch)"
[ "$(sed -n 's/^reads //p' $D/send.watch)" -ge 5 ] || fail "too few reads to judge: $(cat $D/send.watch)"
python3 - $D/send.prom "$OUT" $D/recv.prom "$RJ" <<'PY' || fail "the metrics disagree with the reports"
import sys
sys.path.insert(0, "tests/integration")
from prometheus_client.parser import text_string_to_metric_families
from report import load

def metrics(path):
    m = {}
    for fam in text_string_to_metric_families(open(path).read()):
        for s in fam.samples:
            key = s.labels.get("device") or s.labels.get("status") or s.labels.get("verdict")
            m[(s.name, key)] = (s.value, s.labels)
    return m

for prom, rep, cmd in ((sys.argv[1], sys.argv[2], "send"), (sys.argv[3], sys.argv[4], "recv")):
    m, j = metrics(prom), load(rep)
    assert all(l["command"] == cmd for _, l in m.values()), cmd
    assert m[("vfio_migrate_status", "completed")][0] == 1
    assert sum(v for (n, _), (v, _) in m.items() if n == "vfio_migrate_status") == 1
    assert m[("vfio_migrate_transferred_bytes", None)][0] == j["transferred"]
    assert abs(m[("vfio_migrate_total_time_seconds", None)][0] * 1000 - j["total-time"]) <= 1
    assert abs(m[("vfio_migrate_setup_time_seconds", None)][0] * 1000 - j["setup-time"]) <= 1
    for d in j["devices"]:
        assert m[("vfio_migrate_device_transferred_bytes", d["id"])][0] == d["raw-bytes"], d["id"]
    if cmd == "send":
        assert m[("vfio_migrate_wire_bytes", None)][0] == j["wire-bytes"]
        assert abs(m[("vfio_migrate_downtime_seconds", None)][0] * 1e6 - j["downtime-us"]) < 1
        assert m[("vfio_migrate_verdict", j["verdict"])][0] == 1
        for d in j["devices"]:
            assert m[("vfio_migrate_device_pending_bytes", d["id"])][0] == d["pending"]
PY
ls $D | grep -q '\.tmp$' && fail "a temporary file was left: $(ls $D)"

# a failed run: its last rewrite says so
recv_bg "$RJ" "$RE" -d sim:size=2M
run 1 send -d sim:size=4M -t tcp:127.0.0.1:$port --metrics $D/failed.prom
wait $rpid && fail "recv took another size"
grep -q '^vfio_migrate_status{command="send",uri="tcp:127.0.0.1:'$port'",status="failed"} 1$' $D/failed.prom ||
	fail "the failure is not in the file: $(grep status $D/failed.prom)"

# nowhere to write: a usage error before anything moves
run 2 send -d sim:size=1M -t tcp:127.0.0.1:1 --metrics $D/no/such/dir/m.prom
stderr_has "--metrics $D/no/such/dir/m.prom."
stderr_has "No such file or directory"
run 2 save -d sim:size=1M -o $D/state --metrics ""
stderr_has "--metrics: give a file name"
echo "ok: metrics rewritten whole, agreeing with the reports"
