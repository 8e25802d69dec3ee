/**
 * The on-disk index: one folder per embedder under INDEX_DIR, holding generations.
 *
 *   INDEX_DIR/<embedder folder>/
 *     CURRENT             name of the live generation (replaced atomically with rename)
 *     gen-<time>-<pid>/   hnswlib.index, args.json, docstore.json (HNSWLib.save), vectors.bin, manifest.json
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
import { loadNotes, type NoteFailure } from '../notes/load-notes.ts';
import { KeywordIndex } from './keyword-index.ts';
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
}

export interface LoadedIndex {
  directory: string;
  manifest: Manifest;
  chunks: IndexedChunk[];
  byId: Map<string, IndexedChunk>;
  store: HNSWLib;
  keyword: KeywordIndex;
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
const BUILDING_MARKER = 'BUILDING';

/** Folder name for an embedder id: readable, filesystem-safe. */
export function embedderFolder(embedderId: string): string {
  return embedderId.replace(/[^A-Za-z0-9._-]+/g, '-');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function toIndexedChunk(chunk: Chunk, title: string): IndexedChunk {
  return {
    id: chunk.id,
    note: chunk.note,
    title,
    heading: chunk.heading,
    lines: chunk.lines,
    text: chunk.text,
    embedHash: sha256(chunk.embedText),
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

type LoadResult = { ok: true; index: LoadedIndex; vectors?: Float32Array } | { ok: false; reason: string };

/** Loads and verifies a generation; never throws for a bad index, it explains instead. */
async function loadGeneration(
  directory: string,
  embedder: Embedder,
  efSearch: number,
  withVectors: boolean,
): Promise<LoadResult> {
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
  for (const name of FILES) {
    const expected = manifest.files[name];
    if (expected === undefined) return { ok: false, reason: `manifest does not list ${name}` };
    const actual = await stat(join(directory, name)).catch(() => undefined);
    if (actual === undefined) return { ok: false, reason: `${name} is missing` };
    if (actual.size !== expected.bytes) {
      return { ok: false, reason: `${name} has ${actual.size} bytes, manifest says ${expected.bytes} (truncated?)` };
    }
  }
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
  store.index.setEf(Math.max(efSearch, 1));
  const chunks: IndexedChunk[] = [];
  for (let label = 0; label < count; label += 1) {
    const document = store.docstore.search(String(label));
    const metadata = (document as Document | undefined)?.metadata as Omit<IndexedChunk, 'text'> | undefined;
    if (document === undefined || metadata?.id === undefined) {
      return { ok: false, reason: `docstore has no chunk for vector ${label}` };
    }
    chunks.push({ ...metadata, text: document.pageContent });
  }
  let vectors: Float32Array | undefined;
  if (withVectors) {
    const bytes = await readFile(join(directory, 'vectors.bin'));
    if (bytes.byteLength !== count * manifest.dimensions * 4) {
      return { ok: false, reason: 'vectors.bin does not match the chunk count and dimensions' };
    }
    vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const keyword = KeywordIndex.build(chunks.map((chunk) => ({ id: chunk.id, text: keywordText(chunk) })));
  embedder.useTermStatistics?.(keyword);
  const index: LoadedIndex = {
    directory,
    manifest,
    chunks,
    byId: new Map(chunks.map((chunk) => [chunk.id, chunk])),
    store,
    keyword,
  };
  return vectors === undefined ? { ok: true, index } : { ok: true, index, vectors };
}

async function readCurrent(folder: string): Promise<string | undefined> {
  try {
    const name = (await readFile(join(folder, 'CURRENT'), 'utf8')).trim();
    return /^gen-[\w-]+$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
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
  const result = await openCurrent(indexDir, embedder, options.efSearch ?? DEFAULT_HNSW.efSearch, false, options.log);
  return result?.index;
}

async function openCurrent(
  indexDir: string,
  embedder: Embedder,
  efSearch: number,
  withVectors: boolean,
  log: ((line: string) => void) | undefined,
): Promise<{ index: LoadedIndex; vectors?: Float32Array } | undefined> {
  const folder = join(indexDir, embedderFolder(embedder.id));
  const current = await readCurrent(folder);
  if (current === undefined) {
    // No CURRENT is a fresh folder; a CURRENT that names no generation is damage, and worth a line.
    const raw = await readFile(join(folder, 'CURRENT'), 'utf8').catch(() => undefined);
    if (raw !== undefined) {
      log?.(`index ${folder} cannot be used (CURRENT does not name a generation: ${JSON.stringify(raw.slice(0, 40))}); rebuilding it`);
    }
    return undefined;
  }
  const result = await loadGeneration(join(folder, current), embedder, efSearch, withVectors);
  if (!result.ok) {
    log?.(`index ${join(folder, current)} cannot be used (${result.reason}); rebuilding it`);
    return undefined;
  }
  return result;
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
 * Only chunks whose embedded text is new are embedded; the rest reuse the previous generation's vectors.
 */
export async function updateIndex(options: BuildOptions): Promise<{ index: LoadedIndex; summary: BuildSummary }> {
  const started = performance.now();
  const hnsw = options.hnsw ?? DEFAULT_HNSW;
  const { embedder, signal } = options;
  const folder = join(options.indexDir, embedderFolder(embedder.id));

  const loaded = await loadNotes(options.notesDir);
  signal?.throwIfAborted();
  options.onProgress?.({ phase: 'scan', notes: loaded.notes.length });
  const chunks: IndexedChunk[] = [];
  const notesEntry: Manifest['notes'] = {};
  const embedTexts = new Map<string, string>();
  for (const note of loaded.notes) {
    const noteChunks = chunkMarkdown(note).map((chunk) => {
      const indexed = toIndexedChunk(chunk, note.title);
      embedTexts.set(indexed.embedHash, chunk.embedText);
      return indexed;
    });
    chunks.push(...noteChunks);
    notesEntry[note.path] = { hash: note.hash, title: note.title, chunkIds: noteChunks.map((chunk) => chunk.id) };
  }

  const previous = options.rebuild
    ? undefined
    : await openCurrent(options.indexDir, embedder, hnsw.efSearch, true, options.log);

  const unchanged =
    previous !== undefined &&
    previous.index.manifest.chunkerVersion === CHUNKER_VERSION &&
    sameNotes(previous.index.manifest, notesEntry, loaded.failures);
  if (previous !== undefined && unchanged) {
    return {
      index: previous.index,
      summary: {
        notes: loaded.notes.length,
        chunks: previous.index.chunks.length,
        embedded: 0,
        reused: previous.index.chunks.length,
        removed: 0,
        failed: loaded.failures,
        seconds: (performance.now() - started) / 1000,
        wroteGeneration: false,
      },
    };
  }

  // The vector cache: the previous generation's vectors, keyed by the hash of the embedded text.
  const cache = new Map<string, Float32Array>();
  let dimensions = previous?.index.manifest.dimensions ?? 0;
  if (previous?.vectors !== undefined) {
    previous.index.chunks.forEach((chunk, label) => {
      cache.set(chunk.embedHash, previous.vectors!.subarray(label * dimensions, (label + 1) * dimensions));
    });
  }
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

  const ordered = new Float32Array(chunks.length * dimensions);
  chunks.forEach((chunk, label) => ordered.set(cache.get(chunk.embedHash)!, label * dimensions));
  const reused = chunks.length - pending.length;
  const previousIds = new Set(previous?.index.chunks.map((chunk) => chunk.id) ?? []);
  for (const chunk of chunks) previousIds.delete(chunk.id);

  options.onProgress?.({ phase: 'write', chunks: chunks.length });
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
  const store = buildStore(embedder, chunks, ordered, dimensions, hnsw);
  const directory = await writeGeneration(folder, store, ordered, manifestBase, signal);
  await cleanOldGenerations(folder, directory);

  const result = await loadGeneration(directory, embedder, hnsw.efSearch, false);
  if (!result.ok) throw new Error(`the index just written does not load: ${result.reason}`);
  return {
    index: result.index,
    summary: {
      notes: loaded.notes.length,
      chunks: chunks.length,
      embedded: pending.length,
      reused,
      removed: previousIds.size,
      failed: loaded.failures,
      seconds: (performance.now() - started) / 1000,
      wroteGeneration: true,
    },
  };
}

function sameNotes(manifest: Manifest, notes: Manifest['notes'], failures: NoteFailure[]): boolean {
  const before = Object.entries(manifest.notes);
  if (before.length !== Object.keys(notes).length) return false;
  for (const [path, entry] of before) {
    const now = notes[path];
    if (now === undefined || now.hash !== entry.hash || now.title !== entry.title) return false;
  }
  const failedBefore = manifest.failures.map((failure) => `${failure.path}\0${failure.reason}`).sort();
  const failedNow = failures.map((failure) => `${failure.path}\0${failure.reason}`).sort();
  return failedBefore.join('\n') === failedNow.join('\n');
}

function buildStore(
  embedder: Embedder,
  chunks: IndexedChunk[],
  vectors: Float32Array,
  dimensions: number,
  hnsw: HnswParameters,
): HNSWLib {
  // HNSWLib.addVectors() re-initialises an empty index with default parameters, so the graph is built
  // here with ours and handed to HNSWLib, which then owns saving, loading and searching.
  const index = new hnswlib.HierarchicalNSW('cosine', Math.max(dimensions, 1));
  index.initIndex(Math.max(chunks.length, 1), hnsw.m, hnsw.efConstruction, 100);
  const documents = new Map<string, Document>();
  const point = new Array<number>(dimensions);
  chunks.forEach((chunk, label) => {
    const offset = label * dimensions;
    for (let dimension = 0; dimension < dimensions; dimension += 1) point[dimension] = vectors[offset + dimension]!;
    index.addPoint(point, label);
    const { text, ...metadata } = chunk;
    documents.set(String(label), new Document({ pageContent: text, metadata }));
  });
  return new HNSWLib(embedder, {
    space: 'cosine',
    numDimensions: Math.max(dimensions, 1),
    index,
    docstore: new SynchronousInMemoryDocstore(documents),
  });
}

async function writeGeneration(
  folder: string,
  store: HNSWLib,
  vectors: Float32Array,
  manifestBase: Omit<Manifest, 'files'>,
  signal: AbortSignal | undefined,
): Promise<string> {
  await mkdir(folder, { recursive: true });
  const name = `gen-${Date.now().toString(36)}-${process.pid}`;
  const directory = join(folder, name);
  await mkdir(directory);
  await writeFile(join(directory, BUILDING_MARKER), String(process.pid));
  try {
    await store.save(directory);
    await writeFile(join(directory, 'vectors.bin'), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    const files: Manifest['files'] = {};
    for (const file of FILES) {
      const path = join(directory, file);
      await fsyncPath(path);
      files[file] = { bytes: (await stat(path)).size };
    }
    signal?.throwIfAborted();
    await writeFileAtomic(join(directory, 'manifest.json'), JSON.stringify({ ...manifestBase, files }));
    await fsyncPath(directory);
    // The switch: until this rename, readers keep loading the previous generation.
    await writeFileAtomic(join(folder, 'CURRENT'), `${name}\n`);
    await fsyncPath(folder);
    await rm(join(directory, BUILDING_MARKER), { force: true });
    return directory;
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
