#!/bin/sh
# The VM test: for every kernel with headers and an image here, build
# vfio_shim.ko, pack an initramfs (busybox, the kernel's vfio modules, ours,
# vfio-migrate and its libraries, guest-test.sh), boot it under
# qemu-system-x86_64 -accel tcg (KVM here is PVM and hangs guests), and read
# the results from the second serial port.  Exit 77 (skip) without qemu or
# kernels, naming what is missing.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOOL=$ROOT/tools/vfio-migrate/vfio-migrate
UAPI=$ROOT/build/obj/tests/vm/shim-uapi
TOY=$ROOT/build/example/toy-vmm # make example: against the installed library
OUT=${VM_OUT:-$ROOT/build/vm}

for c in qemu-system-x86_64 busybox cpio xz; do
	command -v $c >/dev/null || { echo "skip: $c is not installed (make deps)"; exit 77; }
done
kvers=$(make -s -C kmod-shim list)
[ -n "$kvers" ] || { echo "skip: no linux-headers-*-amd64 installed (make deps)"; exit 77; }

# boot DIR VMLINUZ: run the guest until it powers off (or 180 s)
boot() {
	# slub_debug poisons freed objects: a use-after-free in the module
	# oopses instead of passing silently
	timeout 180 qemu-system-x86_64 -accel tcg -m 1536 -smp 2 -display none \
		-no-reboot -kernel "$2" -initrd "$1/initrd.gz" \
		-serial file:"$1/console.log" -serial file:"$1/result.txt" \
		-append "console=ttyS0 panic=-1 quiet slub_debug=FZP" </dev/null >"$1/qemu.log" 2>&1
}

fails=0 ran=0
for kver in $kvers; do
	vmlinuz=/boot/vmlinuz-$kver
	if [ ! -r "$vmlinuz" ]; then
		echo "VM $kver: SKIP (no $vmlinuz)"
		continue
	fi
	w=$OUT/$kver
	rm -rf "$w" && mkdir -p "$w/kmod" "$w/root/bin" "$w/root/mods" "$w/root/lib64" \
		"$w/root/lib/x86_64-linux-gnu" "$w/root/proc" "$w/root/sys" "$w/root/dev"
	cp kmod-shim/vfio_shim.c kmod-shim/vfio_shim_nl.h kmod-shim/Kbuild kmod-shim/Makefile "$w/kmod/"
	if ! make -s -C "$w/kmod" KVER="$kver" >"$w/kmod.log" 2>&1; then
		echo "VM $kver: FAIL (module build)"; sed 's/^/    /' "$w/kmod.log"
		fails=$((fails + 1)); continue
	fi
	cp "$w/kmod/vfio_shim.ko" "$w/root/mods/"
	for m in vfio vfio_iommu_type1 mdev/mdev; do
		f=$(ls /lib/modules/"$kver"/kernel/drivers/vfio/$m.ko* | head -n 1)
		case $f in
		*.xz) xz -dc "$f" ;;
		*) cat "$f" ;;
		esac >"$w/root/mods/$(basename $m).ko"
	done
	cp "$(command -v busybox)" "$w/root/bin/busybox"
	cp "$TOOL" "$w/root/bin/vfio-migrate"
	cp "$UAPI" "$w/root/bin/shim-uapi"
	cp "$TOY" "$w/root/bin/toy-vmm"
	# the tool's shared libraries and the loader, where ldd finds them
	ldd "$TOOL" "$TOY" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' |
		while read -r lib; do
			mkdir -p "$w/root$(dirname "$lib")"
			cp -L "$lib" "$w/root$lib"
		done
	cp tests/vm/init "$w/root/init"
	cp tests/vm/guest-test.sh "$w/root/guest-test.sh"
	chmod +x "$w/root/init"
	(cd "$w/root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$w/initrd.gz"
	start=$(date +%s)
	boot "$w" "$vmlinuz"
	rc=$?
	# TCG has crashed a guest kernel while it booted (an int3 Oops in
	# text patching, on 6.12), and once hung one silently for the whole
	# 180 s (6.1, a loaded 2-CPU host): before init ran (its first act is
	# the KERNEL line), nothing of ours is in play, so boot once more,
	# and say so
	oops=$(grep -m 1 -E 'Oops|Kernel panic|BUG:' "$w/console.log")
	[ -n "$oops" ] || [ $rc -ne 124 ] || oops="no output in 180 s"
	if ! grep -q '^KERNEL ' "$w/result.txt" && [ -n "$oops" ]; then
		echo "VM $kver: the guest kernel failed before init ran ($(echo "$oops" | tr -d '\r' | cut -c 1-100)); booting it again"
		mv "$w/console.log" "$w/console.first.log"
		boot "$w" "$vmlinuz"
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	ran=$((ran + 1))
	tr -d '\r' <"$w/result.txt" >"$w/result.clean"
	# every FAIL line counts, whoever printed it (shim-uapi prints its own)
	if [ $rc -ne 0 ] || ! grep -q '^EXIT=0$' "$w/result.clean" ||
		grep -q '^RESULT [^ ]* FAIL' "$w/result.clean"; then
		echo "VM $kver: FAIL (qemu exit $rc, ${secs}s)"
		# the failed checks first: the tail below may not reach them
		grep '^RESULT [^ ]* FAIL' "$w/result.clean" | sed 's/^/    /'
		sed 's/^/    /' "$w/result.clean" | tail -n 40
		[ -s "$w/qemu.log" ] && sed 's/^/    qemu: /' "$w/qemu.log" | tail -n 5
		fails=$((fails + 1))
	else
		echo "VM $kver: PASS ($(grep -c '^RESULT .* PASS' "$w/result.clean") checks, ${secs}s)"
		sed -n 's/^TIME /    /p; s/^RESULT \([^ ]*\) INFO /    \1: /p' "$w/result.clean"
	fi
done
[ $ran -gt 0 ] || { echo "skip: no kernel image to boot"; exit 77; }
[ $fails -eq 0 ]
