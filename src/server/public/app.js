// @ts-check
/**
 * The asknotes chat page: wiring. Plain browser modules, no framework: the page is one conversation, a
 * status bar and a note panel. Every piece of note text and every server message is inserted as text
 * (textContent); only model output goes through Markdown, and that through DOMPurify (render-answer.js).
 */
import { NeedsTokenError, apiFetch, readError, tokenDialogOpen } from './api.js';
import { changedCitedNotes, indexedNoteHashes, recordCitedHashes, unrecordedCitedNotes } from './cited-notes.js';
import { lastOpenConversation, newConversation, openConversationStore, rememberOpenConversation, titleFrom } from './conversation-store.js';
import { byId } from './dom.js';
import { downloadMarkdown } from './export-markdown.js';
import { closeNote, currentNotePath, noteLinkTarget, noteOpen, openLinkedNote, openNote } from './note-panel.js';
import { loadModels, loadScopes, modelValue, scopeFilter, scopeValue, setModelValue, setScopeValue } from './pickers.js';
import { createSidebar } from './sidebar.js';
import { readServerSentEvents } from './sse.js';
import { refreshStatus, status } from './status-bar.js';
import { Turn, forgetNotice, turnByElement } from './turn.js';

/** @typedef {import('./conversation-store.js').Conversation} Conversation */

/** @typedef {import('./turn.js').HistoryTurn} HistoryTurn */

/** The server's limit (src/server/ask-body.ts): 20 history turns. */
const MAX_HISTORY_TURNS = 20;
/** Stay well under the 64 KiB body limit by dropping the oldest turns first. */
const MAX_BODY_CHARS = 56_000;

const ui = {
  conversation: byId('conversation', HTMLElement),
  empty: byId('empty', HTMLElement),
  composer: byId('composer', HTMLFormElement),
  question: byId('question', HTMLTextAreaElement),
  send: byId('send', HTMLButtonElement),
  stop: byId('stop', HTMLButtonElement),
  rag: byId('rag', HTMLInputElement),
  newChat: byId('new-chat', HTMLButtonElement),
  exportButton: byId('export', HTMLButtonElement),
  sidebarToggle: byId('sidebar-toggle', HTMLButtonElement),
  changed: byId('changed-notice', HTMLElement),
  noteClose: byId('note-close', HTMLButtonElement),
  noteBody: byId('note-body', HTMLElement),
  noteAsk: byId('note-ask', HTMLButtonElement),
};

const store = await openConversationStore();
/** The conversation on screen; saved once it has a first question. @type {Conversation} */
let conversation = newConversation();
const sidebar = createSidebar({
  store,
  currentId: () => conversation.id,
  onOpen: (saved) => void openConversation(saved.id),
  onDeleted: (id) => {
    if (id === conversation.id) newChat();
  },
});

/** Saves the conversation on screen (after each answer). */
async function saveConversation() {
  const saved = turns.map((turn) => turn.toSaved());
  if (saved.length === 0) return;
  if (conversation.title === '') conversation.title = titleFrom(saved[0]?.question ?? '');
  conversation.turns = saved;
  conversation.updatedAt = Date.now();
  conversation.model = modelValue() || null;
  conversation.scope = scopeValue() === '' ? null : scopeValue();
  const unrecorded = unrecordedCitedNotes(conversation.noteHashes, saved);
  const hashes = unrecorded.size === 0 ? null : await indexedNoteHashes(unrecorded);
  if (hashes !== null) recordCitedHashes(conversation.noteHashes, saved, hashes);
  // Rename may have happened in the sidebar meanwhile: keep the stored title.
  const stored = await store.get(conversation.id);
  if (stored && stored.title !== '') conversation.title = stored.title;
  await store.put(conversation);
  rememberOpenConversation(conversation.id);
  ui.exportButton.disabled = false;
  await sidebar.refresh();
  // Folders and tags may have changed with the notes (and were not known before the first index).
  await loadScopes();
}

/** Which cited notes changed (or went) since the conversation cited them. @param {Conversation} saved */
async function showChangedNotes(saved) {
  ui.changed.hidden = true;
  if (Object.keys(saved.noteHashes).length === 0) return;
  const hashes = await indexedNoteHashes(Object.keys(saved.noteHashes));
  if (hashes === null || saved.id !== conversation.id) return;
  const changed = changedCitedNotes(saved.noteHashes, hashes);
  if (changed.length === 0) return;
  ui.changed.textContent = `Cited notes changed since this conversation: ${changed.join(', ')}. Its answers may no longer match them.`;
  ui.changed.hidden = false;
}

/** Shows a saved conversation as it ended. @param {string} id */
async function openConversation(id) {
  const saved = await store.get(id);
  if (!saved) return;
  stop();
  closeNote();
  forgetNotice();
  conversation = saved;
  turns = saved.turns.map((turn) => Turn.fromSaved(turn));
  ui.conversation.replaceChildren(ui.changed, ui.empty, ...turns.map((turn) => turn.element));
  ui.empty.hidden = turns.length > 0;
  setModelValue(saved.model);
  void loadScopes(saved.scope ?? '');
  ui.exportButton.disabled = false;
  rememberOpenConversation(saved.id);
  await sidebar.refresh();
  ui.conversation.scrollTop = ui.conversation.scrollHeight;
  closeSidebar();
  ui.question.focus();
  await showChangedNotes(saved);
}

function exportConversation() {
  if (turns.length > 0) downloadMarkdown({ ...conversation, turns: turns.map((turn) => turn.toSaved()) });
}

function closeSidebar() {
  document.body.classList.remove('sidebar-open');
  ui.sidebarToggle.setAttribute('aria-expanded', 'false');
}

/** @type {Turn[]} */
let turns = [];
/** @type {{ controller: AbortController, turn: Turn } | null} */
let current = null;

// ---------------------------------------------------------------------------------------------------
// Asking.

/** Earlier turns, newest last, trimmed to the server's limits. @param {string} question @param {boolean} rag */
function buildRequest(question, rag) {
  /** @type {HistoryTurn[]} */
  let history = turns.flatMap((turn) => turn.historyTurns()).slice(-MAX_HISTORY_TURNS);
  /** @type {{ question: string, stream: true, rag?: false, history?: HistoryTurn[], model?: string, filter?: import('./pickers.js').Scope }} */
  const request = { question, stream: true };
  if (!rag) request.rag = false;
  const model = modelValue();
  if (model !== '') request.model = model;
  const filter = scopeFilter(scopeValue());
  if (filter !== null && rag) request.filter = filter;
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
    void saveConversation();
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
  forgetNotice();
  conversation = newConversation();
  rememberOpenConversation(null);
  ui.changed.hidden = true;
  ui.conversation.replaceChildren(ui.changed, ui.empty);
  ui.empty.hidden = false;
  ui.exportButton.disabled = true;
  setModelValue(null);
  setScopeValue('');
  void sidebar.refresh();
  closeNote();
  ui.question.value = '';
  ui.question.focus();
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
  const link = noteLinkTarget(event);
  if (link) openLinkedNote(link.dataset['note'] ?? '', link);
});
ui.exportButton.addEventListener('click', exportConversation);
ui.noteAsk.addEventListener('click', () => {
  const path = currentNotePath();
  if (path === '') return;
  setScopeValue(`note:${path}`);
  closeNote();
  ui.question.focus();
});
ui.sidebarToggle.addEventListener('click', () => {
  const open = document.body.classList.toggle('sidebar-open');
  ui.sidebarToggle.setAttribute('aria-expanded', String(open));
  if (open) byId('conversation-search', HTMLInputElement).focus();
});

ui.conversation.addEventListener('click', (event) => {
  const link = noteLinkTarget(event);
  if (link) return openLinkedNote(link.dataset['note'] ?? '', link);
  const target = event.target instanceof Element ? event.target.closest('button.cite, button.source-open') : null;
  if (!(target instanceof HTMLButtonElement)) return;
  const turnElement = target.closest('article.turn');
  const turn = turnElement ? turnByElement.get(turnElement) : undefined;
  const source = turn?.sources.find((candidate) => String(candidate.n) === target.dataset['n']);
  if (source) void openNote(source, target);
});

document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || tokenDialogOpen()) return;
  if (document.body.classList.contains('sidebar-open')) {
    closeSidebar();
    ui.sidebarToggle.focus();
  } else if (noteOpen()) closeNote();
  else if (current) stop();
});

void refreshStatus();
ui.question.focus();
await Promise.all([loadScopes(), loadModels()]);
await sidebar.refresh();
const last = lastOpenConversation();
// A conversation that cannot be reopened (storage refused meanwhile) leaves the page as a new chat.
if (last) await openConversation(last).catch(() => undefined);
