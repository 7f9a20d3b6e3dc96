# Switchover on the estimate, and the estimate against the measured
# downtime (Documentation/stats.md).
# integration: alone (its figures are timings)
. tests/integration/lib.sh

trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE"' EXIT

# recv_dst DEV...: a destination on a fresh port ($port), report in $RJ
recv_dst() { recv_bg "$RJ" "$RE" -j "$@"; }

# within PCT: |expected-downtime - downtime| <= PCT% of downtime
within() {
	json "abs(j['expected-downtime-us'] - j['downtime-us']) <= $1 / 100 * j['downtime-us']"
}

# (a) stop-copy only, random data, a 200 MB/s cap: no history, so the
# ratio is assumed and the cap is the bandwidth prior
dev=sim:size=256M,pattern=random,seed=11,precopy=off
recv_dst -d $dev
run 0 send -d $dev -t tcp:127.0.0.1:$port --max-bandwidth 200MB/s --switchover immediate -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["ratio-source"] == "assumed" and j["bandwidth-source"] == "prior"'
json 'j["devices"][0]["size-report"] == "trusted" and j["downtime"] > 1000'
within 20

# a stop-copy-only device seen for the first time: its ratio is unknown,
# so the estimate is a range (ratio 1 at worst), and the default policy
# goes ahead when the limit lies within it, saying so
dev=sim:size=64M,pattern=random,seed=12,precopy=off
recv_dst -d $dev
run 0 send -d $dev -t tcp:127.0.0.1:$port --max-bandwidth 200MB/s -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["ratio-source"] == "assumed" and j["expected-downtime-min"] < 300 < j["expected-downtime-max"] == j["expected-downtime"]'
json '"a ratio is unknown (no history)" in j["switchover-reason"]'
# the next time, history has its ratio (random data: about 1), and the
# default policy will not exceed the limit when nothing can shrink the
# estimate: it fails at once, naming a limit that would do, which does
recv_dst -d $dev
run 1 send -d $dev -t tcp:127.0.0.1:$port --max-bandwidth 200MB/s -j
wait $rpid && fail "recv succeeded after the source gave up"
stderr_has "cannot meet the downtime limit: expected downtime"
stderr_has "no device pre-copies, so waiting cannot shrink it; a limit of"
json 'j["devices"][0]["state"] == "running" and j["expected-downtime"] > 300'
json 'j["ratio-source"] == "history" and j["expected-downtime-min"] == j["expected-downtime"]'
limit=$(sed -n 's/.*a limit of \([0-9]*\) ms.*/\1/p' "$ERR")
grep -q "source: cannot meet the downtime limit" "$RE" || fail "recv does not say why: $(cat "$RE")"
recv_dst -d $dev
run 0 send -d $dev -t tcp:127.0.0.1:$port --max-bandwidth 200MB/s --downtime-limit "$limit" -j
wait $rpid || fail "recv failed"
same_hashes

# a stop-copy-only device whose destination loads it at 64 MB/s behind a
# 1 GB/s cap: the first migration cannot know that (the wire's 50 ms),
# the history keeps the rate it was loaded at, and the next estimate is
# bound by it (48 MB at 64 MB/s: 750 ms)
dev=sim:size=48M,pattern=random,seed=14,precopy=off
for i in 1 2; do
	recv_dst -d $dev,faults=slow:64MB/s
	run 0 send -d $dev -t tcp:127.0.0.1:$port --max-bandwidth 1GB/s --switchover immediate -j
	wait $rpid || fail "recv failed"
	same_hashes
done
grep -q "^sim	sim size=50331648	.*stop-load=[1-9][0-9]\{6,\}	" "$XDG_STATE_HOME/vfio-migrate/history" ||
	fail "history: $(cat "$XDG_STATE_HOME/vfio-migrate/history")"
json 'j["bottleneck"] == "destination-load" and j["downtime"] > 700'
within 20

# (b) pre-copy with dirtying at 32 MiB/s under a 200 MB/s cap and the
# default limit: converges, and the estimate holds within 25% or 3 ms.
# The downtime here is 2-14 ms, and one run's figure moves by more than
# that on this shared 2-CPU machine by itself (20 runs: 4 of them off by
# 3-7 ms, either way; the median error 0.2 ms), so the medians of 7 runs
# are compared: a bias fails, a scheduling hiccup does not.  check=off:
# the simulator's per-page checking adds its own scheduling noise to the
# destination's load; the state hashes of both ends are still compared.
errs=""
for i in 1 2 3 4 5 6 7; do
	dev=sim:size=256M,pattern=fb,seed=13,check=off
	recv_dst -d $dev
	run 0 send -d $dev,dirty=32M/s -t tcp:127.0.0.1:$port --max-bandwidth 200MB/s -j
	wait $rpid || fail "recv failed"
	same_hashes
	json 'j["verdict"] == "ready" and j["expected-downtime"] <= 300'
	json 'j["ratio-source"] == "measured" and j["bandwidth-source"] in ("measured", "prior")'
	errs="$errs $(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%d/%d" % (j["expected-downtime-us"], j["downtime-us"]))' "$OUT")"
done
python3 -c '
import sys
runs = [tuple(map(int, x.split("/"))) for x in sys.argv[1:]]
e = sorted(r[0] for r in runs)[len(runs) // 2]
d = sorted(r[1] for r in runs)[len(runs) // 2]
sys.exit(0 if abs(e - d) <= max(0.25 * d, 3000) else 1)' $errs || fail "expected/measured downtime (us):$errs"

# a device dirtying faster than the link: stalled within 10 s, cancelled
# at the pre-copy timeout with the devices running on, and the limit the
# message recommends converges.  The remaining bytes hold at the device's
# size plus what the pipeline holds; 16M of buffers keep that well under
# the 25% over the first estimate that would read as diverging (64M of
# buffers came within 1% of it, and once over).  The recommendation is
# for the command that got it: the second run keeps its --memory (with
# 64M the pipeline holds 15-25 MB more, and the limit is missed)
dev=sim:size=64M,pattern=random,seed=14
recv_dst -d $dev
run 1 send -d $dev,dirty=256M/s -t tcp:127.0.0.1:$port --max-bandwidth 50MB/s --precopy-timeout 5 --interval 500 --memory 16M -j
wait $rpid && fail "recv succeeded after the source gave up"
stderr_has "did not converge: expected downtime"
stderr_has "> limit 300 ms, stalled for"
python3 - "$OUT" <<'PY' || fail "no 'stalled' progress record within 10 s"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"status": "active"')]
assert any(r["verdict"] == "stalled" and r["total-time"] <= 10000 for r in recs), recs[-1]
assert all("expected-downtime" in r and "remaining" in r for r in recs)
PY
limit=$(sed -n 's/.*a limit of \([0-9]*\) ms would converge now.*/\1/p' "$ERR")
grep -v '^{"status": "active"' "$OUT" >"$RJ" && cp "$RJ" "$OUT" # the report
json 'j["status"] == "failed" and j["devices"][0]["state"] == "running"'
recv_dst -d $dev
run 0 send -d $dev,dirty=256M/s -t tcp:127.0.0.1:$port --max-bandwidth 50MB/s --precopy-timeout 20 --memory 16M --downtime-limit "$limit" -j
wait $rpid || fail "recv failed with the recommended limit $limit"
json 'j["status"] == "completed" and j["expected-downtime"] <= '"$limit"

# the VMM's RAM counts; a garbage size report is flagged, not believed
dev=sim:size=4M,pattern=text,seed=15
recv_dst -d $dev,precopy=off
run 0 send -d $dev,sizes=huge,precopy=off -t tcp:127.0.0.1:$port --ram-pending 1G --switchover-bandwidth 100M/s --switchover immediate -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["expected-downtime"] >= 10240 and j["expected-downtime"] < 11000 and j["bandwidth-source"] == "given"'
json 'j["devices"][0]["size-report"] == "untrusted"'

# an idle pre-copy (nothing dirtied, RAM the VMM never moves) is nobody's
# silence: neither side times out at --timeout 1; the pre-copy timeout
# ends it, and the destination hears why
recv_dst -d $dev --timeout 1
run 1 send -d $dev -t tcp:127.0.0.1:$port --ram-pending 10G --switchover-bandwidth 1G/s --timeout 1 --precopy-timeout 4 -j
wait $rpid && fail "recv succeeded after the source gave up"
stderr_has "did not converge: expected downtime"
grep -q "source: did not converge" "$RE" || fail "recv: $(cat "$RE")"

# a driver whose initial data never ends (its PRECOPY_INFO keeps the first,
# plausible figure): cancelled at the timeout, whatever the policy
recv_dst -d $dev
run 1 send -d $dev,sizes=stale -t tcp:127.0.0.1:$port --switchover immediate --precopy-timeout 2 -j
wait $rpid && fail "recv succeeded after the source gave up"
stderr_has "device sim: its initial data did not end in 2 s (PRECOPY_INFO still reports"
json 'j["devices"][0]["state"] == "running"'

# an initial-bytes figure no device holds is garbage: the stream's end
# says when the initial data is done (kmod-shim's size-report=huge found it)
recv_dst -d $dev
run 0 send -d $dev,sizes=huge -t tcp:127.0.0.1:$port --switchover immediate --precopy-timeout 20 -j
wait $rpid || fail "recv failed"
same_hashes
json 'j["devices"][0]["size-report"] == "untrusted" and j["devices"][0]["precopy-bytes"] > 0'

run 2 send -d $dev -t tcp:127.0.0.1:1 --switchover later; stderr_has "--switchover: bad value 'later'"
run 2 send -d $dev -t tcp:127.0.0.1:1 --downtime-limit 0; stderr_has "--downtime-limit: '0' is outside 1 ms.."
# times take their unit, or keep the option's own
run 2 send -d $dev -t tcp:127.0.0.1:1 --precopy-timeout 0.5s; stderr_has "--precopy-timeout: '0.5s' is outside 1000 ms.."
run 2 send -d $dev -t tcp:127.0.0.1:1 --timeout 1fortnight; stderr_has "--timeout: bad time '1fortnight'"
run 2 save -d $dev -o /dev/null --downtime-limit 5; stderr_has "the switchover options apply to send only"
