# vfio-migrate estimate: the model's figures, and its usage errors.
. tests/integration/lib.sh

run 0 estimate --ram-pending 0 --device-pending 1.91GiB --bandwidth 1GiB/s -j
json 'abs(j["expected-downtime"] - 1910) <= 1 and j["remaining"] == 2050846884'
json 'j["ratio-source"] == "assumed" and j["recommended-downtime-limit"] == 2110'

run 0 estimate --ram-pending 2G --ram-dirty-rate 100M/s --device-pending 16G,16G --bandwidth 10Gbit --ratio 0.25 --fixed-cost 50 -j
json 'j["expected-downtime"] == 8640 and j["ratio-source"] == "given" and len(j["devices"]) == 2'

# rates in the units operators use: a lower-case b is bits, B bytes;
# times with their unit, or a bare number in the option's own
for bw in 10Gbps 10Gb/s 10Gbit/s 1.25GB/s 1250MBps; do
	run 0 estimate --ram-pending 2G --ram-dirty-rate 100M/s --device-pending 16G,16G --bandwidth $bw --ratio 0.25 --fixed-cost 0.05s -j
	json 'j["expected-downtime"] == 8640 and j["bandwidth"] == 1250000000'
done
run 0 estimate --device-pending 100M --bandwidth 1Gb/s --downtime-limit 0.3s -j
json 'j["bandwidth"] == 125000000 and j["downtime-limit"] == 300'
run 0 estimate --device-pending 100M --bandwidth 1GB/s --downtime-limit 300 -j
json 'j["bandwidth"] == 1000000000 and j["downtime-limit"] == 300'
run 2 estimate --device-pending 1G --bandwidth 1Gb; stderr_has "bad rate '1Gb' (expected bits with a lower-case b"
run 2 estimate --device-pending 1G --bandwidth 1G/s --downtime-limit 3days
stderr_has "bad time '3days' (expected a number, or one with ms, s, m or h"

# dirtying faster than the link
run 0 estimate --ram-pending 1G --ram-dirty-rate 2G/s --bandwidth 1G/s -j
json 'j["verdict"] == "diverging"'
run 0 estimate --device-pending 100M --bandwidth 1G/s -j
json 'j["verdict"] == "ready"'

run 2 estimate --device-pending 1G; stderr_has "no --bandwidth given"
run 2 estimate --device-pending 1x --bandwidth 1G/s; stderr_has "bad size '1x'"
run 2 estimate --bandwidth 1G --device-pending 1G; stderr_has "bad rate '1G'"
run 2 estimate --bandwidth 1G/s --ratio 3; stderr_has "--ratio: bad value '3'"
run 0 estimate -h; stdout_has "--device-pending"
# one estimate over the limit is no trend: not "converging"
run 0 estimate --device-pending 1.91GiB --bandwidth 1GiB/s -j
json 'j["verdict"] == "over-limit" and j["expected-downtime"] > 6 * j["downtime-limit"]'
