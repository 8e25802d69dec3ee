/**
 * The keyword half's scoring vocabulary, shared by both backends (the in-process index here and
 * Postgres' postings table): a document's fields and what each counts (BM25F), BM25's parameters
 * and IDF, and which indexed terms a question's terms search for. Pure.
 */
import { SAME_WORD_PREFIX, sameWord, scanTokens } from '../embeddings/tokenize.ts';

export interface KeywordDocument {
  id: string;
  /** The body text. */
  text: string;
  /** What the document is called (a note's title, file name, aliases): a boosted field. */
  title?: string;
  /** Where in its note the document sits (the heading path): a boosted field. */
  heading?: string;
}

/**
 * BM25F-style field boosts (Robertson et al. 2004, simplified to weighted term frequencies with one
 * length normalisation): a term of the title counts as FIELD_WEIGHTS.title occurrences, one of the
 * heading path as FIELD_WEIGHTS.heading. A field's distinct terms count once each: a title that
 * repeats a word, or a heading path that repeats the title, is no stronger evidence.
 */
export const FIELD_WEIGHTS = { title: 3, heading: 2 } as const;

/** Calls `visit` with each analysed term of `document` and the occurrences it counts for. */
export function scanDocument(document: KeywordDocument, visit: (term: string, weight: number) => void): void {
  scanTokens(document.text, (term) => visit(term, 1));
  const field = (text: string | undefined, weight: number): void => {
    if (text === undefined || text === '') return;
    const seen = new Set<string>();
    scanTokens(text, (term) => {
      if (seen.has(term)) return;
      seen.add(term);
      visit(term, weight);
    });
  };
  field(document.title, FIELD_WEIGHTS.title);
  field(document.heading, FIELD_WEIGHTS.heading);
}

/** BM25's default term-frequency saturation (k1) and length normalisation (b). */
export const BM25_DEFAULTS = { k1: 1.2, b: 0.75 } as const;

/** BM25's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)): always positive, highest for a term no document has. */
export function bm25Idf(documents: number, frequency: number): number {
  return Math.log1p((documents - frequency + 0.5) / (frequency + 0.5));
}

/** The terms of `sorted` (every indexed term, sorted) that are other forms of `term` (`sameWord`). */
export function variantsIn(sorted: readonly string[], term: string): string[] {
  if (term.length < SAME_WORD_PREFIX) return [];
  const prefix = term.slice(0, SAME_WORD_PREFIX);
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < prefix) low = middle + 1;
    else high = middle;
  }
  const found: string[] = [];
  for (let at = low; at < sorted.length && sorted[at]!.startsWith(prefix); at++) {
    const candidate = sorted[at]!;
    if (candidate !== term && sameWord(term, candidate)) found.push(candidate);
  }
  return found;
}

/**
 * The indexed terms a query's terms search for: a word the notes never use in this form is looked
 * up in the forms they do use ("rewrite" finds "rewritten"), as the evidence check does. Distinct,
 * in query order.
 */
export function expandQueryTerms(terms: readonly string[], indexed: (term: string) => boolean, variants: (term: string) => string[]): string[] {
  const used = new Set<string>();
  for (const term of terms) {
    if (indexed(term)) used.add(term);
    else for (const variant of variants(term)) used.add(variant);
  }
  return [...used];
}
