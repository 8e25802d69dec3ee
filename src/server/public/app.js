// @ts-check
/**
 * The asknotes chat page: wiring. Plain browser modules, no framework: the page is one conversation, a
 * status bar and a note panel. Every piece of note text and every server message is inserted as text
 * (textContent); only model output goes through Markdown, and that through DOMPurify (render-answer.js).
 */
import { NeedsTokenError, apiFetch, readError, tokenDialogOpen } from './api.js';
import { byId } from './dom.js';
import { closeNote, noteLinkTarget, noteOpen, openLinkedNote, openNote } from './note-panel.js';
import { readServerSentEvents } from './sse.js';
import { refreshStatus, status } from './status-bar.js';
import { Turn, forgetNotice, turnByElement } from './turn.js';

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
  noteClose: byId('note-close', HTMLButtonElement),
  noteBody: byId('note-body', HTMLElement),
};

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
  forgetNotice();
  ui.conversation.replaceChildren(ui.empty);
  ui.empty.hidden = false;
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
  if (noteOpen()) closeNote();
  else if (current) stop();
});

void refreshStatus();
ui.question.focus();
