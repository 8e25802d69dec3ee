/**
 * The sources list that follows an answer where a door can carry only text (OpenAI
 * `/v1/chat/completions` content, MCP `ask_notes` text): Markdown, one line per source, numbered as
 * the answer's `[n]` markers. Pure.
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

/** An earlier assistant reply as sent back by a chat client, without the sources list we appended. */
export function withoutSourcesList(content: string): string {
  const at = content.lastIndexOf(`\n\n${SOURCES_HEADING}\n`);
  return at === -1 ? content : content.slice(0, at);
}
