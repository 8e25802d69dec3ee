/**
 * The Postgres schema asknotes creates and migrates (versioned: `asknotes_schema.version`), and the
 * names of each embedder's table sets.
 *
 *   asknotes_schema                 one row: the schema version applied
 *   asknotes_indexes                one row per embedder: its live table-set generation, a version
 *                                   bumped by every committed change (followers poll it), counts
 *   asknotes_writers                one row per embedder: which indexer holds the writer lease, until when
 *   asknotes_<embedder hash>_g<n>_  one table set per embedder and generation:
 *     notes                         path, content hash, title, chunk ids in order
 *     chunks                        note, heading, lines, text, metadata JSONB, embedding vector(d)
 *                                   (HNSW, cosine), terms tsvector (GIN), term count
 *     terms                         document frequency per analyzed term (BM25 statistics)
 *
 * A full rebuild fills generation n+1 beside n and swaps `asknotes_indexes.generation` in one
 * transaction, so switching models or rebuilding never mixes vectors and never blocks readers.
 */
import type { Pool, PoolClient } from 'pg';
import { sha256 } from '../indexed-chunk.ts';
import { inTransaction } from './transaction.ts';

/** Each entry migrates the schema from version i to i + 1; append, never edit. */
const MIGRATIONS: readonly string[] = [
  `CREATE EXTENSION IF NOT EXISTS vector;
   CREATE TABLE asknotes_indexes (
     embedder text PRIMARY KEY,
     generation integer NOT NULL,
     version bigint NOT NULL,
     dimensions integer NOT NULL,
     chunker_version integer NOT NULL,
     built_at timestamptz NOT NULL,
     chunk_count integer NOT NULL,
     term_total bigint NOT NULL,
     failures jsonb NOT NULL
   );
   CREATE TABLE asknotes_writers (
     embedder text PRIMARY KEY,
     holder text NOT NULL,
     heartbeat timestamptz NOT NULL,
     expires_at timestamptz NOT NULL
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Any fixed number: serialises concurrent migrations on a real server. */
const MIGRATION_LOCK = 0x61736b6e;

/** Creates or upgrades the schema; refuses a database migrated by a newer asknotes. */
export async function migrate(pool: Pool): Promise<void> {
  await inTransaction(pool, 'BEGIN', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS asknotes_schema (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM asknotes_schema');
    const applied = rows[0]?.version ?? 0;
    if (applied > SCHEMA_VERSION) {
      throw new Error(`the database holds asknotes schema version ${applied}, newer than this asknotes knows (${SCHEMA_VERSION}): upgrade asknotes`);
    }
    for (let version = applied; version < SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]!);
    if (rows.length === 0) await client.query('INSERT INTO asknotes_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
    else await client.query('UPDATE asknotes_schema SET version = $1', [SCHEMA_VERSION]);
  });
}

export interface TableSet {
  notes: string;
  chunks: string;
  terms: string;
}

/** The (quoted) table names of an embedder's generation: the embedder id is hashed to fit 63 bytes. */
export function tableSet(embedderId: string, generation: number): TableSet {
  const base = `${tablePrefix(embedderId)}${generation}`;
  return { notes: `"${base}_notes"`, chunks: `"${base}_chunks"`, terms: `"${base}_terms"` };
}

/** `asknotes_<12 hex>_g`: every table of an embedder's generations starts so. */
export function tablePrefix(embedderId: string): string {
  return `asknotes_${sha256(embedderId).slice(0, 12)}_g`;
}

/** Creates an empty table set; the search indexes come later (`createSearchIndexes`), after a bulk load. */
export async function createTables(client: PoolClient, tables: TableSet, dimensions: number): Promise<void> {
  await client.query(`
    CREATE TABLE ${tables.notes} (
      path text PRIMARY KEY,
      hash text NOT NULL,
      title text NOT NULL,
      tags text[] NOT NULL,
      chunk_ids text[] NOT NULL
    );
    CREATE TABLE ${tables.chunks} (
      id text PRIMARY KEY,
      note text NOT NULL,
      ordinal integer NOT NULL,
      title text NOT NULL,
      heading text NOT NULL,
      line_start integer NOT NULL,
      line_end integer NOT NULL,
      text text NOT NULL,
      embed_hash text NOT NULL,
      tags text[] NOT NULL,
      metadata jsonb NOT NULL,
      embedding vector(${Math.max(1, Math.floor(dimensions))}) NOT NULL,
      terms tsvector NOT NULL,
      term_count integer NOT NULL
    );
    CREATE INDEX ON ${tables.chunks} (note);
    CREATE INDEX ON ${tables.chunks} (embed_hash);
    CREATE TABLE ${tables.terms} (term text PRIMARY KEY, df integer NOT NULL);`);
}

export async function createSearchIndexes(client: PoolClient, tables: TableSet): Promise<void> {
  await client.query(`CREATE INDEX ON ${tables.chunks} USING gin (terms)`);
  await client.query(`CREATE INDEX ON ${tables.chunks} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)`);
}

/** Drops the tables of every generation of this embedder but those kept. */
export async function dropGenerations(client: PoolClient, embedderId: string, keep: readonly number[]): Promise<void> {
  const prefix = tablePrefix(embedderId);
  const { rows } = await client.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)`,
    [prefix],
  );
  for (const { tablename } of rows) {
    const generation = Number(/^asknotes_[0-9a-f]{12}_g(\d+)_/.exec(tablename)?.[1]);
    if (Number.isInteger(generation) && !keep.includes(generation)) await client.query(`DROP TABLE IF EXISTS "${tablename}"`);
  }
}
