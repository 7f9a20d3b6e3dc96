# Least privilege: once its devices, sockets and files are open the tool
# holds no capability it does not need (CAP_NET_ADMIN only while channels
# are still to come and want buffers above the sysctl caps), no_new_privs
# is set, -v says so, and permission errors say what to change.
. tests/integration/lib.sh

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: needs root and setpriv (util-linux) to compare privileged and unprivileged runs"
	exit 77
fi
NET_ADMIN=$((1 << 12))
want_net_admin=$(python3 -c '
w, r = (int(open("/proc/sys/net/core/%s" % f).read()) for f in ("wmem_max", "rmem_max"))
print(1 if min(w, r) < 8 << 20 else 0)')

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

# recv: listening, then dropped; CAP_NET_ADMIN kept only if accepted
# channels will want more buffer than net.core.[rw]mem_max allows
recv_bg "$RJ" "$RE" -d sim:size=32M -v -j
if [ "$want_net_admin" = 1 ]; then
	held_only $rpid $NET_ADMIN
	grep -qF "privileges: kept CAP_NET_ADMIN (socket buffers of 8 MiB for channels not open yet, above net.core.wmem_max=" "$RE" ||
		fail "recv -v: $(cat "$RE")"
	grep "privileges: kept" "$RE" | grep -q "dropped.*cap_net_admin" &&
		fail "recv -v lists what it kept as dropped: $(cat "$RE")"
else
	held_only $rpid 0
	grep -qF "privileges: dropped all" "$RE" || fail "recv -v: $(cat "$RE")"
fi
# send, while its stream runs: the same rule
: >"$OUT"
"$T" send -d sim:size=32M,pattern=random,faults=slow:32M/s -t tcp:127.0.0.1:$port -v -j \
	--interval 50 >"$OUT" 2>"$ERR" &
spid=$!
wait_for "$OUT" '"transferred": [1-9]' $spid send
held_only $spid $((want_net_admin ? NET_ADMIN : 0))
wait $spid || fail "send failed"
wait $rpid || fail "recv failed"
same_hashes

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
