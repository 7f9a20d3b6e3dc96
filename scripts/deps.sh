#!/bin/sh
# deps.sh [build|bench|check]: install (as root) or name (otherwise) the
# Debian packages that the build and make demo (build), make bench (bench)
# or every test (check, the default: qemu and two kernels for the VM test
# among them, about 700 MB) need.  Quiet and fast when everything is there.
set -eu

BUILD="gcc make pkg-config liburing-dev libzstd-dev libnl-3-dev \
libnl-genl-3-dev libnl-route-3-dev libcap-dev libgnutls28-dev"
BENCH="$BUILD zstd netcat-openbsd python3 gnuplot-nox gnutls-bin libisal2"
CHECK="$BENCH g++ clang libclang-rt-14-dev cppcheck clang-tidy \
libcriterion-dev python3-jsonschema python3-prometheus-client systemd groff-base \
iproute2 abigail-tools build-essential dpkg-dev debhelper lintian \
qemu-system-x86 busybox-static cpio kmod xz-utils \
linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64 \
linux-headers-6.12-amd64"
case ${1:-check} in
build) PKGS=$BUILD ;;
bench) PKGS=$BENCH ;;
check) PKGS=$CHECK ;;
*) echo "usage: deps.sh [build|bench|check]" >&2; exit 2 ;;
esac

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
