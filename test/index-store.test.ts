/**
 * The index store (issue 2, "Done when" 2 and 4): incremental builds embed only what changed, deleted
 * notes leave the index, `rebuild` starts over; a corrupt, partial or foreign index is detected by
 * `openIndex` (one log line, never served) and rebuilt by `updateIndex`.
 */
import { cp, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../src/embeddings/embedder.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createOllamaEmbedder } from '../src/embeddings/ollama-embedder.ts';
import { CHUNKER_VERSION, type Chunk } from '../src/notes/chunk-markdown.ts';
import { openIndex, updateIndex, type LoadedIndex } from '../src/vector-index/index-store.ts';
import {
  SAMPLE_NOTE,
  SECOND_NOTE,
  collectLog,
  copySampleNotes,
  createTempDirs,
  currentGeneration,
  embedderDir,
  expectedChunks,
  generationNames,
  readManifest,
  recordingEmbedder,
  sha256Hex,
  writeNote,
} from './support/index-fixtures.ts';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

const temp = createTempDirs();
afterAll(() => temp.cleanup());

/** A copy of the sample notes plus a small second note. */
async function makeNotes(): Promise<string> {
  const notesDir = await temp.make('asknotes-notes-');
  await copySampleNotes(notesDir);
  await writeNote(notesDir, SECOND_NOTE.path, SECOND_NOTE.text);
  return notesDir;
}

const uniqueEmbedTexts = (chunks: Chunk[]): Set<string> => new Set(chunks.map((chunk) => chunk.embedText));

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index += 1) {
    const x = a[index] ?? 0;
    const y = b[index] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return dot / Math.sqrt(normA * normB);
}

/**
 * Every vector in the HNSW graph is the embedding of its own chunk: proves that reused vectors from
 * the cache were put back under the right labels.
 */
async function expectVectorsMatchChunks(index: LoadedIndex, embedder: Embedder, chunks: Chunk[]): Promise<void> {
  const byId = new Map(chunks.map((chunk) => [chunk.id, chunk]));
  const texts = index.chunks.map((chunk) => byId.get(chunk.id)?.embedText ?? `missing ${chunk.id}`);
  const fresh = await embedder.embedDocuments(texts);
  index.chunks.forEach((_, label) => {
    expect(cosine(index.store.index.getPoint(label), fresh[label] ?? [])).toBeGreaterThan(0.9999);
  });
}

/** Replaces one line of the sample note: a change confined to one or two chunks. */
async function editSampleNote(notesDir: string): Promise<void> {
  const path = join(notesDir, SAMPLE_NOTE);
  const text = await readFile(path, 'utf8');
  const edited = text.replace('- Docker had been open-source for 10 years', '- Docker had been open-source for eleven years');
  expect(edited).not.toBe(text);
  await writeFile(path, edited);
}

interface Scenario {
  name: string;
  /** The embedder plus the texts it was asked to embed, as the embedder itself saw them. */
  setup(): Promise<{ embedder: Embedder; embeddedTexts(): string[]; reset(): void; close(): Promise<void> }>;
  /** How a chunk's embed text reaches the embedder (Ollama's nomic prefix). */
  sent(embedText: string): string;
}

const scenarios: Scenario[] = [
  {
    name: 'local embedder (summary counters and the texts it embedded)',
    async setup() {
      const { embedder, embedded } = recordingEmbedder(createLocalEmbedder());
      return {
        embedder,
        embeddedTexts: () => embedded.flat(),
        reset: () => embedded.splice(0),
        close: async () => {},
      };
    },
    sent: (text) => text,
  },
  {
    name: 'Ollama embedder against the stand-in (its call log)',
    async setup() {
      const fake: FakeOllama = await startFakeOllama();
      const embedder = createOllamaEmbedder({ baseUrl: fake.url, model: 'nomic-embed-text', maxRetries: 0 });
      return {
        embedder,
        embeddedTexts: () => fake.callsTo('embed').flatMap((call) => (call.body as { input: string[] }).input),
        reset: () => fake.calls.splice(0),
        close: () => fake.close(),
      };
    },
    sent: (text) => `search_document: ${text}`,
  },
];

describe.each(scenarios)('incremental index: $name', (scenario) => {
  let notesDir: string;
  let indexDir: string;
  let subject: Awaited<ReturnType<Scenario['setup']>>;
  let firstChunks: Chunk[];

  beforeAll(async () => {
    notesDir = await makeNotes();
    indexDir = await temp.make('asknotes-index-');
    subject = await scenario.setup();
  });
  afterAll(() => subject.close());
  afterEach(() => subject.reset());

  const build = (rebuild = false) =>
    updateIndex({ notesDir, indexDir, embedder: subject.embedder, rebuild, log: (line) => expect.fail(`unexpected log: ${line}`) });

  it('builds from nothing: every chunk embedded once, the manifest describes every note', async () => {
    firstChunks = await expectedChunks(notesDir);
    const { index, summary } = await build();

    expect(summary).toMatchObject({
      notes: 2,
      chunks: firstChunks.length,
      embedded: uniqueEmbedTexts(firstChunks).size,
      reused: 0,
      removed: 0,
      failed: [],
      wroteGeneration: true,
    });
    expect(new Set(subject.embeddedTexts())).toEqual(new Set(firstChunks.map((chunk) => scenario.sent(chunk.embedText))));
    expect(subject.embeddedTexts()).toHaveLength(uniqueEmbedTexts(firstChunks).size);

    const manifest = index.manifest;
    expect(manifest).toMatchObject({ embedder: subject.embedder.id, chunkerVersion: CHUNKER_VERSION, chunkCount: firstChunks.length });
    expect(manifest.dimensions).toBe((await subject.embedder.embedQuery('dimensions')).length);
    for (const path of [SAMPLE_NOTE, SECOND_NOTE.path]) {
      const bytes = await readFile(join(notesDir, path));
      expect(manifest.notes[path]).toMatchObject({
        hash: sha256Hex(bytes),
        chunkIds: firstChunks.filter((chunk) => chunk.note === path).map((chunk) => chunk.id),
      });
    }
    expect(index.chunks.map((chunk) => chunk.id)).toEqual(firstChunks.map((chunk) => chunk.id));
    expect(index.chunks.map((chunk) => chunk.text)).toEqual(firstChunks.map((chunk) => chunk.text));
    expect(await generationNames(indexDir, subject.embedder.id)).toHaveLength(1);
    await expectVectorsMatchChunks(index, subject.embedder, firstChunks);
  });

  it('a second run embeds nothing and writes no generation', async () => {
    const before = await currentGeneration(indexDir, subject.embedder.id);
    const generations = await generationNames(indexDir, subject.embedder.id);
    const { index, summary } = await build();

    expect(summary).toMatchObject({ notes: 2, chunks: firstChunks.length, embedded: 0, reused: firstChunks.length, removed: 0 });
    expect(summary.wroteGeneration).toBe(false);
    expect(subject.embeddedTexts()).toEqual([]);
    expect(await currentGeneration(indexDir, subject.embedder.id)).toBe(before);
    expect(await generationNames(indexDir, subject.embedder.id)).toEqual(generations);
    expect(index.directory).toBe(before);
  });

  it('editing one note re-embeds only its changed chunks and reuses the rest', async () => {
    const before = firstChunks;
    await editSampleNote(notesDir);
    const after = await expectedChunks(notesDir);
    const known = uniqueEmbedTexts(before);
    const changed = [...uniqueEmbedTexts(after)].filter((text) => !known.has(text));
    const afterIds = new Set(after.map((chunk) => chunk.id));
    const gone = before.filter((chunk) => !afterIds.has(chunk.id));
    // The edit touches one line: one chunk, two when it sits in an overlap. Not the whole note.
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(2);

    const { index, summary } = await build();
    expect(summary).toMatchObject({
      notes: 2,
      chunks: after.length,
      embedded: changed.length,
      reused: after.length - changed.length,
      removed: gone.length,
      wroteGeneration: true,
    });
    expect(subject.embeddedTexts().sort()).toEqual(changed.map(scenario.sent).sort());
    expect(index.chunks.some((chunk) => chunk.text.includes('open-source for eleven years'))).toBe(true);
    expect(index.chunks.some((chunk) => chunk.text.includes('open-source for 10 years'))).toBe(false);
    expect(await generationNames(indexDir, subject.embedder.id)).toEqual([
      (await currentGeneration(indexDir, subject.embedder.id))?.split(/[\\/]/).pop(),
    ]);
    await expectVectorsMatchChunks(index, subject.embedder, after);
    firstChunks = after;
  });

  it('deleting a note removes its chunks from the index, the manifest and both searches', async () => {
    const { index: before } = await build();
    expect(before.keyword.search('zebrafish', 5).length).toBeGreaterThan(0);
    const doomed = firstChunks.filter((chunk) => chunk.note === SECOND_NOTE.path);
    expect(doomed.length).toBeGreaterThan(0);

    await rm(join(notesDir, SECOND_NOTE.path));
    const { index, summary } = await build();

    const remaining = firstChunks.filter((chunk) => chunk.note !== SECOND_NOTE.path);
    expect(summary).toMatchObject({
      notes: 1,
      chunks: remaining.length,
      embedded: 0,
      reused: remaining.length,
      removed: doomed.length,
      wroteGeneration: true,
    });
    expect(subject.embeddedTexts()).toEqual([]);
    expect(index.manifest.notes[SECOND_NOTE.path]).toBeUndefined();
    expect(index.chunks.filter((chunk) => chunk.note === SECOND_NOTE.path)).toEqual([]);
    for (const chunk of doomed) expect(index.byId.has(chunk.id)).toBe(false);
    expect(index.keyword.search('zebrafish aquarium pager', 5)).toEqual([]);
    const query = await subject.embedder.embedQuery('zebrafish aquarium pager marmoset');
    const hits = await index.store.similaritySearchVectorWithScore(query, index.chunks.length);
    expect(hits).toHaveLength(remaining.length);
    expect(hits.filter(([document]) => (document.metadata as { note: string }).note === SECOND_NOTE.path)).toEqual([]);
    await expectVectorsMatchChunks(index, subject.embedder, remaining);
  });

  it('rebuild re-embeds everything', async () => {
    const { summary } = await build(true);
    const now = await expectedChunks(notesDir);
    expect(summary).toMatchObject({
      chunks: now.length,
      embedded: uniqueEmbedTexts(now).size,
      reused: now.length - uniqueEmbedTexts(now).size,
      wroteGeneration: true,
    });
    expect(new Set(subject.embeddedTexts())).toEqual(new Set(now.map((chunk) => scenario.sent(chunk.embedText))));
  });
});

describe('a run of small incremental updates', () => {
  it('leaves the index a fresh build would: same chunks, each under its own vector, in memory and on disk', async () => {
    const notesDir = await makeNotes();
    const indexDir = await temp.make('asknotes-index-');
    const embedder = createLocalEmbedder();
    await updateIndex({ notesDir, indexDir, embedder });
    const samplePath = join(notesDir, SAMPLE_NOTE);
    const replacements: Array<[string, string]> = [
      ['open-source for 10 years', 'open-source for a decade'],
      ['Docker Scout', 'Docker Scout (GA)'],
      ['depends_on', 'depends_on (with conditions)'],
      ['Compose', 'Docker Compose'],
    ];

    for (const [round, [from, to]] of replacements.entries()) {
      // Each round: an edit in the big note, a section added to the small one, a new note.
      const sample = await readFile(samplePath, 'utf8');
      expect(sample).toContain(from);
      await writeFile(samplePath, sample.replace(from, to));
      await writeFile(join(notesDir, SECOND_NOTE.path), `${await readFile(join(notesDir, SECOND_NOTE.path), 'utf8')}\n## Round ${round}\n\nThe tank ${round} filter was cleaned and its flow rate logged.\n`);
      await writeNote(notesDir, `added/round-${round}.md`, `# Round ${round}\n\nCapybara census number ${round}: all present and accounted for.\n`);
      const expected = await expectedChunks(notesDir);

      const { index, summary } = await updateIndex({ notesDir, indexDir, embedder });
      expect(summary.wroteGeneration).toBe(true);
      expect(summary.embedded).toBeLessThan(expected.length / 4);
      expect(index.chunks.map((chunk) => chunk.id).sort()).toEqual(expected.map((chunk) => chunk.id).sort());
      await expectVectorsMatchChunks(index, embedder, expected);
      // Every chunk is found by its own vector: the graph reaches every node.
      for (const [label, chunk] of index.chunks.entries()) {
        const [best] = await index.store.similaritySearchVectorWithScore(index.store.index.getPoint(label), 1);
        expect((best?.[0].metadata as { embedHash?: string } | undefined)?.embedHash).toBe(chunk.embedHash);
      }
      // What another process loads from disk is exactly what the build returned.
      const reopened = await openIndex(indexDir, createLocalEmbedder());
      expect(reopened?.chunks).toEqual(index.chunks);
      expect(reopened?.manifest).toEqual(index.manifest);
      for (const label of index.chunks.keys()) {
        expect(reopened!.store.index.getPoint(label)).toEqual(index.store.index.getPoint(label));
      }
    }
  });
});

describe('leftovers of interrupted builds', () => {
  it('the next build removes generations of dead builders and keeps one a live process is still writing', async () => {
    const notesDir = await makeNotes();
    const indexDir = await temp.make('asknotes-index-');
    const embedder = createLocalEmbedder();
    await updateIndex({ notesDir, indexDir, embedder });
    const folder = embedderDir(indexDir, embedder.id);
    const leftovers = {
      // Killed between creating the marker and writing its pid: an empty marker.
      'gen-killed-empty-marker': '',
      'gen-killed-dead-pid': '2147483646',
      'gen-killed-no-marker': undefined,
      // Another indexer (here: our parent process, which is alive) still writing.
      'gen-live-builder': String(process.ppid),
    };
    for (const [name, marker] of Object.entries(leftovers)) {
      await mkdir(join(folder, name));
      await writeFile(join(folder, name, 'hnswlib.index'), 'partial');
      if (marker !== undefined) await writeFile(join(folder, name, 'BUILDING'), marker);
    }
    await writeFile(join(folder, 'CURRENT.12345.tmp'), 'gen-killed-dead-pid\n');

    await writeNote(notesDir, 'new.md', '# New\n\nA note that forces a new generation.\n');
    const { index } = await updateIndex({ notesDir, indexDir, embedder });
    const live = index.directory.split(/[\\/]/).pop();
    expect((await readdir(folder)).sort()).toEqual(['CURRENT', 'gen-live-builder', live].sort());
  });
});

describe('a corrupt, partial or foreign index is detected, never served, and rebuilt', () => {
  let notesDir: string;
  let pristine: string;
  let chunks: Chunk[];
  const otherEmbedder = (): Embedder => createLocalEmbedder({ dimensions: 256 });

  beforeAll(async () => {
    notesDir = await makeNotes();
    pristine = await temp.make('asknotes-index-');
    await updateIndex({ notesDir, indexDir: pristine, embedder: createLocalEmbedder() });
    chunks = await expectedChunks(notesDir);
  });

  interface Damage {
    name: string;
    /** Damages a copy of the good index; `generation` is the folder CURRENT points at. */
    damage(paths: { indexDir: string; folder: string; generation: string }): Promise<void>;
    /** The embedder that opens it (default: the local embedder that built it). */
    embedder?: () => Embedder;
    reason: RegExp;
  }

  const editManifest = async (generation: string, change: (manifest: Record<string, unknown>) => void): Promise<void> => {
    const path = join(generation, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    change(manifest);
    await writeFile(path, JSON.stringify(manifest));
  };
  const halve = async (path: string): Promise<void> => {
    const { size } = await stat(path);
    await truncate(path, Math.floor(size / 2));
  };

  const damages: Damage[] = [
    { name: 'truncated hnswlib.index', damage: ({ generation }) => halve(join(generation, 'hnswlib.index')), reason: /hnswlib\.index has \d+ bytes/ },
    { name: 'truncated docstore.json', damage: ({ generation }) => halve(join(generation, 'docstore.json')), reason: /docstore\.json has \d+ bytes/ },
    { name: 'truncated vectors.bin', damage: ({ generation }) => halve(join(generation, 'vectors.bin')), reason: /vectors\.bin has \d+ bytes/ },
    {
      name: 'docstore.json overwritten with garbage of the same size',
      damage: async ({ generation }) => {
        const path = join(generation, 'docstore.json');
        await writeFile(path, 'x'.repeat((await readFile(path)).byteLength));
      },
      reason: /do not load/,
    },
    {
      name: 'hnswlib.index missing',
      damage: ({ generation }) => rm(join(generation, 'hnswlib.index')),
      reason: /hnswlib\.index is missing/,
    },
    {
      name: "another embedder's index copied under this embedder's folder",
      damage: async ({ indexDir, folder }) => cp(folder, embedderDir(indexDir, otherEmbedder().id), { recursive: true }),
      embedder: otherEmbedder,
      reason: new RegExp(`manifest is for embedder "${createLocalEmbedder().id}", not "${otherEmbedder().id}"`),
    },
    {
      name: 'a manifest that names another embedder',
      damage: ({ generation }) => editManifest(generation, (manifest) => (manifest['embedder'] = 'ollama:nomic-embed-text')),
      reason: /manifest is for embedder "ollama:nomic-embed-text"/,
    },
    {
      name: 'a garbage manifest',
      damage: ({ generation }) => writeFile(join(generation, 'manifest.json'), '\u0000\u0001 not json {{{'),
      reason: /manifest is not valid JSON/,
    },
    {
      name: 'a manifest of the wrong shape',
      damage: ({ generation }) => writeFile(join(generation, 'manifest.json'), JSON.stringify({ format: 1, embedder: 'x' })),
      reason: /manifest is invalid at/,
    },
    {
      name: 'a manifest whose chunk count disagrees with the graph',
      damage: ({ generation }) => editManifest(generation, (manifest) => (manifest['chunkCount'] = Number(manifest['chunkCount']) + 1)),
      reason: /HNSW index holds \d+ vectors, manifest says \d+/,
    },
    {
      name: 'CURRENT pointing at a generation that does not exist',
      damage: ({ folder }) => writeFile(join(folder, 'CURRENT'), 'gen-doesnotexist-1\n'),
      reason: /manifest\.json is missing/,
    },
    {
      name: 'CURRENT holding garbage',
      damage: ({ folder }) => writeFile(join(folder, 'CURRENT'), '../../etc\u0000'),
      reason: /CURRENT/,
    },
  ];

  it.each(damages)('$name', async ({ damage, embedder: makeEmbedder, reason }) => {
    const indexDir = await temp.make('asknotes-index-');
    await cp(pristine, indexDir, { recursive: true });
    const builtBy = createLocalEmbedder();
    const folder = embedderDir(indexDir, builtBy.id);
    const generation = await currentGeneration(indexDir, builtBy.id);
    if (generation === undefined) throw new Error('the pristine index has no CURRENT');
    await damage({ indexDir, folder, generation });
    const embedder = (makeEmbedder ?? createLocalEmbedder)();

    const opened = collectLog();
    expect(await openIndex(indexDir, embedder, { log: opened.log })).toBeUndefined();
    expect(opened.lines).toHaveLength(1);
    expect(opened.lines[0]).toMatch(reason);
    expect(opened.lines[0]).not.toContain('\n');

    const built = collectLog();
    const { index, summary } = await updateIndex({ notesDir, indexDir, embedder, log: built.log });
    expect(built.lines).toHaveLength(1);
    expect(built.lines[0]).toMatch(reason);
    expect(summary).toMatchObject({ chunks: chunks.length, embedded: uniqueEmbedTexts(chunks).size, reused: 0, wroteGeneration: true });
    expect(index.manifest.embedder).toBe(embedder.id);

    const reopened = collectLog();
    const again = await openIndex(indexDir, embedder, { log: reopened.log });
    expect(reopened.lines).toEqual([]);
    expect(again?.chunks.map((chunk) => chunk.id)).toEqual(chunks.map((chunk) => chunk.id));
    const manifest = await readManifest(again!.directory);
    expect(manifest.embedder).toBe(embedder.id);
    const hits = await again!.store.similaritySearchVectorWithScore(await embedder.embedQuery('docker scout'), 3);
    expect(hits).toHaveLength(3);
  });
});
