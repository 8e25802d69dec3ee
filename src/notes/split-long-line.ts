/** Pure: one line too long for any chunk, cut into pieces at sentence, else word, else grapheme boundaries. */
import { chunkSettings, type ChunkOptions } from './chunk-options.ts';

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
  const { targetChars, overlapMaxChars } = chunkSettings(options);
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
