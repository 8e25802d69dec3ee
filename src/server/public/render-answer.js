// @ts-check
/**
 * Model output -> safe DOM. The answer is Markdown written by a model that has read the user's notes,
 * so it may echo anything a note contains, including HTML. Raw HTML is shown as text (marked's `html`
 * renderer is replaced), the result is sanitised by DOMPurify with a short allow-list anyway, and only
 * then are citation markers turned into buttons, by DOM operations rather than markup.
 */
import { Marked } from './vendor/marked.esm.js';
import DOMPurify from './vendor/purify.es.mjs';

/** @param {string} text */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const markdown = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Raw HTML in an answer is content to show, never markup to apply.
    html: ({ text }) => escapeHtml(text),
    // No remote or same-origin images from model output: show the alt text.
    image: ({ text }) => escapeHtml(text),
  },
});

/** The tags Markdown produces for prose, lists, code and tables; nothing that loads or runs anything. */
const sanitizeConfig = {
  ALLOWED_TAGS: [
    'p', 'br', 'hr', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a',
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  ALLOWED_ATTR: ['href', 'title', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: /** @type {const} */ (true),
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Links in answers open outside the chat and cannot reach back into it.
  if (node.nodeName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/**
 * @typedef {{ n: number, id: string, note: string, heading: string, lines: [number, number], text: string, score: number,
 *   page?: number, links?: { shown: string, note: string }[] }} Source
 */

/** Citation markers as the prompt asks for them: `[1]`, and the `[1, 2]` form some models prefer. */
const citationPattern = /\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]/g;

/**
 * Renders `answer` as sanitised Markdown with `[n]` markers for known sources turned into buttons.
 * @param {string} answer
 * @param {Source[]} sources
 * @returns {DocumentFragment}
 */
export function renderAnswer(answer, sources) {
  const html = /** @type {string} */ (markdown.parse(answer));
  const fragment = DOMPurify.sanitize(html, sanitizeConfig);
  linkCitations(fragment, sources);
  return fragment;
}

/**
 * The citation numbers that appear in `answer` (used when the stream stops before `done` says which).
 * @param {string} answer
 * @returns {number[]}
 */
export function citedNumbers(answer) {
  /** @type {Set<number>} */
  const cited = new Set();
  for (const match of answer.matchAll(citationPattern)) {
    for (const part of (match[1] ?? '').split(',')) cited.add(Number(part.trim()));
  }
  return [...cited].sort((a, b) => a - b);
}

/**
 * @param {DocumentFragment} root
 * @param {Source[]} sources
 */
function linkCitations(root, sources) {
  const byNumber = new Map(sources.map((source) => [source.n, source]));
  if (byNumber.size === 0) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) =>
      node.parentElement?.closest('code, pre, a') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  /** @type {Text[]} */
  const textNodes = [];
  while (walker.nextNode()) textNodes.push(/** @type {Text} */ (walker.currentNode));
  for (const node of textNodes) {
    const text = node.data;
    // (No `citationPattern.test` here: it would move lastIndex, and matchAll starts from there.)
    if (!text.includes('[')) continue;
    const replacement = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(citationPattern)) {
      const numbers = (match[1] ?? '').split(',').map((part) => Number(part.trim()));
      const known = numbers.map((n) => byNumber.get(n));
      if (known.some((source) => source === undefined)) continue; // not a citation of ours: keep as text
      replacement.append(text.slice(last, match.index));
      for (const source of known) if (source) replacement.append(citationButton(source));
      last = match.index + match[0].length;
    }
    if (last === 0) continue;
    replacement.append(text.slice(last));
    node.replaceWith(replacement);
  }
}

/** @param {Source} source */
export function citationButton(source) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'cite';
  button.dataset['n'] = String(source.n);
  button.textContent = String(source.n);
  const where = source.page === undefined ? linesLabel(source.lines) : `page ${source.page}, ${linesLabel(source.lines)}`;
  button.title = `${source.note}, ${where}`;
  button.setAttribute('aria-label', `Source ${source.n}: ${source.note}, ${where}`);
  return button;
}

/** @param {[number, number]} lines */
export function linesLabel([start, end]) {
  return start === end ? `line ${start}` : `lines ${start}–${end}`;
}
