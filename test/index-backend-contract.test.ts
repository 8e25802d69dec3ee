/**
 * The index-backend contract, run against both backends: the files backend (hnswlib generations)
 * and the Postgres backend (pgvector + full-text search on a real Postgres engine, PGlite, reached
 * over the wire with `pg`). Then the two are held to the same ranking rules: on the same notes,
 * keyword, vector and hybrid retrieval return the same chunks in the same order.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrieve, type RetrievalMethod } from '../src/answer/retrieve.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createFilesBackend } from '../src/vector-index/files/files-backend.ts';
import type { IndexBackend, SearchableIndex } from '../src/vector-index/index-backend.ts';
import { createPostgresBackend } from '../src/vector-index/postgres/postgres-backend.ts';
import { SECOND_NOTE, copySampleNotes, createTempDirs, writeNote } from './support/index-fixtures.ts';
import { startPgliteServer, type PgliteServer } from './support/pglite-server.ts';

const temp = createTempDirs();
let database: PgliteServer;
const backends: IndexBackend[] = [];

beforeAll(async () => {
  database = await startPgliteServer();
}, 180_000);

afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
  await database?.close();
  await temp.cleanup();
});

const makers: Record<'files' | 'postgres', () => Promise<IndexBackend>> = {
  files: async () => createFilesBackend({ indexDir: await temp.make('asknotes-contract-index-') }),
  postgres: async () => createPostgresBackend({ databaseUrl: database.url }),
};

function track(backend: IndexBackend): IndexBackend {
  backends.push(backend);
  return backend;
}

const notesOf = (hits: { chunk: { note: string } }[]) => hits.map((hit) => hit.chunk.note);

describe.each(['files', 'postgres'] as const)('the %s backend', (kind) => {
  const embedder = createLocalEmbedder();
  let backend: IndexBackend;
  let notesDir: string;
  let index: SearchableIndex;

  beforeAll(async () => {
    backend = track(await makers[kind]());
    notesDir = await temp.make('asknotes-contract-notes-');
    await copySampleNotes(notesDir);
    await writeNote(notesDir, SECOND_NOTE.path, SECOND_NOTE.text);
  });

  it('opens nothing before the first build, then builds every note and serves it', async () => {
    expect(await backend.open(embedder)).toBeUndefined();
    expect(await backend.version(embedder)).toBeUndefined();
    const built = await backend.update({ notesDir, embedder });
    index = built.index;
    expect(built.summary).toMatchObject({ notes: 2, wroteGeneration: true, removed: 0 });
    expect(built.summary.embedded).toBeGreaterThan(10);
    expect(index.manifest.embedder).toBe(embedder.id);
    expect(index.manifest.chunkCount).toBe(built.summary.chunks);
    expect(Object.keys(index.manifest.notes).sort()).toEqual(['dockercon-2023.md', SECOND_NOTE.path]);
    const chunkIds = Object.values(index.manifest.notes).flatMap((note) => note.chunkIds);
    expect(new Set(chunkIds).size).toBe(index.manifest.chunkCount);
    expect(index.keyword.size).toBe(index.manifest.chunkCount);
    expect(index.keyword.documentFrequency('zebrafish')).toBeGreaterThan(0);
    expect(index.keyword.idf('zebrafish')).toBeGreaterThan(index.keyword.idf('docker'));
    expect(await backend.version(embedder)).toEqual(expect.any(String));
    // An opened index names its own version: what a server shows in /index/status.
    expect(index.version).toBe(await backend.version(embedder));
  });

  it('retrieves with the shared result shape: ranked, scored 0..1, k clamped, near-duplicates collapsed', async () => {
    const hits = await retrieve(index, embedder, 'zebrafish aquarium pager', { k: 3 });
    expect(hits).toHaveLength(3);
    expect(hits[0]!.chunk.note).toBe(SECOND_NOTE.path);
    expect(hits[0]!.chunk.text).toContain('zebrafish aquarium pager');
    expect(hits[0]!.chunk.lines[0]).toBeGreaterThanOrEqual(1);
    expect(hits[0]!.similarity).toBeGreaterThan(0);
    for (let position = 1; position < hits.length; position++) expect(hits[position]!.score).toBeLessThanOrEqual(hits[position - 1]!.score);
    for (const hit of hits) expect(hit.score).toBeGreaterThan(0);
    const many = await retrieve(index, embedder, 'zebrafish', { k: 20 });
    expect(many.length).toBeGreaterThan(3);
    expect(new Set(many.map((hit) => hit.chunk.id)).size).toBe(many.length);
    const keywordOnly = await retrieve(index, embedder, 'depends_on service_healthy', { k: 2, method: 'keyword' });
    expect(keywordOnly[0]!.chunk.text.toLowerCase()).toContain('service_healthy');
    expect(keywordOnly.every((hit) => hit.similarity === 0)).toBe(true);
  });

  it('an update with nothing changed keeps the version', async () => {
    const version = await backend.version(embedder);
    const again = await backend.update({ notesDir, embedder });
    expect(again.summary).toMatchObject({ embedded: 0, wroteGeneration: false });
    expect(await backend.version(embedder)).toBe(version);
  });

  it('an edited note replaces its chunks, embedding only what changed; a new version is published', async () => {
    const version = await backend.version(embedder);
    const path = join(notesDir, SECOND_NOTE.path);
    await writeFile(path, (await readFile(path, 'utf8')).replaceAll('zebrafish', 'axolotl').replaceAll('Zebrafish', 'Axolotl'));
    const { index: updated, summary } = await backend.update({ notesDir, embedder });
    expect(summary.wroteGeneration).toBe(true);
    expect(summary.embedded).toBeGreaterThan(0);
    expect(summary.embedded).toBeLessThan(summary.chunks / 4);
    expect(await backend.version(embedder)).not.toBe(version);
    expect(updated.version).toBe(await backend.version(embedder));
    const fresh = await retrieve(updated, embedder, 'axolotl aquarium pager', { k: 2 });
    expect(fresh[0]!.chunk.text).toContain('axolotl');
    // The new text no longer says zebrafish: only the file name does (a field the keyword index boosts).
    const stale = await retrieve(updated, embedder, 'zebrafish', { k: 5, method: 'keyword' });
    expect(stale.every((hit) => hit.chunk.note === SECOND_NOTE.path && !/zebrafish/i.test(hit.chunk.text))).toBe(true);
    expect(updated.keyword.documentFrequency('zebrafish')).toBe(stale.length);
    index = updated;
  });

  it('a deleted note disappears from the manifest and from both rankings', async () => {
    await rm(join(notesDir, SECOND_NOTE.path));
    const { index: updated, summary } = await backend.update({ notesDir, embedder });
    expect(summary.removed).toBeGreaterThan(0);
    expect(Object.keys(updated.manifest.notes)).toEqual(['dockercon-2023.md']);
    for (const method of ['vector', 'keyword', 'hybrid'] as const) {
      expect(notesOf(await retrieve(updated, embedder, 'axolotl aquarium pager water changes', { k: 20, method }))).not.toContain(SECOND_NOTE.path);
    }
    index = updated;
  });

  it('another instance (a replica) opens the same index; a rebuild publishes a new version with the same chunks', async () => {
    const replica = track(kind === 'files' ? backend : await makers.postgres());
    const opened = await replica.open(createLocalEmbedder());
    expect(opened?.manifest.notes).toEqual(index.manifest.notes);
    expect(opened?.manifest.chunkCount).toBe(index.manifest.chunkCount);
    const version = await backend.version(embedder);
    expect(opened?.version).toBe(version);
    const rebuilt = await backend.update({ notesDir, embedder, rebuild: true });
    expect(rebuilt.summary.wroteGeneration).toBe(true);
    expect(await replica.version(embedder)).not.toBe(version);
    expect(rebuilt.index.version).toBe(await replica.version(embedder));
    expect(rebuilt.index.manifest.notes).toEqual(index.manifest.notes);
  });

  it('keeps another embedder\'s index apart (one table set / folder per embedder)', async () => {
    const other = createLocalEmbedder({ dimensions: 256 });
    expect(await backend.open(other)).toBeUndefined();
    const built = await backend.update({ notesDir, embedder: other });
    expect(built.index.manifest.dimensions).toBe(256);
    expect((await backend.open(embedder))?.manifest.dimensions).toBe(index.manifest.dimensions);
  });
});

const VAULT_NOTE = [
  '---',
  'aliases: [Move Plan]',
  '---',
  '# Migration Plan',
  '',
  '## [[dockercon-2023|DockerCon]] follow-up',
  '',
  'The migration owner is [[People/Ada Quill|Ada]], with help from Bo.',
  '',
  '> [!warning]+ Budget freeze',
  '> No new spending on the migration until the audit closes.',
].join('\n');

describe('both backends rank alike', () => {
  const questions = [
    'What is the default depends_on condition in compose?',
    'How do I build images in CI with a cache?',
    'zebrafish aquarium pager',
    'What does docker init generate?',
    'Who owns the migration and what does the budget freeze callout say?',
  ];
  let indexes: Record<'files' | 'postgres', SearchableIndex>;
  const embedder = createLocalEmbedder({ dimensions: 384 });

  beforeAll(async () => {
    const notesDir = await temp.make('asknotes-contract-same-');
    await copySampleNotes(notesDir);
    await writeNote(notesDir, SECOND_NOTE.path, SECOND_NOTE.text);
    // Vault syntax: both backends chunk it alike (wikilinks as shown words, aliases beside the title).
    await writeNote(notesDir, 'vault/Migration Plan.md', VAULT_NOTE);
    const files = await track(await makers.files()).update({ notesDir, embedder });
    const postgres = await track(await makers.postgres()).update({ notesDir, embedder });
    indexes = { files: files.index, postgres: postgres.index };
  });

  it.each(['keyword', 'vector', 'hybrid'] as RetrievalMethod[])('%s retrieval returns the same chunks in the same order', async (method) => {
    for (const question of questions) {
      const [files, postgres] = await Promise.all(
        [indexes.files, indexes.postgres].map((index) => retrieve(index, embedder, question, { k: 6, method })),
      );
      expect(postgres!.map((hit) => hit.chunk.id), question).toEqual(files!.map((hit) => hit.chunk.id));
      postgres!.forEach((hit, position) => {
        // The files backend scans int16-quantised vectors, pgvector float32 ones: similarities (and the
        // fused scores made from them) agree to about 1e-5.
        expect(hit.score).toBeCloseTo(files![position]!.score, 4);
        expect(hit.similarity).toBeCloseTo(files![position]!.similarity, 4);
        expect(hit.chunk).toEqual(files![position]!.chunk);
      });
    }
  });

  it('a scope selects the same notes in both, and scoped retrieval stays inside it', async () => {
    for (const filter of [{ notes: ['ops/**'] }, { notes: ['*.md'] }, { tags: ['nothing-has-this'] }]) {
      const [files, postgres] = await Promise.all([indexes.files.scope(filter), indexes.postgres.scope(filter)]);
      expect(postgres.size, JSON.stringify(filter)).toBe(files.size);
    }
    const question = 'What should I do when the pager fires?';
    const [files, postgres] = await Promise.all(
      [indexes.files, indexes.postgres].map(async (index) =>
        retrieve(index, embedder, question, { k: 4, scope: await index.scope({ notes: ['dockercon-2023.md'] }) }),
      ),
    );
    expect(files!.length).toBe(4);
    expect(files!.every((hit) => hit.chunk.note === 'dockercon-2023.md')).toBe(true);
    expect(postgres!.map((hit) => hit.chunk.id)).toEqual(files!.map((hit) => hit.chunk.id));
    expect(indexes.postgres.listNotes()).toEqual(indexes.files.listNotes());
  });

  it('a follow-up searched with its earlier turn fuses the same way', async () => {
    const options = { k: 4, context: ['How does compose decide the start order of services?'] };
    const [files, postgres] = await Promise.all(
      [indexes.files, indexes.postgres].map((index) => retrieve(index, embedder, 'and how do I wait for it to be healthy?', options)),
    );
    expect(postgres!.map((hit) => hit.chunk.id)).toEqual(files!.map((hit) => hit.chunk.id));
  });
});
