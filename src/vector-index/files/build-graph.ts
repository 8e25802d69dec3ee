/**
 * The HNSW graph of a new generation: built fresh, or (for a small change) the previous graph with
 * only the changed nodes updated (`planReuse`, `applyReuse`).
 */
import { Document } from '@langchain/core/documents';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { SynchronousInMemoryDocstore } from '@langchain/community/stores/doc/in_memory';
import hnswlib from 'hnswlib-node';
import type { Embedder } from '../../embeddings/embedder.ts';
import type { IndexedChunk } from '../indexed-chunk.ts';
import type { Manifest } from '../manifest.ts';
import type { GraphFileLayout } from './graph-file.ts';
import type { HnswParameters } from './loaded-index.ts';
import type { StoredGeneration } from './read-generation.ts';

export interface BuiltGeneration {
  store: HNSWLib;
  /** Chunk i is graph label i. */
  chunks: IndexedChunk[];
  /** One row per chunk, in label order. */
  vectors: Float32Array;
}

export function storeOf(embedder: Embedder, index: hnswlib.HierarchicalNSW, dimensions: number, documents: Map<string, Document>): HNSWLib {
  return new HNSWLib(embedder, {
    space: 'cosine',
    numDimensions: Math.max(dimensions, 1),
    index,
    docstore: new SynchronousInMemoryDocstore(documents),
  });
}

function documentOf(chunk: IndexedChunk): Document {
  const { text, ...metadata } = chunk;
  return new Document({ pageContent: text, metadata });
}

export function buildFresh(
  embedder: Embedder,
  chunks: IndexedChunk[],
  cache: Map<string, Float32Array>,
  dimensions: number,
  hnsw: HnswParameters,
): BuiltGeneration {
  // HNSWLib.addVectors() re-initialises an empty index with default parameters, so the graph is built
  // here with ours and handed to HNSWLib, which then owns saving, loading and searching.
  const index = new hnswlib.HierarchicalNSW('cosine', Math.max(dimensions, 1));
  index.initIndex(Math.max(chunks.length, 1), hnsw.m, hnsw.efConstruction, 100);
  const vectors = new Float32Array(chunks.length * dimensions);
  const documents = new Map<string, Document>();
  const point = new Array<number>(dimensions);
  chunks.forEach((chunk, label) => {
    const vector = cache.get(chunk.embedHash)!;
    vectors.set(vector, label * dimensions);
    for (let dimension = 0; dimension < dimensions; dimension += 1) point[dimension] = vector[dimension]!;
    index.addPoint(point, label);
    documents.set(String(label), documentOf(chunk));
  });
  return { store: storeOf(embedder, index, dimensions, documents), chunks, vectors };
}

/** Past this share of chunks with a new vector, a fresh graph is about as cheap and a little better. */
const MAX_REUSE_WRITES = 0.2;

export interface ReusePlan {
  /** Previous (or, for added nodes, temporary) label -> the new label: the chunk's position. */
  newLabels: Int32Array;
  /** Nodes that get another chunk's vector: [label now, position of the chunk]. */
  updates: Array<[number, number]>;
  /** Chunks that need a node of their own, added under temporary labels from the previous count on. */
  additions: number[];
}

/**
 * An incremental build keeps the previous graph and changes only what changed: a few graph updates
 * instead of a whole new graph, the expensive part of a build. A chunk whose embedded text the
 * previous generation has keeps that node; the nodes of chunks that are gone take the new chunks'
 * vectors (updated in place, their neighbourhoods repaired); any further new chunks are added. The
 * nodes are then relabelled (`relabelGraphFile`) so that, exactly as after a fresh build, chunk i
 * is label i in note order. When chunks were removed overall, or too many changed, a fresh graph is
 * built instead: hnswlib cannot drop a node, only mark it deleted.
 */
export function planReuse(
  prior: StoredGeneration & { manifest: Manifest; layout: GraphFileLayout | undefined },
  chunks: IndexedChunk[],
  hnsw: HnswParameters,
  dimensions: number,
): ReusePlan | undefined {
  const previousCount = prior.chunks.length;
  if (
    prior.layout === undefined ||
    prior.manifest.hnsw.m !== hnsw.m ||
    prior.manifest.hnsw.efConstruction !== hnsw.efConstruction ||
    prior.manifest.dimensions !== dimensions ||
    previousCount === 0 ||
    chunks.length < previousCount
  ) {
    return undefined;
  }
  const labelsByHash = new Map<string, number[]>();
  prior.chunks.forEach((chunk, label) => {
    const labels = labelsByHash.get(chunk.embedHash);
    if (labels === undefined) labelsByHash.set(chunk.embedHash, [label]);
    else labels.push(label);
  });
  const newLabels = new Int32Array(chunks.length).fill(-1);
  const homeless: number[] = [];
  chunks.forEach((chunk, position) => {
    const label = labelsByHash.get(chunk.embedHash)?.shift();
    if (label === undefined) homeless.push(position);
    else newLabels[label] = position;
  });
  if (homeless.length > MAX_REUSE_WRITES * chunks.length) return undefined;
  const updates: Array<[number, number]> = [];
  let next = 0;
  for (let label = 0; label < previousCount; label += 1) {
    if (newLabels[label] !== -1) continue;
    const position = homeless[next++]!;
    updates.push([label, position]);
    newLabels[label] = position;
  }
  const additions = homeless.slice(next);
  additions.forEach((position, offset) => (newLabels[previousCount + offset] = position));
  return { newLabels, updates, additions };
}

export function applyReuse(
  embedder: Embedder,
  graph: hnswlib.HierarchicalNSW,
  plan: ReusePlan,
  chunks: IndexedChunk[],
  cache: Map<string, Float32Array>,
  dimensions: number,
): BuiltGeneration & { newLabels: Int32Array } {
  const previousCount = graph.getCurrentCount();
  if (chunks.length > graph.getMaxElements()) graph.resizeIndex(chunks.length);
  const point = new Array<number>(dimensions);
  const place = (label: number, position: number): void => {
    const vector = cache.get(chunks[position]!.embedHash)!;
    for (let dimension = 0; dimension < dimensions; dimension += 1) point[dimension] = vector[dimension]!;
    // An existing label is updated in place (neighbourhood repaired); a new one is inserted.
    graph.addPoint(point, label);
  };
  for (const [label, position] of plan.updates) place(label, position);
  plan.additions.forEach((position, offset) => place(previousCount + offset, position));
  // Everything but the graph is laid out exactly as a fresh build lays it out.
  const vectors = new Float32Array(chunks.length * dimensions);
  const documents = new Map<string, Document>();
  chunks.forEach((chunk, position) => {
    vectors.set(cache.get(chunk.embedHash)!, position * dimensions);
    documents.set(String(position), documentOf(chunk));
  });
  return { store: storeOf(embedder, graph, dimensions, documents), chunks, vectors, newLabels: plan.newLabels };
}
