/**
 * Hybrid search over a loaded generation: for each query, the vector ranking (an exact scan where
 * `exact-search.ts` accepts the query, else the HNSW graph) and the BM25F keyword ranking mixed with
 * whole-note scores, fused by the weighted mean of their normalised scores (`fuse-scores.ts`).
 */
import type { SearchHit, SearchOptions, SearchQuery } from '../index-backend.ts';
import { distanceToSimilarity, fuseFindings, NOTE_SCORE_WEIGHT, type QueryFindings } from '../fuse-scores.ts';
import { NoteKeywordScores } from '../note-keyword-scores.ts';
import type { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import type { ExactSearch } from '../exact-search.ts';
import { keywordDocument, type IndexedChunk } from '../indexed-chunk.ts';
import type { KeywordIndex } from '../keyword-index.ts';
import type { RowScope } from '../scope-rows.ts';

/** The parts of a loaded generation a search reads. */
export interface SearchedGeneration {
  /** Chunk i is graph label i. */
  chunks: IndexedChunk[];
  byId: Map<string, IndexedChunk>;
  store: HNSWLib;
  keyword: KeywordIndex;
  exact: ExactSearch | undefined;
}

type Ranking = string[];

/** Per loaded generation, its whole-note scorer (built on first use: linear in the chunks). */
const noteScorers = new WeakMap<SearchedGeneration, NoteKeywordScores>();

function noteScorer(index: SearchedGeneration): NoteKeywordScores {
  let scorer = noteScorers.get(index);
  if (scorer === undefined) {
    scorer = NoteKeywordScores.fromKeywordIndex(
      index.keyword,
      index.chunks.map((chunk) => ({ id: chunk.id, note: chunk.note, title: keywordDocument(chunk).title ?? '' })),
    );
    noteScorers.set(index, scorer);
  }
  return scorer;
}

async function vectorRanking(
  index: SearchedGeneration,
  vector: number[],
  depth: number,
  scope: RowScope | undefined,
): Promise<{ ranking: Ranking; similarity: Map<string, number> }> {
  const ranking: Ranking = [];
  const similarity = new Map<string, number>();
  // Scanned exactly when cheap enough (recall 1; with the built-in embedder, HNSW's is 0.08 at 50,000
  // chunks); HNSW answers the rest.
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

export async function searchGeneration(
  index: SearchedGeneration,
  queries: readonly SearchQuery[],
  options: SearchOptions,
): Promise<SearchHit[]> {
  const { depth, method } = options;
  // A scope reaching this index was made by its `scope()`: rows of this generation.
  const scope = options.scope as RowScope | undefined;
  const vectorWeight = method === 'vector' ? 1 : method === 'keyword' ? 0 : (options.vectorWeight ?? 1);
  const findings: QueryFindings[] = [];
  const similarity = new Map<string, number>();
  for (const query of queries) {
    const found: QueryFindings = { weight: query.weight };
    if (vectorWeight > 0 && query.vector !== undefined) {
      const result = await vectorRanking(index, query.vector, depth, scope);
      found.vector = result.ranking.map((id) => ({ id, score: result.similarity.get(id) ?? 0 }));
      for (const [id, value] of result.similarity) similarity.set(id, Math.max(value, similarity.get(id) ?? 0));
    }
    if (method !== 'vector') {
      found.keyword = index.keyword.search(query.text, depth, scope?.allows);
      // Every note sharing a term (not only the scope's): the same normalisation in and out of a scope.
      if (NOTE_SCORE_WEIGHT > 0 && found.keyword.length > 0) found.notes = noteScorer(index).search(query.text);
    }
    findings.push(found);
  }
  const hits: SearchHit[] = [];
  for (const { id, fused } of fuseFindings(findings, vectorWeight, (id) => index.byId.get(id)?.note)) {
    const chunk = index.byId.get(id);
    if (chunk !== undefined) hits.push({ chunk, fused, similarity: similarity.get(id) ?? 0 });
  }
  return hits;
}
