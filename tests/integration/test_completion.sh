# bash completion (completion/vfio-migrate.bash): commands, each command's
# options as its own -h lists them, -d kinds and sim keys (bash splits a
# word at ':' and '=', so the reply is what follows the last of them),
# -z values, addresses, bench scenarios.
. tests/integration/lib.sh
command -v bash >/dev/null || { echo "skip: no bash"; exit 77; }

# comp LINE EXPECTED...: the replies for LINE, the cursor at its end
comp() {
	line=$1; shift
	got=$(PATH="$(dirname "$T"):$PATH" bash -c '. completion/vfio-migrate.bash
		COMP_LINE=$1; COMP_POINT=${#1}; _vfio_migrate
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$line" | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "completing '$line': got '$got', expected '$want'"
}

comp "vfio-migrate se" send
comp "vfio-migrate re" recv
comp "vfio-migrate l" list load
comp "vfio-migrate send --max-b" --max-bandwidth
comp "vfio-migrate recv --no-" --no-start
comp "vfio-migrate send --no-" --no-history --no-precopy
comp "vfio-migrate send -d sim:si" size= sizes=
comp "vfio-migrate send -d sim:size=16M,pat" 16M,pattern=
comp "vfio-migrate send -z z" zstd zstd:1 zstd:3 zstd:-1
comp "vfio-migrate send --switchover im" immediate
comp "vfio-migrate recv -l u" unix:
comp "vfio-migrate recv -l sy" systemd
comp "vfio-migrate send -t s"
comp "vfio-migrate bench l" link-1g
# every option recv's help names is offered, and nothing else
opts=$("$T" recv -h | grep -oE '(^|[ ,])--[a-z][a-z-]*' | tr -d ' ,' | sort -u)
comp "vfio-migrate recv --" $opts
echo "ok: completion of commands, options, devices, codecs, addresses"
