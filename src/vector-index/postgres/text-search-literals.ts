/**
 * A chunk's values as Postgres stores them. Its keyword side is its postings: the terms of
 * asknotes' own analyzer (the one the files backend's BM25 index and the local embedder use), not
 * of a Postgres text search configuration, so both backends see the same terms, each with its
 * weighted frequency; and its vector in pgvector's text form.
 */
import { scanDocument, type KeywordDocument } from '../bm25f.ts';

/**
 * The analyzed terms of a chunk's fields with their weighted counts (a boosted field's term counts
 * FIELD_WEIGHTS times, as in the files backend's BM25F), and the weighted length.
 */
export function termCounts(document: KeywordDocument): { counts: Map<string, number>; length: number } {
  const counts = new Map<string, number>();
  let length = 0;
  scanDocument(document, (term, weight) => {
    length += weight;
    counts.set(term, (counts.get(term) ?? 0) + weight);
  });
  return { counts, length };
}

/** pgvector's text form of a vector. */
export function vectorLiteral(vector: ArrayLike<number>): string {
  return `[${Array.from(vector).join(',')}]`;
}

/** Parses pgvector's text form back into numbers. */
export function parseVector(text: string): Float32Array {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  return inner === '' ? new Float32Array(0) : Float32Array.from(inner.split(','), Number);
}
