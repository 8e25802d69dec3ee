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

/** Share (0..1) of the question's weighted terms that occur in `text`. */
export function coverage(query: QueryTerms, text: string | Set<string>): number {
  if (query.total === 0) return 0;
  const present = typeof text === 'string' ? new Set(tokenize(text)) : text;
  let covered = 0;
  for (const [term, value] of query.weights) if (present.has(term)) covered += value;
  return covered / query.total;
}
