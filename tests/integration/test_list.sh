# vfio-migrate list on a fake sysfs tree (VFMIG_SYSFS_ROOT, VFMIG_DEV_ROOT):
# the PCI functions bound to a vfio driver and the bound mdevs are listed,
# sorted, with driver, mdev type, group and cdev nodes; a function bound to
# another driver, or to none, is not.  None of them opens here (no vfio),
# so each says why.  The VM test lists real vfio_shim devices (flags,
# stop-copy size, access, busy).
. tests/integration/lib.sh

R=/tmp/vfmig-list-$$
trap 'rm -rf "$OUT" "$ERR" "$RJ" "$RE" $R' EXIT
S=$R/sys
UUID=83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
mkdir -p $S/bus/pci/drivers/mlx5_vfio_pci $S/bus/pci/drivers/vfio-pci \
	$S/bus/pci/drivers/i915 $S/bus/mdev/drivers/vfio_mdev \
	$S/devices/mtty/mdev_supported_types/mtty-2 $R/dev/vfio
pci() { # BDF DRIVER|- GROUP|- CDEV|-
	d=$S/bus/pci/devices/$1
	mkdir -p $d
	[ "$2" = - ] || ln -s ../../drivers/$2 $d/driver
	[ "$3" = - ] || { mkdir -p $S/kernel/iommu_groups/$3; ln -s ../../../../kernel/iommu_groups/$3 $d/iommu_group; }
	[ "$4" = - ] || mkdir -p $d/vfio-dev/$4
}
pci 0000:3b:00.1 mlx5_vfio_pci 12 vfio0
pci 0000:01:00.0 vfio-pci 7 -
pci 0000:00:02.0 i915 3 -
pci 0000:3b:00.2 - - -
d=$S/bus/mdev/devices/$UUID
mkdir -p $d $S/kernel/iommu_groups/13
ln -s ../../drivers/vfio_mdev $d/driver
ln -s ../../../../devices/mtty/mdev_supported_types/mtty-2 $d/mdev_type
ln -s ../../../../kernel/iommu_groups/13 $d/iommu_group
export VFMIG_SYSFS_ROOT=$S VFMIG_DEV_ROOT=$R/dev

run 0 list -j
python3 - "$OUT" "$R" "$UUID" <<'PY' || fail "list -j"
import json, sys
j = json.load(open(sys.argv[1]))
r, uuid = sys.argv[2], sys.argv[3]
devs = j["devices"]
assert [d["device"] for d in devs] == ["mdev:" + uuid, "pci:0000:01:00.0", "pci:0000:3b:00.1"], devs
m, p7, p12 = devs
assert m["driver"] == "vfio_mdev" and m["mdev-type"] == "mtty-2" and m["group"] == r + "/dev/vfio/13"
assert p7["driver"] == "vfio-pci" and p7["group"] == r + "/dev/vfio/7" and "cdev" not in p7
assert p12["driver"] == "mlx5_vfio_pci" and p12["cdev"] == r + "/dev/vfio/devices/vfio0"
for d in devs:
    assert d["access"] == "no" and "ENOENT" in d["error"], d
    assert "migration-flags" not in d
PY
run 0 list
stdout_has "device           pci:0000:3b:00.1"
stdout_has "  driver         mlx5_vfio_pci"
stdout_has "  why            pci 0000:3b:00.1: cannot open $R/dev/vfio/devices/vfio0: ENOENT"

# nothing there: an empty list, and in text a note that says where it looked
VFMIG_SYSFS_ROOT=$R/nowhere run 0 list -j
json 'j == {"devices": []}'
VFMIG_SYSFS_ROOT=$R/nowhere run 0 list
stderr_has "no VFIO device that supports migration here ($R/nowhere/bus/{pci,mdev}/devices)"

run 2 list --colour
stderr_has "--colour"
run 2 list pci:0000:3b:00.1
stderr_has "list: unexpected argument 'pci:0000:3b:00.1'"
echo "ok: list on a fake tree"
