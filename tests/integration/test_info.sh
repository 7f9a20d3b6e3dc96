# vfio-migrate info on sim devices: text, JSON, bad specs, missing devices.
. tests/integration/lib.sh

run 0 info -d sim:size=64M,pattern=fb -j
json 'j["name"] == "sim" and j["backend"] == "sim" and j["state"] == "running"'
json 'j["migration-flags"] == ["stop-copy", "p2p", "pre-copy"]'
# 64 MiB of pages, the header, one record per 256 pages, the END record
json 'j["stopcopy-bytes"] == 64 + 64*2**20 + 64*32 + 32'
json 'len(j["state-hash"]) == 16'

run 0 info -d sim:size=64M,pattern=fb,precopy=off,p2p=off,name=gpu0 -j
json 'j["name"] == "gpu0" and j["migration-flags"] == ["stop-copy"]'

# the same fields as text
run 0 info -d sim:size=1M,name=nic1
stdout_has "device           nic1"
stdout_has "migration        stop-copy p2p pre-copy"
stdout_has "stop-copy size   1048704 bytes (1.0 MiB)"

# garbage size reports are shown as reported, not crashed on
run 0 info -d sim:size=1M,sizes=huge -j
json 'j["stopcopy-bytes"] == 2**64 - 1'

# the same seed gives the same state, another seed another
run 0 info -d sim:size=4M,seed=5 -j
h1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state-hash"])' "$OUT")
run 0 info -d sim:size=4M,seed=5 -j
json "j['state-hash'] == '$h1'"
run 0 info -d sim:size=4M,seed=6 -j
json "j['state-hash'] != '$h1'"

# bad specs: exit 2, the bad part quoted
run 2 info -d sim:size=64Q; stderr_has "'64Q'"
run 2 info -d sim:colour=red; stderr_has "unknown key 'colour'"
run 2 info -d sim:pattern=plaid; stderr_has "bad pattern 'plaid'"
run 2 info -d pci:zz; stderr_has "bad PCI address 'zz'"
run 2 info -d gpu0; stderr_has "bad device 'gpu0'"

# devices that are not there: exit 1, the path named
VFMIG_SYSFS_ROOT=/nonexistent run 1 info -d pci:0000:3b:00.1
stderr_has "pci 0000:3b:00.1: no such device (/nonexistent/bus/pci/devices/0000:3b:00.1: ENOENT)"
run 1 info -d mdev:c0ffee00-0000-0000-0000-000000000000
stderr_has "no such device"
run 1 info -d fd:987; stderr_has "device fd 987: EBADF"
