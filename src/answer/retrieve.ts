/**
 * Hybrid retrieval: the index backend fuses vector and keyword rankings by the weighted mean of
 * their normalised scores (`vector-index/fuse-scores.ts`), the vector half weighted by what the
 * embedder is (`Embedder.fusionWeight`); here the question (and earlier turns) are embedded,
 * near-duplicates collapsed and k clamped to the index size.
 */
import type { Embedder } from '../embeddings/embedder.ts';
import type { IndexScope, RetrievalMethod, SearchableIndex, SearchQuery } from '../vector-index/index-backend.ts';
import type { IndexedChunk } from '../vector-index/indexed-chunk.ts';

export type { RetrievalMethod } from '../vector-index/index-backend.ts';

export interface Retrieved {
  chunk: IndexedChunk;
  /** Fused score, 0..1 (1 = best in every ranking); non-increasing in rank order. */
  score: number;
  /** Cosine similarity of the chunk to the query (0..1), when the vector search found it. */
  similarity: number;
}

export interface RetrieveOptions {
  k: number;
  method?: RetrievalMethod;
  /** Earlier user turns, newest last: a follow-up question is also searched together with them. */
  context?: string[];
  /**
   * Only chunks in this scope (made by `index.scope`) may be returned. Applied inside each search, so
   * the k best of the scope come back, not whatever of the unscoped top k happens to be in scope.
   */
  scope?: IndexScope | undefined;
  signal?: AbortSignal;
}

/** Two chunks are near-duplicates when they come from the same note and their line ranges mostly overlap. */
export function nearDuplicate(a: IndexedChunk, b: IndexedChunk): boolean {
  if (a.note !== b.note) return a.text === b.text;
  const overlap = Math.min(a.lines[1], b.lines[1]) - Math.max(a.lines[0], b.lines[0]) + 1;
  if (overlap <= 0) return false;
  const shorter = Math.min(a.lines[1] - a.lines[0], b.lines[1] - b.lines[0]) + 1;
  return overlap / shorter >= 0.5;
}

/** Returns up to k chunks, best first. An empty index (or scope) returns nothing. */
export async function retrieve(
  index: SearchableIndex,
  embedder: Embedder,
  question: string,
  options: RetrieveOptions,
): Promise<Retrieved[]> {
  const scope = options.scope;
  const size = scope?.size ?? index.manifest.chunkCount;
  const k = Math.min(Math.max(1, Math.floor(options.k)), size);
  if (k === 0) return [];
  const method = options.method ?? 'hybrid';
  // Look deeper than k so fusion and de-duplication have candidates to choose from.
  const depth = Math.min(size, Math.max(k * 5, 25));
  // A follow-up ("and how do I make it optional?") is searched on its own and together with the
  // earlier user turns; the contextual search counts double, since a bare follow-up is mostly pronouns.
  const queries = [{ text: question, weight: 1 }];
  const context = (options.context ?? []).slice(-2).join('\n').trim();
  if (context !== '') queries.push({ text: `${context}\n${question}`, weight: 2 });

  const searches: SearchQuery[] = [];
  for (const query of queries) {
    const vector = method === 'keyword' ? undefined : await embedder.embedQuery(query.text, options.signal ? { signal: options.signal } : {});
    searches.push({ ...query, ...(vector === undefined ? {} : { vector }) });
  }
  const vectorWeight = vectorFusionWeight(embedder);
  const hits = await index.search(searches, { depth, method, scope, vectorWeight, ...(options.signal ? { signal: options.signal } : {}) });
  options.signal?.throwIfAborted();

  const chosen: Retrieved[] = [];
  for (const { chunk, fused, similarity } of hits) {
    if (chosen.some((kept) => nearDuplicate(kept.chunk, chunk))) continue;
    chosen.push({ chunk, score: Math.min(1, fused), similarity });
    if (chosen.length === k) break;
  }
  return chosen;
}

/**
 * How much the vector half counts in the hybrid, BM25 counting 1: the embedder's own
 * `fusionWeight` (the built-in one is a lexical model over BM25's own terms: low), else 1 (a
 * semantic model is independent evidence of about BM25's worth).
 */
export function vectorFusionWeight(embedder: Embedder): number {
  return embedder.fusionWeight ?? 1;
}
