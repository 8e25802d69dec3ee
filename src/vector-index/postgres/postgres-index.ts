/**
 * Opening a version of a Postgres index: one consistent snapshot of its state row, notes and term
 * statistics, held by each reader; searches run as one SQL statement each (`hybrid-query.ts`), so a
 * reader sees a note's old chunks or its new ones, never half.
 */
import type { Pool } from 'pg';
import type { Embedder } from '../../embeddings/embedder.ts';
import type { IndexManifest, IndexScope, SearchableIndex, SearchHit } from '../index-backend.ts';
import { listNoteSummaries } from '../note-listing.ts';
import { noteInScope } from '../scope-rows.ts';
import { BM25_DEFAULTS } from '../keyword-index.ts';
import { hybridQuery, type HybridRow } from './hybrid-query.ts';
import { tableSet, type TableSet } from './schema.ts';
import { TermDictionary } from './term-dictionary.ts';

export interface PostgresIndex extends SearchableIndex {
  readonly keyword: TermDictionary;
  readonly tables: TableSet;
  /** `<generation>:<version>`: what `IndexBackend.version` reports for it. */
  readonly version: string;
}

/** A scope of a Postgres index: the notes it allows. */
interface NoteScope extends IndexScope {
  notes: string[];
}

export interface IndexStateRow {
  generation: number;
  version: string;
  dimensions: number;
  chunker_version: number;
  built_at: Date;
  chunk_count: number;
  term_total: string;
  failures: { path: string; reason: string }[];
}

export async function readState(pool: Pool | { query: Pool['query'] }, embedderId: string): Promise<IndexStateRow | undefined> {
  const { rows } = await pool.query<IndexStateRow>(
    `SELECT generation, version::text AS version, dimensions, chunker_version, built_at, chunk_count, term_total::text AS term_total, failures
     FROM asknotes_indexes WHERE embedder = $1`,
    [embedderId],
  );
  return rows[0];
}

/** The live version of this embedder's index, or undefined when none was built yet. */
export async function openPostgresIndex(pool: Pool, embedder: Embedder): Promise<PostgresIndex | undefined> {
  const client = await pool.connect();
  let state: IndexStateRow | undefined;
  let notes: { path: string; hash: string; title: string; tags: string[]; chunk_ids: string[] }[];
  let terms: { term: string; df: number }[];
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    state = await readState(client, embedder.id);
    if (state === undefined) {
      await client.query('COMMIT');
      return undefined;
    }
    const tables = tableSet(embedder.id, state.generation);
    notes = (await client.query(`SELECT path, hash, title, tags, chunk_ids FROM ${tables.notes} ORDER BY path`)).rows;
    terms = (await client.query(`SELECT term, df FROM ${tables.terms} WHERE df > 0`)).rows;
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const manifest: IndexManifest = {
    embedder: embedder.id,
    dimensions: state.dimensions,
    chunkerVersion: state.chunker_version,
    builtAt: state.built_at.toISOString(),
    chunkCount: state.chunk_count,
    notes: Object.fromEntries(notes.map((note) => [note.path, { hash: note.hash, title: note.title, chunkIds: note.chunk_ids }])),
    failures: state.failures,
  };
  const keyword = new TermDictionary(new Map(terms.map((row) => [row.term, row.df])), state.chunk_count, Number(state.term_total));
  embedder.useTermStatistics?.(keyword);
  const tables = tableSet(embedder.id, state.generation);
  const summaries = notes.map((note) => ({ path: note.path, title: note.title, tags: note.tags, chunks: note.chunk_ids.length }));
  return {
    manifest,
    keyword,
    tables,
    version: `${state.generation}:${state.version}`,
    async search(queries, options) {
      // A scope reaching this index was made by its `scope()`.
      const scope = options.scope as NoteScope | undefined;
      const statement = hybridQuery(
        tables,
        queries.map((query) => ({ vector: query.vector, terms: keyword.queryTerms(query.text), weight: query.weight })),
        { method: options.method, depth: options.depth, bm25: { ...BM25_DEFAULTS, averageLength: keyword.averageLength }, notes: scope?.notes },
      );
      if (statement === undefined) return [];
      const { rows } = await pool.query<HybridRow>(statement.text, statement.values);
      options.signal?.throwIfAborted();
      return rows.map(
        (row): SearchHit => ({
          chunk: {
            id: row.id,
            note: row.note,
            title: row.title,
            heading: row.heading,
            lines: [row.line_start, row.line_end],
            text: row.text,
            embedHash: row.embed_hash,
            tags: row.tags,
          },
          fused: Number(row.fused),
          similarity: Number(row.similarity),
        }),
      );
    },
    async scope(filter) {
      const inScope = noteInScope(filter);
      const allowed = summaries.filter((note) => inScope(note.path, note.tags));
      const scope: NoteScope = { size: allowed.reduce((sum, note) => sum + note.chunks, 0), notes: allowed.map((note) => note.path) };
      return scope;
    },
    listNotes: () => listNoteSummaries(summaries),
  };
}
