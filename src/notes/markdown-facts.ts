/**
 * Pure: the small Markdown facts the loader needs (front matter, the first `# heading`, the prose
 * lines that inline `#tags` are read from). They use the chunker's own line classification
 * (`markdown-lines.ts`), so the loader and the chunker can never disagree about which lines are front
 * matter, code or headings.
 */
import { parseDocument } from 'yaml';
import { classifyLines, splitLines } from './markdown-lines.ts';

export interface FrontMatter {
  /** Lines at the top of the text that the block occupies, both `---` included; 0 when there is none. */
  lineCount: number;
  /** The parsed mapping ({} when there is none, it is empty, or it was kept as text). */
  data: Record<string, unknown>;
  /** Set when a `---` … `---` block at the top was not a YAML mapping and was kept as ordinary text. */
  problem?: string;
}

/**
 * YAML front matter: `---` on the very first line, closed by `---` or `...`.
 * A block that is not valid YAML, or not a mapping, is kept as ordinary note text (so nothing the
 * author wrote is lost) and `problem` says why; the loader reports it as a warning on the note.
 */
export function splitFrontMatter(text: string): FrontMatter {
  const lines = splitLines(text);
  if (lines[0]?.trimEnd() !== '---') return { lineCount: 0, data: {} };
  const close = lines.findIndex((line, index) => index > 0 && /^(?:---|\.\.\.)\s*$/.test(line));
  // An unclosed `---` is a thematic break, not front matter.
  if (close < 0) return { lineCount: 0, data: {} };
  const source = lines.slice(1, close).join('\n');
  const keptAsText = (why: string): FrontMatter => ({
    lineCount: 0,
    data: {},
    problem: `front matter (lines 1-${close + 1}) ${why}; it was kept as note text`,
  });
  const document = parseDocument(source);
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    return keptAsText(`is not valid YAML: ${firstError.message.split('\n')[0] ?? ''}`);
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return keptAsText(`is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (value === null || value === undefined) return { lineCount: close + 1, data: {} };
  if (typeof value !== 'object' || Array.isArray(value)) return keptAsText('is not a YAML mapping');
  return { lineCount: close + 1, data: value as Record<string, unknown> };
}

/** The text of the first level-1 heading outside fences and front matter (the fallback note title). */
export function firstLevelOneHeading(text: string): string | undefined {
  const lines = splitLines(text);
  const infos = classifyLines(lines, splitFrontMatter(text).lineCount);
  for (const info of infos) {
    if (info?.kind === 'heading' && info.level === 1 && info.headingText !== '') return info.headingText;
  }
  return undefined;
}

/**
 * The lines of prose: outside front matter, fenced code and headings (0-based line numbers with
 * their text). Other readers of the note's syntax (inline `#tags`) use this, so they never
 * disagree with the chunker about what is code or a heading.
 */
export function proseLines(text: string): Array<{ line: number; text: string }> {
  const lines = splitLines(text);
  const infos = classifyLines(lines, splitFrontMatter(text).lineCount);
  const prose: Array<{ line: number; text: string }> = [];
  infos.forEach((info, line) => {
    if (info?.kind === 'text') prose.push({ line, text: lines[line] ?? '' });
  });
  return prose;
}
