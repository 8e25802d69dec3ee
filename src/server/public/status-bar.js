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
  progress: byId('status-progress', HTMLElement),
  progressBar: byId('index-progress', HTMLProgressElement),
  progressLabel: byId('index-progress-label', HTMLElement),
};

/** While idle the status is looked at now and then, so a build started later (an edit, a model switch) shows. */
const IDLE_POLL_MS = 10_000;
const BUILDING_POLL_MS = 1_000;

/** The first progress seen of the running build: the rate since then gives the time left. */
/** @type {{ at: number, done: number, total: number } | null} */
let progressStart = null;

/** @param {number} seconds */
function duration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The progress bar, from `/readyz` `progress` (chunks embedded of those to embed; `/index/status`
 * has it too, with every note's line: about 1 MB a poll on a 7,424-note folder).
 * @param {{ done: number, total: number } | undefined} progress
 */
export function showProgress(progress) {
  if (!progress || progress.total <= 0) {
    ui.progress.hidden = true;
    progressStart = null;
    return;
  }
  const now = performance.now();
  if (progressStart === null || progress.total !== progressStart.total || progress.done < progressStart.done) {
    progressStart = { at: now, done: progress.done, total: progress.total };
  }
  const elapsed = (now - progressStart.at) / 1000;
  const rate = elapsed > 0 ? (progress.done - progressStart.done) / elapsed : 0;
  const left = rate > 0 ? ` · about ${duration((progress.total - progress.done) / rate)} left` : ' · estimating time left…';
  ui.progressBar.max = progress.total;
  ui.progressBar.value = progress.done;
  ui.progressLabel.textContent = `Indexing: ${progress.done.toLocaleString()} of ${plural(progress.total, 'chunk')}${progress.done < progress.total ? left : ''}`;
  ui.progress.hidden = false;
}

/**
 * @typedef {{
 *   ready?: boolean, building?: boolean, mode?: 'ollama' | 'openai' | 'extractive', reason?: string,
 *   progress?: { done: number, total: number },
 *   model?: string | null, chatModel?: string | null,
 *   index?: { notes: number, chunks: number, embedder: string, builtAt?: string },
 *   ollama?: { url?: string, reachable?: boolean, missingModels?: string[], fix?: string, chatModel?: string },
 *   openai?: { url?: string, reachable?: boolean, missingModels?: string[], fix?: string }
 * }} Readiness
 */

export const status = {
  /** @type {'ollama' | 'openai' | 'extractive' | null} */
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
  showProgress(body.building ? body.progress : undefined);
  // 503 while the first index builds, or any build: poll until it is done, then now and then.
  statusTimer = setTimeout(refreshStatus, !response.ok || body.building ? BUILDING_POLL_MS : IDLE_POLL_MS);
}

/** @param {Readiness} readiness */
function applyReadiness(readiness) {
  const model = readiness.model ?? readiness.chatModel ?? readiness.ollama?.chatModel ?? null;
  if (model) status.model = model;
  if (readiness.index?.embedder) status.embedder = readiness.index.embedder;
  status.fix = readiness.ollama?.fix ?? readiness.openai?.fix ?? null;

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
 * @param {'ollama' | 'openai' | 'extractive'} mode
 * @param {boolean} [ready]
 */
export function setMode(mode, ready = true) {
  status.mode = mode;
  if (ready) {
    ui.statusMode.dataset['state'] = mode;
    ui.statusMode.textContent =
      mode === 'ollama'
        ? `Ollama: ${status.model ?? 'chat model'}`
        : mode === 'openai'
          ? `Model server: ${status.model ?? 'chat model'}`
          : 'extractive: no chat model connected';
  }
  // Without notes there is nothing for the extractive answerer to quote.
  const ragAvailable = mode !== 'extractive';
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
