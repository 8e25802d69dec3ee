#!/usr/bin/env bash
# The compose `models` job: make sure CHAT_MODEL and EMBED_MODEL are in the Ollama at OLLAMA_HOST,
# pulling only the ones `ollama show` reports missing. An unguarded `ollama pull` contacts the
# registry even for a model already on disk and fails without a network, so this guard is what
# lets every `docker compose up` after the first one run offline (ollama reference §7.4).
#
# Runs in the ollama/ollama image as a client of the Ollama service the app uses (`ollama`, or
# `ollama-gpu` with the gpu profile): it needs bash and the ollama CLI only (that image has no curl
# or wget), and uses no other external command.
set -uo pipefail

ollama_host="${OLLAMA_HOST:-127.0.0.1:11434}"
chat_model="${CHAT_MODEL:-llama3.2}"
embed_model="${EMBED_MODEL:-nomic-embed-text}"

log() { printf 'models: %s\n' "$*"; }
fail() {
  printf 'models: %s\n' "$*" >&2
  exit 1
}

# `ollama show` fails alike for "model missing" and "server unreachable": ask the server first, so
# an unreachable Ollama is reported as such instead of triggering pulls that cannot work.
if ! list_output="$(ollama list 2>&1)"; then
  fail "cannot reach Ollama at ${ollama_host}: ${list_output##*Error: }." \
    "Check that the ollama service is running and healthy (docker compose ps; docker compose logs ollama)." \
    "OLLAMA_SERVICE=ollama-gpu needs the gpu profile too (COMPOSE_PROFILES=gpu in .env)."
fi

models=("$chat_model")
if [[ "$embed_model" != "$chat_model" ]]; then models+=("$embed_model"); fi

pulled=0
for model in "${models[@]}"; do
  # stderr is kept (the reason), stdout (the model card) is dropped.
  if show_error="$(ollama show "$model" 2>&1 >/dev/null)"; then
    log "${model} is already present; not pulling"
    continue
  fi
  # Pull only on a definite "not found": any other failure is not something a pull can fix.
  if [[ "${show_error,,}" != *"not found"* ]]; then
    fail "could not check ${model} with 'ollama show': ${show_error}"
  fi
  log "${model} is missing; pulling it (needs the network, once)"
  if ! ollama pull "$model"; then
    fail "could not pull ${model} (reason above). The first run needs internet access to" \
      "download models; later runs work offline. Connect and run 'docker compose up' again," \
      "or check the model name (CHAT_MODEL / EMBED_MODEL in .env)."
  fi
  pulled=$((pulled + 1))
done

log "ready: ${models[*]} (${pulled} pulled)"
