// @ts-check
/** The note panel: the cited note (or a PDF's cited page), its heading path, the cited lines highlighted and scrolled to; its links open the linked note. */
import { apiFetch, describeError, readError } from './api.js';
import { byId, h } from './dom.js';
import { fetchNoteLinks, isPdf, locationLabel, noteLinesView, noteTextPath } from './note-view.js';

/** @typedef {import('./render-answer.js').Source} Source */

const ui = {
  notePanel: byId('note-panel', HTMLElement),
  noteTitle: byId('note-title', HTMLElement),
  noteHeading: byId('note-heading', HTMLElement),
  noteLines: byId('note-lines', HTMLElement),
  noteError: byId('note-error', HTMLElement),
  noteBody: byId('note-body', HTMLElement),
};

/** The note the panel shows (for "Ask about this note"). */
let shownNote = '';

export function currentNotePath() {
  return shownNote;
}

/** Whether the panel is showing. */
export function noteOpen() {
  return !ui.notePanel.hidden;
}

/** @type {HTMLElement | null} */
let noteReturnFocus = null;
let noteRequest = 0;

/**
 * Opens a cited source (its note, or a PDF's cited page, with the cited lines marked), or with
 * `source.n === 0` a note opened from a link (nothing cited).
 * @param {Source} source
 * @param {HTMLElement} trigger
 */
export async function openNote(source, trigger) {
  const request = ++noteRequest;
  noteReturnFocus = trigger;
  const cited = source.n > 0;
  shownNote = source.note;
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
export function openLinkedNote(path, trigger) {
  /** @type {Source} */
  const linked = { n: 0, id: '', note: path, heading: '', lines: [0, 0], text: '', score: 0 };
  // A PDF opens at its first page's text.
  if (isPdf(path)) linked.page = 1;
  void openNote(linked, trigger);
}

/**
 * The link button a click landed on (in an answer or the note panel), if any.
 * @param {Event} event
 * @returns {HTMLButtonElement | null}
 */
export function noteLinkTarget(event) {
  const link = event.target instanceof Element ? event.target.closest('button.note-link') : null;
  return link instanceof HTMLButtonElement && link.dataset['note'] ? link : null;
}

export function closeNote() {
  if (ui.notePanel.hidden) return;
  noteRequest += 1;
  ui.notePanel.hidden = true;
  document.body.classList.remove('note-open');
  if (noteReturnFocus?.isConnected) noteReturnFocus.focus();
  noteReturnFocus = null;
}
