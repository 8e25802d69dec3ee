/**
 * The keyword side of a chunk as Postgres stores it: a `tsvector` made from asknotes' own analyzer
 * (the one the files backend's BM25 index and the local embedder use), not from a Postgres text
 * search configuration, so both backends see the same terms. Each term's positions 1..tf encode its
 * frequency, which the hybrid query reads back for BM25 (`cardinality(positions)`).
 */
import { scanDocument, type KeywordDocument } from '../keyword-index.ts';

/** Postgres keeps at most 256 positions per lexeme; frequencies beyond saturate BM25 anyway. */
const MAX_POSITIONS = 256;

/** A lexeme quoted for tsvector / tsquery input: single quotes doubled, backslashes escaped. */
export function quoteLexeme(term: string): string {
  return `'${term.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

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

/** `'term':1,2,3 'other':1` — the tsvector input text for these term counts. */
export function tsvectorLiteral(counts: ReadonlyMap<string, number>): string {
  const parts: string[] = [];
  for (const [term, count] of counts) {
    const positions = Array.from({ length: Math.min(count, MAX_POSITIONS) }, (_, position) => position + 1);
    parts.push(`${quoteLexeme(term)}:${positions.join(',')}`);
  }
  return parts.join(' ');
}

/** `'a' | 'b'` — matches chunks holding any of the terms (the GIN-indexed candidate filter). */
export function tsqueryLiteral(terms: readonly string[]): string {
  return terms.map(quoteLexeme).join(' | ');
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
