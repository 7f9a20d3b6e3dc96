# -h, -V, usage errors and exit statuses of the tool and its commands.
. tests/integration/lib.sh

run 0 -h; stdout_has "Usage: vfio-migrate COMMAND"
run 0 --help; stdout_has "info"
run 0 -V; stdout_has "vfio-migrate 0.4.0 (libvfmig 0.4.0)"
run 2; stderr_has "Usage:"
run 2 frobnicate; stderr_has "unknown command 'frobnicate'"
run 0 info -h; stdout_has "pattern=P"; stdout_has "faults=F"
run 0 info -V; stdout_has "vfio-migrate 0.4.0"
run 0 demo -h; stdout_has "Usage: vfio-migrate demo"
run 2 info; stderr_has "no device given (-d DEV)"
run 2 info -d sim: -d sim:; stderr_has "one device at a time"
run 2 info -d sim: extra; stderr_has "unexpected argument 'extra'"
run 2 info --bogus
run 2 demo extra; stderr_has "unexpected argument 'extra'"
run 2 save -d sim: -o /tmp/x -c 2; stderr_has "save: -c does not apply: a file is one channel"
run 2 send -d sim: -o /tmp/x; stderr_has "send: -o does not apply"
run 2 send -d sim: -t file:/tmp/x; stderr_has "send: use 'save' for files"
run 2 send -d sim: -t tcp:h:1 -z lz4; stderr_has "-z: bad codec 'lz4'"
run 2 send -d sim: -t tcp:h:1 -z zstd:0; stderr_has "-z: bad codec 'zstd:0'"
run 2 send -d sim: -t tcp:h:1 --max-bandwidth 10MB; stderr_has "bad rate '10MB'"
run 2 send -d sim: -t tcp:h:1 --chunk 1K; stderr_has "--chunk: '1K' is outside 4K..16M"
run 2 send -t tcp:h:1; stderr_has "send: no device given (-d DEV)"
run 2 recv -d sim:; stderr_has "recv: no address given (-l)"
run 2 recv -d sim: -l tcp:h:1 -z zstd; stderr_has "-z applies to send and save"
run 0 send -h; stdout_has "--max-bandwidth R"
run 0 recv -h; stdout_has "--no-start"

# a mistyped address is a usage error that says what was meant
run 2 send -d sim: -t 127.0.0.1:7000
stderr_has "-t: '127.0.0.1:7000' is not an address (expected tcp:HOST:PORT, tcp:[IPv6]:PORT, unix:PATH or fd:N[,N...]): did you mean 'tcp:127.0.0.1:7000'?"
run 2 recv -d sim: -l /tmp/x.sock; stderr_has "did you mean 'unix:/tmp/x.sock'?"
run 2 send -d sim: -t tcp:h:99999; stderr_has "-t: bad address 'tcp:h:99999'"
# an unknown option: one line, the nearest option, where the help is
run 2 send -d sim: -t tcp:h:1 --max-bandwith 1G/s
stderr_has "send: unknown option '--max-bandwith'; did you mean '--max-bandwidth'? (try 'vfio-migrate send -h')"
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "more than one line for an unknown option"
run 2 recv -d sim: -l tcp::0 --timeout; stderr_has "recv: option '--timeout' needs a value"
run 2 info -d sim: -q; stderr_has "info: unknown option '-q' (try 'vfio-migrate info -h')"
run 2 sned; stderr_has "unknown command 'sned'; did you mean 'send'?"
# a failure leads with its error and shows what was measured, no zeros
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1
[ "$(sed -n 1p "$OUT")" = "status           failed" ] || fail "report: $(cat "$OUT")"
sed -n 2p "$OUT" | grep -q "^error            tcp:127.0.0.1:1: nobody is listening" || fail "report: $(cat "$OUT")"
grep -q "transferred\|expected downtime\|throughput" "$OUT" && fail "a failure shows zeros: $(cat "$OUT")"
grep -q "^total time (ms)  [1-9]" "$OUT" || fail "no elapsed time: $(cat "$OUT")"
stdout_has "state          running"
# ... and its JSON keeps the schema's fields
run 1 send -d sim:size=1M -t tcp:127.0.0.1:1 -j
json 'j["transferred"] == 0 and j["total-time"] >= 1 and "expected-downtime" in j'
