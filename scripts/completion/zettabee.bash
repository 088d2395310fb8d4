# bash completion for zettabee: actions, options, and the configured pairs' destinations.
#
#   install -m 644 scripts/completion/zettabee.bash /usr/share/bash-completion/completions/zettabee
#
# Actions and options come from `zettabee --help` (read once per shell), so they never go stale.
# Destinations come from `zettabee fingerprint`, which only reads the configuration (no ssh, no zfs,
# no root unless the configuration file is root's only); -c/--config and -z/--zonfig on the command
# line are passed along.

# Fills _zettabee_actions, _zettabee_options and _zettabee_value_options from PROGRAM --help.
_zettabee_read_help() {
    local program=$1
    [[ ${_zettabee_help_of-} == "$program" ]] && return 0
    local kind names
    _zettabee_actions=() _zettabee_options=() _zettabee_value_options=()
    while read -r kind names; do
        case $kind in
            A) _zettabee_actions+=("$names") ;;
            O) _zettabee_options+=($names) ;;
            V) _zettabee_options+=($names); _zettabee_value_options+=($names) ;;
        esac
    done < <("$program" --help 2>/dev/null | awk '
        /^Actions:/ { section = 1; next }
        /^Options:/ { section = 2; next }
        /^$/        { section = 0 }
        section == 1 && /^  [a-z]/ { print "A", $1 }
        section == 2 && /^  -/ {
            names = ""; kind = "O"
            for (i = 1; i <= NF; i++) {
                word = $i; sub(/,$/, "", word)
                if (word ~ /^-/) names = names " " word
                else { if (word ~ /^</) kind = "V"; break }
            }
            print kind, names
        }')
    _zettabee_help_of=$program
}

_zettabee() {
    local program=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # `--config=FILE`: bash splits at `=` (COMP_WORDBREAKS), so the option is two words back.
    [[ $prev == "=" ]] && ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 2]}
    [[ $cur == "=" ]] && cur=""
    command -v "$program" >/dev/null 2>&1 || program=zettabee
    _zettabee_read_help "$program"
    COMPREPLY=()

    case $prev in
        -c|--config|-z|--zonfig|--ssh-config|--send-nsca-config|--send-nsca)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
        --run-dir|--log-dir|--metrics-dir)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
        -N|--nagios)
            mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur"); return 0 ;;
    esac
    local word
    for word in "${_zettabee_value_options[@]}"; do
        [[ $prev == "$word" ]] && return 0   # a number or other free value
    done

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_zettabee_options[*]}" -- "$cur")
        return 0
    fi

    # The action already given, and the configuration options to pass along.
    local i w action="" config=() takes_value
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        takes_value=""
        for w in "${_zettabee_value_options[@]}"; do [[ $word == "$w" ]] && takes_value=1; done
        if [[ -n $takes_value ]]; then
            [[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
            case $word in -c|--config|-z|--zonfig) config+=("$word" "${COMP_WORDS[i + 1]-}") ;; esac
            ((i++))
        elif [[ $word != -* && -z $action ]]; then
            action=$word
        elif [[ $word != -* ]]; then
            return 0   # the destination is given already
        fi
    done
    if [[ -z $action ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_zettabee_actions[*]}" -- "$cur")
        return 0
    fi
    [[ $action == setup ]] && return 0
    # `zettabee fingerprint`: "SRCHOST :SRCFS  DSTHOST:DSTFS  FINGERPRINT"; the destination's pool/fs
    # is the second last field after its host ("[fd00::5]:" for an IPv6 address).
    local destinations
    destinations=$("$program" "${config[@]}" fingerprint 2>/dev/null | awk 'NF >= 3 {
        d = $(NF - 1)
        if (d ~ /^\[/) sub(/^[^]]*\]:/, "", d); else sub(/^[^:]*:/, "", d)
        print d }')
    mapfile -t COMPREPLY < <(compgen -W "$destinations" -- "$cur")
}

complete -F _zettabee zettabee
