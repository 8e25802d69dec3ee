/**
 * The Postgres schema's versions (issue 14): a database left by schema 1 (its table sets keeping
 * the keyword side as a `terms tsvector` column) is migrated, its generation is not served, and the
 * indexer rebuilds it into a generation of today's layout (postings) that searches as usual; a
 * database migrated by a newer asknotes is refused.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createPostgresBackend } from '../src/vector-index/postgres/postgres-backend.ts';
import { MIGRATIONS, SCHEMA_VERSION, TABLE_LAYOUT, tableSet } from '../src/vector-index/postgres/schema.ts';
import { createTempDirs, writeNote } from './support/index-fixtures.ts';
import { startPgliteServer, type PgliteServer } from './support/pglite-server.ts';

const temp = createTempDirs();
let database: PgliteServer;
let sql: pg.Pool;

beforeAll(async () => {
  database = await startPgliteServer();
  sql = new pg.Pool({ connectionString: database.url, max: 2 });
}, 180_000);

afterAll(async () => {
  await sql?.end();
  await database?.close();
  await temp.cleanup();
});

/** What asknotes schema 1 left: its tables, and one embedder's generation 3 in the tsvector layout. */
async function schemaOneDatabase(embedderId: string): Promise<void> {
  await sql.query(`CREATE TABLE asknotes_schema (version integer NOT NULL); INSERT INTO asknotes_schema VALUES (1);`);
  await sql.query(MIGRATIONS[0]!);
  const old = tableSet(embedderId, 3);
  await sql.query(`
    CREATE TABLE ${old.notes} (path text PRIMARY KEY, hash text NOT NULL, title text NOT NULL, tags text[] NOT NULL, chunk_ids text[] NOT NULL);
    CREATE TABLE ${old.chunks} (id text PRIMARY KEY, note text NOT NULL, ordinal integer NOT NULL, title text NOT NULL, heading text NOT NULL,
      line_start integer NOT NULL, line_end integer NOT NULL, text text NOT NULL, embed_hash text NOT NULL, tags text[] NOT NULL,
      metadata jsonb NOT NULL, embedding vector(64) NOT NULL, terms tsvector NOT NULL, term_count integer NOT NULL);
    CREATE TABLE ${old.terms} (term text PRIMARY KEY, df integer NOT NULL);
    INSERT INTO ${old.notes} VALUES ('old.md', 'h', 'Old', '{}', '{old.md#0}');
    INSERT INTO ${old.chunks} VALUES ('old.md#0', 'old.md', 0, 'Old', '', 1, 3, 'an old chunk about pelicans', 'e', '{}', '{}',
      array_fill(0.1, ARRAY[64])::vector, '''pelican'':1', 1);
    INSERT INTO ${old.terms} VALUES ('pelican', 1);`);
  await sql.query(
    `INSERT INTO asknotes_indexes VALUES ($1, 3, 7, 64, 1, now(), 1, 1, '[]'::jsonb)`,
    [embedderId],
  );
}

describe('Postgres schema versions', { timeout: 120_000 }, () => {
  it('migrates a schema 1 database: its old-layout generation is not served, and the indexer rebuilds it into postings', async () => {
    const embedder = createLocalEmbedder({ dimensions: 64 });
    await schemaOneDatabase(embedder.id);
    const notesDir = await temp.make('asknotes-pg-schema-');
    await writeNote(notesDir, 'herons.md', '# Herons\n\nGrey herons stand still in shallow water and wait for fish.\n');
    await writeNote(notesDir, 'gulls.md', '# Gulls\n\nGulls follow the fishing boats back to the harbour.\n');

    const backend = createPostgresBackend({ databaseUrl: database.url });
    try {
      // A replica (or the server before its first build) finds nothing it can serve...
      expect(await backend.version(embedder)).toBeUndefined();
      expect(await backend.open(embedder)).toBeUndefined();
      const migrated = (await sql.query('SELECT version FROM asknotes_schema')).rows;
      expect(migrated).toEqual([{ version: SCHEMA_VERSION }]);
      expect((await sql.query('SELECT layout FROM asknotes_indexes')).rows).toEqual([{ layout: 1 }]);

      // ...and an incremental update is a full rebuild into the next generation, in today's layout.
      const { index, summary } = await backend.update({ notesDir, embedder });
      expect(summary.wroteGeneration).toBe(true);
      const state = (await sql.query('SELECT generation, layout, chunk_count FROM asknotes_indexes WHERE embedder = $1', [embedder.id])).rows[0];
      expect(state).toEqual({ generation: 4, layout: TABLE_LAYOUT, chunk_count: index.manifest.chunkCount });
      expect(Object.keys(index.manifest.notes).sort()).toEqual(['gulls.md', 'herons.md']);
      const postings = (await sql.query(`SELECT count(DISTINCT chunk)::int AS chunks FROM ${tableSet(embedder.id, 4).postings}`)).rows[0];
      expect(postings.chunks).toBe(index.manifest.chunkCount);
      const hits = await index.search([{ text: 'herons wait for fish', weight: 1 }], { method: 'keyword', depth: 4 });
      expect(hits[0]?.chunk.note).toBe('herons.md');
      expect(await backend.version(embedder)).toMatch(/^4:\d+$/);
    } finally {
      await backend.close();
    }
  });

  it('refuses a database migrated by a newer asknotes', async () => {
    await sql.query('UPDATE asknotes_schema SET version = $1', [SCHEMA_VERSION + 1]);
    const backend = createPostgresBackend({ databaseUrl: database.url });
    try {
      await expect(backend.open(createLocalEmbedder({ dimensions: 64 }))).rejects.toThrow(/newer than this asknotes knows/);
    } finally {
      await backend.close();
      await sql.query('UPDATE asknotes_schema SET version = $1', [SCHEMA_VERSION]);
    }
  });
});
