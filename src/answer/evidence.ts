/**
 * How much of a question the evidence covers, weighted by how informative each term is.
 * Shared by sentence selection (extractive answers) and abstention.
 */
import { SAME_WORD_PREFIX, sameWord, tokenize } from '../embeddings/tokenize.ts';

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

/**
 * True when `term`, or another form of the same word, is in `present` (see `sameWord`: stemmers
 * miss irregular forms such as "rewrite"/"rewritten").
 */
export function termPresent(term: string, present: Set<string>): boolean {
  if (present.has(term)) return true;
  if (term.length < SAME_WORD_PREFIX) return false;
  for (const candidate of present) if (sameWord(term, candidate)) return true;
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
