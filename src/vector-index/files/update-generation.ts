/**
 * Builds or updates the files backend's index: reads the notes, reuses what the previous generation
 * holds (chunks of unchanged notes, vectors by text hash, the graph for a small change, the keyword
 * postings), embeds the rest and writes a new generation (`write-generation.ts`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import type { Embedder } from '../../embeddings/embedder.ts';
import { CHUNKER_VERSION } from '../../notes/chunk-markdown.ts';
import { chunkNote } from '../../notes/chunk-note.ts';
import { embedMissing } from '../embed-missing.ts';
import { ExactSearch } from '../exact-search.ts';
import type { BuildSummary, UpdateOptions } from '../index-backend.ts';
import { toIndexedChunk, type IndexedChunk } from '../indexed-chunk.ts';
import { KeywordIndex } from '../keyword-index.ts';
import { INDEX_FORMAT, type Manifest } from '../manifest.ts';
import { diffNotes, noteUnchanged } from '../note-diff.ts';
import { scanNotes } from '../scan-notes.ts';
import { applyReuse, buildFresh, planReuse, storeOf } from './build-graph.ts';
import { currentDirectory, embedderDirectory, KEYWORD_FILE, rejectGeneration } from './generation-files.ts';
import { checkLabels, graphFileLayout, relabelGraphFile, type GraphFileLayout } from './graph-file.ts';
import { DEFAULT_HNSW, indexOf, keywordDocuments, loadedGenerations, useIndex, type HnswParameters, type LoadedIndex } from './loaded-index.ts';
import { loadGeneration, readStore, readVectors, type StoredGeneration } from './read-generation.ts';
import { verifyGeneration, type VerifiedGeneration } from './verify-generation.ts';
import { cleanOldGenerations, writeGeneration } from './write-generation.ts';

export interface BuildOptions extends UpdateOptions {
  indexDir: string;
  hnsw?: HnswParameters;
}

/**
 * The keyword index of the new chunks: updated from the previous generation's (cached, or saved in
 * its keyword.bin) when there is one, so only changed chunks are analysed again; else built.
 */
async function keywordFor(
  chunks: IndexedChunk[],
  prior: { chunks: IndexedChunk[]; generation: VerifiedGeneration } | undefined,
  embedder: Embedder,
): Promise<KeywordIndex> {
  const documents = keywordDocuments(chunks);
  if (prior === undefined) return KeywordIndex.build(documents);
  const known = loadedGenerations.get(embedder);
  let previous =
    known !== undefined && known.directory === prior.generation.directory && known.fingerprint === prior.generation.fingerprint
      ? known.index.keyword
      : undefined;
  if (previous === undefined && prior.generation.manifest.files[KEYWORD_FILE] !== undefined) {
    const saved = await readFile(join(prior.generation.directory, KEYWORD_FILE)).catch(() => undefined);
    if (saved !== undefined) previous = KeywordIndex.deserialize(saved, keywordDocuments(prior.chunks));
  }
  if (previous === undefined) return KeywordIndex.build(documents);
  const labels = new Map(prior.chunks.map((chunk, label) => [chunk.id, label]));
  // Same id means same note and text; the keyword text also holds the title and heading.
  const previousNumbers = chunks.map((chunk) => {
    const label = labels.get(chunk.id);
    const before = label === undefined ? undefined : prior.chunks[label];
    const same = before !== undefined && before.title === chunk.title && before.heading === chunk.heading && before.text === chunk.text;
    return same ? label! : -1;
  });
  return KeywordIndex.update(previous, documents, previousNumbers);
}

/**
 * Builds or updates the index for the notes folder and returns the loaded result.
 * Only chunks whose embedded text is new are embedded; the rest reuse the previous generation's
 * vectors, and a small change also reuses its graph (see `planReuse`).
 */
export async function updateIndex(options: BuildOptions): Promise<{ index: LoadedIndex; summary: BuildSummary }> {
  const hnsw = options.hnsw ?? DEFAULT_HNSW;
  const { embedder, signal, log } = options;
  const folder = embedderDirectory(options.indexDir, embedder);

  const { loaded, summaryOf } = await scanNotes(options);

  // The previous generation: checked cheaply first, since when no note changed it is all we need.
  let previous: VerifiedGeneration | undefined;
  const currentDir = options.rebuild ? undefined : await currentDirectory(options.indexDir, embedder, log);
  if (currentDir !== undefined) {
    const verified = await verifyGeneration(currentDir, embedder);
    if (verified.ok) previous = verified.generation;
    else rejectGeneration(log, currentDir, verified.reason);
  }
  const sameChunker = previous?.manifest.chunkerVersion === CHUNKER_VERSION;
  if (
    previous !== undefined &&
    sameChunker &&
    diffNotes(new Map(Object.entries(previous.manifest.notes)), loaded.notes, previous.manifest.failures, loaded.failures).same
  ) {
    const result = await loadGeneration(previous.directory, embedder, hnsw.efSearch);
    if (result.ok) {
      const count = result.index.chunks.length;
      return { index: result.index, summary: summaryOf({ chunks: count, embedded: 0, reused: count, removed: 0, wroteGeneration: false }) };
    }
    previous = rejectGeneration(log, previous.directory, result.reason);
  }

  // Something changed: its graph (a fresh copy, changed below) and vectors (the cache, by text hash).
  let prior: (StoredGeneration & { manifest: Manifest; vectors: Float32Array; layout: GraphFileLayout | undefined }) | undefined;
  if (previous !== undefined) {
    const read = await readStore(previous, embedder);
    const vectors = read.ok ? await readVectors(previous.directory, read.stored.chunks.length, previous.manifest.dimensions) : read;
    if (!vectors.ok) rejectGeneration(log, previous.directory, vectors.reason);
    else if (read.ok) {
      const { manifest } = previous;
      const layout = await graphFileLayout(join(previous.directory, 'hnswlib.index'), read.stored.chunks.length, manifest.dimensions, manifest.hnsw);
      prior = { ...read.stored, manifest, vectors: vectors.vectors, layout };
    }
  }
  signal?.throwIfAborted();

  // Chunks in note order. A note the previous generation holds unchanged (same bytes, title and
  // chunker) keeps its chunks from there: chunking and hashing 50,000 chunks again costs seconds.
  const priorById = new Map(prior?.chunks.map((chunk) => [chunk.id, chunk]));
  const chunks: IndexedChunk[] = [];
  const notesEntry: Manifest['notes'] = {};
  const embedTexts = new Map<string, string>();
  for (const note of loaded.notes) {
    const before = sameChunker ? prior?.manifest.notes[note.path] : undefined;
    const kept = before !== undefined && noteUnchanged(before, note) ? before.chunkIds.map((id) => priorById.get(id)) : undefined;
    const noteChunks =
      kept !== undefined && kept.every((chunk) => chunk !== undefined)
        ? (kept as IndexedChunk[])
        : chunkNote(note).map((chunk) => {
            const indexed = toIndexedChunk(chunk, note);
            embedTexts.set(indexed.embedHash, chunk.embedText);
            return indexed;
          });
    chunks.push(...noteChunks);
    notesEntry[note.path] = { hash: note.hash, title: note.title, chunkIds: noteChunks.map((chunk) => chunk.id) };
  }
  signal?.throwIfAborted();

  const cache = new Map<string, Float32Array>();
  let dimensions = prior?.manifest.dimensions ?? 0;
  prior?.chunks.forEach((chunk, label) => {
    cache.set(chunk.embedHash, prior.vectors.subarray(label * dimensions, (label + 1) * dimensions));
  });
  const embedding = await embedMissing(embedder, chunks, embedTexts, cache, dimensions, {
    signal,
    onProgress: (done, total) => options.onProgress?.({ phase: 'embed', done, total }),
  });
  dimensions = embedding.dimensions;

  const reused = chunks.length - embedding.embedded;
  const previousIds = new Set(prior?.chunks.map((chunk) => chunk.id) ?? []);
  for (const chunk of chunks) previousIds.delete(chunk.id);

  options.onProgress?.({ phase: 'write', chunks: chunks.length });
  const plan = prior === undefined ? undefined : planReuse(prior, chunks, hnsw, dimensions);
  const reusing = plan === undefined || prior === undefined ? undefined : applyReuse(embedder, prior.store.index, plan, chunks, cache, dimensions);
  const built = reusing ?? buildFresh(embedder, chunks, cache, dimensions, hnsw);
  const manifestBase = {
    format: INDEX_FORMAT,
    embedder: embedder.id,
    dimensions,
    chunkerVersion: CHUNKER_VERSION,
    builtAt: new Date().toISOString(),
    chunkCount: chunks.length,
    hnsw: { m: hnsw.m, efConstruction: hnsw.efConstruction },
    notes: notesEntry,
    failures: loaded.failures,
  };
  const keyword = await keywordFor(built.chunks, prior === undefined || previous === undefined ? undefined : { ...prior, generation: previous }, embedder);
  const written = await writeGeneration(folder, built.store, built.vectors, keyword.serialize(), manifestBase, signal, async (directory) => {
    if (reusing === undefined) return;
    // The reused graph still has its old labels: fix them in the file, then serve what the file holds.
    const path = join(directory, 'hnswlib.index');
    const layout = await graphFileLayout(path, chunks.length, dimensions, hnsw);
    if (layout === undefined) throw new Error('the graph file just written has an unexpected layout');
    await relabelGraphFile(path, layout, reusing.newLabels);
    const graph = new hnswlib.HierarchicalNSW('cosine', Math.max(dimensions, 1));
    await graph.readIndex(path);
    const changed = [...(plan?.updates.map(([, position]) => position) ?? []), ...(plan?.additions ?? [])];
    checkLabels(graph, chunks, cache, [0, chunks.length - 1, ...changed.slice(0, 64)]);
    built.store = storeOf(embedder, graph, dimensions, built.store.docstore._docs);
  });
  await cleanOldGenerations(folder, written.directory);

  // What was just written is what a load would return: keep it instead of reading it back.
  const index = indexOf(written.directory, written.manifest, built.chunks, built.store, keyword, ExactSearch.fromRows(built.vectors, built.chunks.length, dimensions));
  loadedGenerations.set(embedder, { directory: written.directory, fingerprint: written.fingerprint, index });
  return {
    index: useIndex(index, embedder, hnsw.efSearch),
    summary: summaryOf({ chunks: chunks.length, embedded: embedding.embedded, reused, removed: previousIds.size, wroteGeneration: true }),
  };
}
