/**
 * Bringing a Postgres index up to date with the notes folder, under the writer lock.
 * - Incremental: only new, changed and deleted notes are written, each in its own transaction;
 *   vectors of unchanged texts are reused from the table (by embed hash), the rest embedded.
 * - Full rebuild (asked for, first build, a new chunker, or a generation of an older table layout): the next generation's tables are
 *   filled beside the live ones in short transactions, indexed, then swapped in by one transaction
 *   that repoints `asknotes_indexes`; readers keep the old generation until then.
 */
import type { Pool } from 'pg';
import { CHUNKER_VERSION } from '../../notes/chunk-markdown.ts';
import { chunkNote as chunkNoteText } from '../../notes/chunk-note.ts';
import type { Note } from '../../notes/load-notes.ts';
import { embedMissing } from '../embed-missing.ts';
import type { BuildSummary, UpdateOptions } from '../index-backend.ts';
import { toIndexedChunk } from '../indexed-chunk.ts';
import { diffNotes } from '../note-diff.ts';
import { scanNotes } from '../scan-notes.ts';
import { readState } from './postgres-index.ts';
import { analyzeTables, createSearchIndexes, createTables, dropGenerations, TABLE_LAYOUT, tableSet, type TableSet } from './schema.ts';
import { addTermFrequencies, insertNotes, replaceNote, storedVectors, writeTransaction, type NoteRecord } from './write-chunks.ts';
import type { WriterLock } from './writer-lock.ts';

/** Chunks per insert transaction of a rebuild: short transactions, so readers are never held up long. */
const REBUILD_BATCH_CHUNKS = 500;

/** A note's chunks exactly as the files backend makes them (vault syntax, aliases, PDF pages: `chunk-note.ts`). */
function chunkNote(note: Note, embedTexts: Map<string, string>): NoteRecord {
  const chunks = chunkNoteText(note).map((chunk) => {
    const indexed = toIndexedChunk(chunk, note);
    embedTexts.set(indexed.embedHash, chunk.embedText);
    return indexed;
  });
  return { path: note.path, hash: note.hash, title: note.title, tags: note.tags, chunks };
}

async function tablesExist(pool: Pool, tables: TableSet): Promise<boolean> {
  const { rows } = await pool.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS found`, [
    tables.chunks,
    tables.notes,
  ]);
  return rows[0]?.found === true;
}

export async function updatePostgres(pool: Pool, lock: WriterLock, options: UpdateOptions): Promise<BuildSummary> {
  const { embedder, signal } = options;
  const { loaded, summaryOf } = await scanNotes(options);

  const state = await readState(pool, embedder.id);
  const live = state === undefined ? undefined : tableSet(embedder.id, state.generation);
  const incremental =
    !options.rebuild &&
    state !== undefined &&
    live !== undefined &&
    state.chunker_version === CHUNKER_VERSION &&
    state.layout === TABLE_LAYOUT &&
    (await tablesExist(pool, live));
  const embed = async (records: NoteRecord[], embedTexts: Map<string, string>, dimensions: number) => {
    const chunks = records.flatMap((record) => record.chunks);
    const vectors = live === undefined || !(await tablesExist(pool, live)) ? new Map<string, Float32Array>() : await storedVectors(pool, live, [...new Set(chunks.map((chunk) => chunk.embedHash))]);
    const embedding = await embedMissing(embedder, chunks, embedTexts, vectors, dimensions, {
      signal,
      onProgress: (done, total) => options.onProgress?.({ phase: 'embed', done, total }),
    });
    return { vectors, chunks: chunks.length, ...embedding };
  };

  if (incremental) {
    const stored = await pool.query<{ path: string; hash: string; title: string; chunk_ids: string[] }>(`SELECT path, hash, title, chunk_ids FROM ${live.notes}`);
    const before = new Map(stored.rows.map((row) => [row.path, row]));
    const { changed, deleted, same } = diffNotes(before, loaded.notes, state.failures, loaded.failures);
    if (same) {
      return summaryOf({ chunks: state.chunk_count, embedded: 0, reused: state.chunk_count, removed: 0, wroteGeneration: false });
    }
    const embedTexts = new Map<string, string>();
    const records = changed.map((note) => chunkNote(note, embedTexts));
    const { vectors, embedded, dimensions } = await embed(records, embedTexts, state.dimensions);
    if (dimensions !== state.dimensions) throw new Error(`the embedder returned ${dimensions} dimensions, the index holds ${state.dimensions}`);
    options.onProgress?.({ phase: 'write', chunks: records.reduce((sum, record) => sum + record.chunks.length, 0) });
    let removed = 0;
    for (const record of records) {
      signal?.throwIfAborted();
      const ids = new Set(record.chunks.map((chunk) => chunk.id));
      removed += (before.get(record.path)?.chunk_ids ?? []).filter((id) => !ids.has(id)).length;
      await replaceNote(pool, lock, live, embedder.id, record.path, record, vectors);
    }
    for (const path of deleted) {
      signal?.throwIfAborted();
      removed += before.get(path)?.chunk_ids.length ?? 0;
      await replaceNote(pool, lock, live, embedder.id, path, undefined, vectors);
    }
    const chunks = await writeTransaction(pool, lock, async (client) => {
      await client.query(`DELETE FROM ${live.terms} WHERE df <= 0`);
      const { rows } = await client.query<{ chunk_count: number }>(
        `UPDATE asknotes_indexes SET failures = $2::jsonb, built_at = now(), version = version + 1 WHERE embedder = $1 RETURNING chunk_count`,
        [embedder.id, JSON.stringify(loaded.failures)],
      );
      return rows[0]?.chunk_count ?? 0;
    });
    return summaryOf({ chunks, embedded, reused: chunks - embedded, removed, wroteGeneration: true });
  }

  // A full rebuild, beside the live generation.
  const embedTexts = new Map<string, string>();
  const records = loaded.notes.map((note) => chunkNote(note, embedTexts));
  const { vectors, embedded, dimensions, chunks } = await embed(records, embedTexts, state?.dimensions ?? 0);
  signal?.throwIfAborted();
  options.onProgress?.({ phase: 'write', chunks });
  const generation = (state?.generation ?? 0) + 1;
  const tables = tableSet(embedder.id, generation);
  let termTotal = 0;
  await writeTransaction(pool, lock, async (client) => {
    // Tables of this generation can only be left over from a rebuild that was killed.
    await client.query(`DROP TABLE IF EXISTS ${Object.values(tables).join(', ')}`);
    await createTables(client, tables, dimensions);
  });
  let batch: NoteRecord[] = [];
  let batchChunks = 0;
  const flush = async () => {
    const notes = batch;
    batch = [];
    batchChunks = 0;
    termTotal += await writeTransaction(pool, lock, (client) => insertNotes(client, tables, notes, vectors));
  };
  for (const record of records) {
    batch.push(record);
    batchChunks += record.chunks.length;
    if (batchChunks >= REBUILD_BATCH_CHUNKS) {
      signal?.throwIfAborted();
      await flush();
    }
  }
  await flush();
  await writeTransaction(pool, lock, async (client) => {
    await addTermFrequencies(client, tables, undefined);
    await createSearchIndexes(client, tables);
  });
  await analyzeTables(pool, tables);
  signal?.throwIfAborted();
  const removed =
    live === undefined || !(await tablesExist(pool, live))
      ? 0
      : Number(
          (
            await pool.query<{ gone: string }>(`SELECT count(*) AS gone FROM ${live.chunks} WHERE NOT (id = ANY($1::text[]))`, [
              records.flatMap((record) => record.chunks.map((chunk) => chunk.id)),
            ])
          ).rows[0]?.gone ?? 0,
        );
  // The swap: one transaction repoints the embedder's index at the new generation.
  await writeTransaction(pool, lock, async (client) => {
    await client.query(
      `INSERT INTO asknotes_indexes AS i (embedder, generation, layout, version, dimensions, chunker_version, built_at, chunk_count, term_total, failures)
       VALUES ($1, $2, $3, 1, $4, $5, now(), $6, $7, $8::jsonb)
       ON CONFLICT (embedder) DO UPDATE SET generation = excluded.generation, layout = excluded.layout, version = i.version + 1,
         dimensions = excluded.dimensions, chunker_version = excluded.chunker_version, built_at = excluded.built_at,
         chunk_count = excluded.chunk_count, term_total = excluded.term_total, failures = excluded.failures`,
      [embedder.id, generation, TABLE_LAYOUT, dimensions, CHUNKER_VERSION, chunks, termTotal, JSON.stringify(loaded.failures)],
    );
  });
  // The generation just replaced stays for readers still on it (they follow within seconds); older ones go.
  await writeTransaction(pool, lock, (client) => dropGenerations(client, embedder.id, state === undefined ? [generation] : [generation, state.generation]));
  return summaryOf({ chunks, embedded, reused: chunks - embedded, removed, wroteGeneration: true });
}
