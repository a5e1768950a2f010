# bash completion for udax(1).  Installed as
# share/bash-completion/completions/udax (loaded on demand by
# bash-completion), or source it from ~/.bashrc.
#
# Completes the command names (from `udax help`, so new commands need no
# change here), long options (from `udax COMMAND --help`), host files for
# POOL and HOSTFILE arguments, and paths inside the pool for PATH
# arguments (read with `udax ls POOL DIR`, which mounts read-only).

_udax_commands()
{
	"$1" help 2>/dev/null |
		awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# Paths inside pool $2 that start with $3 (directories end in "/").
_udax_pool_paths()
{
	local udax=$1 pool=$2 cur=$3 dir line type name
	[[ -f $pool || -b $pool || -c $pool ]] || return 0
	case $cur in
	/*/*) dir=${cur%/*} ;;
	*) dir=/ cur=/${cur#/} ;;
	esac
	while IFS= read -r line; do
		# "T       SIZE  NAME": type letter, size in 10 columns, name
		type=${line:0:1}
		name=${line:14}
		[[ $type == l ]] && name=${name% -> *}
		[[ $name == \'*\' ]] && name=${name:1:${#name}-2}
		[[ -n $name ]] || continue
		name=${dir%/}/$name
		[[ $name == "$cur"* ]] || continue
		if [[ $type == d ]]; then
			COMPREPLY+=("$name/")
		else
			COMPREPLY+=("$name")
		fi
	done < <(timeout 5 "$udax" ls "$pool" "$dir" 2>/dev/null)
}

_udax()
{
	local cur=${COMP_WORDS[COMP_CWORD]} udax=${COMP_WORDS[0]}
	local cmd="" pool="" i w npos=0 after_dashdash=0
	COMPREPLY=()
	compopt +o default 2>/dev/null

	# the command, the pool, and which positional argument this is
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $cmd ]]; then
			[[ $w == -* ]] || cmd=$w
			continue
		fi
		if ((after_dashdash)); then
			npos=$((npos + 1))
			continue
		fi
		case $w in
		--) after_dashdash=1 ;;
		-o|--options|--prefix|--mode|-m) i=$((i + 1)) ;;
		-*) ;;
		*) npos=$((npos + 1)); ((npos == 1)) && pool=$w ;;
		esac
	done

	if [[ -z $cmd ]]; then
		case $cur in
		-*) COMPREPLY=($(compgen -W "--help --version" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(_udax_commands "$udax")" -- "$cur")) ;;
		esac
		return 0
	fi

	# `udax run POOL ... -- COMMAND ARGS`: complete the program and files
	if ((after_dashdash)) && [[ $cmd == run ]]; then
		if ((npos == 1)); then
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			compopt -o default 2>/dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0
	fi

	case ${COMP_WORDS[COMP_CWORD - 1]} in
	-o|--options)
		COMPREPLY=($(compgen -W "ro shadow write_lock=entry write_lock=exclusive write_lock=flush write_lock=range" -- "$cur"))
		return 0 ;;
	--prefix)
		COMPREPLY=($(compgen -W "/udax" -- "$cur"))
		return 0 ;;
	--mode|-m)
		return 0 ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$udax" "$cmd" --help 2>/dev/null |
			grep -oE -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
		return 0
	fi

	# the kind of argument number npos+1 of each command
	local kind=none n=$((npos + 1))
	case $cmd:$n in
	help:1) COMPREPLY=($(compgen -W "$(_udax_commands "$udax")" -- "$cur")); return 0 ;;
	umount:1) kind=dir ;;
	*:1) kind=file ;;
	mount:2) kind=dir ;;
	put:2|get:3) kind=file ;;
	ls:2|mkdir:2|cat:2|stat:2|rm:2|get:2|put:3|mv:2|mv:3) kind=pool ;;
	esac
	case $cmd in
	version|help) kind=none ;;
	esac
	case $kind in
	file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	pool)
		_udax_pool_paths "$udax" "$pool" "$cur"
		# a directory completes without the space, to go on below it
		if ((${#COMPREPLY[@]} != 1)) || [[ ${COMPREPLY[0]} == */ ]]; then
			compopt -o nospace 2>/dev/null
		fi ;;
	esac
	return 0
}
complete -F _udax udax
