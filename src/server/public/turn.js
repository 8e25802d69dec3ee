// @ts-check
/** A conversation turn: the question, the streamed answer (Markdown, sanitised), its notice and sources. */
import { describeError } from './api.js';
import { h, plural } from './dom.js';
import { markFinishedAnswer, reasoningFold } from './answer-marks.js';
import { linkShownWords, locationLabel } from './note-view.js';
import { citedNumbers, renderAnswer } from './render-answer.js';
import { setMode, showEmbedder, status } from './status-bar.js';

/** @typedef {import('./render-answer.js').Source} Source */
/** @typedef {{ role: 'user' | 'assistant', content: string }} HistoryTurn */
/** @typedef {import('./api.js').ErrorInfo} ErrorInfo */

/** The server's limit on one history turn (src/server/ask-body.ts). */
export const MAX_HISTORY_TURN_CHARS = 16_000;

const conversation = document.getElementById('conversation');

/** The notice already shown in full in this conversation. */
let lastNotice = '';

/** A new conversation shows its first notice in full again. */
export function forgetNotice() {
  lastNotice = '';
}

/**
 * Runs `change`, then keeps the conversation scrolled to the end if it was there before: a streaming
 * answer stays in view, but a reader who scrolled up to an earlier turn is left where they are.
 * @param {() => void} change
 */
function keepPinned(change) {
  if (!conversation) return change();
  const { scrollTop, scrollHeight, clientHeight } = conversation;
  const pinned = scrollHeight - scrollTop - clientHeight < 80;
  change();
  if (pinned) conversation.scrollTop = conversation.scrollHeight;
}
/** @type {WeakMap<Element, Turn>} */
export const turnByElement = new WeakMap();

export class Turn {
  /** @param {string} question */
  constructor(question) {
    this.question = question;
    this.answer = '';
    /** @type {Source[]} */
    this.sources = [];
    /** @type {'streaming' | 'done' | 'stopped' | 'error'} */
    this.state = 'streaming';
    this.answerable = true;
    /** @type {number[]} */
    this.cited = [];
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
    this.cited = cited;
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
    if (first.length > 0) parts.push(h('h2', { text: 'Sources' }), sourceList(first, 'cited'));
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

  /** What the conversation store keeps of this turn (issue 15). @returns {import('./conversation-store.js').SavedTurn} */
  toSaved() {
    /** @type {import('./conversation-store.js').SavedTurn} */
    const saved = {
      question: this.question,
      answer: this.answer,
      sources: this.sources,
      cited: this.cited,
      answerable: this.answerable,
      state: this.state === 'streaming' ? 'stopped' : this.state,
    };
    if (!this.notice.hidden && this.notice.textContent) saved.notice = this.notice.title || this.notice.textContent;
    if (!this.error.hidden && this.error.textContent) saved.error = this.error.textContent;
    return saved;
  }

  /** A saved turn shown again as it ended. @param {import('./conversation-store.js').SavedTurn} saved */
  static fromSaved(saved) {
    const turn = new Turn(saved.question);
    turn.sources = saved.sources;
    turn.answer = saved.answer;
    turn.answerable = saved.answerable;
    if (saved.notice) {
      turn.notice.textContent = saved.notice;
      turn.notice.hidden = false;
    }
    if (saved.state === 'error') {
      turn.end('error', saved.cited);
      turn.error.textContent = saved.error ?? '';
      turn.error.hidden = !saved.error;
      turn.stateLabel.textContent = '';
    } else if (saved.state === 'stopped') {
      turn.end('stopped', saved.cited);
      turn.stateLabel.textContent = 'Stopped.';
    } else {
      turn.finish({ answer: saved.answer, answerable: saved.answerable, cited: saved.cited });
    }
    return turn;
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
        ' ',
        h('span', { className: 'source-note', text: source.note }),
      );
      // The name starts with the visible text (WCAG 2.5.3, label in name), then says what it opens.
      open.setAttribute('aria-label', `${source.n} ${source.note}, ${locationLabel(source)}: open the cited lines`);
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
