/**
 * Pure: where a group of lines may be split, and the split itself.
 *
 * Every line gets the rank of splitting just before it (sub-headings, then paragraphs / top-level
 * list items, then nested list items by depth, then line ends that end a sentence, then any line
 * end; never inside a fence). A group longer than `targetChars` is split recursively at its
 * best-ranked boundaries and the pieces are packed greedily back up to `targetChars`; a piece that
 * cannot be split (one fence, one line) stays whole. Tiny pieces then join a neighbour.
 */
import type { ChunkOptions } from './chunk-options.ts';
import type { LineInfo, LineRange } from './markdown-lines.ts';

type Range = LineRange;

// Boundary ranks: lower splits first. Headings rank by level (1..6).
export const PARAGRAPH_RANK = 10;
export const NESTED_RANK = 20;
const SENTENCE_RANK = 80;
const LINE_RANK = 90;
/** Right after a heading: only used to free an enormous line (which is then cut) from its heading. */
const HEADING_GLUE_RANK = 100;

/**
 * For each line, the rank of splitting just before it, or undefined where a split is never allowed:
 * inside a fence, before a blank. Directly after a heading gets `HEADING_GLUE_RANK` (a heading keeps
 * its first content, unless that content is one line too long for any chunk).
 */
export function boundaryPriorities(
  lines: string[],
  infos: Array<LineInfo | undefined>,
  from: number,
  sections: readonly LineRange[],
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
export function splitRange(
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
export function absorbTinyPieces(
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
