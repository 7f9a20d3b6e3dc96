# TLS 1.3 channels: x509 and PSK credentials in QEMU's layouts, migrations
# with equal hashes, and every way a handshake must fail, with its message
# on both sides and the source's devices running on.
. tests/integration/lib.sh

command -v certtool >/dev/null 2>&1 ||
	{ echo "certtool is missing (Debian gnutls-bin: make deps)"; exit 77; }
C=$(mktemp -d)
trap 'rm -f "$OUT" "$ERR" "$RJ" "$RE"; rm -rf "$C"' EXIT

# --- credentials, made here: a CA, another CA, and certificates of each
key() { certtool --generate-privkey --key-type ecdsa --outfile "$1" 2>/dev/null || fail "certtool: $1"; }
# cert DIR NAME CA-DIR TEMPLATE-LINES...
cert() {
	dir=$1 name=$2 ca=$3; shift 3
	printf '%s\n' "$@" >"$C/t.info"
	key "$dir/$name-key.pem"
	certtool --generate-certificate --load-privkey "$dir/$name-key.pem" \
		--load-ca-certificate "$ca/ca-cert.pem" --load-ca-privkey "$ca/ca-key.pem" \
		--template "$C/t.info" --outfile "$dir/$name-cert.pem" >/dev/null 2>&1 ||
		fail "certtool: $dir/$name-cert.pem"
}
ca() {
	mkdir -p "$1"
	key "$1/ca-key.pem"
	printf '%s\n' 'cn = "vfio-migrate test CA"' ca cert_signing_key 'expiration_days = 30' >"$C/t.info"
	certtool --generate-self-signed --load-privkey "$1/ca-key.pem" --template "$C/t.info" \
		--outfile "$1/ca-cert.pem" >/dev/null 2>&1 || fail "certtool: $1 CA"
}
server='cn = "localhost"'
ca "$C/ca"
ca "$C/ca2"
for d in good expired badname other; do mkdir -p "$C/$d"; done
cp "$C/ca/ca-cert.pem" "$C/good/"
cert "$C/good" server "$C/ca" 'organization = "Example"' "$server" 'dns_name = "localhost"' \
	'ip_address = "127.0.0.1"' tls_www_server signing_key 'expiration_days = 30'
cert "$C/good" client "$C/ca" 'organization = "Example"' 'cn = "src1"' tls_www_client \
	signing_key 'expiration_days = 30'
# the same certificates, trusting another CA
cp "$C/good/"*-cert.pem "$C/good/"*-key.pem "$C/other/"
cp "$C/ca2/ca-cert.pem" "$C/other/"
# certificates of the right CA that expired in 2020
cp "$C/good/"* "$C/expired/"
for who in server client; do
	cert "$C/expired" $who "$C/ca" "$server" 'dns_name = "localhost"' 'ip_address = "127.0.0.1"' \
		tls_www_server tls_www_client signing_key \
		'activation_date = "2020-01-01 00:00:00"' 'expiration_date = "2020-02-01 00:00:00"'
done
hexkey() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
printf 'qemu:%s\nother:%s\n' "$(hexkey)" "$(hexkey)" >"$C/keys.psk"
printf 'qemu:%s\n' "$(hexkey)" >"$C/wrong.psk"
printf 'nobody:%s\n' "$(hexkey)" >"$C/stranger.psk"

# --- migrations over TLS

# x509, verified both ways: 3 devices, 3 channels, pre-copy, --tls-authz;
# a dry run over the same TLS first, on the same recv
recv_bg "$RJ" "$RE" -d sim:size=8M -d sim:size=4M -d sim:size=4M -j \
	--tls-creds "x509:$C/good" --tls-authz 'CN=nobody' --tls-authz 'CN=src*,O=Example'
run 0 send -d sim:size=8M -d sim:size=4M -d sim:size=4M -t tcp:127.0.0.1:$port -c 3 \
	--tls-creds "x509:$C/good" --dry-run -j
json 'j["status"] == "completed" and j["dry-run"] is True'
run 0 send -d sim:size=8M,pattern=fb,dirty=16M/s,seed=1 -d sim:size=4M,pattern=text,seed=2 \
	-d sim:size=4M,pattern=random,precopy=off,seed=3 -t tcp:127.0.0.1:$port -c 3 -j \
	--tls-creds "x509:$C/good"
wait $rpid || { cat "$RE"; fail "recv over x509 failed"; }
same_hashes
json 'j["channels"] == 3'

# PSK over a unix socket, 2 channels, the key of a named user
sock=$C/s.sock
: >"$RE"
"$T" recv -d sim:size=4M -d sim:size=2M -l unix:$sock -j --tls-creds "psk:$C/keys.psk" \
	--tls-authz other >"$RJ" 2>"$RE" &
wait_listening "$RE" $!
run 0 send -d sim:size=4M,pattern=fb,seed=4 -d sim:size=2M,pattern=random,seed=5 -t unix:$sock \
	-c 2 -j --tls-creds "psk:$C/keys.psk" --tls-username other
wait $! || { cat "$RE"; fail "recv over psk failed"; }
same_hashes

# x509 over unix: the name to check comes from --tls-hostname
: >"$RE"
"$T" recv -d sim:size=2M -l unix:$sock -j --tls-creds "x509:$C/good" >"$RJ" 2>"$RE" &
wait_listening "$RE" $!
run 0 send -d sim:size=2M,pattern=fb,seed=6 -t unix:$sock -j --tls-creds "x509:$C/good" \
	--tls-hostname localhost
wait $! || { cat "$RE"; fail "recv over x509 on unix failed"; }
same_hashes

# --- handshakes that must fail: both sides exit 1 and say why, the
# source's device runs on, and nothing was loaded at the destination

# pair 'RECV OPTIONS' 'SEND OPTIONS'
pair() {
	# shellcheck disable=SC2086
	recv_bg "$RJ" "$RE" -d sim:size=2M --timeout 5 -j $1
	# shellcheck disable=SC2086
	"$T" send -d sim:size=2M,pattern=fb,seed=9 -t tcp:127.0.0.1:$port --timeout 5 -j $2 \
		>"$OUT" 2>"$ERR"
	ss=$?
	wait $rpid
	rs=$?
	[ $ss -eq 1 ] || fail "send exited $ss, expected 1 ($2)"
	[ $rs -eq 1 ] || { cat "$RE"; fail "recv exited $rs, expected 1 ($1)"; }
	json 'j["status"] == "failed" and j["devices"][0]["state"] == "running"'
	rjson 'j["transferred"] == 0' ||
		fail "the destination accepted state from a refused peer"
}
recv_has() { grep -qF -- "$1" "$RE" || { echo "--- recv stderr"; cat "$RE"; fail "recv's stderr lacks '$1'"; }; }

# the source does not trust the destination's CA
pair "--tls-creds x509:$C/good" "--tls-creds x509:$C/other"
stderr_has "channel 0: TLS: the destination's certificate is refused: The certificate is NOT trusted. The certificate issuer is unknown."
recv_has "TLS: the source refused the handshake (alert 'Certificate is bad'): it refused this side's certificate"

# the destination does not trust the source's CA
pair "--tls-creds x509:$C/other" "--tls-creds x509:$C/good"
recv_has "TLS: the source's certificate is refused: The certificate is NOT trusted. The certificate issuer is unknown."
stderr_has "TLS: the destination refused the handshake (alert 'Certificate is bad'): it refused this side's certificate"

# an expired destination certificate, then an expired source certificate
pair "--tls-creds x509:$C/expired" "--tls-creds x509:$C/good"
stderr_has "TLS: the destination's certificate is refused: The certificate is NOT trusted. The certificate chain uses expired certificate."
pair "--tls-creds x509:$C/good" "--tls-creds x509:$C/expired"
recv_has "TLS: the source's certificate is refused: The certificate is NOT trusted. The certificate chain uses expired certificate."

# a certificate for another name
pair "--tls-creds x509:$C/good" "--tls-creds x509:$C/good --tls-hostname db.example.com"
stderr_has "TLS: the destination's certificate is refused: The certificate is NOT trusted. The name in the certificate does not match the expected."

# a client identity --tls-authz does not list
pair "--tls-creds x509:$C/good --tls-authz CN=src2,O=Example" "--tls-creds x509:$C/good"
recv_has "TLS: the source's certificate subject 'CN=src1,O=Example' is not allowed by --tls-authz"
stderr_has "the destination refused the session: TLS: the source's certificate subject 'CN=src1,O=Example' is not allowed by --tls-authz"

# a wrong PSK, and a username the destination has no key for
pair "--tls-creds psk:$C/keys.psk" "--tls-creds psk:$C/wrong.psk"
recv_has "TLS: the source's PSK key differs from this side's (psk:$C/keys.psk)"
stderr_has "TLS: the destination refused the handshake (alert 'Illegal parameter'): the two sides' PSK keys differ"
pair "--tls-creds psk:$C/keys.psk" "--tls-creds psk:$C/stranger.psk"
recv_has "TLS: the source's PSK username 'nobody' has no key in psk:$C/keys.psk"

# x509 against psk
pair "--tls-creds psk:$C/keys.psk" "--tls-creds x509:$C/good"
recv_has "TLS: the source offered no credentials of this side's kind (psk): both sides need x509, or both psk"

# plaintext against TLS, both ways: never a fallback
pair "--tls-creds x509:$C/good" ""
recv_has "TLS: the source speaks plaintext, and this destination requires TLS (give the source --tls-creds)"
stderr_has "the destination refused the session: this destination requires TLS: give the source --tls-creds"
pair "" "--tls-creds x509:$C/good"
stderr_has "TLS: the destination answered in plaintext: it does not use TLS (give it --tls-creds too)"
recv_has "(a TLS handshake: the source uses TLS; give this side --tls-creds too)"

# --- options and credentials checked before anything connects
run 1 send -d sim:size=1M -t unix:$sock --tls-creds "x509:$C/good"
stderr_has "TLS: give --tls-hostname, the name the destination's certificate carries (a unix: or fd: address names no host)"
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "x509:$C/nonexistent"
stderr_has "--tls-creds: x509:$C/nonexistent: ca-cert.pem: ENOENT (the layout is QEMU's"
run 1 recv -d sim:size=1M -l tcp:127.0.0.1:0 --tls-creds "x509:$C/ca"
stderr_has "--tls-creds: x509:$C/ca: server-cert.pem: ENOENT"
printf 'qemu:%s\nqemu-no-key\n' "$(hexkey)" >"$C/bad.psk"
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "psk:$C/bad.psk"
stderr_has "--tls-creds: $C/bad.psk line 2: expected username:hexkey"
printf 'qemu:00112233\n' >"$C/short.psk"
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "psk:$C/short.psk"
stderr_has "the key of 'qemu' is 4 bytes; at least 16 are needed"
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "psk:$C/keys.psk" --tls-username nobody
stderr_has "--tls-creds: psk:$C/keys.psk: no key for user 'nobody'"
run 2 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "pem:$C/good"
stderr_has "bad TLS credentials 'pem:$C/good' (expected x509:DIR or psk:FILE)"
run 2 save -d sim:size=1M -o "$C/state" --tls-creds "x509:$C/good"
stderr_has "save: --tls-creds applies to send and recv: a file is not encrypted"
run 2 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-hostname localhost
stderr_has "send: --tls-hostname needs --tls-creds"
run 2 send -d sim:size=1M -t tcp:127.0.0.1:1 --tls-creds "x509:$C/good" --tls-authz x
stderr_has "send: --tls-authz applies to recv only"
exit 0
