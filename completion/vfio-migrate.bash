# bash completion for vfio-migrate (installed as
# $(PREFIX)/share/bash-completion/completions/vfio-migrate).
#
# Options come from the tool's own help ('vfio-migrate CMD -h'), so they
# never drift from what it takes; the values of -d, -z, --switchover, the
# addresses and the files are completed here.

# The devices this host offers: vfio PCI functions, mdevs, cdevs.
_vfio_migrate_devices()
{
	local d
	for d in /sys/bus/pci/drivers/*vfio*/????:??:??.?; do
		[ -e "$d" ] && echo "pci:${d##*/}"
	done
	for d in /sys/bus/mdev/devices/*; do
		[ -e "$d" ] && echo "mdev:${d##*/}"
	done
	for d in /dev/vfio/devices/vfio*; do
		[ -e "$d" ] && echo "$d"
	done
}

# Candidates for a -d value: a kind, the host's devices, or a sim's keys
# after what is typed so far.
_vfio_migrate_device_arg()
{
	local cur=$1 keys="size= pattern= seed= dirty= precopy= p2p= end= sizes= faults= check= name= id="
	case $cur in
	sim:*,*) compgen -P "${cur%,*}," -W "$keys" -- "${cur##*,}" ;;
	sim:*) compgen -P sim: -W "$keys" -- "${cur#sim:}" ;;
	*) compgen -W "sim: $(_vfio_migrate_devices)" -- "$cur" ;;
	esac
}

_vfio_migrate()
{
	# Whole words: bash splits "sim:size=1M" at ':' and '=' (its
	# COMP_WORDBREAKS), so the line is read up to the cursor instead.
	local line=${COMP_LINE:0:COMP_POINT} cur prev cmd="" w
	local -a words
	cur=${line##*[[:space:]]}
	read -ra words <<<"${line%"$cur"}"
	prev=${words[${#words[@]} - 1]}
	for w in "${words[@]:1}"; do
		case $w in -*) ;; *) cmd=$w; break ;; esac
	done
	COMPREPLY=()
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "send recv save load info list estimate bench demo shim -h --help -V --version" -- "$cur"))
	else
		case $prev in
		-d | --device)
			COMPREPLY=($(_vfio_migrate_device_arg "$cur"))
			compopt -o nospace 2>/dev/null ;;
		-z | --compress)
			COMPREPLY=($(compgen -W "auto zstd none zstd:1 zstd:3 zstd:-1" -- "$cur")) ;;
		--switchover)
			COMPREPLY=($(compgen -W "auto immediate manual" -- "$cur")) ;;
		-t | --to)
			COMPREPLY=($(compgen -W "tcp: unix: fd:" -- "$cur"))
			compopt -o nospace 2>/dev/null ;;
		-l | --listen)
			COMPREPLY=($(compgen -W "tcp: unix: fd: systemd" -- "$cur"))
			compopt -o nospace 2>/dev/null ;;
		--tls-creds)
			COMPREPLY=($(compgen -W "x509: psk:" -- "$cur"))
			compopt -o nospace 2>/dev/null ;;
		-o | --output | -i | --input | --history | --plot | --metrics)
			COMPREPLY=($(compgen -f -- "$cur")) ;;
		*)
			case $cur in
			-*) COMPREPLY=($(compgen -W "$("${words[0]}" "$cmd" -h 2>/dev/null |
				grep -oE '(^|[ ,])(-[a-zA-Z]|--[a-z][a-z-]*)' | tr -d ' ,' | sort -u)" -- "$cur")) ;;
			*) [ "$cmd" = bench ] &&
				COMPREPLY=($(compgen -W "fb random none many link-1g precopy text all" -- "$cur")) ;;
			esac ;;
		esac
	fi
	# bash replaces only what follows the last ':' or '=' of the word
	case $cur in
	*[:=]*) w=${cur%"${cur##*[:=]}"}; COMPREPLY=("${COMPREPLY[@]#"$w"}") ;;
	esac
}
complete -F _vfio_migrate vfio-migrate
