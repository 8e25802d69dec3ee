#!/bin/bash
# A stand-in for the `ollama` CLI, for tests of scripts that run in the ollama/ollama image
# (docker/pull-models.sh). Copy it onto PATH as `ollama` and point OLLAMA_HOST at the stand-in
# server (test/support/fake-ollama.ts).
#
# It supports only `list`, `show MODEL` and `pull MODEL`, and behaves like the real CLI on the
# wire and at the exit: a HEAD / heartbeat before each command, then GET /api/tags, POST /api/show
# or a streamed POST /api/pull; failures print "Error: <server message>" on stderr and exit 1.
# Anything else fails loudly, so a script that starts relying on another subcommand is caught.
#
# bash speaking HTTP/1.0 through /dev/tcp (the body then ends at EOF, never chunked): it starts in
# milliseconds, where a node script would take a few hundred on a busy machine, and a script under
# test runs it several times per case. It uses builtins only, so PATH may hold nothing else.

die() {
  printf 'Error: %s\n' "$1" >&2
  exit 1
}

authority="${OLLAMA_HOST:-127.0.0.1:11434}"
authority="${authority#*://}"
authority="${authority%%/*}"
host="${authority%:*}"
port="${authority##*:}"

# request METHOD PATH [JSON]: sets $status and $body.
request() {
  { exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null ||
    die "could not connect to ollama server, run 'ollama serve' to start it"
  printf '%s %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$1" "$2" "${#3}" "${3:-}" >&3
  IFS=' ' read -r _ status _ <&3
  while IFS= read -r line <&3 && [[ "$line" != $'\r' ]]; do :; done
  body=''
  while IFS= read -r line <&3 || [[ -n "$line" ]]; do body+="${line}"$'\n'; done
  exec 3<&-
}

# The message of an Ollama error body {"error":"..."}, JSON escapes of quotes undone.
error_in() {
  local pattern='"error":"(([^"\\]|\\.)*)"'
  if [[ "$1" =~ $pattern ]]; then
    local message="${BASH_REMATCH[1]}"
    printf '%s' "${message//\\\"/\"}"
  else
    printf '%s' "$1"
  fi
}

request HEAD /
case "${1:-}/$#" in
  list/1)
    request GET /api/tags
    [[ "$status" == 200 ]] || die "$(error_in "$body")"
    printf 'NAME    ID    SIZE    MODIFIED\n'
    ;;
  show/2)
    request POST /api/show "{\"model\":\"$2\"}"
    [[ "$status" == 200 ]] || die "$(error_in "$body")"
    printf '  Model\n'
    ;;
  pull/2)
    request POST /api/pull "{\"model\":\"$2\",\"insecure\":false,\"stream\":true}"
    [[ "$status" == 200 ]] || die "$(error_in "$body")"
    while IFS= read -r line; do
      if [[ "$line" == *'"error"'* ]]; then die "$(error_in "$line")"; fi
      if [[ "$line" =~ \"status\":\"([^\"]*)\" ]]; then printf '%s\n' "${BASH_REMATCH[1]}"; fi
    done <<<"$body"
    ;;
  *) die "the stand-in ollama does not support: ollama $*" ;;
esac
