/**
 * Retrieval figures at the largest size: the hybrid retrieval users get (query embedding, HNSW,
 * BM25, fusion), the HNSW search alone, and an exact brute-force cosine scan over the very same
 * vectors (read from the generation's vectors.bin) in the same run, with HNSW's recall@10 against it.
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
  /** Query embedding alone (part of every figure here but the two searches below). */
  embedQueryMs: LatencySummary;
  /** HNSW search for the 10 nearest vectors (query vector given). */
  hnswMs: LatencySummary;
  /** Exact cosine scan over every vector for the 10 nearest (query vector given). */
  exactMs: LatencySummary;
  exactQueries: number;
  /** exact p50 / HNSW p50: how many times faster the graph search is. */
  speedup: number;
  /** Mean share of the exact top 10 that HNSW also returned. */
  recallAt10: number;
  /** Share of the questions whose vector search the product answers by exact scan (small indexes), not HNSW. */
  exactSearchShare: number;
}

export interface RetrievalBenchOptions {
  workspace: BenchWorkspace;
  size: number;
  queries: number;
  /** The exact scan is slow by design: it may run on the first N queries only. */
  exactQueries: number;
  log: (line: string) => void;
}

const RECALL_K = 10;

export async function runRetrievalBench(options: RetrievalBenchOptions): Promise<RetrievalFigures> {
  const { workspace, size, log } = options;
  await workspace.ensureLocalIndex(size);
  const embedder = createLocalEmbedder();
  const opened = performance.now();
  const index = await openIndex(workspace.indexDir(size), embedder, { log });
  const openSeconds = (performance.now() - opened) / 1000;
  if (index === undefined) throw new Error(`no usable index in ${workspace.indexDir(size)}`);
  const { vectors, inverseNorms, dimensions } = await readVectors(index);
  const topK = parseConfig({}).topK;

  const questions = makeQuestions(
    index.chunks.map((chunk) => chunk.text),
    options.queries,
    workspace.seed,
  );
  log(`retrieval: ${questions.length} questions over ${index.chunks.length} chunks`);
  const graph = index.store.index;

  // Warm up the JIT and the caches, untimed, as a server that has answered a few questions.
  for (const question of questions.slice(0, 20)) {
    await retrieve(index, embedder, question, { k: topK });
    graph.searchKnn(await embedder.embedQuery(question), RECALL_K);
  }

  const hybrid: number[] = [];
  const embedding: number[] = [];
  const hnsw: number[] = [];
  const exact: number[] = [];
  let recallSum = 0;
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
    const approximate = graph.searchKnn(query, Math.min(RECALL_K, index.chunks.length)).neighbors;
    hnsw.push(performance.now() - started);

    if (position < options.exactQueries) {
      started = performance.now();
      const best = exactTopK(Float32Array.from(query), vectors, inverseNorms, dimensions, RECALL_K);
      exact.push(performance.now() - started);
      const truth = new Set(best);
      recallSum += approximate.filter((label) => truth.has(label)).length / Math.max(1, best.length);
    }
  }

  const hnswMs = summarise(hnsw);
  const exactMs = summarise(exact);
  return {
    chunks: index.chunks.length,
    dimensions,
    hnsw: { m: index.manifest.hnsw.m, efConstruction: index.manifest.hnsw.efConstruction, efSearch: graph.getEf() },
    queries: questions.length,
    topK,
    openSeconds: round(openSeconds, 3),
    hybridMs: summarise(hybrid),
    embedQueryMs: summarise(embedding),
    hnswMs,
    exactMs,
    exactQueries: exact.length,
    speedup: round(exactMs.p50 / hnswMs.p50, 1),
    recallAt10: round(recallSum / Math.max(1, exact.length), 3),
    exactSearchShare: round(exactSearches / Math.max(1, questions.length), 3),
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
