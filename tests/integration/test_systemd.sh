# systemd: recv reports readiness to $NOTIFY_SOCKET (READY=1, its port,
# its pid), takes the listening socket socket activation passes
# (-l systemd, and fd:3 itself), and refuses a -l systemd that was passed
# nothing with the reason.  With systemd-socket-activate present, the same
# through it; with systemd-analyze, the example units verify cleanly.
. tests/integration/lib.sh

D=/tmp/vfmig-sd-$$
mkdir -p $D
trap 'kill $npid 2>/dev/null; rm -rf "$OUT" "$ERR" "$RJ" "$RE" $D' EXIT
npid=
H=tests/integration/sd_helper.py

# notify_at SOCKET: a notify listener there, ready; its datagram in
# $D/notified once it came
notify_at() {
	rm -f $D/notified $D/notify
	: >$D/n.out
	python3 $H notify "$1" $D/notified >$D/n.out 2>&1 &
	npid=$!
	wait_for $D/n.out "^ready" $npid "the notify listener"
}
# notified PORT PID: the datagram said ready, where and who
notified() {
	wait $npid || fail "the notify listener failed: $(cat $D/n.out)"
	npid=
	grep -qx "READY=1" $D/notified || fail "no READY=1: $(cat $D/notified)"
	grep -qx "STATUS=listening on port $1" $D/notified || fail "no port $1: $(cat $D/notified)"
	grep -qx "MAINPID=$2" $D/notified || fail "not pid $2: $(cat $D/notified)"
}

# 1. readiness, to a socket path and to an abstract name
for sock in $D/notify "@vfmig-notify-$$"; do
	notify_at "$sock"
	NOTIFY_SOCKET=$sock recv_bg "$RJ" "$RE" -d sim:size=2M -j
	notified "$port" "$rpid"
	run 0 send -d sim:size=2M,pattern=text,seed=1 -t tcp:127.0.0.1:$port -j
	wait $rpid || fail "recv failed: $(cat "$RE")"
	same_hashes
done
# a bad NOTIFY_SOCKET is said, and the migration goes on
NOTIFY_SOCKET=relative/path recv_bg "$RJ" "$RE" -d sim:size=1M
run 0 send -d sim:size=1M -t tcp:127.0.0.1:$port
wait $rpid || fail "recv failed: $(cat "$RE")"
grep -q "cannot tell systemd it is ready: NOTIFY_SOCKET='relative/path' is not a unix socket path" "$RE" ||
	fail "the bad NOTIFY_SOCKET was not said: $(cat "$RE")"

# 2. socket activation as a .socket unit does it: fd 3, LISTEN_PID and
# LISTEN_FDS; the listening record gives the socket's port
activated() { # RECV_ARGS...: recv -l systemd under the helper
	rm -f $D/port
	: >"$RJ"
	: >"$RE"
	python3 $H activate $D/port "$T" recv -l systemd "$@" >"$RJ" 2>"$RE" &
	rpid=$!
	wait_for "$RE" "listening on port [0-9]+" $rpid recv
	port=$(cat $D/port)
}
activated -d sim:size=4M -d sim:size=2M -j
grep -q "listening on port $port" "$RE" || fail "recv listens elsewhere: $(cat "$RE")"
head -n 1 "$RJ" | grep -qF '"socket-address": [{"type": "inet", "host": "127.0.0.1", "port": "'$port'"}]' ||
	fail "the listening record: $(head -n 1 "$RJ")"
run 0 send -d sim:size=4M,pattern=fb,seed=2 -d sim:size=2M,pattern=random,seed=3 \
	-t tcp:127.0.0.1:$port -c 3 -j
wait $rpid || fail "recv on the passed socket failed: $(cat "$RE")"
same_hashes
rjson 'j["channels"] == 3'
# the same socket named as fd:3 (emptied here: the child's own truncation
# may come after our look)
rm -f $D/port
: >"$RJ"
: >"$RE"
python3 $H activate $D/port "$T" recv -l fd:3 -d sim:size=1M -j >"$RJ" 2>"$RE" &
rpid=$!
wait_for "$RE" "listening on port [0-9]+" $rpid recv
run 0 send -d sim:size=1M,seed=4 -t tcp:127.0.0.1:$(cat $D/port) -j
wait $rpid || fail "recv -l fd:3 on a listening socket failed: $(cat "$RE")"
same_hashes

# 3. -l systemd with nothing passed: a usage error that says so
run 2 recv -d sim:size=1M -l systemd
stderr_has "-l systemd: no socket was passed (LISTEN_PID and LISTEN_FDS are not set)"
LISTEN_PID=$$ LISTEN_FDS=1 "$T" recv -d sim:size=1M -l systemd >"$OUT" 2>"$ERR"
[ $? -eq 2 ] || fail "a LISTEN_PID of another process was taken"
stderr_has "is not this process"
sh -c 'LISTEN_PID=$$ LISTEN_FDS=2 exec "$0" recv -d sim:size=1M -l systemd' "$T" >"$OUT" 2>"$ERR"
[ $? -eq 2 ] || fail "two passed sockets were taken"
stderr_has "LISTEN_FDS=2: expected exactly one socket"
run 2 send -d sim:size=1M -t systemd
stderr_has "'systemd' is not an address"

# 4. systemd's own tool, where it is installed
if command -v systemd-socket-activate >/dev/null; then
	p=$(free_port)
	notify_at $D/notify
	: >"$RJ"
	: >"$RE"
	NOTIFY_SOCKET=$D/notify systemd-socket-activate -l 127.0.0.1:$p \
		-E NOTIFY_SOCKET "$T" recv -l systemd -d sim:size=2M -j >"$RJ" 2>"$RE" &
	apid=$!
	wait_for "$RE" "Listening on 127.0.0.1:$p" $apid systemd-socket-activate
	# its child starts at the first connection: this one
	run 0 send -d sim:size=2M,pattern=text,seed=5 -t tcp:127.0.0.1:$p -j
	wait $apid || fail "recv under systemd-socket-activate failed: $(cat "$RE")"
	same_hashes
	wait $npid || fail "no readiness under systemd-socket-activate"
	npid=
	grep -qx "STATUS=listening on port $p" $D/notified || fail "readiness: $(cat $D/notified)"
else
	echo "systemd-socket-activate missing: its case skipped"
fi

# 5. the example units verify (systemd-analyze, offline)
if command -v systemd-analyze >/dev/null; then
	for u in socket service; do
		sed "s|/usr/bin/vfio-migrate|$(readlink -f "$T")|; s|^EnvironmentFile=|EnvironmentFile=-|" \
			"Documentation/examples/systemd/vfio-migrate-recv@.$u" >"$D/vfio-migrate-recv@7000.$u"
	done
	systemd-analyze verify --man=no "$D/vfio-migrate-recv@7000.socket" \
		"$D/vfio-migrate-recv@7000.service" >$D/verify 2>&1 || fail "systemd-analyze verify: $(cat $D/verify)"
	[ ! -s $D/verify ] || fail "systemd-analyze verify warns: $(cat $D/verify)"
else
	echo "systemd-analyze missing: the units are not verified"
fi
exit 0
