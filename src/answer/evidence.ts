/**
 * How much of a question the evidence covers, weighted by how informative each term is.
 * Shared by sentence selection (extractive answers) and abstention.
 */
import { tokenize } from '../embeddings/tokenize.ts';

/** Inverse document frequency of a term in the indexed corpus (terms never seen get the highest). */
export type TermWeight = (term: string) => number;

export interface QueryTerms {
  terms: string[];
  weights: Map<string, number>;
  total: number;
}

/** The distinct content terms of a question with their weights. */
export function queryTerms(question: string, weight: TermWeight): QueryTerms {
  const weights = new Map<string, number>();
  for (const term of tokenize(question)) weights.set(term, weight(term));
  let total = 0;
  for (const value of weights.values()) total += value;
  return { terms: [...weights.keys()], weights, total };
}

/** Shortest common prefix for two different stems to count as one word. */
const PREFIX_MATCH_CHARS = 5;

function commonPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length += 1;
  return length;
}

/**
 * True when `term`, or another form of the same word, is in `present`. Stemmers miss irregular
 * forms ("rewrite"/"rewritten" → rewrit/rewritten, "deploy"/"deployable" → deploi/deploy), so two
 * stems of at least 5 letters also match when they agree on all but the shorter one's last letter.
 */
export function termPresent(term: string, present: Set<string>): boolean {
  if (present.has(term)) return true;
  if (term.length < PREFIX_MATCH_CHARS) return false;
  for (const candidate of present) {
    if (candidate.length < PREFIX_MATCH_CHARS) continue;
    const shorter = Math.min(term.length, candidate.length);
    if (commonPrefix(term, candidate) >= Math.max(PREFIX_MATCH_CHARS, shorter - 1)) return true;
  }
  return false;
}

/** Share (0..1) of the question's weighted terms that occur in `text`. */
export function coverage(query: QueryTerms, text: string | Set<string>): number {
  if (query.total === 0) return 0;
  const present = typeof text === 'string' ? new Set(tokenize(text)) : text;
  let covered = 0;
  for (const [term, value] of query.weights) if (termPresent(term, present)) covered += value;
  return covered / query.total;
}

/**
 * The things a question names: numbers and versions ("2024", "v1.1") and capitalised words that do
 * not start a sentence ("Swarm", "France"), as analyzed terms.
 */
export function namedTerms(question: string): string[] {
  const named = new Set<string>();
  const words = question.split(/\s+/);
  words.forEach((word, position) => {
    const previous = words[position - 1];
    const startsSentence = previous === undefined || /[.!?:]$/.test(previous);
    const bare = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    if (bare === '') return;
    const isNumber = /\p{N}/u.test(bare);
    const isName = !startsSentence && /^\p{Lu}/u.test(bare);
    if (!isNumber && !isName) return;
    for (const term of tokenize(bare)) named.add(term);
  });
  return [...named];
}
