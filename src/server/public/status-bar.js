// @ts-check
/** The status bar, from `/readyz` (src/server/server-deps.ts `Readiness`): mode, embedder, index, the fix. */
import { NeedsTokenError, apiFetch } from './api.js';
import { byId, plural } from './dom.js';

const ui = {
  statusMode: byId('status-mode', HTMLElement),
  statusEmbedder: byId('status-embedder', HTMLElement),
  statusIndex: byId('status-index', HTMLElement),
  statusFix: byId('status-fix', HTMLElement),
  rag: byId('rag', HTMLInputElement),
  ragReason: byId('rag-reason', HTMLElement),
};

/**
 * @typedef {{
 *   ready?: boolean, building?: boolean, mode?: 'ollama' | 'extractive', reason?: string,
 *   model?: string | null, chatModel?: string | null,
 *   index?: { notes: number, chunks: number, embedder: string, builtAt?: string },
 *   ollama?: { url?: string, reachable?: boolean, missingModels?: string[], fix?: string, chatModel?: string }
 * }} Readiness
 */

export const status = {
  /** @type {'ollama' | 'extractive' | null} */
  mode: null,
  /** @type {string | null} */
  model: null,
  /** @type {string | null} */
  embedder: null,
  /** @type {string | null} */
  fix: null,
};

/** @type {ReturnType<typeof setTimeout> | undefined} */
let statusTimer;

export async function refreshStatus() {
  clearTimeout(statusTimer);
  /** @type {Response} */
  let response;
  try {
    response = await apiFetch('readyz', { headers: { Accept: 'application/json' } });
  } catch (error) {
    if (error instanceof NeedsTokenError) {
      ui.statusMode.textContent = 'Access token needed: send a question to enter it.';
      return;
    }
    ui.statusMode.textContent = 'The server cannot be reached. Retrying…';
    statusTimer = setTimeout(refreshStatus, 5_000);
    return;
  }
  /** @type {Readiness | null} */
  const body = await response.json().catch(() => null);
  if (!body || typeof body !== 'object') {
    ui.statusMode.textContent = `The server's status is unavailable (HTTP ${response.status}).`;
    return;
  }
  applyReadiness(body);
  // 503 while the first index builds: poll until the notes are searchable.
  if (!response.ok || body.building) statusTimer = setTimeout(refreshStatus, 2_000);
}

/** @param {Readiness} readiness */
function applyReadiness(readiness) {
  const model = readiness.model ?? readiness.chatModel ?? readiness.ollama?.chatModel ?? null;
  if (model) status.model = model;
  if (readiness.index?.embedder) status.embedder = readiness.index.embedder;
  status.fix = readiness.ollama?.fix ?? null;

  // Not ready and no build running: the build failed, and `reason` says why in plain words.
  const failed = readiness.ready === false && !readiness.building && Boolean(readiness.reason);
  if (readiness.ready === false) {
    ui.statusMode.textContent = readiness.building
      ? 'Indexing your notes… answers start when it finishes.'
      : failed
        ? 'The index could not be built.'
        : 'Not ready.';
    ui.statusMode.dataset['state'] = 'waiting';
  }
  if (readiness.mode) setMode(readiness.mode, readiness.ready !== false);

  if (readiness.index) {
    const { notes, chunks } = readiness.index;
    ui.statusIndex.textContent = `Index: ${plural(notes, 'note')}, ${plural(chunks, 'chunk')}`;
    ui.statusIndex.hidden = false;
  }
  showEmbedder();

  // The fix line: the exact command when the server names one (its reasoning on hover; each extractive
  // answer shows it in full anyway), else why the server is not ready or not using a chat model.
  const reason = readiness.ready === false || readiness.mode === 'extractive' ? (readiness.reason ?? '') : '';
  // A failed index build outranks Ollama's fix: without an index nothing can be answered at all.
  const fixText = !failed && status.fix ? `To fix: ${status.fix}` : reason;
  ui.statusFix.textContent = fixText;
  ui.statusFix.title = !failed && status.fix ? reason : '';
  ui.statusFix.hidden = fixText === '';
}

/**
 * @param {'ollama' | 'extractive'} mode
 * @param {boolean} [ready]
 */
export function setMode(mode, ready = true) {
  status.mode = mode;
  if (ready) {
    ui.statusMode.dataset['state'] = mode;
    ui.statusMode.textContent =
      mode === 'ollama' ? `Ollama: ${status.model ?? 'chat model'}` : 'extractive: no chat model connected';
  }
  // Without notes there is nothing for the extractive answerer to quote.
  const ragAvailable = mode === 'ollama';
  ui.rag.disabled = !ragAvailable;
  if (!ragAvailable) ui.rag.checked = true;
  ui.ragReason.textContent = ragAvailable ? '' : 'Answering without notes needs a chat model, and none is connected.';
  ui.ragReason.hidden = ragAvailable;
}

export function showEmbedder() {
  if (!status.embedder) return;
  ui.statusEmbedder.textContent = `Embedder: ${status.embedder}`;
  ui.statusEmbedder.hidden = false;
}
