# The link speed prior: a veth pair between two network namespaces made
# here; the source names the egress interface and its speed (veth reports
# 10000 Mb/s through ethtool netlink).  Loopback has no prior.
. tests/integration/lib.sh

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
	echo "skip: network namespaces need root and iproute2"
	exit 77
fi
a=vfmiga$$ b=vfmigb$$
cleanup() {
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
	rm -f "$OUT" "$ERR" "$RJ" "$RE"
}
trap cleanup EXIT
if ! ip netns add "$a" 2>"$ERR" || ! ip netns add "$b" 2>>"$ERR"; then
	echo "skip: cannot make network namespaces: $(cat "$ERR")"
	exit 77
fi
ip link add va$$ netns "$a" type veth peer name vb$$ netns "$b" ||
	fail "cannot make a veth pair"
ip -n "$a" addr add 10.233.0.1/24 dev va$$
ip -n "$b" addr add 10.233.0.2/24 dev vb$$
for ns in "$a" "$b"; do
	ip -n "$ns" link set lo up
done
ip -n "$a" link set va$$ up
ip -n "$b" link set vb$$ up

dev=sim:size=4M,pattern=fb,seed=21
: >"$RE"
ip netns exec "$b" "$T" recv -d $dev -l tcp:10.233.0.2:7400 -j >"$RJ" 2>"$RE" &
rpid=$!
wait_listening "$RE" $rpid
ip netns exec "$a" "$T" send -d $dev -t tcp:10.233.0.2:7400 -j >"$OUT" 2>"$ERR" ||
	fail "send over the veth pair failed"
wait $rpid || fail "recv failed: $(cat "$RE")"
same_hashes
json 'j["link"]["name"] == "va'$$'" and j["link"]["speed"] == 10000000000'

# loopback: measured, no link prior
recv_bg "$RJ" "$RE" -d $dev -j
run 0 send -d $dev -t tcp:127.0.0.1:$port -j
wait $rpid || fail "recv failed"
json '"link" not in j'
