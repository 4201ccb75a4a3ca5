# bash completion for kumo: commands, services, operations and parameters
# (asked of `kumo __complete` at completion time, from the models).
# Installed as share/bash-completion/completions/kumo; or: . completion/kumo.bash
_kumo() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\n'
  # "=" splits words in bash: put back "name=value" pieces the line holds
  local line=${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -d '' -a words < <(printf '%s' "${line#* }" | tr ' ' '\n'; printf '\0')
  [[ $line == *' ' ]] && words+=("")
  COMPREPLY=($(command "${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null))
  if [[ ${COMP_WORDS[1]} == run && ${#COMPREPLY[@]} -eq 0 ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  # a parameter ("name="): no space after it, so the value follows
  if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
    compopt -o nospace 2>/dev/null
  fi
}
complete -F _kumo kumo
