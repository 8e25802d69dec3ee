/**
 * Extractive answers (no chat model): the lines or sentences of the top sources that best match the
 * question, each with its [n] marker. Pure: sources and term weights in, text out.
 */
import { tokenize } from '../embeddings/tokenize.ts';
import { coverage, type QueryTerms } from './evidence.ts';

export interface ExtractSource {
  n: number;
  text: string;
  /**
   * What every line of the source is about: its note's names (title, path) and heading path. A
   * line inherits the question words it holds that the line itself lacks, as from a parent item
   * ("- Automate the process using a test script:" in the note "git bisect").
   */
  context?: string;
  /** Its retrieval score (0..1): a line of a clearly better-matching source is better evidence. */
  score?: number;
}

/** The least share of a line's score its source's retrieval score leaves it (the best source's lines keep all). */
const RETRIEVAL_FLOOR = 0.5;

/** How much of its coverage a line inherits from its source's context (as from a parent item). */
const CONTEXT_SHARE = 0.5;

export interface Candidate {
  n: number;
  /** The line (or sentence) as shown, list marker removed. */
  text: string;
  /** The nearest less-indented line above it in the same source (a list item's parent), if any. */
  parent: string | undefined;
  /** Its sub-items, shown under it: a line often introduces the detail that answers. */
  children: string[];
  /** The neighbouring items at the same level (before, after), shown around the best line as its context. */
  siblings: [string | undefined, string | undefined];
  /**
   * For a line that introduces what follows it (it ends with ":", as "- Enable a service at boot:"
   * before its command, or a sentence before a code block): the lines it introduces, shown under it.
   */
  follows: string[];
  score: number;
}

/** Most lines this answer picks (the best one may bring two neighbours), and roughly how long it may get. */
const MAX_LINES = 3;
const MAX_CHARS = 600;
/**
 * A line is "short" when it reads as a fragment without its parent (e.g. "default is `x`"); a short
 * parent is a label ("YAML Anchors") worth showing before any of its items.
 */
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
  const bestScore = Math.max(0, ...sources.map((source) => source.score ?? 0));
  sources.forEach((source, rank) => {
    const retrieval = bestScore > 0 && source.score !== undefined ? RETRIEVAL_FLOOR + (1 - RETRIEVAL_FLOOR) * (source.score / bestScore) : 1;
    const lines = source.text.split('\n');
    const contextTerms = source.context === undefined ? [] : tokenize(source.context);
    let fenceAncestors: string[] = [];
    let inFence = false;
    lines.forEach((line, position) => {
      if (FENCE.test(line)) {
        inFence = !inFence;
        // Lines of a code block belong to what introduces it (the lines above the fence).
        if (inFence) fenceAncestors = ancestorsOf(lines, position);
        return;
      }
      if (line.trim() === '') return;
      const ancestors = inFence ? fenceAncestors : ancestorsOf(lines, position);
      const pieces = inFence ? [line.trim()] : splitSentences(clean(line));
      for (const sentence of pieces) {
        const seen = new Set(tokenize(sentence));
        if (seen.size === 0) continue;
        let score = coverage(query, seen);
        // A list item inherits credit from the items it sits under, halving with each level
        // ("depends_on > condition" → "default is service_started").
        ancestors.forEach((ancestor, level) => {
          const inherited = new Set(tokenize(ancestor).filter((term) => !seen.has(term)));
          score += 0.5 ** (level + 1) * coverage(query, inherited);
          for (const term of inherited) seen.add(term);
        });
        if (contextTerms.length > 0) score += CONTEXT_SHARE * coverage(query, new Set(contextTerms.filter((term) => !seen.has(term))));
        const text = inFence ? `\`${sentence.replace(/`/g, '')}\`` : sentence;
        // Earlier sources are better evidence; the prior only breaks near-ties.
        candidates.push({
          n: source.n,
          text,
          parent: ancestors[0],
          children: inFence ? [] : childrenOf(lines, position),
          siblings: inFence || pieces.length > 1 ? [undefined, undefined] : siblingsOf(lines, position),
          follows: inFence || pieces.length > 1 ? [] : introduced(lines, position),
          score: score * (1 - 0.03 * rank) * retrieval,
        });
      }
    });
  });
  return candidates.sort((a, b) => b.score - a.score);
}

/** Levels of list nesting whose words a line inherits. */
const ANCESTOR_LEVELS = 3;

/**
 * The lines a list item sits under, nearest first: each is the nearest non-blank line above that
 * is less indented than the one before.
 */
function ancestorsOf(lines: readonly string[], position: number): string[] {
  const ancestors: string[] = [];
  let indent = indentation(lines[position] ?? '');
  for (let above = position - 1; above >= 0 && ancestors.length < ANCESTOR_LEVELS && indent > 0; above -= 1) {
    const candidate = lines[above] ?? '';
    if (candidate.trim() === '' || FENCE.test(candidate) || indentation(candidate) >= indent) continue;
    ancestors.push(clean(candidate));
    indent = indentation(candidate);
  }
  return ancestors;
}

/** Up to two lines under `position` that are more indented (its sub-items), skipping code blocks. */
function childrenOf(lines: readonly string[], position: number): string[] {
  const own = indentation(lines[position] ?? '');
  const children: string[] = [];
  let inFence = false;
  for (let below = position + 1; below < lines.length && children.length < 2; below += 1) {
    const candidate = lines[below] ?? '';
    if (FENCE.test(candidate)) {
      if (!inFence && indentation(candidate) <= own) break;
      inFence = !inFence;
      continue;
    }
    if (inFence || candidate.trim() === '') continue;
    if (indentation(candidate) <= own) break;
    children.push(clean(candidate));
  }
  return children;
}

/** Lines of a code block an introducing line shows at most. */
const MAX_INTRODUCED_LINES = 2;

/**
 * What the line at `position` introduces, when it ends with ":" and has no sub-items: the next
 * non-blank line when that is not another item or a heading (tldr's "- Do X:" + "`cmd --flag`"),
 * or the first lines of the code block that follows. Code is shown in backticks.
 */
function introduced(lines: readonly string[], position: number): string[] {
  const line = lines[position] ?? '';
  if (!/:\s*$/.test(line)) return [];
  const own = indentation(line);
  let below = position + 1;
  while (below < lines.length && (lines[below] ?? '').trim() === '') below += 1;
  const next = lines[below];
  if (next === undefined) return [];
  if (FENCE.test(next)) {
    const code: string[] = [];
    for (let at = below + 1; at < lines.length && code.length < MAX_INTRODUCED_LINES; at += 1) {
      const text = lines[at] ?? '';
      if (FENCE.test(text)) break;
      if (text.trim() !== '') code.push(`\`${text.trim().replace(/`/g, '')}\``);
    }
    return code;
  }
  // A deeper line is a sub-item (shown as a child); another item or a heading starts something else.
  if (indentation(next) > own || LIST_MARKER.test(next) || /^\s*#/.test(next)) return [];
  return [next.trim()];
}

/** The nearest items before and after `position` at the same indentation, with nothing shallower between. */
function siblingsOf(lines: readonly string[], position: number): [string | undefined, string | undefined] {
  const own = indentation(lines[position] ?? '');
  const find = (step: number): string | undefined => {
    let inFence = false;
    for (let at = position + step; at >= 0 && at < lines.length; at += step) {
      const candidate = lines[at] ?? '';
      if (FENCE.test(candidate)) {
        inFence = !inFence;
        continue;
      }
      if (inFence || candidate.trim() === '') continue;
      const depth = indentation(candidate);
      if (depth < own) return undefined;
      if (depth === own) return LIST_MARKER.test(candidate) ? clean(candidate) : undefined;
    }
    return undefined;
  };
  return [find(-1), find(1)];
}

/**
 * The best line with its context, as a sentence-window: its sub-items when it has any, else the
 * items just before and after it (an answer often sits right next to the line that names the topic).
 */
function displayWithContext(candidate: Candidate): string {
  if (candidate.children.length > 0 || candidate.follows.length > 0) return display(candidate);
  const [before, after] = candidate.siblings;
  const lines = [
    ...(before === undefined ? [] : [`${before} [${candidate.n}]`]),
    display(candidate),
    ...(after === undefined ? [] : [`${after} [${candidate.n}]`]),
  ];
  return lines.join('\n- ');
}

function display(candidate: Candidate): string {
  const withParent =
    candidate.parent !== undefined &&
    (candidate.text.length < SHORT_LINE || candidate.parent.length < SHORT_LINE) &&
    candidate.parent.length < 160
      ? `${candidate.parent.replace(/:$/, '')}: ${candidate.text}`
      : candidate.text;
  const under = candidate.children.length > 0 ? candidate.children : candidate.follows;
  const children = under.map((child) => `\n  - ${child} [${candidate.n}]`).join('');
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
  const shown = displayWithContext(best);
  let length = shown.length;
  const shownTerms = new Set(tokenize(shown));
  for (const candidate of candidates.slice(1)) {
    if (chosen.length >= MAX_LINES || candidate.score < best.score * 0.5) break;
    if (chosen.some((kept) => kept.text === candidate.text) || shown.includes(candidate.text)) continue;
    // A line whose words are all on screen already (a code line naming the key its heading names) adds nothing.
    if (tokenize(candidate.text).every((term) => shownTerms.has(term))) continue;
    const line = display(candidate);
    if (length + line.length > MAX_CHARS) continue;
    chosen.push(candidate);
    length += line.length;
    for (const term of tokenize(line)) shownTerms.add(term);
  }
  const cited = [...new Set(chosen.map((candidate) => candidate.n))].sort((a, b) => a - b);
  const lines = chosen.map((candidate, position) => `- ${position === 0 ? shown : display(candidate)}`);
  return { answer: lines.join('\n'), cited };
}
