/**
 * Opening a version of a Postgres index: one consistent snapshot of its state row, notes and term
 * statistics, held by each reader; searches run as one SQL statement each (`hybrid-query.ts`), so a
 * reader sees a note's old chunks or its new ones, never half.
 */
import type { Pool } from 'pg';
import type { Embedder } from '../../embeddings/embedder.ts';
import type { IndexManifest, IndexScope, SearchableIndex, SearchHit, SearchOptions, SearchQuery } from '../index-backend.ts';
import { listNoteSummaries } from '../note-listing.ts';
import { noteInScope } from '../scope-rows.ts';
import { BM25_DEFAULTS } from '../bm25f.ts';
import { fuseFindings, noteScoresOf, type QueryFindings } from '../fuse-scores.ts';
import { pathName, type IndexedChunk } from '../indexed-chunk.ts';
import { NoteKeywordScores } from '../note-keyword-scores.ts';
import { searchError } from './database-errors.ts';
import { inTransaction } from './transaction.ts';
import { hybridQuery, type HybridChunkRow, type HybridRow } from './hybrid-query.ts';
import { TABLE_LAYOUT, tableSet, type TableSet } from './schema.ts';
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
  /** The table layout of the generation (`TABLE_LAYOUT` for one this code wrote). */
  layout: number;
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
    `SELECT generation, layout, version::text AS version, dimensions, chunker_version, built_at, chunk_count, term_total::text AS term_total, failures
     FROM asknotes_indexes WHERE embedder = $1`,
    [embedderId],
  );
  return rows[0];
}

/**
 * The live version of this embedder's index, or undefined when none was built yet, or when the live
 * generation has an older table layout (the indexer rebuilds it).
 */
export async function openPostgresIndex(pool: Pool, embedder: Embedder): Promise<PostgresIndex | undefined> {
  // One consistent snapshot of the version's state, notes, term statistics and per-note totals.
  const snapshot = await inTransaction(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
    const state = await readState(client, embedder.id);
    if (state === undefined || state.layout !== TABLE_LAYOUT) return undefined;
    const tables = tableSet(embedder.id, state.generation);
    const notes = (
      await client.query<{ path: string; hash: string; title: string; tags: string[]; chunk_ids: string[] }>(
        `SELECT path, hash, title, tags, chunk_ids FROM ${tables.notes} ORDER BY path`,
      )
    ).rows;
    const terms = (await client.query<{ term: string; df: number }>(`SELECT term, df FROM ${tables.terms} WHERE df > 0`)).rows;
    const noteTotals = (
      await client.query<{ note: string; title: string; chunks: number; length: number }>(
        `SELECT note, min(title) AS title, count(*)::int AS chunks, sum(term_count)::float8 AS length FROM ${tables.chunks} GROUP BY note`,
      )
    ).rows;
    return { state, notes, terms, noteTotals };
  });
  if (snapshot === undefined) return undefined;
  const { state, notes, terms, noteTotals } = snapshot;
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
  // Whole-note BM25 from the per-note sums each search returns; the title field as the files backend's keyword document has it.
  const noteScores = new NoteKeywordScores(
    noteTotals.map((note) => ({ path: note.note, chunks: note.chunks, length: Number(note.length), title: `${note.title}\n${pathName(note.note)}` })),
    BM25_DEFAULTS.k1,
  );
  // Listed by their chunks' title (with aliases), as the files backend lists them.
  const chunkTitles = new Map(noteTotals.map((note) => [note.note, note.title]));
  const summaries = notes.map((note) => ({ path: note.path, title: chunkTitles.get(note.path) ?? note.title, tags: note.tags, chunks: note.chunk_ids.length }));
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
      const { rows } = await pool.query<HybridRow>(statement.text, statement.values).catch((error: unknown) => {
        throw searchError(error);
      });
      options.signal?.throwIfAborted();
      return fuseRows(rows, queries, options, noteScores);
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

function chunkOf(row: HybridChunkRow): IndexedChunk {
  return {
    id: row.id,
    note: row.note,
    title: row.title,
    heading: row.heading,
    lines: [row.line_start, row.line_end],
    text: row.text,
    embedHash: row.embed_hash,
    tags: row.tags,
    ...(row.page === null || row.page === undefined ? {} : { page: row.page }),
  };
}

/** The statement's raw scores fused by the rule both backends share (`fuse-scores.ts`). */
function fuseRows(rows: readonly HybridRow[], queries: readonly SearchQuery[], options: SearchOptions, noteScores: NoteKeywordScores): SearchHit[] {
  const queryCount = queries.length;
  const findings: QueryFindings[] = [];
  const vector: { id: string; score: number }[][] = [];
  const keyword: { id: string; score: number }[][] = [];
  const noteSums: Map<string, Map<string, number>>[] = [];
  for (let query = 0; query < queryCount; query++) {
    vector.push([]);
    keyword.push([]);
    noteSums.push(new Map());
  }
  const chunks = new Map<string, IndexedChunk>();
  const similarity = new Map<string, number>();
  for (const row of rows) {
    if (row.kind === 'note') {
      const sums = noteSums[row.queries[0]];
      if (sums === undefined) continue;
      const perNote = sums.get(row.lexeme) ?? new Map<string, number>();
      perNote.set(row.note, Number(row.scores[0]));
      sums.set(row.lexeme, perNote);
      continue;
    }
    chunks.set(row.id, chunkOf(row));
    row.queries.forEach((query, position) => {
      const score = Number(row.scores[position]);
      if (row.rankings[position] === 'vector') {
        vector[query]?.push({ id: row.id, score });
        similarity.set(row.id, Math.max(score, similarity.get(row.id) ?? 0));
      } else keyword[query]?.push({ id: row.id, score });
    });
  }
  const vectorWeight = options.method === 'vector' ? 1 : options.method === 'keyword' ? 0 : (options.vectorWeight ?? 1);
  for (let query = 0; query < queryCount; query++) {
    const found: QueryFindings = { weight: queries[query]?.weight ?? 1 };
    if (vectorWeight > 0 && queries[query]?.vector !== undefined) found.vector = vector[query] ?? [];
    if (options.method !== 'vector') {
      found.keyword = keyword[query] ?? [];
      if (found.keyword.length > 0) found.notes = noteScoresOf(noteScores.score(noteSums[query] ?? new Map()));
    }
    findings.push(found);
  }
  const hits: SearchHit[] = [];
  for (const { id, fused } of fuseFindings(findings, vectorWeight, (id) => chunks.get(id)?.note)) {
    const chunk = chunks.get(id);
    if (chunk !== undefined) hits.push({ chunk, fused, similarity: similarity.get(id) ?? 0 });
  }
  return hits;
}
