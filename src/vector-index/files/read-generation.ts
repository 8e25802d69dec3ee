/**
 * Loading a generation: the graph and docstore (checked against the manifest), the vectors for exact
 * search, the saved keyword index. Never throws for a bad index; it explains instead.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Document } from '@langchain/core/documents';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import type { Embedder } from '../../embeddings/embedder.ts';
import { readExactSearch } from '../exact-search.ts';
import type { IndexedChunk } from '../indexed-chunk.ts';
import { KeywordIndex } from '../keyword-index.ts';
import { currentDirectory, KEYWORD_FILE, rejectGeneration } from './generation-files.ts';
import { DEFAULT_HNSW, indexOf, keywordDocuments, loadedGenerations, useIndex, type LoadedIndex } from './loaded-index.ts';
import { verifyGeneration, type Failure, type VerifiedGeneration } from './verify-generation.ts';

export interface StoredGeneration {
  store: HNSWLib;
  /** Chunk i is graph label i. */
  chunks: IndexedChunk[];
}

/** Loads the graph and the docstore (a fresh copy every time) and checks they agree with the manifest. */
export async function readStore(generation: VerifiedGeneration, embedder: Embedder): Promise<{ ok: true; stored: StoredGeneration } | Failure> {
  const { directory, manifest } = generation;
  let store: HNSWLib;
  try {
    store = await HNSWLib.load(directory, embedder);
  } catch (error) {
    return { ok: false, reason: `HNSW files do not load: ${(error as Error).message}` };
  }
  const count = store.index.getCurrentCount();
  if (count !== manifest.chunkCount) {
    return { ok: false, reason: `HNSW index holds ${count} vectors, manifest says ${manifest.chunkCount}` };
  }
  const chunks: IndexedChunk[] = [];
  for (let label = 0; label < count; label += 1) {
    const document = store.docstore.search(String(label));
    const metadata = (document as Document | undefined)?.metadata as Omit<IndexedChunk, 'text'> | undefined;
    if (document === undefined || metadata?.id === undefined) {
      return { ok: false, reason: `docstore has no chunk for vector ${label}` };
    }
    // Generations from before chunker 3 have no tags; they are rebuilt by the next update.
    chunks.push({ ...metadata, tags: Array.isArray(metadata.tags) ? metadata.tags : [], text: document.pageContent });
  }
  return { ok: true, stored: { store, chunks } };
}

/** vectors.bin: one row per chunk, in label order. */
export async function readVectors(directory: string, rows: number, dimensions: number): Promise<{ ok: true; vectors: Float32Array } | Failure> {
  const bytes = await readFile(join(directory, 'vectors.bin'));
  if (bytes.byteLength !== rows * dimensions * 4) {
    return { ok: false, reason: 'vectors.bin does not match the chunk count and dimensions' };
  }
  return { ok: true, vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
}

/** The saved keyword index when there is one made by today's analyzer, else one built now. */
async function loadKeyword(generation: VerifiedGeneration, chunks: IndexedChunk[]): Promise<KeywordIndex> {
  const documents = keywordDocuments(chunks);
  if (generation.manifest.files[KEYWORD_FILE] !== undefined) {
    const saved = await readFile(join(generation.directory, KEYWORD_FILE)).catch(() => undefined);
    const keyword = saved === undefined ? undefined : KeywordIndex.deserialize(saved, documents);
    if (keyword !== undefined) return keyword;
  }
  return KeywordIndex.build(documents);
}

/** Loads and verifies a generation; never throws for a bad index, it explains instead. */
export async function loadGeneration(
  directory: string,
  embedder: Embedder,
  efSearch: number,
): Promise<{ ok: true; index: LoadedIndex } | Failure> {
  const verified = await verifyGeneration(directory, embedder);
  if (!verified.ok) return verified;
  const { generation } = verified;
  const known = loadedGenerations.get(embedder);
  if (known !== undefined && known.directory === directory && known.fingerprint === generation.fingerprint) {
    return { ok: true, index: useIndex(known.index, embedder, efSearch) };
  }
  const read = await readStore(generation, embedder);
  if (!read.ok) return read;
  const { chunks, store } = read.stored;
  const { manifest } = generation;
  // The vectors a second time, quantised for exact search, unless the index is too large to scan.
  const exact = await readExactSearch(join(directory, 'vectors.bin'), chunks.length, manifest.dimensions);
  if (!exact.ok) return exact;
  const index = indexOf(directory, manifest, chunks, store, await loadKeyword(generation, chunks), exact.exact);
  loadedGenerations.set(embedder, { directory, fingerprint: generation.fingerprint, index });
  return { ok: true, index: useIndex(index, embedder, efSearch) };
}

/**
 * Opens the live generation for this embedder, or returns undefined (with the reason logged in one
 * line) when there is none or it cannot be trusted. Never serves a partial or foreign index.
 */
export async function openIndex(
  indexDir: string,
  embedder: Embedder,
  options: { log?: ((line: string) => void) | undefined; efSearch?: number } = {},
): Promise<LoadedIndex | undefined> {
  const directory = await currentDirectory(indexDir, embedder, options.log);
  if (directory === undefined) return undefined;
  const result = await loadGeneration(directory, embedder, options.efSearch ?? DEFAULT_HNSW.efSearch);
  return result.ok ? result.index : rejectGeneration(options.log, directory, result.reason);
}
