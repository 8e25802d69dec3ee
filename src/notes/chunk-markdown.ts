/**
 * Pure: a note in, heading-aware chunks out.
 *
 * Also home of the small Markdown facts the loader needs (front matter, the first `# heading`), so
 * that the loader and the chunker can never disagree about which lines are front matter. This
 * module imports nothing from `load-notes.ts` (the loader imports from here), so there is no cycle:
 * the chunker takes any `{ path, title, text }`, which every `Note` is.
 *
 * How a note becomes chunks:
 * 1. Lines: `text` split at "\n", the CR of CRLF dropped; front-matter lines are skipped.
 * 2. Every line is classified once, tracking fenced code (``` / ~~~, also inside list items), so a
 *    `#` inside a fence is never a heading and no split point ever falls inside a fence.
 * 3. Sections start at ATX headings (also `- #### heading` list items, as in the sample note) and
 *    setext headings; each has a heading path. The note's title heading (the first `#` heading,
 *    when it is the title) is left out of paths: the title is already in `embedText`.
 * 4. Adjacent sections under the same parent are grouped when one of them is tiny or has no body
 *    (a bare `## Day 1` joins the `### Keynote` that follows it).
 * 5. A group longer than `targetChars` is split recursively at its best-ranked boundaries (sub-
 *    headings, then paragraphs / top-level list items, then nested list items by depth, then line
 *    ends that end a sentence, then any line end), and the pieces are packed greedily back up to
 *    `targetChars`. A piece that cannot be split (one fence, one line) stays whole, except that
 *    a single line longer than `maxChars` is cut at sentence (else word, else grapheme) boundaries.
 * 6. A chunk that continues a paragraph or list item starts with the previous chunk's last line
 *    (a one-line overlap), and its heading gets the list items it sits inside as extra path parts.
 * 7. What is embedded is the note title, the heading path and, for a chunk that starts after its
 *    section's opening line, that line (a talk's later chunks often never name its subject again),
 *    then the text. What is shown is only the note's own lines.
 */
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';

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
 * issue 15; 4: vault syntax as shown words, aliases, PDF pages, issue 16).
 */
export const CHUNKER_VERSION = 4;

/** The longest section opening line carried into the section's later chunks (a label, not a paragraph). */
const LEAD_MAX_CHARS = 120;

export interface ChunkOptions {
  /** Groups longer than this are split, and pieces are packed up to it. */
  targetChars?: number;
  /** Hard ceiling, only exceeded by one fenced block or one enormous line (which is then cut). */
  maxChars?: number;
  /** Sections / pieces shorter than this are merged into a neighbour when possible. */
  minChars?: number;
  /** The overlap line (or sentence) is only repeated when it is at most this long. */
  overlapMaxChars?: number;
}

const DEFAULTS: Required<ChunkOptions> = {
  targetChars: 900,
  maxChars: 1200,
  minChars: 300,
  overlapMaxChars: 240,
};

/** What the chunker needs of a note (every `Note` from `load-notes.ts` is one). */
export interface MarkdownNote {
  path: string;
  title: string;
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Lines and front matter

/** The note's lines as editors number them: split at "\n", without the CR of CRLF line ends. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  // A final line end does not start another line.
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

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

// ---------------------------------------------------------------------------------------------
// Line classification

type LineKind =
  | 'blank'
  | 'text'
  | 'heading'
  /** The lines after a heading's first line that still belong to it (a setext paragraph and underline). */
  | 'heading-rest'
  | 'fence-open'
  | 'fence-body'
  | 'fence-close';

interface LineInfo {
  kind: LineKind;
  /** Leading white space, tabs counted as 4. */
  indent: number;
  /** Starts with a list marker (`-`, `*`, `+`, `1.`, `1)`). */
  listItem: boolean;
  level: number;
  headingText: string;
}

const LIST_MARKER = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
// The sample note puts headings in list items (`- #### Docker Scout`); CommonMark renders them as headings.
const LIST_ITEM_HEADING = /^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+(#{1,6})(?:[ \t]+(.*))?$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
// A fence may open inside block quotes and list items (`- ```` in the sample note).
const FENCE_PREFIX = /^[ \t>]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*/;

function indentOf(line: string): number {
  let width = 0;
  for (const character of line) {
    if (character === ' ') width += 1;
    else if (character === '\t') width += 4 - (width % 4);
    else break;
  }
  return width;
}

function headingTextOf(raw: string | undefined): string {
  // A closing sequence of #s is not part of the heading (`## Title ##`).
  const trimmed = (raw ?? '').trim().replace(/(?:^|[ \t]+)#+$/, '');
  return plainText(trimmed);
}

/** Heading / list-label text without Markdown syntax that would only be noise in a path. */
function plainText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+/g, '')
    .replace(/\*\*|__/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Classifies lines[from..]; entries before `from` (front matter) stay undefined. */
function classifyLines(lines: string[], from: number): Array<LineInfo | undefined> {
  const infos: Array<LineInfo | undefined> = new Array<LineInfo | undefined>(lines.length);
  let fence: { character: string; length: number; opened: number } | undefined;
  for (let index = from; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const info: LineInfo = {
      kind: 'text',
      indent: indentOf(line),
      listItem: LIST_MARKER.test(line),
      level: 0,
      headingText: '',
    };
    infos[index] = info;
    if (fence !== undefined) {
      const rest = line.replace(/^[ \t>]*/, '');
      const close = /^(`{3,}|~{3,})[ \t]*$/.exec(rest);
      const marker = close?.[1];
      if (marker !== undefined && marker[0] === fence.character && marker.length >= fence.length) {
        info.kind = 'fence-close';
        fence = undefined;
      } else {
        info.kind = 'fence-body';
      }
      continue;
    }
    if (line.trim() === '') {
      info.kind = 'blank';
      continue;
    }
    const open = /^(`{3,}|~{3,})(.*)$/.exec(line.replace(FENCE_PREFIX, ''));
    const openMarker = open?.[1];
    // A backtick fence's info string cannot contain a backtick (that would be inline code).
    if (openMarker !== undefined && !(openMarker[0] === '`' && (open?.[2] ?? '').includes('`'))) {
      info.kind = 'fence-open';
      fence = { character: openMarker[0] ?? '`', length: openMarker.length, opened: index };
      continue;
    }
    const atx = ATX_HEADING.exec(line) ?? LIST_ITEM_HEADING.exec(line);
    if (atx !== null) {
      info.kind = 'heading';
      info.level = atx[1]?.length ?? 1;
      info.headingText = headingTextOf(atx[2]);
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(line);
    if (underline !== null && markSetextHeading(infos, lines, index, from, underline[1]?.[0] === '=' ? 1 : 2)) {
      continue;
    }
  }
  // An unclosed fence still hides headings (CommonMark: it runs to the end of the document), but it
  // was probably not meant as one block, so its lines may be split like ordinary text.
  if (fence !== undefined) {
    for (let index = fence.opened; index < lines.length; index += 1) {
      const info = infos[index];
      if (info !== undefined && info.kind !== 'blank') info.kind = 'text';
    }
  }
  return infos;
}

/**
 * `Title` + `===` / `---`: the heading is the whole paragraph above the underline. Only a plain
 * paragraph qualifies (not one inside a list: `- item` + `---` is a list and a thematic break).
 */
function markSetextHeading(
  infos: Array<LineInfo | undefined>,
  lines: string[],
  underline: number,
  from: number,
  level: number,
): boolean {
  let start = underline;
  while (start - 1 >= from) {
    const previous = infos[start - 1];
    if (previous?.kind !== 'text' || previous.listItem || previous.indent >= 4) break;
    start -= 1;
  }
  if (start === underline) return false;
  const before = start - 1 >= from ? infos[start - 1] : undefined;
  // A lazy continuation of a list item is not a paragraph of its own.
  if (before !== undefined && before.kind !== 'blank' && before.kind !== 'heading' && before.kind !== 'fence-close') {
    return false;
  }
  const first = infos[start];
  if (first === undefined) return false;
  first.kind = 'heading';
  first.level = level;
  first.headingText = plainText(lines.slice(start, underline).join(' '));
  for (let index = start + 1; index <= underline; index += 1) {
    const info = infos[index];
    if (info !== undefined) info.kind = 'heading-rest';
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Sections and groups

interface Section {
  /** 0-based line index of the heading (or of the first body line for the part before any heading). */
  start: number;
  end: number;
  path: string[];
  /** Any non-blank line besides the heading itself. */
  hasBody: boolean;
}

function buildSections(lines: string[], infos: Array<LineInfo | undefined>, from: number, title: string): Section[] {
  const sections: Section[] = [];
  const stack: Array<{ level: number; text: string; shown: boolean }> = [];
  let titleSeen = false;
  let current: Section = { start: from, end: from - 1, path: [], hasBody: false };
  const finish = (end: number): void => {
    current.end = end;
    if (current.end >= current.start) sections.push(current);
  };
  for (let index = from; index < lines.length; index += 1) {
    const info = infos[index];
    if (info === undefined) continue;
    if (info.kind === 'heading') {
      finish(index - 1);
      while (stack.length > 0 && (stack[stack.length - 1]?.level ?? 0) >= info.level) stack.pop();
      // The title heading is already the first line of `embedText`; repeating it in every path is noise.
      const isTitle = !titleSeen && info.level === 1 && info.headingText === title;
      if (info.level === 1) titleSeen = true;
      stack.push({ level: info.level, text: info.headingText, shown: !isTitle && info.headingText !== '' });
      current = {
        start: index,
        end: index,
        path: stack.filter((entry) => entry.shown).map((entry) => entry.text),
        hasBody: false,
      };
    } else if (info.kind !== 'blank' && info.kind !== 'heading-rest') {
      current.hasBody = true;
    }
  }
  finish(lines.length - 1);
  // The part before the first heading only counts when it has text.
  return sections.filter((section) => section.hasBody || infos[section.start]?.kind === 'heading');
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.every((part, index) => path[index] === part);
}

// ---------------------------------------------------------------------------------------------
// The chunker

interface Range {
  start: number;
  end: number;
}

/** Splits a note into heading-aware chunks; see the module comment for the rules. */
export function chunkMarkdown(note: MarkdownNote, options: ChunkOptions = {}): Chunk[] {
  const settings: Required<ChunkOptions> = { ...DEFAULTS, ...definedOnly(options) };
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

  const groups = groupSections(sections, lengthOf, settings.minChars);
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

function definedOnly(options: ChunkOptions): ChunkOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as ChunkOptions;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function groupSections(
  sections: Section[],
  lengthOf: (start: number, end: number) => number,
  minChars: number,
): Range[] {
  const groups: Array<{ start: number; end: number; last: Section; bodyless: boolean }> = [];
  for (const section of sections) {
    const group = groups[groups.length - 1];
    // "Under the same parent": the next section lies within the parent of the group's last one.
    const sameParent = group !== undefined && startsWith(section.path, group.last.path.slice(0, -1));
    const tiny =
      group !== undefined &&
      (group.bodyless || lengthOf(group.start, group.end) < minChars || lengthOf(section.start, section.end) < minChars);
    if (group !== undefined && sameParent && tiny) {
      group.end = section.end;
      group.last = section;
      group.bodyless = group.bodyless && !section.hasBody;
    } else {
      groups.push({ start: section.start, end: section.end, last: section, bodyless: !section.hasBody });
    }
  }
  return groups;
}

// Boundary ranks: lower splits first. Headings rank by level (1..6).
const PARAGRAPH_RANK = 10;
const NESTED_RANK = 20;
const SENTENCE_RANK = 80;
const LINE_RANK = 90;
/** Right after a heading: only used to free an enormous line (which is then cut) from its heading. */
const HEADING_GLUE_RANK = 100;

/**
 * For each line, the rank of splitting just before it, or undefined where a split is never allowed:
 * inside a fence, before a blank. Directly after a heading gets `HEADING_GLUE_RANK` (a heading keeps
 * its first content, unless that content is one line too long for any chunk).
 */
function boundaryPriorities(
  lines: string[],
  infos: Array<LineInfo | undefined>,
  from: number,
  sections: Section[],
): Array<number | undefined> {
  const ranks = new Array<number | undefined>(lines.length);
  const sectionStarts = new Set(sections.map((section) => section.start));
  let previousContent: LineInfo | undefined;
  for (let index = from; index < lines.length; index += 1) {
    const info = infos[index];
    if (info === undefined || info.kind === 'blank') continue;
    const previous = previousContent;
    previousContent = info;
    if (previous === undefined) continue;
    if (info.kind === 'fence-body' || info.kind === 'fence-close' || info.kind === 'heading-rest') continue;
    if (previous.kind === 'heading' || previous.kind === 'heading-rest') {
      ranks[index] = HEADING_GLUE_RANK;
      continue;
    }
    if (info.kind === 'heading' && sectionStarts.has(index)) {
      ranks[index] = info.level;
      continue;
    }
    const afterBlank = infos[index - 1]?.kind === 'blank';
    if (info.indent < 2 && (info.listItem || afterBlank)) {
      ranks[index] = PARAGRAPH_RANK;
    } else if (info.listItem || afterBlank) {
      // Deeper list items (and loose paragraphs inside them) rank lower: split outer items first.
      ranks[index] = NESTED_RANK + Math.min(info.indent, 40);
    } else if (previous.kind === 'text' && /[.!?。！？…]["')\]”’]*$/.test((lines[index - 1] ?? '').trimEnd())) {
      ranks[index] = SENTENCE_RANK;
    } else {
      ranks[index] = LINE_RANK;
    }
  }
  return ranks;
}

/** Recursive split at the best-ranked boundaries, then greedy packing back up to the target. */
function splitRange(
  range: Range,
  priority: Array<number | undefined>,
  lengthOf: (start: number, end: number) => number,
  trim: (range: Range) => Range | undefined,
  settings: Required<ChunkOptions>,
): Range[] {
  if (lengthOf(range.start, range.end) <= settings.targetChars) return [range];
  let best = Number.POSITIVE_INFINITY;
  let hasOversizeLine = false;
  for (let index = range.start; index <= range.end; index += 1) {
    const rank = priority[index];
    if (index > range.start && rank !== undefined && rank < best && rank < HEADING_GLUE_RANK) best = rank;
    if (lengthOf(index, index) > settings.maxChars) hasOversizeLine = true;
  }
  if (best === Number.POSITIVE_INFINITY && hasOversizeLine && range.end > range.start) best = HEADING_GLUE_RANK;
  // One fence, one line, or a heading with its first content: it stays whole (one long line is cut later).
  if (best === Number.POSITIVE_INFINITY) return [range];
  const pieces: Range[] = [];
  let start = range.start;
  for (let index = range.start + 1; index <= range.end; index += 1) {
    if (priority[index] === best) {
      const piece = trim({ start, end: index - 1 });
      if (piece !== undefined) pieces.push(piece);
      start = index;
    }
  }
  const last = trim({ start, end: range.end });
  if (last !== undefined) pieces.push(last);
  const fine = pieces.flatMap((piece) => splitRange(piece, priority, lengthOf, trim, settings));
  const packed: Range[] = [];
  for (const piece of fine) {
    const current = packed[packed.length - 1];
    if (current !== undefined && lengthOf(current.start, piece.end) <= settings.targetChars) {
      current.end = piece.end;
    } else {
      packed.push({ ...piece });
    }
  }
  return packed;
}

/** A piece shorter than `minChars` joins its shorter neighbour when the result stays within `maxChars`. */
function absorbTinyPieces(
  pieces: Range[],
  lengthOf: (start: number, end: number) => number,
  settings: Required<ChunkOptions>,
): Range[] {
  const result = pieces.map((piece) => ({ ...piece }));
  let index = 0;
  while (index < result.length) {
    const piece = result[index];
    if (piece === undefined || lengthOf(piece.start, piece.end) >= settings.minChars || result.length === 1) {
      index += 1;
      continue;
    }
    const previous = result[index - 1];
    const next = result[index + 1];
    const withPrevious = previous === undefined ? Number.POSITIVE_INFINITY : lengthOf(previous.start, piece.end);
    const withNext = next === undefined ? Number.POSITIVE_INFINITY : lengthOf(piece.start, next.end);
    if (previous !== undefined && withPrevious <= settings.maxChars && withPrevious <= withNext) {
      previous.end = piece.end;
      result.splice(index, 1);
    } else if (next !== undefined && withNext <= settings.maxChars) {
      next.start = piece.start;
      result.splice(index, 1);
    } else {
      index += 1;
    }
  }
  return result;
}

/** The labels of the list items that contain line `start` (nearest last), looking back to the section start. */
function listAncestors(
  lines: string[],
  infos: Array<LineInfo | undefined>,
  start: number,
  sectionStart: number,
): string[] {
  const first = infos[start];
  if (first === undefined || first.indent === 0) return [];
  const labels: string[] = [];
  let indent = first.indent;
  for (let index = start - 1; index >= sectionStart && indent > 0; index -= 1) {
    const info = infos[index];
    if (info === undefined || info.kind === 'blank' || info.kind === 'fence-body' || info.kind === 'fence-close') {
      continue;
    }
    if (info.kind === 'heading' || info.kind === 'heading-rest') break;
    if (info.indent >= indent) continue;
    indent = info.indent;
    if (info.listItem && info.kind === 'text') {
      const label = listLabel(lines[index] ?? '');
      if (label !== '') labels.unshift(label);
    }
  }
  return labels;
}

function listLabel(line: string): string {
  const text = plainText(line.replace(LIST_MARKER, '').replace(/^\[[ xX]\][ \t]+/, '')).replace(/:$/, '');
  if (text.length <= 80) return text;
  const cut = text.slice(0, 80);
  const space = cut.lastIndexOf(' ');
  return `${cut.slice(0, space > 40 ? space : 80)}…`;
}

// ---------------------------------------------------------------------------------------------
// One enormous line

/** A sentence ends at . ! ? … (plus closing quotes/brackets) before white space, or at 。！？ (CJK needs no space). */
const SENTENCE_END = /[.!?…]+["'”’)\]]*\s+|[。！？]+["'”’)\]」』]*\s*/g;

/**
 * Cuts one line into pieces of at most `targetChars` at sentence boundaries (else at white space,
 * else between graphemes, so no surrogate pair or emoji sequence is ever split), repeating the
 * previous piece's last sentence when it is short. Returns [start, end) offsets, white space trimmed.
 * Linear in the line's length: `Intl.Segmenter` is only run on small windows, because iterating it
 * over a multi-megabyte string is quadratic in V8.
 */
export function splitLongLine(line: string, options: ChunkOptions = {}): Array<[number, number]> {
  const { targetChars, overlapMaxChars } = { ...DEFAULTS, ...definedOnly(options) };
  interface Segment {
    start: number;
    end: number;
    sentence: boolean;
  }
  const segments: Segment[] = [];
  const addSentence = (start: number, end: number): void => {
    if (end <= start) return;
    if (end - start <= targetChars) {
      segments.push({ start, end, sentence: true });
      return;
    }
    WORD.lastIndex = start;
    for (let word = WORD.exec(line); word !== null && word.index < end; word = WORD.exec(line)) {
      const wordEnd = Math.min(word.index + word[0].length, end);
      if (wordEnd - word.index <= targetChars) segments.push({ start: word.index, end: wordEnd, sentence: false });
      else for (const piece of graphemePieces(line, word.index, wordEnd, targetChars)) segments.push(piece);
      if (wordEnd === end) break;
    }
  };
  let sentenceStart = 0;
  for (const match of line.matchAll(SENTENCE_END)) {
    const end = (match.index ?? 0) + match[0].length;
    addSentence(sentenceStart, end);
    sentenceStart = end;
  }
  addSentence(sentenceStart, line.length);

  const pieces: Array<[number, number]> = [];
  let first = 0;
  while (first < segments.length) {
    let last = first;
    const startSegment = segments[first];
    if (startSegment === undefined) break;
    while ((segments[last + 1]?.end ?? Number.POSITIVE_INFINITY) - startSegment.start <= targetChars) last += 1;
    const endSegment = segments[last] ?? startSegment;
    const trimmed = trimOffsets(line, startSegment.start, endSegment.end);
    if (trimmed !== undefined) pieces.push(trimmed);
    if (last + 1 >= segments.length) break;
    // One sentence of overlap, only when it leaves room for new text (so the loop always advances).
    const closing = segments[last];
    const next = segments[last + 1];
    const overlap =
      last > first &&
      closing !== undefined &&
      next !== undefined &&
      closing.sentence &&
      closing.end - closing.start <= overlapMaxChars &&
      next.end - closing.start <= targetChars;
    first = overlap ? last : last + 1;
  }
  return pieces;
}

const WORD = /\S+\s*|\s+/g;

/** [start, end) cut into pieces of at most `size` at grapheme boundaries, segmenting a small window at a time. */
function graphemePieces(line: string, start: number, end: number, size: number): Array<{ start: number; end: number; sentence: false }> {
  const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const pieces: Array<{ start: number; end: number; sentence: false }> = [];
  let from = start;
  while (end - from > size) {
    // Every window starts at a grapheme boundary, so boundaries well inside it are exact.
    const window = line.slice(from, Math.min(end, from + size + 64));
    let cut = 0;
    for (const grapheme of graphemes.segment(window)) {
      if (grapheme.index > size) break;
      if (grapheme.index > 0) cut = grapheme.index;
    }
    // A single grapheme longer than the window (absurd, but possible) is cut at a code point boundary.
    if (cut === 0) cut = /[\uD800-\uDBFF]/.test(window[size - 1] ?? '') ? size - 1 : size;
    pieces.push({ start: from, end: from + cut, sentence: false });
    from += cut;
  }
  if (end > from) pieces.push({ start: from, end, sentence: false });
  return pieces;
}

function trimOffsets(line: string, start: number, end: number): [number, number] | undefined {
  let from = start;
  let to = end;
  while (from < to && /\s/.test(line[from] ?? '')) from += 1;
  while (to > from && /\s/.test(line[to - 1] ?? '')) to -= 1;
  return from < to ? [from, to] : undefined;
}
