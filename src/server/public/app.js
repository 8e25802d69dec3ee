// @ts-check
/**
 * The asknotes chat page. Plain browser modules, no framework: the page is one conversation, a status
 * bar and a note panel. Every piece of note text and every server message is inserted as text
 * (textContent); only model output goes through Markdown, and that through DOMPurify (render-answer.js).
 */
import { readServerSentEvents } from './sse.js';
import { citedNumbers, renderAnswer } from './render-answer.js';
import { markFinishedAnswer, reasoningFold } from './answer-marks.js';
import { fetchNoteLinks, isPdf, linkShownWords, locationLabel, noteLinesView, noteTextPath } from './note-view.js';

/** @typedef {import('./render-answer.js').Source} Source */
/** @typedef {{ role: 'user' | 'assistant', content: string }} HistoryTurn */
/** @typedef {{ code: string, message: string }} ErrorInfo */

const TOKEN_KEY = 'asknotes.apiToken';
/** The server's limits (src/server/ask-body.ts): 20 history turns of at most 16 000 characters each. */
const MAX_HISTORY_TURNS = 20;
const MAX_HISTORY_TURN_CHARS = 16_000;
/** Stay well under the 64 KiB body limit by dropping the oldest turns first. */
const MAX_BODY_CHARS = 56_000;

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
function byId(id, type) {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`The page is missing #${id}`);
  return found;
}

const ui = {
  conversation: byId('conversation', HTMLElement),
  empty: byId('empty', HTMLElement),
  composer: byId('composer', HTMLFormElement),
  question: byId('question', HTMLTextAreaElement),
  send: byId('send', HTMLButtonElement),
  stop: byId('stop', HTMLButtonElement),
  rag: byId('rag', HTMLInputElement),
  ragReason: byId('rag-reason', HTMLElement),
  newChat: byId('new-chat', HTMLButtonElement),
  statusMode: byId('status-mode', HTMLElement),
  statusEmbedder: byId('status-embedder', HTMLElement),
  statusIndex: byId('status-index', HTMLElement),
  statusFix: byId('status-fix', HTMLElement),
  notePanel: byId('note-panel', HTMLElement),
  noteTitle: byId('note-title', HTMLElement),
  noteHeading: byId('note-heading', HTMLElement),
  noteLines: byId('note-lines', HTMLElement),
  noteError: byId('note-error', HTMLElement),
  noteBody: byId('note-body', HTMLElement),
  noteClose: byId('note-close', HTMLButtonElement),
  tokenDialog: byId('token-dialog', HTMLDialogElement),
  tokenForm: byId('token-form', HTMLFormElement),
  tokenMessage: byId('token-message', HTMLElement),
  tokenInput: byId('token-input', HTMLInputElement),
};

// ---------------------------------------------------------------------------------------------------
// Small DOM helper: children that are strings become text nodes, never markup.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{ className?: string, text?: string, attributes?: Record<string, string> }} [options]
 * @param {(Node | string)[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------------------------------------
// Access token (API_TOKEN): asked for once, kept for this tab.

/** @type {Promise<boolean> | null} */
let tokenPrompt = null;

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the token then lives only as long as the prompt answer
  }
}

/** @param {string | null} token */
function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled */
  }
}

/**
 * Shows the token form; concurrent callers share one prompt. Resolves false if the user dismisses it.
 * @param {string} message
 * @returns {Promise<boolean>}
 */
function askForToken(message) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    ui.tokenMessage.textContent = message;
    ui.tokenInput.value = '';
    let accepted = false;
    /** @param {SubmitEvent} event */
    const onSubmit = (event) => {
      event.preventDefault();
      const value = ui.tokenInput.value.trim();
      if (value === '') return;
      storeToken(value);
      accepted = true;
      ui.tokenDialog.close();
    };
    const onClose = () => {
      ui.tokenForm.removeEventListener('submit', onSubmit);
      tokenPrompt = null;
      resolve(accepted);
    };
    ui.tokenForm.addEventListener('submit', onSubmit);
    ui.tokenDialog.addEventListener('close', onClose, { once: true });
    ui.tokenDialog.showModal();
    ui.tokenInput.focus();
  });
  return tokenPrompt;
}

class NeedsTokenError extends Error {}

/**
 * fetch with the bearer token; on 401 asks for the token and retries.
 * Paths are relative so the page also works behind a reverse proxy under a sub-path.
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
async function apiFetch(path, init = {}) {
  for (;;) {
    const headers = new Headers(init.headers);
    const token = storedToken();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401) return response;
    await response.body?.cancel();
    storeToken(null);
    const message = token
      ? 'That token was not accepted. Enter the value of API_TOKEN the server was started with.'
      : 'This server needs the access token it was started with (API_TOKEN). It is kept for this tab only.';
    const accepted = await askForToken(message);
    init.signal?.throwIfAborted();
    if (!accepted) throw new NeedsTokenError('No access token was given.');
  }
}

// ---------------------------------------------------------------------------------------------------
// Errors in plain words, with what to do (SPEC "Error codes").

/** @type {Record<string, (message: string) => string>} */
const errorAdvice = {
  invalid_request: (message) => `The server could not use this question: ${message}`,
  unauthorized: () => 'This server needs its access token (API_TOKEN). Send the question again to enter it.',
  not_found: () => 'The server does not know this request. Reload the page; if it persists, check that this is an asknotes server.',
  payload_too_large: () => 'The question and the conversation before it are too long to send. Start a new chat or shorten the question.',
  unsupported_media_type: () => 'The server did not accept the request format. Reload the page and try again.',
  busy: () => 'The server is answering too many questions at once. Wait a few seconds and try again.',
  index_not_ready: () => 'Your notes are still being indexed. Try again when the status bar shows the index size.',
  llm_unavailable: (message) => `The chat model cannot be reached. Start its server (Ollama: ollama serve) and try again, or turn "Use notes" back on to answer from your notes. ${message}`,
  model_not_found: (message) => message,
  upstream_timeout: () => 'The chat model took too long to answer. Try again; a smaller CHAT_MODEL answers faster.',
  internal: () => 'Something went wrong on the server. Its log has the details. Try again.',
  network: () => 'The asknotes server cannot be reached. Check that it is still running (npm start), then try again.',
  closed: () => 'The connection closed before the answer finished. Try again.',
  token: () => 'This server needs its access token (API_TOKEN). Send the question again to enter it.',
};

/** @param {ErrorInfo} error */
function describeError(error) {
  const advice = errorAdvice[error.code];
  return advice ? advice(error.message).trim() : `${error.message || 'Something went wrong.'} Try again.`;
}

/**
 * @param {Response} response
 * @returns {Promise<ErrorInfo>}
 */
async function readError(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error?.code === 'string') return { code: body.error.code, message: String(body.error.message ?? '') };
  } catch {
    /* not JSON: fall through */
  }
  return { code: response.status >= 500 ? 'internal' : 'invalid_request', message: `HTTP ${response.status}` };
}

// ---------------------------------------------------------------------------------------------------
// Status bar from /readyz (src/server/server-deps.ts `Readiness`).

/**
 * @typedef {{
 *   ready?: boolean, building?: boolean, mode?: 'ollama' | 'openai' | 'extractive', reason?: string,
 *   model?: string | null, chatModel?: string | null,
 *   index?: { notes: number, chunks: number, embedder: string, builtAt?: string },
 *   ollama?: { url?: string, reachable?: boolean, missingModels?: string[], fix?: string, chatModel?: string },
 *   openai?: { url?: string, reachable?: boolean, missingModels?: string[], fix?: string }
 * }} Readiness
 */

const status = {
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

async function refreshStatus() {
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
function setMode(mode, ready = true) {
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

function showEmbedder() {
  if (!status.embedder) return;
  ui.statusEmbedder.textContent = `Embedder: ${status.embedder}`;
  ui.statusEmbedder.hidden = false;
}

/**
 * @param {number} count
 * @param {string} noun
 */
function plural(count, noun) {
  return `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------------
// A conversation turn: question, streamed answer, sources.

/** @type {Turn[]} */
let turns = [];
/** The extractive notice already shown in full in this conversation. */
let lastNotice = '';

/**
 * Runs `change`, then keeps the conversation scrolled to the end if it was there before: a streaming
 * answer stays in view, but a reader who scrolled up to an earlier turn is left where they are.
 * @param {() => void} change
 */
function keepPinned(change) {
  const { scrollTop, scrollHeight, clientHeight } = ui.conversation;
  const pinned = scrollHeight - scrollTop - clientHeight < 80;
  change();
  if (pinned) ui.conversation.scrollTop = ui.conversation.scrollHeight;
}
/** @type {WeakMap<Element, Turn>} */
const turnByElement = new WeakMap();
/** @type {{ controller: AbortController, turn: Turn } | null} */
let current = null;

class Turn {
  /** @param {string} question */
  constructor(question) {
    this.question = question;
    this.answer = '';
    /** @type {Source[]} */
    this.sources = [];
    /** @type {'streaming' | 'done' | 'stopped' | 'error'} */
    this.state = 'streaming';
    this.answerable = true;
    this.renderScheduled = false;

    this.body = h('div', { className: 'answer-body markdown', attributes: { 'aria-live': 'polite', 'aria-busy': 'true' } });
    this.notice = h('p', { className: 'notice' });
    this.notice.hidden = true;
    this.badge = h('p', { className: 'badge-unanswerable', text: 'Not in your notes' });
    this.badge.hidden = true;
    this.reasoning = reasoningFold();
    /** @type {string | null} */
    this.mode = null;
    this.error = h('p', { className: 'turn-error', attributes: { role: 'alert' } });
    this.error.hidden = true;
    this.stateLabel = h('span', { className: 'turn-state', text: 'Searching your notes…' });
    this.copy = h('button', { className: 'ghost small copy', text: 'Copy answer', attributes: { type: 'button' } });
    this.copy.hidden = true;
    this.sourcesSection = h('section', { className: 'sources', attributes: { 'aria-label': 'Sources' } });
    this.sourcesSection.hidden = true;

    this.element = h(
      'article',
      { className: 'turn', attributes: { 'data-state': 'streaming' } },
      h('div', { className: 'question' }, h('p', { text: question })),
      h(
        'div',
        { className: 'answer' },
        this.notice,
        this.badge,
        this.reasoning.element,
        this.body,
        this.error,
        h('div', { className: 'turn-meta' }, this.stateLabel, this.copy),
        this.sourcesSection,
      ),
    );
    turnByElement.set(this.element, this);
    this.copy.addEventListener('click', () => void copyText(this.answer, this.copy));
  }

  /** @param {{ sources?: Source[], mode?: 'ollama' | 'openai' | 'extractive', model?: string | null, embedder?: string, notice?: string }} event */
  setSources(event) {
    this.sources = Array.isArray(event.sources) ? event.sources : [];
    if (event.model) status.model = event.model;
    if (event.embedder) {
      status.embedder = event.embedder;
      showEmbedder();
    }
    if (event.mode) setMode(event.mode);
    this.mode = event.mode ?? null;
    if (event.notice) {
      // The same notice on every answer is noise: in full once per conversation, then in short.
      const repeated = event.notice === lastNotice;
      this.notice.textContent = repeated && event.mode === 'extractive' ? 'Extractive answer: quoted from your notes.' : event.notice;
      this.notice.title = repeated ? event.notice : '';
      this.notice.hidden = false;
      lastNotice = event.notice;
    }
    this.stateLabel.textContent = this.sources.length > 0 ? `Writing an answer from ${plural(this.sources.length, 'source')}…` : 'Writing an answer…';
  }

  /** @param {string} text */
  append(text) {
    this.answer += text;
    this.scheduleRender();
  }

  scheduleRender() {
    // Many deltas can arrive per frame; re-parse the Markdown at most once per frame.
    if (this.renderScheduled) return;
    this.renderScheduled = true;
    requestAnimationFrame(() => {
      this.renderScheduled = false;
      this.render();
    });
  }

  render() {
    const rendered = renderAnswer(this.answer, this.sources);
    linkShownWords(rendered, this.sources);
    keepPinned(() => this.body.replaceChildren(rendered));
  }

  /** @param {{ answer?: string, answerable?: boolean, cited?: number[], notice?: string }} done */
  finish(done) {
    if (typeof done.answer === 'string') this.answer = done.answer;
    this.answerable = done.answerable !== false;
    markFinishedAnswer({ turn: this.element, notice: this.notice }, done, this.mode);
    this.end('done', Array.isArray(done.cited) ? done.cited : citedNumbers(this.answer));
    if (!this.answerable) {
      this.badge.hidden = false;
      this.stateLabel.textContent = this.sources.length > 0 ? 'The nearest passages in your notes are listed below.' : '';
    } else {
      this.stateLabel.textContent = this.sources.length > 0 ? '' : 'Answered without your notes.';
    }
  }

  stop() {
    this.end('stopped', citedNumbers(this.answer));
    this.stateLabel.textContent = this.answer ? 'Stopped.' : 'Stopped before the answer began.';
  }

  /** @param {ErrorInfo} error */
  fail(error) {
    this.end('error', citedNumbers(this.answer));
    this.error.textContent = describeError(error);
    this.error.dataset['code'] = error.code;
    this.error.hidden = false;
    this.stateLabel.textContent = '';
  }

  /**
   * @param {'done' | 'stopped' | 'error'} state
   * @param {number[]} cited
   */
  end(state, cited) {
    this.state = state;
    this.element.dataset['state'] = state === 'done' && !this.answerable ? 'unanswerable' : state;
    this.render();
    this.body.setAttribute('aria-busy', 'false');
    this.copy.hidden = this.answer === '';
    this.renderSources(cited);
  }

  /** Cited sources first, the rest folded as "also retrieved" (SPEC: each with note, heading, lines, score). @param {number[]} cited */
  renderSources(cited) {
    if (this.sources.length === 0) return;
    const citedSet = new Set(cited);
    const first = this.sources.filter((source) => citedSet.has(source.n));
    const rest = this.sources.filter((source) => !citedSet.has(source.n));
    /** @type {HTMLElement[]} */
    const parts = [];
    if (first.length > 0) parts.push(h('h3', { text: 'Sources' }), sourceList(first, 'cited'));
    if (rest.length > 0) {
      const details = h(
        'details',
        { className: 'also-retrieved' },
        h('summary', { text: `Also retrieved (${rest.length})` }),
        sourceList(rest, 'retrieved'),
      );
      // Nothing cited (e.g. "not in your notes"): the nearest passages are the useful part, so show them.
      if (first.length === 0) details.open = true;
      parts.push(details);
    }
    keepPinned(() => {
      this.sourcesSection.replaceChildren(...parts);
      this.sourcesSection.hidden = false;
    });
  }

  /** @returns {HistoryTurn[]} */
  historyTurns() {
    if (this.state === 'error' || this.answer.trim() === '') return [];
    return [
      { role: 'user', content: this.question.slice(0, MAX_HISTORY_TURN_CHARS) },
      { role: 'assistant', content: this.answer.slice(0, MAX_HISTORY_TURN_CHARS) },
    ];
  }
}

/**
 * @param {Source[]} sources
 * @param {string} kind
 */
function sourceList(sources, kind) {
  return h(
    'ol',
    { className: `source-list ${kind}` },
    ...sources.map((source) => {
      const open = h(
        'button',
        { className: 'source-open', attributes: { type: 'button', 'data-n': String(source.n) } },
        h('span', { className: 'source-n', text: String(source.n) }),
        h('span', { className: 'source-note', text: source.note }),
      );
      open.setAttribute('aria-label', `Open source ${source.n}: ${source.note}, ${locationLabel(source)}`);
      return h(
        'li',
        { className: 'source' },
        open,
        h('span', { className: 'source-heading', text: source.heading }),
        h(
          'span',
          { className: 'source-meta' },
          h('span', { text: locationLabel(source) }),
          h('span', { className: 'source-score', text: `score ${source.score.toFixed(2)}` }),
        ),
      );
    }),
  );
}

/**
 * @param {string} text
 * @param {HTMLButtonElement} button
 */
async function copyText(text, button) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    // The Clipboard API needs a secure context; a LAN address over http is not one.
    const scratch = h('textarea', { className: 'visually-hidden' });
    scratch.value = text;
    document.body.append(scratch);
    scratch.select();
    copied = document.execCommand('copy');
    scratch.remove();
  }
  button.textContent = copied ? 'Copied' : 'Copy failed';
  setTimeout(() => {
    button.textContent = 'Copy answer';
  }, 1_500);
}

// ---------------------------------------------------------------------------------------------------
// Asking.

/** Earlier turns, newest last, trimmed to the server's limits. @param {string} question @param {boolean} rag */
function buildRequest(question, rag) {
  /** @type {HistoryTurn[]} */
  let history = turns.flatMap((turn) => turn.historyTurns()).slice(-MAX_HISTORY_TURNS);
  /** @type {{ question: string, stream: true, rag?: false, history?: HistoryTurn[] }} */
  const request = { question, stream: true };
  if (!rag) request.rag = false;
  for (;;) {
    if (history.length > 0) request.history = history;
    else delete request.history;
    const body = JSON.stringify(request);
    if (body.length <= MAX_BODY_CHARS || history.length === 0) return body;
    history = history.slice(2); // the oldest question and its answer
  }
}

/** @param {string} question */
async function ask(question) {
  const turn = new Turn(question);
  const body = buildRequest(question, ui.rag.checked || ui.rag.disabled);
  turns.push(turn);
  ui.empty.hidden = true;
  ui.conversation.append(turn.element);
  ui.conversation.scrollTop = ui.conversation.scrollHeight;

  const controller = new AbortController();
  current = { controller, turn };
  setBusy(true);
  try {
    const response = await apiFetch('ask', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body,
      signal: controller.signal,
    });
    if (!response.ok) {
      turn.fail(await readError(response));
      return;
    }
    if (!(response.headers.get('Content-Type') ?? '').includes('text/event-stream') || !response.body) {
      // A JSON answer (a proxy that drops Accept, or an older server): same result, all at once.
      const json = await response.json();
      turn.setSources(json);
      turn.finish(json);
      return;
    }
    let ended = false;
    for await (const { event, data } of readServerSentEvents(response.body)) {
      const payload = JSON.parse(data);
      if (event === 'sources') turn.setSources(payload);
      else if (event === 'delta') turn.append(String(payload.text ?? ''));
      else if (event === 'reasoning') turn.reasoning.append(String(payload.text ?? ''));
      else if (event === 'done') {
        turn.finish(payload);
        ended = true;
      } else if (event === 'error') {
        turn.fail({ code: String(payload.code ?? 'internal'), message: String(payload.message ?? '') });
        ended = true;
      }
      if (ended) break;
    }
    if (!ended) turn.fail({ code: 'closed', message: '' });
  } catch (error) {
    if (controller.signal.aborted) turn.stop();
    else if (error instanceof NeedsTokenError) turn.fail({ code: 'token', message: '' });
    else turn.fail({ code: 'network', message: '' });
  } finally {
    if (current?.turn === turn) current = null;
    setBusy(false);
    // The status bar could not load before the token was entered (or the server was down): try again.
    if (status.mode === null) void refreshStatus();
  }
}

/** @param {boolean} busy */
function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.hidden = !busy;
  ui.composer.setAttribute('aria-busy', String(busy));
}

function stop() {
  current?.controller.abort();
  ui.question.focus();
}

function newChat() {
  stop();
  turns = [];
  lastNotice = '';
  ui.conversation.replaceChildren(ui.empty);
  ui.empty.hidden = false;
  closeNote();
  ui.question.value = '';
  ui.question.focus();
}

// ---------------------------------------------------------------------------------------------------
// Note panel: the cited note, its heading path, the cited lines highlighted.

/** @type {HTMLElement | null} */
let noteReturnFocus = null;
let noteRequest = 0;

/**
 * Opens a cited source (its note, or a PDF's cited page, with the cited lines marked), or with
 * `source.n === 0` a note opened from a link (nothing cited).
 * @param {Source} source
 * @param {HTMLElement} trigger
 */
async function openNote(source, trigger) {
  const request = ++noteRequest;
  noteReturnFocus = trigger;
  const cited = source.n > 0;
  ui.noteTitle.textContent = source.note;
  ui.noteHeading.textContent = source.heading;
  ui.noteLines.replaceChildren(
    ...(cited ? [h('span', { className: 'cite', text: String(source.n) }), ` ${locationLabel(source)} · score ${source.score.toFixed(2)}`] : ['Linked note']),
  );
  ui.noteError.hidden = true;
  ui.noteBody.replaceChildren(h('p', { className: 'note-loading', text: 'Loading the note…' }));
  ui.notePanel.hidden = false;
  document.body.classList.add('note-open');
  ui.notePanel.focus();

  /** @type {string | null} */
  let text = null;
  /** @type {string} */
  let failure = '';
  const links = fetchNoteLinks(apiFetch, source.note);
  try {
    const response = await apiFetch(noteTextPath(source), { headers: { Accept: 'text/plain' } });
    if (response.ok) text = await response.text();
    else failure = response.status === 404
      ? 'This note is no longer in your notes folder (moved, renamed or deleted since it was indexed). The cited passage as indexed:'
      : `The note could not be loaded (${describeError(await readError(response))}). The cited passage as indexed:`;
  } catch {
    failure = 'The note could not be loaded: the server cannot be reached. The cited passage as indexed:';
  }
  const noteLinks = text === null ? [] : await links;
  if (request !== noteRequest) return; // another citation was clicked meanwhile

  if (text === null) {
    ui.noteError.textContent = failure;
    ui.noteError.hidden = false;
    ui.noteBody.replaceChildren(noteLinesView(source.text, source.lines[0], source.lines));
  } else {
    ui.noteBody.replaceChildren(noteLinesView(text, 1, source.lines, noteLinks));
  }
  const firstCited = ui.noteBody.querySelector('.line.cited');
  firstCited?.scrollIntoView({ block: 'center' });
}

/**
 * A note opened from one of its links: the whole note, nothing cited.
 * @param {string} path
 * @param {HTMLElement} trigger
 */
function openLinkedNote(path, trigger) {
  /** @type {Source} */
  const linked = { n: 0, id: '', note: path, heading: '', lines: [0, 0], text: '', score: 0 };
  // A PDF opens at its first page's text.
  if (isPdf(path)) linked.page = 1;
  void openNote(linked, trigger);
}

function closeNote() {
  if (ui.notePanel.hidden) return;
  noteRequest += 1;
  ui.notePanel.hidden = true;
  document.body.classList.remove('note-open');
  if (noteReturnFocus?.isConnected) noteReturnFocus.focus();
  noteReturnFocus = null;
}

// ---------------------------------------------------------------------------------------------------
// Wiring.

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = ui.question.value.trim();
  if (question === '' || current) return;
  ui.question.value = '';
  void ask(question);
});

ui.question.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; never send half-composed IME input.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.stop.addEventListener('click', stop);
ui.newChat.addEventListener('click', newChat);
ui.noteClose.addEventListener('click', closeNote);
ui.noteBody.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('button.note-link') : null;
  if (link instanceof HTMLButtonElement && link.dataset['note']) openLinkedNote(link.dataset['note'], link);
});

ui.conversation.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('button.note-link') : null;
  if (link instanceof HTMLButtonElement && link.dataset['note']) return openLinkedNote(link.dataset['note'], link);
  const target = event.target instanceof Element ? event.target.closest('button.cite, button.source-open') : null;
  if (!(target instanceof HTMLButtonElement)) return;
  const turnElement = target.closest('article.turn');
  const turn = turnElement ? turnByElement.get(turnElement) : undefined;
  const source = turn?.sources.find((candidate) => String(candidate.n) === target.dataset['n']);
  if (source) void openNote(source, target);
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || ui.tokenDialog.open) return;
  if (!ui.notePanel.hidden) closeNote();
  else if (current) stop();
});

void refreshStatus();
ui.question.focus();
