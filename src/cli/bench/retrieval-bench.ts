/**
 * Retrieval figures at one index size: the hybrid retrieval users get (query embedding, vector
 * search, BM25, fusion); the vector search the product runs (the exact scan of `exact-search.ts`
 * where it accepts the query, else HNSW) and HNSW alone; and a float64 brute-force cosine scan over
 * the very same vectors (read from the generation's vectors.bin) as the reference for recall@10.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../config.ts';
import { retrieve } from '../../answer/retrieve.ts';
import { createLocalEmbedder } from '../../embeddings/local-embedder.ts';
import type { LoadedIndex } from '../../vector-index/files/loaded-index.ts';
import { openIndex } from '../../vector-index/files/read-generation.ts';
import { makeQuestions } from './questions.ts';
import { round, summarise, type LatencySummary } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

export interface RetrievalFigures {
  chunks: number;
  dimensions: number;
  hnsw: { m: number; efConstruction: number; efSearch: number };
  queries: number;
  /** Sources per answer (TOP_K's default), as the hybrid retrieval is timed. */
  topK: number;
  /** Seconds to open the index in this process (load and verify the generation). */
  openSeconds: number;
  /** The hybrid retrieval of an answer (TOP_K sources), query embedding included. */
  hybridMs: LatencySummary;
  /** Query embedding alone (part of every figure here but the searches below). */
  embedQueryMs: LatencySummary;
  /** The product's vector search for the 10 nearest (query vector given): exact scan or HNSW. */
  vectorMs: LatencySummary;
  /** Share of the questions whose vector search the product answers by exact scan, not HNSW. */
  exactSearchShare: number;
  /** The scan's kernel ("wasm" SIMD or "js"), or "none" when the index is too large to scan. */
  scanKernel: string;
  /** Memory of the exact scan per chunk (int16 columns, sums and scales), 0 when there is none. */
  scanBytesPerChunk: number;
  /** HNSW search alone for the 10 nearest (query vector given). */
  hnswMs: LatencySummary;
  /** The reference: a float64 cosine scan over every vector and dimension (query vector given). */
  exactMs: LatencySummary;
  exactQueries: number;
  /** Mean share of the reference top 10 that the product's vector search returned. */
  recallAt10: number;
  /** The same for HNSW alone. */
  hnswRecallAt10: number;
}

export interface RetrievalBenchOptions {
  workspace: BenchWorkspace;
  size: number;
  queries: number;
  /** The reference scan is slow by design: it may run on the first N queries only. */
  exactQueries: number;
  log: (line: string) => void;
}

const RECALL_K = 10;

export async function runRetrievalBench(options: RetrievalBenchOptions): Promise<RetrievalFigures> {
  const { workspace, size } = options;
  await workspace.ensureLocalIndex(size);
  return measureRetrieval({ ...options, indexDir: workspace.indexDir(size), seed: workspace.seed });
}

/** The figures above for the local-embedder index in `indexDir` (built beforehand). */
export async function measureRetrieval(options: {
  indexDir: string;
  seed: number;
  queries: number;
  exactQueries: number;
  log: (line: string) => void;
}): Promise<RetrievalFigures> {
  const { log } = options;
  const embedder = createLocalEmbedder();
  const opened = performance.now();
  const index = await openIndex(options.indexDir, embedder, { log });
  const openSeconds = (performance.now() - opened) / 1000;
  if (index === undefined) throw new Error(`no usable index in ${options.indexDir}`);
  const { vectors, inverseNorms, dimensions } = await readVectors(index);
  const topK = parseConfig({}).topK;

  const questions = makeQuestions(
    index.chunks.map((chunk) => chunk.text),
    options.queries,
    options.seed,
  );
  log(`retrieval: ${questions.length} questions over ${index.chunks.length} chunks`);
  const graph = index.store.index;
  const count = Math.min(RECALL_K, index.chunks.length);
  const vectorSearch = (query: number[]): number[] =>
    index.exact?.accepts(query) ? index.exact.search(query, count).map((hit) => hit.label) : graph.searchKnn(query, count).neighbors;

  // Warm up the JIT and the caches, untimed, as a server that has answered a few questions.
  for (const question of questions.slice(0, 20)) {
    await retrieve(index, embedder, question, { k: topK });
    const query = await embedder.embedQuery(question);
    graph.searchKnn(query, count);
    vectorSearch(query);
  }

  const hybrid: number[] = [];
  const embedding: number[] = [];
  const product: number[] = [];
  const hnsw: number[] = [];
  const exact: number[] = [];
  let recallSum = 0;
  let hnswRecallSum = 0;
  let exactSearches = 0;
  for (const [position, question] of questions.entries()) {
    let started = performance.now();
    await retrieve(index, embedder, question, { k: topK });
    hybrid.push(performance.now() - started);

    started = performance.now();
    const query = await embedder.embedQuery(question);
    embedding.push(performance.now() - started);
    if (index.exact?.accepts(query)) exactSearches += 1;

    started = performance.now();
    const found = vectorSearch(query);
    product.push(performance.now() - started);

    started = performance.now();
    const approximate = graph.searchKnn(query, count).neighbors;
    hnsw.push(performance.now() - started);

    if (position < options.exactQueries) {
      started = performance.now();
      const best = exactTopK(Float32Array.from(query), vectors, inverseNorms, dimensions, RECALL_K);
      exact.push(performance.now() - started);
      const truth = new Set(best);
      recallSum += found.filter((label) => truth.has(label)).length / Math.max(1, best.length);
      hnswRecallSum += approximate.filter((label) => truth.has(label)).length / Math.max(1, best.length);
    }
  }

  return {
    chunks: index.chunks.length,
    dimensions,
    hnsw: { m: index.manifest.hnsw.m, efConstruction: index.manifest.hnsw.efConstruction, efSearch: graph.getEf() },
    queries: questions.length,
    topK,
    openSeconds: round(openSeconds, 3),
    hybridMs: summarise(hybrid),
    embedQueryMs: summarise(embedding),
    vectorMs: summarise(product),
    exactSearchShare: round(exactSearches / Math.max(1, questions.length), 3),
    scanKernel: index.exact?.kernelKind ?? 'none',
    scanBytesPerChunk: index.exact === undefined ? 0 : Math.round(index.exact.bytes / index.chunks.length),
    hnswMs: summarise(hnsw),
    exactMs: summarise(exact),
    exactQueries: exact.length,
    recallAt10: round(recallSum / Math.max(1, exact.length), 3),
    hnswRecallAt10: round(hnswRecallSum / Math.max(1, exact.length), 3),
  };
}

/** The generation's vectors in label order (row-major Float32), with 1/|v| per row for the cosine. */
async function readVectors(index: LoadedIndex): Promise<{ vectors: Float32Array; inverseNorms: Float32Array; dimensions: number }> {
  const bytes = await readFile(join(index.directory, 'vectors.bin'));
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const dimensions = index.manifest.dimensions;
  const count = index.chunks.length;
  if (vectors.length !== count * dimensions) throw new Error('vectors.bin does not match the index');
  const inverseNorms = new Float32Array(count);
  for (let row = 0; row < count; row += 1) {
    let norm = 0;
    for (let offset = row * dimensions, end = offset + dimensions; offset < end; offset += 1) {
      norm += (vectors[offset] ?? 0) ** 2;
    }
    inverseNorms[row] = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  }
  return { vectors, inverseNorms, dimensions };
}

/** The k rows with the highest cosine to `query`, best first: every row is scored. */
export function exactTopK(
  query: Float32Array,
  vectors: Float32Array,
  inverseNorms: Float32Array,
  dimensions: number,
  k: number,
): number[] {
  let queryNorm = 0;
  for (const value of query) queryNorm += value * value;
  const scale = queryNorm > 0 ? 1 / Math.sqrt(queryNorm) : 0;
  const best: { row: number; score: number }[] = [];
  const count = inverseNorms.length;
  for (let row = 0; row < count; row += 1) {
    let dot = 0;
    const offset = row * dimensions;
    // In bounds by construction; `!` keeps the reference scan as fast as plain JS gets.
    for (let dimension = 0; dimension < dimensions; dimension += 1) {
      dot += query[dimension]! * vectors[offset + dimension]!;
    }
    const score = dot * scale * (inverseNorms[row] ?? 0);
    if (best.length < k || score > (best.at(-1)?.score ?? -Infinity)) {
      best.push({ row, score });
      best.sort((a, b) => b.score - a.score || a.row - b.row);
      if (best.length > k) best.pop();
    }
  }
  return best.map((entry) => entry.row);
}
