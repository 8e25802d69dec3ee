/**
 * The on-disk index: one folder per embedder under INDEX_DIR, holding generations.
 *
 *   INDEX_DIR/<embedder folder>/
 *     CURRENT             name of the live generation (replaced atomically with rename)
 *     gen-<time>-<pid>/   hnswlib.index, args.json, docstore.json (HNSWLib.save), vectors.bin,
 *                         keyword.bin (the keyword index's postings), manifest.json
 *
 * A build writes a new generation aside and only then points CURRENT at it, so a crash at any moment
 * leaves the previous generation loadable. HNSWLib.save() writes three files non-atomically and
 * load() trusts args.json, so the manifest (written last) records every file's size and is checked
 * before anything is trusted.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Document } from '@langchain/core/documents';
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { SynchronousInMemoryDocstore } from '@langchain/community/stores/doc/in_memory';
import hnswlib from 'hnswlib-node';
import type { Embedder } from '../embeddings/embedder.ts';
import { CHUNKER_VERSION, chunkMarkdown, type Chunk } from '../notes/chunk-markdown.ts';
import { loadNotes, type Note, type NoteFailure } from '../notes/load-notes.ts';
import { EXACT_MAX_VALUES, ExactSearch } from './exact-search.ts';
import { KeywordIndex, type KeywordDocument } from './keyword-index.ts';
import { INDEX_FORMAT, parseManifest, type Manifest } from './manifest.ts';

export interface HnswParameters {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export const DEFAULT_HNSW: HnswParameters = { m: 16, efConstruction: 100, efSearch: 96 };

/** A chunk as the index keeps it: the shown text plus where it came from. */
export interface IndexedChunk {
  id: string;
  note: string;
  title: string;
  heading: string;
  lines: [number, number];
  text: string;
  /** sha256 of the embedded text: the key of the vector cache. */
  embedHash: string;
  /** The note's tags (front matter and inline, `note-tags.ts`): what a `tags` scope selects by. */
  tags: string[];
}

export interface LoadedIndex {
  directory: string;
  manifest: Manifest;
  chunks: IndexedChunk[];
  byId: Map<string, IndexedChunk>;
  store: HNSWLib;
  keyword: KeywordIndex;
  /** Exact vector search over the same vectors, when the index is small enough (`exact-search.ts`). */
  exact: ExactSearch | undefined;
}

export interface BuildSummary {
  notes: number;
  chunks: number;
  embedded: number;
  reused: number;
  removed: number;
  failed: NoteFailure[];
  seconds: number;
  /** false when nothing changed and the existing generation was kept. */
  wroteGeneration: boolean;
}

export type BuildProgress =
  | { phase: 'scan'; notes: number }
  | { phase: 'embed'; done: number; total: number }
  | { phase: 'write'; chunks: number };

export interface BuildOptions {
  notesDir: string;
  indexDir: string;
  embedder: Embedder;
  rebuild?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: BuildProgress) => void;
  /** One line per event worth logging (e.g. a corrupt index that will be rebuilt). */
  log?: (line: string) => void;
  hnsw?: HnswParameters;
}

const FILES = ['hnswlib.index', 'args.json', 'docstore.json', 'vectors.bin'] as const;
/**
 * The keyword index's postings (`KeywordIndex.serialize`): optional, since generations written
 * before it existed lack it (their keyword index is built when they are loaded).
 */
const KEYWORD_FILE = 'keyword.bin';
const BUILDING_MARKER = 'BUILDING';

/** Folder name for an embedder id: readable, filesystem-safe. */
export function embedderFolder(embedderId: string): string {
  return embedderId.replace(/[^A-Za-z0-9._-]+/g, '-');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function toIndexedChunk(chunk: Chunk, note: Pick<Note, 'title' | 'tags'>): IndexedChunk {
  return {
    id: chunk.id,
    note: chunk.note,
    title: note.title,
    heading: chunk.heading,
    lines: chunk.lines,
    text: chunk.text,
    embedHash: sha256(chunk.embedText),
    tags: note.tags,
  };
}

/** The text the keyword index sees: the same fields the embedder sees. */
export function keywordText(chunk: IndexedChunk): string {
  return `${chunk.title}\n${chunk.heading}\n${chunk.text}`;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small file so that readers see the old or the new content, never a mix. */
async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await fsyncPath(temporary);
  await rename(temporary, path);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the cheap checks of a generation establish: a manifest for this embedder, every file whole. */
interface VerifiedGeneration {
  directory: string;
  manifest: Manifest;
  /** The manifest text and each file's size and mtime: equal fingerprints mean an unchanged generation. */
  fingerprint: string;
}

type Failure = { ok: false; reason: string };

/** Reads and checks the manifest and the files it lists, without loading anything big. */
async function verifyGeneration(directory: string, embedder: Embedder): Promise<{ ok: true; generation: VerifiedGeneration } | Failure> {
  let manifestText: string;
  try {
    manifestText = await readFile(join(directory, 'manifest.json'), 'utf8');
  } catch {
    return { ok: false, reason: 'manifest.json is missing (an interrupted build?)' };
  }
  const parsed = parseManifest(manifestText);
  if (!parsed.ok) return parsed;
  const manifest = parsed.manifest;
  if (manifest.embedder !== embedder.id) {
    return { ok: false, reason: `manifest is for embedder "${manifest.embedder}", not "${embedder.id}"` };
  }
  const stamps: string[] = [];
  for (const name of FILES) {
    const expected = manifest.files[name];
    if (expected === undefined) return { ok: false, reason: `manifest does not list ${name}` };
    const actual = await stat(join(directory, name)).catch(() => undefined);
    if (actual === undefined) return { ok: false, reason: `${name} is missing` };
    if (actual.size !== expected.bytes) {
      return { ok: false, reason: `${name} has ${actual.size} bytes, manifest says ${expected.bytes} (truncated?)` };
    }
    stamps.push(`${name}:${actual.size}:${actual.mtimeMs}`);
  }
  const keyword = manifest.files[KEYWORD_FILE];
  if (keyword !== undefined) {
    const actual = await stat(join(directory, KEYWORD_FILE)).catch(() => undefined);
    if (actual === undefined) return { ok: false, reason: `${KEYWORD_FILE} is missing` };
    if (actual.size !== keyword.bytes) {
      return { ok: false, reason: `${KEYWORD_FILE} has ${actual.size} bytes, manifest says ${keyword.bytes} (truncated?)` };
    }
    stamps.push(`${KEYWORD_FILE}:${actual.size}:${actual.mtimeMs}`);
  }
  return { ok: true, generation: { directory, manifest, fingerprint: `${stamps.join(' ')}\n${manifestText}` } };
}

interface StoredGeneration {
  store: HNSWLib;
  /** Chunk i is graph label i. */
  chunks: IndexedChunk[];
}

/** Loads the graph and the docstore (a fresh copy every time) and checks they agree with the manifest. */
async function readStore(generation: VerifiedGeneration, embedder: Embedder): Promise<{ ok: true; stored: StoredGeneration } | Failure> {
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
async function readVectors(directory: string, rows: number, dimensions: number): Promise<{ ok: true; vectors: Float32Array } | Failure> {
  const bytes = await readFile(join(directory, 'vectors.bin'));
  if (bytes.byteLength !== rows * dimensions * 4) {
    return { ok: false, reason: 'vectors.bin does not match the chunk count and dimensions' };
  }
  return { ok: true, vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
}

/**
 * The generation each embedder last loaded or built. A generation folder never changes once
 * written, so when its fingerprint (manifest, file sizes and times) is the same, the loaded index is
 * too: a server's update right after opening, or after each build, does not load the index again.
 */
const loadedGenerations = new WeakMap<Embedder, { directory: string; fingerprint: string; index: LoadedIndex }>();

function useIndex(index: LoadedIndex, embedder: Embedder, efSearch: number): LoadedIndex {
  index.store.index.setEf(Math.max(efSearch, 1));
  embedder.useTermStatistics?.(index.keyword);
  return index;
}

function keywordDocuments(chunks: IndexedChunk[]): KeywordDocument[] {
  return chunks.map((chunk) => ({ id: chunk.id, text: keywordText(chunk) }));
}

function indexOf(
  directory: string,
  manifest: Manifest,
  chunks: IndexedChunk[],
  store: HNSWLib,
  keyword: KeywordIndex,
  vectors: Float32Array | undefined,
): LoadedIndex {
  const exact = vectors === undefined ? undefined : ExactSearch.fromRows(vectors, chunks.length, manifest.dimensions);
  return { directory, manifest, chunks, byId: new Map(chunks.map((chunk) => [chunk.id, chunk])), store, keyword, exact };
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
async function loadGeneration(
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
  // Only a small index keeps its vectors a second time, for exact search.
  const vectors = chunks.length * manifest.dimensions <= EXACT_MAX_VALUES ? await readVectors(directory, chunks.length, manifest.dimensions) : undefined;
  if (vectors !== undefined && !vectors.ok) return vectors;
  const index = indexOf(directory, manifest, chunks, store, await loadKeyword(generation, chunks), vectors?.vectors);
  loadedGenerations.set(embedder, { directory, fingerprint: generation.fingerprint, index });
  return { ok: true, index: useIndex(index, embedder, efSearch) };
}

async function readCurrent(folder: string): Promise<string | undefined> {
  try {
    const name = (await readFile(join(folder, 'CURRENT'), 'utf8')).trim();
    return /^gen-[\w-]+$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

function rejectGeneration(log: ((line: string) => void) | undefined, directory: string, reason: string): undefined {
  log?.(`index ${directory} cannot be used (${reason}); rebuilding it`);
  return undefined;
}

/** The folder of the live generation, or undefined (a CURRENT that names none is logged). */
async function currentDirectory(indexDir: string, embedder: Embedder, log: ((line: string) => void) | undefined): Promise<string | undefined> {
  const folder = join(indexDir, embedderFolder(embedder.id));
  const current = await readCurrent(folder);
  if (current !== undefined) return join(folder, current);
  // No CURRENT is a fresh folder; a CURRENT that names no generation is damage, and worth a line.
  const raw = await readFile(join(folder, 'CURRENT'), 'utf8').catch(() => undefined);
  if (raw !== undefined) return rejectGeneration(log, folder, `CURRENT does not name a generation: ${JSON.stringify(raw.slice(0, 40))}`);
  return undefined;
}

/**
 * Opens the live generation for this embedder, or returns undefined (with the reason logged in one
 * line) when there is none or it cannot be trusted. Never serves a partial or foreign index.
 */
export async function openIndex(
  indexDir: string,
  embedder: Embedder,
  options: { log?: (line: string) => void; efSearch?: number } = {},
): Promise<LoadedIndex | undefined> {
  const directory = await currentDirectory(indexDir, embedder, options.log);
  if (directory === undefined) return undefined;
  const result = await loadGeneration(directory, embedder, options.efSearch ?? DEFAULT_HNSW.efSearch);
  return result.ok ? result.index : rejectGeneration(options.log, directory, result.reason);
}

function float32Vector(vector: ArrayLike<number>, dimensions: number, what: string): Float32Array {
  if (vector.length !== dimensions) {
    throw new Error(`the embedder returned ${vector.length} dimensions for ${what}, expected ${dimensions}`);
  }
  const result = Float32Array.from(vector);
  for (const value of result) {
    if (!Number.isFinite(value)) throw new Error(`the embedder returned a non-finite value for ${what}`);
  }
  return result;
}

/**
 * Builds or updates the index for the notes folder and returns the loaded result.
 * Only chunks whose embedded text is new are embedded; the rest reuse the previous generation's
 * vectors, and a small change also reuses its graph (see `planReuse`).
 */
export async function updateIndex(options: BuildOptions): Promise<{ index: LoadedIndex; summary: BuildSummary }> {
  const started = performance.now();
  const hnsw = options.hnsw ?? DEFAULT_HNSW;
  const { embedder, signal, log } = options;
  const folder = join(options.indexDir, embedderFolder(embedder.id));

  const loaded = await loadNotes(options.notesDir);
  signal?.throwIfAborted();
  options.onProgress?.({ phase: 'scan', notes: loaded.notes.length });
  const summaryOf = (fields: Pick<BuildSummary, 'chunks' | 'embedded' | 'reused' | 'removed' | 'wroteGeneration'>): BuildSummary => ({
    notes: loaded.notes.length,
    failed: loaded.failures,
    seconds: (performance.now() - started) / 1000,
    ...fields,
  });

  // The previous generation: checked cheaply first, since when no note changed it is all we need.
  let previous: VerifiedGeneration | undefined;
  const currentDir = options.rebuild ? undefined : await currentDirectory(options.indexDir, embedder, log);
  if (currentDir !== undefined) {
    const verified = await verifyGeneration(currentDir, embedder);
    if (verified.ok) previous = verified.generation;
    else rejectGeneration(log, currentDir, verified.reason);
  }
  const sameChunker = previous?.manifest.chunkerVersion === CHUNKER_VERSION;
  if (previous !== undefined && sameChunker && sameNotes(previous.manifest, loaded.notes, loaded.failures)) {
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
    const kept =
      before !== undefined && before.hash === note.hash && before.title === note.title
        ? before.chunkIds.map((id) => priorById.get(id))
        : undefined;
    const noteChunks =
      kept !== undefined && kept.every((chunk) => chunk !== undefined)
        ? (kept as IndexedChunk[])
        : chunkMarkdown(note).map((chunk) => {
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
  const toEmbed = new Map<string, string>();
  for (const chunk of chunks) {
    if (!cache.has(chunk.embedHash) && !toEmbed.has(chunk.embedHash)) {
      toEmbed.set(chunk.embedHash, embedTexts.get(chunk.embedHash) ?? '');
    }
  }
  const pending = [...toEmbed.entries()];
  options.onProgress?.({ phase: 'embed', done: 0, total: pending.length });
  if (pending.length > 0) {
    const vectors = await embedder.embedDocuments(
      pending.map(([, text]) => text),
      {
        ...(signal ? { signal } : {}),
        onProgress: (done) => options.onProgress?.({ phase: 'embed', done, total: pending.length }),
      },
    );
    if (vectors.length !== pending.length) {
      throw new Error(`the embedder returned ${vectors.length} vectors for ${pending.length} texts`);
    }
    if (dimensions === 0 || cache.size === 0) dimensions = vectors[0]?.length ?? 0;
    pending.forEach(([hash], position) => {
      cache.set(hash, float32Vector(vectors[position] ?? [], dimensions, `chunk ${position}`));
    });
  }
  signal?.throwIfAborted();

  const reused = chunks.length - pending.length;
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
  const index = indexOf(written.directory, written.manifest, built.chunks, built.store, keyword, built.vectors);
  loadedGenerations.set(embedder, { directory: written.directory, fingerprint: written.fingerprint, index });
  return {
    index: useIndex(index, embedder, hnsw.efSearch),
    summary: summaryOf({ chunks: chunks.length, embedded: pending.length, reused, removed: previousIds.size, wroteGeneration: true }),
  };
}

function sameNotes(manifest: Manifest, notes: readonly Note[], failures: NoteFailure[]): boolean {
  if (Object.keys(manifest.notes).length !== notes.length) return false;
  for (const note of notes) {
    const before = manifest.notes[note.path];
    if (before === undefined || before.hash !== note.hash || before.title !== note.title) return false;
  }
  const failedBefore = manifest.failures.map((failure) => `${failure.path}\0${failure.reason}`).sort();
  const failedNow = failures.map((failure) => `${failure.path}\0${failure.reason}`).sort();
  return failedBefore.join('\n') === failedNow.join('\n');
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

interface BuiltGeneration {
  store: HNSWLib;
  /** Chunk i is graph label i. */
  chunks: IndexedChunk[];
  /** One row per chunk, in label order. */
  vectors: Float32Array;
}

function storeOf(embedder: Embedder, index: hnswlib.HierarchicalNSW, dimensions: number, documents: Map<string, Document>): HNSWLib {
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

function buildFresh(
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

interface ReusePlan {
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
function planReuse(
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

function applyReuse(
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

/**
 * Where the labels sit in an hnswlib index file (hnswlib 0.8 `saveIndex`): a 96-byte header, then
 * one fixed-size record per node holding its level-0 links, its vector and its label (uint64 LE).
 * hnswlib-node cannot relabel a node, but the file can be: the loader rebuilds its label table
 * from these fields.
 */
interface GraphFileLayout {
  count: number;
  recordBytes: number;
  labelOffset: number;
}

const GRAPH_HEADER_BYTES = 96;

/** Reads and checks the header of an index file; undefined if it is not the layout expected. */
async function graphFileLayout(
  path: string,
  count: number,
  dimensions: number,
  hnsw: Pick<HnswParameters, 'm' | 'efConstruction'>,
): Promise<GraphFileLayout | undefined> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(GRAPH_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, GRAPH_HEADER_BYTES, 0);
    const { size } = await handle.stat();
    const field = (offset: number) => Number(header.readBigUInt64LE(offset));
    const layout = { count: field(16), recordBytes: field(24), labelOffset: field(32) };
    const dataOffset = field(40);
    const sane =
      bytesRead === GRAPH_HEADER_BYTES &&
      field(0) === 0 &&
      layout.count === count &&
      layout.labelOffset === dataOffset + dimensions * 4 &&
      layout.recordBytes === layout.labelOffset + 8 &&
      field(72) === hnsw.m &&
      field(88) === hnsw.efConstruction &&
      size >= GRAPH_HEADER_BYTES + count * layout.recordBytes;
    return sane ? layout : undefined;
  } finally {
    await handle.close();
  }
}

/** Checks that these labels hold their chunks' vectors (hnswlib stores them normalised for cosine). */
function checkLabels(graph: hnswlib.HierarchicalNSW, chunks: IndexedChunk[], cache: Map<string, Float32Array>, labels: number[]): void {
  for (const label of labels) {
    const expected = cache.get(chunks[label]!.embedHash)!;
    const actual = graph.getPoint(label);
    let dot = 0;
    let norm = 0;
    expected.forEach((value, dimension) => {
      dot += value * (actual[dimension] ?? 0);
      norm += value * value;
    });
    if (norm > 0 && dot / Math.sqrt(norm) < 0.999) throw new Error(`graph label ${label} does not hold its chunk's vector after relabelling`);
  }
}

/** Rewrites every node's label in an index file through `newLabels` (old label -> new label). */
async function relabelGraphFile(path: string, layout: GraphFileLayout, newLabels: Int32Array): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const records = Buffer.alloc(layout.count * layout.recordBytes);
    await handle.read(records, 0, records.length, GRAPH_HEADER_BYTES);
    for (let node = 0; node < layout.count; node += 1) {
      const at = node * layout.recordBytes + layout.labelOffset;
      const label = newLabels[Number(records.readBigUInt64LE(at))];
      if (label === undefined || label < 0) throw new Error(`graph node ${node} has no new label`);
      records.writeBigUInt64LE(BigInt(label), at);
    }
    await handle.write(records, 0, records.length, GRAPH_HEADER_BYTES);
  } finally {
    await handle.close();
  }
}

async function writeGeneration(
  folder: string,
  store: HNSWLib,
  vectors: Float32Array,
  keyword: Uint8Array,
  manifestBase: Omit<Manifest, 'files'>,
  signal: AbortSignal | undefined,
  /** Runs once the files are written, before they are synced and listed in the manifest. */
  afterSave: (directory: string) => Promise<void>,
): Promise<{ directory: string; manifest: Manifest; fingerprint: string }> {
  await mkdir(folder, { recursive: true });
  const name = `gen-${Date.now().toString(36)}-${process.pid}`;
  const directory = join(folder, name);
  await mkdir(directory);
  await writeFile(join(directory, BUILDING_MARKER), String(process.pid));
  try {
    await store.save(directory);
    await writeFile(join(directory, 'vectors.bin'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    await writeFile(join(directory, KEYWORD_FILE), keyword);
    await afterSave(directory);
    const files: Manifest['files'] = {};
    const stamps: string[] = [];
    for (const file of [...FILES, KEYWORD_FILE]) {
      const path = join(directory, file);
      await fsyncPath(path);
      const { size, mtimeMs } = await stat(path);
      files[file] = { bytes: size };
      stamps.push(`${file}:${size}:${mtimeMs}`);
    }
    signal?.throwIfAborted();
    const manifest: Manifest = { ...manifestBase, files };
    const manifestText = JSON.stringify(manifest);
    await writeFileAtomic(join(directory, 'manifest.json'), manifestText);
    await fsyncPath(directory);
    // The switch: until this rename, readers keep loading the previous generation.
    await writeFileAtomic(join(folder, 'CURRENT'), `${name}\n`);
    await fsyncPath(folder);
    await rm(join(directory, BUILDING_MARKER), { force: true });
    return { directory, manifest, fingerprint: `${stamps.join(' ')}\n${manifestText}` };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Removes generations that are neither live nor still being written by a running process. */
async function cleanOldGenerations(folder: string, keep: string): Promise<void> {
  const current = await readCurrent(folder);
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith('gen-')) continue;
    const path = join(folder, entry.name);
    if (path === keep || entry.name === current) continue;
    const builder = await readFile(join(path, BUILDING_MARKER), 'utf8').catch(() => undefined);
    // A build killed before it wrote its pid leaves an empty marker; Number('') is 0, and
    // process.kill(0, 0) signals our own process group and succeeds: only a real pid can be alive.
    const pid = builder === undefined || !/^\d+$/.test(builder.trim()) ? 0 : Number(builder);
    if (pid > 0 && pid !== process.pid && isProcessAlive(pid)) continue;
    await rm(path, { recursive: true, force: true });
  }
  for (const entry of await readdir(folder)) {
    if (entry.endsWith('.tmp')) await rm(join(folder, entry), { force: true });
  }
}
