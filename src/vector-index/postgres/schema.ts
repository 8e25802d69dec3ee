/**
 * The Postgres schema asknotes creates and migrates (versioned: `asknotes_schema.version`), and the
 * names of each embedder's table sets.
 *
 *   asknotes_schema                 one row: the schema version applied
 *   asknotes_indexes                one row per embedder: its live table-set generation and that
 *                                   generation's table layout, a version bumped by every committed
 *                                   change (followers poll it), counts
 *   asknotes_writers                one row per embedder: which indexer holds the writer lease, until when
 *   asknotes_<embedder hash>_g<n>_  one table set per embedder and generation:
 *     notes                         path, content hash, title, chunk ids in order
 *     chunks                        note, heading, lines, text, metadata JSONB, embedding vector(d)
 *                                   (HNSW, cosine), term count (the chunk's weighted length)
 *     postings                      one row per (term, chunk): the chunk's note, the term's weighted
 *                                   frequency in it and the chunk's length; B-tree on term covering
 *                                   the rest, so a query term's postings are one index-only range
 *     terms                         document frequency per analyzed term (BM25 statistics)
 *
 * Table layouts: 1 (schema version 1) kept the keyword side as a `terms tsvector` column with a
 * GIN index; 2 (TABLE_LAYOUT) keeps it in `postings`. A generation of an older layout is not read
 * or updated: the indexer rebuilds it (a full rebuild into the next generation), and readers wait
 * for that generation as they wait for a first build.
 *
 * A full rebuild fills generation n+1 beside n and swaps `asknotes_indexes.generation` in one
 * transaction, so switching models or rebuilding never mixes vectors and never blocks readers.
 */
import type { Pool, PoolClient } from 'pg';
import { sha256 } from '../indexed-chunk.ts';
import { inTransaction } from './transaction.ts';

/** Each entry migrates the schema from version i to i + 1; append, never edit. */
export const MIGRATIONS: readonly string[] = [
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
  // 2: table sets hold a postings table instead of a tsvector column (layout 2); existing
  // generations are marked layout 1, which the indexer rebuilds and readers do not open.
  `ALTER TABLE asknotes_indexes ADD COLUMN layout integer NOT NULL DEFAULT 1;
   ALTER TABLE asknotes_indexes ALTER COLUMN layout DROP DEFAULT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The layout of the table sets this code writes and reads (see above). */
export const TABLE_LAYOUT = 2;

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
  postings: string;
  terms: string;
}

/** The (quoted) table names of an embedder's generation: the embedder id is hashed to fit 63 bytes. */
export function tableSet(embedderId: string, generation: number): TableSet {
  const base = `${tablePrefix(embedderId)}${generation}`;
  return { notes: `"${base}_notes"`, chunks: `"${base}_chunks"`, postings: `"${base}_postings"`, terms: `"${base}_terms"` };
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
      term_count integer NOT NULL
    );
    CREATE INDEX ON ${tables.chunks} (note);
    CREATE INDEX ON ${tables.chunks} (embed_hash);
    CREATE TABLE ${tables.postings} (
      term text NOT NULL,
      chunk text NOT NULL,
      note text NOT NULL,
      tf integer NOT NULL,
      length integer NOT NULL
    );
    CREATE TABLE ${tables.terms} (term text PRIMARY KEY, df integer NOT NULL);`);
}

/**
 * The search indexes, built once the rows are loaded: the postings' B-tree on term (covering the
 * columns BM25 reads, so a term's postings are read from the index alone), their index by note (a
 * note's replacement) and the HNSW graph.
 */
export async function createSearchIndexes(client: PoolClient, tables: TableSet): Promise<void> {
  await client.query(`CREATE INDEX ON ${tables.postings} (term) INCLUDE (chunk, note, tf, length)`);
  await client.query(`CREATE INDEX ON ${tables.postings} (note)`);
  await client.query(`CREATE INDEX ON ${tables.chunks} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)`);
}

/**
 * After a bulk load, outside any transaction: planner statistics for the new tables, and the
 * visibility map that lets the postings be read by index-only scans.
 */
export async function analyzeTables(pool: Pool, tables: TableSet): Promise<void> {
  for (const table of Object.values(tables)) await pool.query(`VACUUM (ANALYZE) ${table}`);
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
