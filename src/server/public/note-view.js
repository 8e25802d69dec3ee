// @ts-check
/**
 * What the note panel shows of vault notes and PDFs, and links in answers (issue 16):
 * - a PDF source opens its cited page (`notes/<file>.pdf?page=N`), lines counted within that page;
 * - a note's `[[wikilinks]]` show their words as buttons that open the linked note (the server
 *   resolves them: `notes/<path>?links`), on the same numbered lines as the file;
 * - in an answer, the words a source's links show ("Ada" for `[[People/Ada Quill|Ada]]`) open that note.
 * Note text is only ever inserted as text nodes.
 */
import { linesLabel } from './render-answer.js';

/** @typedef {import('./render-answer.js').Source} Source */
/** @typedef {{ line: number, start: number, end: number, shown: string, note: string | null, embed: boolean }} NoteLink */

/** @param {string} path */
export function notePath(path) {
  return `notes/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** @param {string} path */
export function isPdf(path) {
  return /\.pdf$/i.test(path);
}

/**
 * The text the panel shows for a source: a PDF's cited page, else the whole note.
 * @param {{ note: string, page?: number }} source
 */
export function noteTextPath(source) {
  return source.page === undefined ? notePath(source.note) : `${notePath(source.note)}?page=${source.page}`;
}

/**
 * "page 2, lines 1–3" for a PDF source, "lines 1–3" otherwise.
 * @param {{ lines: [number, number], page?: number }} source
 */
export function locationLabel(source) {
  return source.page === undefined ? linesLabel(source.lines) : `page ${source.page}, ${linesLabel(source.lines)}`;
}

/**
 * The wikilinks of a Markdown note, resolved by the server; [] for PDFs or when they cannot be had.
 * @param {(path: string, init?: RequestInit) => Promise<Response>} fetcher
 * @param {string} path
 * @returns {Promise<NoteLink[]>}
 */
export async function fetchNoteLinks(fetcher, path) {
  if (isPdf(path)) return [];
  try {
    const response = await fetcher(`${notePath(path)}?links`, { headers: { Accept: 'application/json' } });
    if (!response.ok) return [];
    const body = await response.json();
    return Array.isArray(body?.links) ? body.links : [];
  } catch {
    return [];
  }
}

/**
 * A button showing a link's words that opens the linked note (a plain span when no note has that name).
 * @param {string} shown
 * @param {string | null} note
 * @param {boolean} embed
 */
function linkElement(shown, note, embed) {
  if (note === null) {
    const missing = document.createElement('span');
    missing.className = 'note-link missing';
    missing.title = 'No note with this name is indexed';
    missing.textContent = shown;
    return missing;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = embed ? 'note-link embed' : 'note-link';
  button.dataset['note'] = note;
  button.title = `Open ${note}`;
  button.textContent = shown;
  return button;
}

/**
 * Numbered lines, the cited range marked, wikilinks as their words linking to their notes.
 * @param {string} text
 * @param {number} firstLine
 * @param {[number, number]} cited
 * @param {NoteLink[]} [links]
 */
export function noteLinesView(text, firstLine, [start, end], links = []) {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
  /** @type {Map<number, NoteLink[]>} */
  const linksByLine = new Map();
  for (const link of links) linksByLine.set(link.line, [...(linksByLine.get(link.line) ?? []), link]);
  const container = document.createElement('div');
  container.className = 'note-text';
  lines.forEach((line, index) => {
    const number = firstLine + index;
    const row = document.createElement('div');
    row.className = number >= start && number <= end ? 'line cited' : 'line';
    row.dataset['line'] = String(number);
    const numberCell = document.createElement('span');
    numberCell.className = 'line-number';
    numberCell.textContent = String(number);
    numberCell.setAttribute('aria-hidden', 'true');
    const textCell = document.createElement('span');
    textCell.className = 'line-text';
    let at = 0;
    for (const link of (linksByLine.get(number) ?? []).sort((a, b) => a.start - b.start)) {
      if (link.start < at || link.end > line.length) continue;
      textCell.append(line.slice(at, link.start), linkElement(link.shown, link.note, link.embed));
      at = link.end;
    }
    textCell.append(line.slice(at) || (at === 0 ? ' ' : ''));
    row.append(numberCell, textCell);
    container.append(row);
  });
  container.querySelector('.line.cited')?.setAttribute('aria-label', `Cited ${linesLabel([start, end])}`);
  return container;
}

/** @param {string} text */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Turns the words the sources' links show into buttons opening the linked notes, in an answer
 * already rendered (outside code, links and buttons).
 * @param {DocumentFragment | HTMLElement} root
 * @param {Source[]} sources
 */
export function linkShownWords(root, sources) {
  /** @type {Map<string, string>} */
  const targets = new Map();
  for (const source of sources) {
    for (const link of source.links ?? []) if (link.shown.trim().length >= 2 && !targets.has(link.shown)) targets.set(link.shown, link.note);
  }
  if (targets.size === 0) return;
  // Longest first, so "Ada Quill" wins over "Ada"; whole words only.
  const words = [...targets.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.join('|')})(?![\\p{L}\\p{N}])`, 'gu');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest('code, pre, a, button') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  /** @type {Text[]} */
  const textNodes = [];
  while (walker.nextNode()) textNodes.push(/** @type {Text} */ (walker.currentNode));
  for (const node of textNodes) {
    const text = node.data;
    const replacement = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      const note = targets.get(match[0]);
      if (note === undefined) continue;
      replacement.append(text.slice(last, match.index), linkElement(match[0], note, false));
      last = match.index + match[0].length;
    }
    if (last === 0) continue;
    replacement.append(text.slice(last));
    node.replaceWith(replacement);
  }
}
