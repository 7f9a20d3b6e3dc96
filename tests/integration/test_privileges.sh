# Least privilege: once its devices, sockets and files are open the tool
# holds no capability at all, before the first byte from the network is
# read (send's sockets and recv's listener get their big buffers first);
# no_new_privs is set, -v says so, and permission errors say what to
# change.
. tests/integration/lib.sh
. tests/integration/faults.sh

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: needs root and setpriv (util-linux) to compare privileged and unprivileged runs"
	exit 77
fi
# caps PID: "CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs" of a process
caps() {
	awk '/^Cap(Prm|Eff|Inh|Bnd|Amb)|^NoNewPrivs/ {printf "%s ", $2}' /proc/$1/status
}
# held_only PID MASK: every capability set is MASK (hex) or empty, and
# no_new_privs is on
held_only() {
	set -- $(caps $1) $2
	python3 - "$@" <<'PY' || fail "capabilities left: $*"
import sys
inh, prm, eff, bnd, amb, nnp, mask = sys.argv[1:]
m = int(mask)
assert int(prm, 16) == m and int(eff, 16) == m, (prm, eff)
assert int(inh, 16) == 0 and int(amb, 16) == 0, (inh, amb)
assert int(bnd, 16) == m, bnd
assert nnp == "1", nnp
PY
}

# recv: nothing held while it listens (its listener has the buffers its
# channels inherit), and the buffers are there
recv_bg "$RJ" "$RE" -d sim:size=32M -v -j
held_only $rpid 0
grep -qF "privileges: dropped all" "$RE" || fail "recv -v: $(cat "$RE")"
grep -q "privileges: kept" "$RE" && fail "recv -v kept something: $(cat "$RE")"
# send: nothing held while its stream runs
: >"$OUT"
"$T" send -d sim:size=32M,pattern=random,faults=slow:32M/s -t tcp:127.0.0.1:$port -v -j \
	--interval 50 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"transferred": [1-9]' $spid send
held_only $spid 0
grep -q "privileges: kept" "$ERR" && fail "send -v kept something: $(cat "$ERR")"
wait $spid || fail "send failed"
wait $rpid || fail "recv failed"
same_hashes

# send: nothing held once connected and waiting for the destination's
# first answer (a relay that never passes it on)
recv_bg "$RJ" "$RE" -d sim:size=1M -j
start_relay stall 0 t0
: >"$ERR"
"$T" send -d sim:size=1M -t tcp:127.0.0.1:$rport -v -j --timeout 10 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$RELAY_OUT" "^triggered" $relay relay.py
held_only $spid 0
# the buffers above the sysctl cap were had all the same: send's socket
# was made before the drop, recv's channel inherits its listener's
if [ "$(cat /proc/sys/net/core/wmem_max)" -lt $((8 << 20)) ] && command -v ss >/dev/null; then
	ss -tmn state established "( dport = :$rport or sport = :$port )" |
		grep -o 'tb[0-9]*' | sed 's/tb//' >"$RE.bufs"
	[ "$(wc -l <"$RE.bufs")" -eq 2 ] ||
		fail "ss shows $(wc -l <"$RE.bufs") of the 2 channel sockets"
	while read -r b; do
		[ "$b" -gt "$(cat /proc/sys/net/core/wmem_max)" ] ||
			fail "a channel's send buffer is $b, within net.core.wmem_max"
	done <"$RE.bufs"
	rm -f "$RE.bufs"
fi
kill $spid
wait $spid
kill $relay $rpid
wait $relay $rpid 2>/dev/null
relay=

# save and load: the file is open before anything is dropped, so root
# still writes where only CAP_DAC_OVERRIDE lets it, and keeps nothing
d=$(mktemp -d)
chown nobody "$d" && chmod 700 "$d"
run 0 save -d sim:size=1M,pattern=random,seed=4 -o "$d/state" -v
stderr_has "privileges: dropped all"
stderr_has "no_new_privs set"
run 0 load -d sim:size=1M -i "$d/state" -v -j
json 'j["status"] == "completed"'
stderr_has "privileges: dropped all"
rm -rf "$d"

# without root: nothing held, nothing to drop, and the migration works
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$T" "$@"; }
nobody save -d sim:size=1M -o /tmp/vfmig-priv-$$.st -v >"$OUT" 2>"$ERR" || fail "unprivileged save failed"
stderr_has "privileges: no capabilities held; no_new_privs set"
rm -f /tmp/vfmig-priv-$$.st

# permission errors name the file and the missing right, and the fix
nobody save -d sim:size=1M -o /root/vfmig-priv.st >"$OUT" 2>"$ERR" && fail "save into /root as nobody"
stderr_has "cannot create /root/vfmig-priv.st: Permission denied (no write permission on the file or its directory for this user"
f=$(mktemp) && chmod 600 "$f"
nobody load -d sim:size=1M -i "$f" >"$OUT" 2>"$ERR" && fail "load of a 0600 root file as nobody"
stderr_has "cannot open $f: Permission denied (no read permission for this user"
rm -f "$f"
nobody recv -d sim:size=1M -l tcp:127.0.0.1:80 >"$OUT" 2>"$ERR" && fail "recv on port 80 as nobody"
stderr_has "tcp:127.0.0.1:80: cannot listen: EACCES (ports below net.ipv4.ip_unprivileged_port_start need CAP_NET_BIND_SERVICE"
nobody recv -d sim:size=1M -l unix:/root/vfmig.sock >"$OUT" 2>"$ERR" && fail "recv in /root as nobody"
stderr_has "cannot listen: EACCES (no write permission on the socket's directory"
true
