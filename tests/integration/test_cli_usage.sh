# -h, -V, usage errors and exit statuses of the tool and its commands.
. tests/integration/lib.sh

run 0 -h; stdout_has "Usage: vfio-migrate COMMAND"
run 0 --help; stdout_has "info"
run 0 -V; stdout_has "vfio-migrate 0.1.0 (libvfmig 0.1.0)"
run 2; stderr_has "Usage:"
run 2 frobnicate; stderr_has "unknown command 'frobnicate'"
run 0 info -h; stdout_has "pattern=P"; stdout_has "faults=F"
run 0 info -V; stdout_has "vfio-migrate 0.1.0"
run 0 demo -h; stdout_has "Usage: vfio-migrate demo"
run 2 info; stderr_has "no device given (-d DEV)"
run 2 info -d sim: -d sim:; stderr_has "one device at a time"
run 2 info -d sim: extra; stderr_has "unexpected argument 'extra'"
run 2 info --bogus
run 2 demo extra; stderr_has "unexpected argument 'extra'"
