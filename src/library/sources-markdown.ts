/**
 * The sources list that follows an answer where a door can carry only text (OpenAI
 * `/v1/chat/completions` content, MCP `ask_notes` text): Markdown, one line per source, numbered as
 * the answer's `[n]` markers; on `/v1` preceded by the answer's own notice (an answer that cites no
 * note, a prompt the model server cut) as a one-line Markdown note. Pure.
 */
import type { Source } from '../answer/answer-types.ts';

/** What separates an answer from its sources list (also used to strip the list from echoed history). */
export const SOURCES_HEADING = '**Sources**';

/** Inline code that cannot be broken out of by a backtick in a file name. */
function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** One line per source: `[n] `note` lines a–b — heading`. */
export function formatSourceLine(source: Pick<Source, 'n' | 'note' | 'lines' | 'heading'>): string {
  const [start, end] = source.lines;
  const lines = start === end ? `line ${start}` : `lines ${start}–${end}`;
  const heading = source.heading.trim() === '' ? '' : ` — ${source.heading.replace(/\s+/g, ' ').trim()}`;
  return `- [${source.n}] ${code(source.note)} ${lines}${heading}`;
}

/**
 * The Markdown block to append to an answer: the cited sources (all of them when nothing is
 * cited, e.g. the nearest notes of a question the notes do not cover); empty without sources.
 */
export function sourcesMarkdown(sources: readonly Source[], cited: readonly number[]): string {
  const listed = cited.length === 0 ? sources : sources.filter((source) => cited.includes(source.n));
  if (listed.length === 0) return '';
  return `\n\n${SOURCES_HEADING}\n${listed.map(formatSourceLine).join('\n')}`;
}

/** What starts the notice line between an answer and its sources list. */
export const NOTE_PREFIX = '> **Note:** ';

/**
 * What follows an answer on a text-only door: its notice (when it has one) as a one-line Markdown
 * note — readers of an OpenAI client see nothing else of it — then the sources list.
 */
export function answerFooter(sources: readonly Source[], cited: readonly number[], notice: string | undefined): string {
  const note = notice === undefined || notice.trim() === '' ? '' : `\n\n${NOTE_PREFIX}${notice.replace(/\s+/g, ' ').trim()}`;
  return note + sourcesMarkdown(sources, cited);
}

/** An earlier assistant reply as sent back by a chat client, without the notice and sources list we appended. */
export function withoutSourcesList(content: string): string {
  const at = content.lastIndexOf(`\n\n${SOURCES_HEADING}\n`);
  const answer = at === -1 ? content : content.slice(0, at);
  // Our note is one line, the answer's last paragraph.
  const noteAt = answer.lastIndexOf(`\n\n${NOTE_PREFIX}`);
  return noteAt !== -1 && !answer.slice(noteAt + 2).includes('\n') ? answer.slice(0, noteAt) : answer;
}
