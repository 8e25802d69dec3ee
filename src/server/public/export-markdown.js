// @ts-check
/**
 * A saved conversation as Markdown (issue 15): each question as a heading, the answer as written, and
 * its cited sources as `note:lines` links to the note files (relative to the notes folder, so they
 * open from a vault or an editor next to it).
 */
import { locationLabel } from './note-view.js';

/** @typedef {import('./conversation-store.js').Conversation} Conversation */

/**
 * `note.md:12-20` (or `note.md:12` for one line); a PDF source's lines count within its page, which
 * its link and label name.
 * @param {{ note: string, lines: [number, number] }} source
 */
export function noteLines(source) {
  const [start, end] = source.lines;
  return `${source.note}:${start === end ? start : `${start}-${end}`}`;
}

/** @param {string} path */
function linkTarget(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** @param {Conversation} conversation */
export function conversationToMarkdown(conversation) {
  const parts = [`# ${conversation.title || 'Conversation'}`, ''];
  const when = new Date(conversation.createdAt).toISOString().slice(0, 16).replace('T', ' ');
  parts.push(`_Saved from asknotes, started ${when} UTC${conversation.model ? `, model ${conversation.model}` : ''}._`, '');
  for (const turn of conversation.turns) {
    parts.push(`## ${turn.question.replace(/\s+/g, ' ').trim()}`, '');
    if (turn.answer.trim() !== '') parts.push(turn.answer.trim(), '');
    if (turn.error) parts.push(`> ${turn.error}`, '');
    const cited = new Set(turn.cited);
    const sources = turn.sources.filter((source) => cited.has(source.n));
    if (sources.length > 0) {
      parts.push('Sources:', '');
      for (const source of sources) {
        const heading = source.heading ? ` — ${source.heading}` : '';
        // A PDF opens at its page (the PDF open parameter); a text note at its first cited line.
        const anchor = source.page === undefined ? `L${source.lines[0]}` : `page=${source.page}`;
        parts.push(`- [${source.n}] [${noteLines(source)}](${linkTarget(source.note)}#${anchor})${heading} (${locationLabel(source)})`);
      }
      parts.push('');
    }
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

/** A file name for the export: the title's words, safe everywhere. @param {Conversation} conversation */
export function exportFileName(conversation) {
  const words = (conversation.title || 'conversation').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  return `${words.slice(0, 60) || 'conversation'}.md`;
}

/** Saves the conversation as a Markdown file through the browser's download. @param {Conversation} conversation */
export function downloadMarkdown(conversation) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([conversationToMarkdown(conversation)], { type: 'text/markdown' }));
  link.download = exportFileName(conversation);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1_000);
}
