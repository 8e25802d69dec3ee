/**
 * Extractive answers (no chat model): the lines or sentences of the top sources that best match the
 * question, each with its [n] marker. Pure: sources and term weights in, text out.
 */
import { tokenize } from '../embeddings/tokenize.ts';
import { coverage, type QueryTerms } from './evidence.ts';

export interface ExtractSource {
  n: number;
  text: string;
}

export interface Candidate {
  n: number;
  /** The line (or sentence) as shown, list marker removed. */
  text: string;
  /** The nearest less-indented line above it in the same source (a list item's parent), if any. */
  parent: string | undefined;
  /** Its sub-items, shown under it: a line often introduces the detail that answers. */
  children: string[];
  score: number;
}

/** Most lines this answer shows, and roughly how long it may get: readable at a glance. */
const MAX_LINES = 3;
const MAX_CHARS = 600;
/** A line is "short" when it reads as a fragment without its parent (e.g. "default is `x`"). */
const SHORT_LINE = 60;

const LIST_MARKER = /^\s*(?:[-*+]|\d+[.)])\s+/;
// Fences open at the start of a line or of a list item ("  - ```"), as in the sample note; a closing
// fence is indented to the item's content. Both forms must toggle, or a list fence's closing line
// would be taken for an opening one and hide the rest of the chunk.
const FENCE = /^\s*(?:(?:[-*+]|\d+[.)])\s+)?(```|~~~)/;

function indentation(line: string): number {
  return line.length - line.trimStart().length;
}

function clean(line: string): string {
  return line.replace(LIST_MARKER, '').replace(/^#+\s*/, '').trim();
}

/** Splits a long line into sentences so one relevant sentence can be shown on its own. */
export function splitSentences(text: string): string[] {
  if (text.length <= 240) return [text];
  const parts = text.split(/(?<=[.!?])\s+(?=[A-Z0-9`"(])/u).map((part) => part.trim());
  return parts.filter((part) => part !== '');
}

/** Every line or sentence of every source, scored by weighted coverage of the question. */
export function scoreCandidates(query: QueryTerms, sources: ExtractSource[]): Candidate[] {
  const candidates: Candidate[] = [];
  sources.forEach((source, rank) => {
    const lines = source.text.split('\n');
    let fenceParent: string | undefined;
    let inFence = false;
    lines.forEach((line, position) => {
      if (FENCE.test(line)) {
        inFence = !inFence;
        // Lines of a code block belong to what introduces it (the line above the fence).
        if (inFence) fenceParent = parentOf(lines, position);
        return;
      }
      if (line.trim() === '') return;
      const parent = inFence ? fenceParent : parentOf(lines, position);
      const parentTerms = parent === undefined ? new Set<string>() : new Set(tokenize(parent));
      const pieces = inFence ? [line.trim()] : splitSentences(clean(line));
      for (const sentence of pieces) {
        const own = new Set(tokenize(sentence));
        if (own.size === 0) continue;
        // A list item inherits half the credit of its parent's words ("depends_on > condition" → "default is x").
        const inherited = new Set([...parentTerms].filter((term) => !own.has(term)));
        const score = coverage(query, own) + 0.5 * coverage(query, inherited);
        const text = inFence ? `\`${sentence.replace(/`/g, '')}\`` : sentence;
        // Earlier sources are better evidence; the prior only breaks near-ties.
        candidates.push({
          n: source.n,
          text,
          parent,
          children: inFence ? [] : childrenOf(lines, position),
          score: score * (1 - 0.03 * rank),
        });
      }
    });
  });
  return candidates.sort((a, b) => b.score - a.score);
}

/** The nearest non-blank line above `position` that is less indented (a list item's parent). */
function parentOf(lines: readonly string[], position: number): string | undefined {
  const line = lines[position] ?? '';
  for (let above = position - 1; above >= 0; above -= 1) {
    const candidate = lines[above] ?? '';
    if (candidate.trim() !== '' && !FENCE.test(candidate) && indentation(candidate) < indentation(line)) {
      return clean(candidate);
    }
  }
  return undefined;
}

/** Up to two lines directly under `position` that are more indented (its sub-items), outside code. */
function childrenOf(lines: readonly string[], position: number): string[] {
  const own = indentation(lines[position] ?? '');
  const children: string[] = [];
  for (let below = position + 1; below < lines.length && children.length < 2; below += 1) {
    const candidate = lines[below] ?? '';
    if (candidate.trim() === '') continue;
    if (indentation(candidate) <= own || FENCE.test(candidate)) break;
    children.push(clean(candidate));
  }
  return children;
}

function display(candidate: Candidate): string {
  const withParent =
    candidate.parent !== undefined && candidate.text.length < SHORT_LINE && candidate.parent.length < 160
      ? `${candidate.parent.replace(/:$/, '')}: ${candidate.text}`
      : candidate.text;
  const children = candidate.children.map((child) => `\n  - ${child}`).join('');
  return `${withParent} [${candidate.n}]${children}`;
}

/**
 * Picks the best line, then up to two more that are nearly as good and add something new.
 * Returns the answer text (one bullet per line) and the sources it cites.
 */
export function composeExtractiveAnswer(query: QueryTerms, sources: ExtractSource[]): { answer: string; cited: number[] } {
  const candidates = scoreCandidates(query, sources);
  const best = candidates[0];
  if (best === undefined || best.score === 0) {
    const first = sources[0];
    if (first === undefined) return { answer: '', cited: [] };
    const line = first.text.split('\n').map(clean).find((text) => text !== '') ?? '';
    return { answer: `- ${line} [${first.n}]`, cited: [first.n] };
  }
  const chosen: Candidate[] = [best];
  let length = display(best).length;
  for (const candidate of candidates.slice(1)) {
    if (chosen.length >= MAX_LINES || candidate.score < best.score * 0.6) break;
    if (chosen.some((kept) => kept.text === candidate.text)) continue;
    const line = display(candidate);
    if (length + line.length > MAX_CHARS) continue;
    chosen.push(candidate);
    length += line.length;
  }
  const cited = [...new Set(chosen.map((candidate) => candidate.n))].sort((a, b) => a - b);
  return { answer: chosen.map((candidate) => `- ${display(candidate)}`).join('\n'), cited };
}
