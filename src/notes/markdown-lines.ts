/**
 * Pure: a Markdown note's lines, numbered as editors number them, and what each line is.
 *
 * Every line is classified once, tracking fenced code (``` / ~~~, also inside list items and block
 * quotes), so a `#` inside a fence is never a heading. ATX headings (also `- #### heading` list items,
 * as in the sample note) and setext headings (`Title` + `===` / `---`) are recognised. The chunker,
 * the loader's Markdown facts and inline-tag reading all use this one classification, so they never
 * disagree about what is code, a heading or prose.
 */

/** A 0-based inclusive range of lines. */
export interface LineRange {
  start: number;
  end: number;
}

/** The note's lines as editors number them: split at "\n", without the CR of CRLF line ends. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  // A final line end does not start another line.
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

export type LineKind =
  | 'blank'
  | 'text'
  | 'heading'
  /** The lines after a heading's first line that still belong to it (a setext paragraph and underline). */
  | 'heading-rest'
  | 'fence-open'
  | 'fence-body'
  | 'fence-close';

export interface LineInfo {
  kind: LineKind;
  /** Leading white space, tabs counted as 4. */
  indent: number;
  /** Starts with a list marker (`-`, `*`, `+`, `1.`, `1)`). */
  listItem: boolean;
  level: number;
  headingText: string;
}

export const LIST_MARKER = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
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
export function plainText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+/g, '')
    .replace(/\*\*|__/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Classifies lines[from..]; entries before `from` (front matter) stay undefined. */
export function classifyLines(lines: string[], from: number): Array<LineInfo | undefined> {
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
