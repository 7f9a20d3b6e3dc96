#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/manycore.sh: how the pipeline scales with cores, both ends on one
# many-core machine over loopback TCP.  The source is pinned to CPUs
# 0..P-1 and the destination to H..H+P-1 (H: half the CPUs), with
# -c max(2,P) --workers P, for P in 1 2 4 8 ... up to H; beside it, on the
# same bytes and the same CPUs, zstd -1 -TP | nc | zstd -d and cat | nc.
# Prints a table of medians (GB/s of raw device bytes) and the scaling
# efficiency rate(P) / (P x rate(1)).
#
#   bench/manycore.sh [-p "1 2 4 8"] [-n DEVICES] [-s SIZE] [-r RUNS]
#
# Needs: the built tool (or VFIO_MIGRATE=path), taskset, zstd, nc
# (netcat-openbsd).  ../shared/tools/pack-for-device.sh packs them for a
# machine without packages.  Documentation/performance.md has the figures.
set -eu

T=${VFIO_MIGRATE:-tools/vfio-migrate/vfio-migrate}
PS="" NDEV=4 SIZE=512M RUNS=3
while getopts p:n:s:r:h o; do
	case $o in
	p) PS=$OPTARG ;;
	n) NDEV=$OPTARG ;;
	s) SIZE=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) sed -n '3,16s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
for cmd in "$T" taskset zstd nc; do
	command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] ||
		{ echo "manycore: $cmd not found" >&2; exit 2; }
done
NCPU=$(nproc --all)
H=$((NCPU / 2))
if [ -z "$PS" ]; then
	p=1
	while [ $p -le $H ]; do PS="$PS $p"; p=$((p * 2)); done
fi
TMP=$(mktemp -d /dev/shm/manycore.XXXXXX 2>/dev/null || mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT INT TERM

# cpus FIRST P: "FIRST-LAST" for taskset
cpus() { echo "$1-$(($1 + $2 - 1))"; }

devs() { # devs PATTERN: the -d options of the NDEV devices
	i=0
	while [ $i -lt "$NDEV" ]; do
		printf ' -d sim:size=%s,pattern=%s,seed=%d,check=off,precopy=off,name=d%d' \
			"$SIZE" "$1" $((i + 1)) $i
		i=$((i + 1))
	done
}
SRC_DEVS=$(devs fb)
DST_DEVS=$(devs zero)

# wait_line FILE ERE PID: until FILE has a line matching ERE (30 s)
wait_line() {
	n=0
	until grep -qE "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || { echo "manycore: ended early: $(tail -n 3 "$1")" >&2; exit 1; }
		n=$((n + 1))
		[ $n -lt 1500 ] || { echo "manycore: no '$2' in 30 s" >&2; exit 1; }
		sleep 0.02
	done
}

# json_num FILE KEY: the first number KEY has in a report
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n 1; }

# ours P CODEC: one migration, its GB/s (raw bytes / total time)
ours() {
	: >"$TMP/r.err"
	# shellcheck disable=SC2086
	taskset -c "$(cpus $H "$1")" "$T" recv $DST_DEVS -l tcp:127.0.0.1:0 \
		--workers "$1" --memory 256M -j >"$TMP/r.json" 2>"$TMP/r.err" &
	rpid=$!
	wait_line "$TMP/r.err" "listening on port [0-9]+" $rpid
	port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$TMP/r.err" | head -n 1)
	c=$(($1 < 2 ? 2 : $1))
	# shellcheck disable=SC2086
	taskset -c "$(cpus 0 "$1")" "$T" send $SRC_DEVS -t "tcp:127.0.0.1:$port" \
		-c $c --workers "$1" -z "$2" --memory 256M -j >"$TMP/s.json" ||
		{ echo "manycore: send failed" >&2; exit 1; }
	wait $rpid || { echo "manycore: recv failed: $(tail -n 3 "$TMP/r.err")" >&2; exit 1; }
	awk -v b="$(json_num "$TMP/s.json" transferred)" \
		-v ms="$(json_num "$TMP/s.json" total-time)" \
		'BEGIN { printf "%.3f\n", b / ms / 1e6 }'
}

# pipeline P COMPRESS: zstd -1 -TP | nc | zstd -d, or cat | nc, GB/s
pipeline() {
	port=$((20000 + $$ % 20000))
	if [ "$2" = yes ]; then
		taskset -c "$(cpus $H "$1")" sh -c "nc -l 127.0.0.1 $port | zstd -q -d -c >/dev/null" &
	else
		taskset -c "$(cpus $H "$1")" sh -c "nc -l 127.0.0.1 $port >/dev/null" &
	fi
	rpid=$!
	n=0
	until grep -q ":$(printf %04X $port) 00000000:0000 0A" /proc/net/tcp; do
		n=$((n + 1)); [ $n -lt 1500 ] || { echo "manycore: nc did not listen" >&2; exit 1; }
		sleep 0.02
	done
	t0=$(date +%s%N)
	if [ "$2" = yes ]; then
		taskset -c "$(cpus 0 "$1")" sh -c "zstd -q -1 -T$1 -c <'$TMP/raw' | nc -N 127.0.0.1 $port"
	else
		taskset -c "$(cpus 0 "$1")" sh -c "cat '$TMP/raw' | nc -N 127.0.0.1 $port"
	fi
	wait $rpid
	t1=$(date +%s%N)
	awk -v b="$(stat -c %s "$TMP/raw")" -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.3f\n", b / ns }'
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# the same bytes for the shell pipelines: the devices' uncompressed stream
# shellcheck disable=SC2086
"$T" save $SRC_DEVS -o "$TMP/raw" -z none >/dev/null

echo "manycore: $NCPU CPUs, $NDEV x $SIZE fb over loopback TCP; send on CPUs 0.., recv on $H..; medians of $RUNS" >&2
printf '%-3s %10s %10s %10s %10s %9s %9s %9s\n' P "auto GB/s" "none GB/s" "naive" "cat|nc" "auto/nv" "eff auto" "eff none"
for P in $PS; do
	[ "$P" -le $H ] || continue
	a="" z="" nv="" cn=""
	r=0
	while [ $r -lt "$RUNS" ]; do
		a="$a $(ours "$P" auto)"
		z="$z $(ours "$P" none)"
		nv="$nv $(pipeline "$P" yes)"
		cn="$cn $(pipeline "$P" no)"
		r=$((r + 1))
	done
	a=$(echo "$a" | median) z=$(echo "$z" | median)
	nv=$(echo "$nv" | median) cn=$(echo "$cn" | median)
	[ -n "${a1:-}" ] || { a1=$a z1=$z p1=$P; }
	awk -v P="$P" -v a="$a" -v z="$z" -v nv="$nv" -v cn="$cn" \
		-v a1="$a1" -v z1="$z1" -v p1="$p1" 'BEGIN {
		printf "%-3s %10.2f %10.2f %10.2f %10.2f %8.2fx %8.0f%% %8.0f%%\n",
			P, a, z, nv, cn, a / nv, 100 * a * p1 / (a1 * P),
			100 * z * p1 / (z1 * P) }'
done
echo "eff: rate(P) / (P x rate(first P)); naive: zstd -1 -TP | nc | zstd -d; auto/nv: ours (-z auto) / naive" >&2
