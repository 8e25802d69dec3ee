/**
 * Pure: a note in, heading-aware chunks out. This module assembles chunks (ranges, overlap, ids,
 * headings, `embedText`); each step before that lives in its own module:
 * - `markdown-lines.ts`: lines (`text` split at "\n", the CR of CRLF dropped) and one
 *   classification per line, tracking fenced code, so no split point ever falls inside a fence;
 * - `markdown-facts.ts`: front matter (its lines are skipped) and the loader's other Markdown facts;
 * - `chunk-sections.ts`: sections with heading paths, grouped when tiny or bare;
 * - `chunk-boundaries.ts`: a group longer than `targetChars` is split recursively at its best-ranked
 *   boundaries and packed back up to `targetChars`; tiny pieces join a neighbour;
 * - `split-long-line.ts`: a single line longer than `maxChars` is cut at sentence (else word, else
 *   grapheme) boundaries.
 * None of them imports `load-notes.ts` (the loader imports from them), so there is no cycle: the
 * chunker takes any `{ path, title, text }`, which every `Note` is.
 *
 * Here:
 * 0. A note whose body is at most `shortNoteChars` (default `targetChars`) is one chunk.
 * 1. A chunk that continues a paragraph or list item starts with the previous chunk's last line
 *    (a one-line overlap), and its heading gets the list items it sits inside as extra path parts.
 * 2. What is embedded is the note title, the heading path and, for a chunk that starts after its
 *    section's opening line, that line (a talk's later chunks often never name its subject again),
 *    then the text. What is shown is only the note's own lines.
 */
import { createHash } from 'node:crypto';
import { NESTED_RANK, PARAGRAPH_RANK, absorbTinyPieces, boundaryPriorities, splitRange } from './chunk-boundaries.ts';
import { chunkSettings, type ChunkOptions } from './chunk-options.ts';
import { buildSections, groupSections, listAncestors, type Section } from './chunk-sections.ts';
import { splitFrontMatter } from './markdown-facts.ts';
import { LIST_MARKER, classifyLines, plainText, splitLines, type LineRange } from './markdown-lines.ts';
import { splitLongLine } from './split-long-line.ts';

// Callers (and the chunker tests) import these from here.
export type { ChunkOptions } from './chunk-options.ts';
export { splitFrontMatter } from './markdown-facts.ts';
export { splitLongLine } from './split-long-line.ts';

export interface Chunk {
  /** Stable id from note path + shown text (sha256, hex, shortened). */
  id: string;
  note: string;
  /** Heading path joined with " > ", e.g. "Day 1 > 15 Tips and Tricks > depends_on" ("" before any heading). */
  heading: string;
  /** 1-based inclusive line range in the note file. */
  lines: [number, number];
  /**
   * Exactly the note's lines start..end joined with "\n" (what users see).
   * The one exception is `slice`: a single line too long for one chunk is cut into several chunks,
   * each with that one line as its range and `text` = the line's `slice(slice[0], slice[1])`.
   */
  text: string;
  /** What is embedded: note title + heading path (+ the section's opening line, for later chunks) + text. */
  embedText: string;
  /** Only for a part of one over-long line: [start, end) UTF-16 offsets of `text` within that line. */
  slice?: [number, number];
}

/**
 * Bump whenever chunk boundaries, headings, ids, `embedText` or what the index keeps per chunk
 * would change for the same note (also for `chunk-note.ts`; 3: chunks carry their note's tags,
 * issue 15; 4: vault syntax as shown words, aliases, PDF pages, issue 16; 5: a note whose body fits
 * `shortNoteChars` (default `targetChars`) is one chunk, issue 11).
 */
export const CHUNKER_VERSION = 5;

/** The longest section opening line carried into the section's later chunks (a label, not a paragraph). */
const LEAD_MAX_CHARS = 120;

/** What the chunker needs of a note (every `Note` from `load-notes.ts` is one). */
export interface MarkdownNote {
  path: string;
  title: string;
  text: string;
}

type Range = LineRange;

/** Splits a note into heading-aware chunks; see the module comment for the rules. */
export function chunkMarkdown(note: MarkdownNote, options: ChunkOptions = {}): Chunk[] {
  const settings = chunkSettings(options);
  const lines = splitLines(note.text);
  const from = splitFrontMatter(note.text).lineCount;
  const infos = classifyLines(lines, from);
  const sections = buildSections(lines, infos, from, note.title);
  if (sections.length === 0) return [];

  // Prefix sums make any line range's length (lines joined with "\n") O(1).
  const offsets = new Array<number>(lines.length + 1);
  offsets[0] = 0;
  lines.forEach((line, index) => {
    offsets[index + 1] = (offsets[index] ?? 0) + line.length + 1;
  });
  const lengthOf = (start: number, end: number): number => (offsets[end + 1] ?? 0) - (offsets[start] ?? 0) - 1;
  const isBlank = (index: number): boolean => {
    const kind = infos[index]?.kind;
    return kind === undefined || kind === 'blank';
  };
  const trim = (range: Range): Range | undefined => {
    let { start, end } = range;
    while (start <= end && isBlank(start)) start += 1;
    while (end >= start && isBlank(end)) end -= 1;
    return start <= end ? { start, end } : undefined;
  };

  const sectionAt = new Array<Section | undefined>(lines.length);
  for (const section of sections) {
    for (let index = section.start; index <= section.end; index += 1) sectionAt[index] = section;
  }

  // A short note is one chunk, even across headings that would otherwise start groups.
  const body = trim({ start: from, end: lines.length - 1 });
  const groups =
    body !== undefined && lengthOf(body.start, body.end) <= settings.shortNoteChars
      ? [body]
      : groupSections(sections, lengthOf, settings.minChars);
  const priority = boundaryPriorities(lines, infos, from, sections);

  // `first`: where the chunk's own content starts (after a repeated overlap line).
  const chunks: Array<Range & { first: number; slice?: [number, number] }> = [];
  for (const group of groups) {
    const range = trim({ start: group.start, end: group.end });
    if (range === undefined) continue;
    const pieces = absorbTinyPieces(
      splitRange(range, priority, lengthOf, trim, settings),
      lengthOf,
      settings,
    );
    pieces.forEach((piece, index) => {
      if (piece.start === piece.end && lengthOf(piece.start, piece.end) > settings.maxChars) {
        for (const slice of splitLongLine(lines[piece.start] ?? '', settings)) {
          chunks.push({ start: piece.start, end: piece.end, first: piece.start, slice });
        }
        return;
      }
      const previous = pieces[index - 1];
      const overlapLine = previous === undefined ? undefined : overlapFor(previous, piece);
      if (overlapLine !== undefined && lengthOf(overlapLine, piece.end) <= settings.maxChars) {
        chunks.push({ start: overlapLine, end: piece.end, first: piece.start });
      } else {
        chunks.push({ ...piece, first: piece.start });
      }
    });
  }

  /** The previous piece's last line, repeated when both pieces continue one paragraph or list item. */
  function overlapFor(previous: Range, next: Range): number | undefined {
    const rank = priority[next.start];
    const last = infos[previous.end];
    const first = infos[next.start];
    if (rank === undefined || last === undefined || first === undefined) return undefined;
    if (last.kind !== 'text' || lengthOf(previous.end, previous.end) > settings.overlapMaxChars) return undefined;
    if (sectionAt[previous.end] !== sectionAt[next.start]) return undefined;
    // Within a list item or a paragraph; a new paragraph after a paragraph also keeps its lead-in.
    const inside = rank >= NESTED_RANK;
    const paragraphs = rank === PARAGRAPH_RANK && !last.listItem && !first.listItem && last.indent === 0;
    return inside || paragraphs ? previous.end : undefined;
  }

  const occurrences = new Map<string, number>();
  return chunks.map((range) => {
    // One line is taken as is: joining would copy an enormous line once per part cut from it.
    const whole = range.start === range.end ? (lines[range.start] ?? '') : lines.slice(range.start, range.end + 1).join('\n');
    const text = range.slice === undefined ? whole : whole.slice(range.slice[0], range.slice[1]);
    const heading = headingFor(range);
    const lead = leadFor(range);
    const seen = occurrences.get(text) ?? 0;
    occurrences.set(text, seen + 1);
    // The same text twice in one note still needs two ids; the first keeps the plain id, so adding a
    // duplicate later does not change the id of the original.
    const id = sha256(seen === 0 ? `${note.path}\n${text}` : `${note.path}\n${text}\n#${seen}`).slice(0, 20);
    const chunk: Chunk = {
      id,
      note: note.path,
      heading,
      lines: [range.start + 1, range.end + 1],
      text,
      embedText: `${heading === '' ? note.title : `${note.title}\n${heading}`}\n\n${text}${lead === '' ? '' : `\n\n${lead}`}`,
    };
    if (range.slice !== undefined) chunk.slice = range.slice;
    return chunk;
  });

  /**
   * The opening line of the chunk's section when the chunk starts after it (a talk's "UI testing with
   * Docker Selenium" for its later chunks, which may never name the subject again); '' otherwise, or
   * when that line is code or longer than LEAD_MAX_CHARS.
   */
  function leadFor(range: Range & { first: number }): string {
    const section = sectionAt[range.first];
    if (section === undefined) return '';
    for (let index = section.start; index < range.start; index += 1) {
      const kind = infos[index]?.kind;
      if (kind === undefined || kind === 'blank' || kind === 'heading' || kind === 'heading-rest') continue;
      if (kind !== 'text') return '';
      const lead = plainText((lines[index] ?? '').replace(LIST_MARKER, ''));
      return lead.length <= LEAD_MAX_CHARS ? lead : '';
    }
    return '';
  }

  function headingFor(range: Range & { first: number }): string {
    // The sections this chunk has body text from; bare headings only count when there is nothing else.
    const covered: Section[] = [];
    const withBody: Section[] = [];
    for (let index = range.start; index <= range.end; index += 1) {
      const section = sectionAt[index];
      const kind = infos[index]?.kind;
      if (section === undefined) continue;
      if (covered[covered.length - 1] !== section) covered.push(section);
      const isBody = kind !== undefined && kind !== 'blank' && kind !== 'heading' && kind !== 'heading-rest';
      if (isBody && withBody[withBody.length - 1] !== section) withBody.push(section);
    }
    const relevant = withBody.length > 0 ? withBody : covered.slice(-1);
    const first = relevant[0];
    if (first === undefined) return '';
    if (relevant.length > 1) {
      let common = first.path;
      for (const section of relevant) {
        let length = 0;
        while (length < common.length && common[length] === section.path[length]) length += 1;
        common = common.slice(0, length);
      }
      return common.join(' > ');
    }
    // A chunk that starts inside a list item names the items it sits in, which its own text lacks.
    return [...first.path, ...listAncestors(lines, infos, range.first, first.start)].join(' > ');
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
