/**
 * Hybrid retrieval: HNSW vector search and BM25 keyword search over the same chunks, fused by
 * reciprocal rank (Cormack et al. 2009), near-duplicates collapsed, k clamped to the index size.
 */
import type { Embedder } from '../embeddings/embedder.ts';
import type { IndexedChunk, LoadedIndex } from '../vector-index/index-store.ts';
import type { RowScope } from './scope.ts';

/** The RRF constant from the original paper; it damps the influence of any single ranking's top. */
export const RRF_K = 60;

export type RetrievalMethod = 'hybrid' | 'vector' | 'keyword';

export interface Retrieved {
  chunk: IndexedChunk;
  /** Fused score normalised to 0..1 (1 = first in every ranking); non-increasing in rank order. */
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
   * Only these rows may be returned (`scope.ts`). Applied inside each search, so the k best of the
   * scope come back, not whatever of the unscoped top k happens to be in scope.
   */
  scope?: RowScope | undefined;
  signal?: AbortSignal;
}

type Ranking = string[];
interface WeightedRanking {
  ids: Ranking;
  weight: number;
}

/**
 * Reciprocal-rank fusion of several rankings of ids; returns ids best first with their fused score.
 * A ranking may carry a weight (default 1): its contributions are multiplied by it.
 */
export function fuseRankings(rankings: (Ranking | WeightedRanking)[], k = RRF_K): { id: string; fused: number }[] {
  const scores = new Map<string, number>();
  for (const entry of rankings) {
    const { ids, weight } = Array.isArray(entry) ? { ids: entry, weight: 1 } : entry;
    ids.forEach((id, rank) => scores.set(id, (scores.get(id) ?? 0) + weight / (k + rank + 1)));
  }
  return [...scores.entries()]
    .map(([id, fused]) => ({ id, fused }))
    .sort((a, b) => b.fused - a.fused || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** HNSWLib reports cosine distance (0 = same direction, 2 = opposite); users read similarity. */
export function distanceToSimilarity(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance));
}

/** Two chunks are near-duplicates when they come from the same note and their line ranges mostly overlap. */
export function nearDuplicate(a: IndexedChunk, b: IndexedChunk): boolean {
  if (a.note !== b.note) return a.text === b.text;
  const overlap = Math.min(a.lines[1], b.lines[1]) - Math.max(a.lines[0], b.lines[0]) + 1;
  if (overlap <= 0) return false;
  const shorter = Math.min(a.lines[1] - a.lines[0], b.lines[1] - b.lines[0]) + 1;
  return overlap / shorter >= 0.5;
}

async function vectorRanking(
  index: LoadedIndex,
  embedder: Embedder,
  query: string,
  depth: number,
  scope: RowScope | undefined,
  signal: AbortSignal | undefined,
): Promise<{ ranking: Ranking; similarity: Map<string, number> }> {
  const vector = await embedder.embedQuery(query, signal ? { signal } : {});
  const ranking: Ranking = [];
  const similarity = new Map<string, number>();
  // A small index is scanned exactly (recall 1); HNSW answers for the rest.
  if (index.exact?.accepts(vector)) {
    for (const { label, similarity: value } of index.exact.search(vector, depth, scope?.allows)) {
      const id = index.chunks[label]?.id;
      if (id === undefined) continue;
      ranking.push(id);
      similarity.set(id, Math.min(1, Math.max(0, value)));
    }
    return { ranking, similarity };
  }
  if (scope !== undefined) {
    // hnswlib's own filter: the graph search skips labels out of scope while it walks.
    const found = index.store.index.searchKnn(Array.from(vector), depth, scope.allows);
    found.neighbors.forEach((label, position) => {
      const id = index.chunks[label]?.id;
      if (id === undefined || !scope.allows(label)) return;
      ranking.push(id);
      similarity.set(id, distanceToSimilarity(found.distances[position] ?? 2));
    });
    return { ranking, similarity };
  }
  const results = await index.store.similaritySearchVectorWithScore(vector, depth);
  for (const [document, distance] of results) {
    const id = (document.metadata as { id: string }).id;
    ranking.push(id);
    similarity.set(id, distanceToSimilarity(distance));
  }
  return { ranking, similarity };
}

/** Returns up to k chunks, best first. An empty index (or scope) returns nothing. */
export async function retrieve(
  index: LoadedIndex,
  embedder: Embedder,
  question: string,
  options: RetrieveOptions,
): Promise<Retrieved[]> {
  const scope = options.scope;
  const size = scope?.size ?? index.chunks.length;
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

  const rankings: WeightedRanking[] = [];
  const similarity = new Map<string, number>();
  for (const query of queries) {
    if (method !== 'keyword') {
      const result = await vectorRanking(index, embedder, query.text, depth, scope, options.signal);
      rankings.push({ ids: result.ranking, weight: query.weight });
      for (const [id, value] of result.similarity) similarity.set(id, Math.max(value, similarity.get(id) ?? 0));
    }
    if (method !== 'vector') {
      rankings.push({ ids: index.keyword.search(query.text, depth, scope?.allows).map((hit) => hit.id), weight: query.weight });
    }
  }
  options.signal?.throwIfAborted();

  const best = rankings.reduce((sum, ranking) => sum + ranking.weight, 0) / (RRF_K + 1);
  const chosen: Retrieved[] = [];
  for (const { id, fused } of fuseRankings(rankings)) {
    const chunk = index.byId.get(id);
    if (chunk === undefined) continue;
    if (chosen.some((kept) => nearDuplicate(kept.chunk, chunk))) continue;
    chosen.push({ chunk, score: Math.min(1, fused / best), similarity: similarity.get(id) ?? 0 });
    if (chosen.length === k) break;
  }
  return chosen;
}
