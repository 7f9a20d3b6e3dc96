#!/bin/sh
# Install (as root) or name (otherwise) the Debian packages the build, the
# tests and the demo need.  Quiet and fast when everything is there.
set -eu

PKGS="gcc g++ clang libclang-rt-14-dev cppcheck clang-tidy make pkg-config liburing-dev libzstd-dev libnl-3-dev \
libnl-genl-3-dev libnl-route-3-dev libcap-dev libcriterion-dev \
zstd netcat-openbsd python3 python3-jsonschema groff-base iproute2 gnuplot-nox \
qemu-system-x86 busybox-static cpio kmod xz-utils \
linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64 \
linux-headers-6.12-amd64 libgnutls28-dev gnutls-bin"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing, and no apt-get here" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# the VM test boots the kernel images directly: no initramfs to regenerate
export INITRD=No
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
