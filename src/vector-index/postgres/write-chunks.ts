/**
 * The write transactions of the Postgres backend. Each note is replaced in one transaction (its
 * chunks, their postings, its row, the term statistics and the index counters together), so a reader, or a crash,
 * sees a note's old chunks or its new ones, never half. Every transaction first checks that this
 * indexer still holds the writer lease.
 */
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './transaction.ts';
import { keywordDocument, type IndexedChunk } from '../indexed-chunk.ts';
import type { TableSet } from './schema.ts';
import { parseVector, termCounts, vectorLiteral } from './text-search-literals.ts';
import type { WriterLock } from './writer-lock.ts';

export interface NoteRecord {
  path: string;
  hash: string;
  title: string;
  tags: string[];
  chunks: IndexedChunk[];
}

/** Runs `work` in a transaction that holds the writer lease. */
export async function writeTransaction<T>(pool: Pool, lock: WriterLock, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, 'BEGIN', async (client) => {
    await lock.assertHolder(client);
    return work(client);
  });
}

/** Inserts notes, their chunks (vectors from `vectors`, by embed hash) and the chunks' postings; returns the chunks' total term count. */
export async function insertNotes(
  client: PoolClient,
  tables: TableSet,
  notes: readonly NoteRecord[],
  vectors: ReadonlyMap<string, Float32Array>,
): Promise<number> {
  if (notes.length === 0) return 0;
  await client.query(
    `INSERT INTO ${tables.notes} (path, hash, title, tags, chunk_ids)
     SELECT path, hash, title, ARRAY(SELECT json_array_elements_text(tags)), ARRAY(SELECT json_array_elements_text(ids))
     FROM unnest($1::text[], $2::text[], $3::text[], $4::json[], $5::json[]) AS n(path, hash, title, tags, ids)`,
    [
      notes.map((note) => note.path),
      notes.map((note) => note.hash),
      notes.map((note) => note.title),
      notes.map((note) => JSON.stringify(note.tags)),
      notes.map((note) => JSON.stringify(note.chunks.map((chunk) => chunk.id))),
    ],
  );
  const columns = {
    id: [] as string[],
    note: [] as string[],
    ordinal: [] as number[],
    title: [] as string[],
    heading: [] as string[],
    lineStart: [] as number[],
    lineEnd: [] as number[],
    text: [] as string[],
    embedHash: [] as string[],
    tags: [] as string[],
    metadata: [] as string[],
    embedding: [] as string[],
    termCount: [] as number[],
  };
  const postings = { term: [] as string[], chunk: [] as string[], note: [] as string[], tf: [] as number[], length: [] as number[] };
  let termTotal = 0;
  for (const note of notes) {
    note.chunks.forEach((chunk, ordinal) => {
      const vector = vectors.get(chunk.embedHash);
      if (vector === undefined) throw new Error(`no vector for chunk ${chunk.id}`);
      const { counts, length } = termCounts(keywordDocument(chunk));
      termTotal += length;
      columns.id.push(chunk.id);
      columns.note.push(chunk.note);
      columns.ordinal.push(ordinal);
      columns.title.push(chunk.title);
      columns.heading.push(chunk.heading);
      columns.lineStart.push(chunk.lines[0]);
      columns.lineEnd.push(chunk.lines[1]);
      columns.text.push(chunk.text);
      columns.embedHash.push(chunk.embedHash);
      columns.tags.push(JSON.stringify(chunk.tags));
      // The chunk's fields as LangChain Document metadata, for tools that read the table directly.
      columns.metadata.push(
        JSON.stringify({ id: chunk.id, note: chunk.note, title: chunk.title, heading: chunk.heading, lines: chunk.lines, tags: chunk.tags, ...(chunk.page === undefined ? {} : { page: chunk.page }) }),
      );
      columns.embedding.push(vectorLiteral(vector));
      columns.termCount.push(length);
      for (const [term, tf] of counts) {
        postings.term.push(term);
        postings.chunk.push(chunk.id);
        postings.note.push(chunk.note);
        postings.tf.push(tf);
        postings.length.push(length);
      }
    });
  }
  if (columns.id.length === 0) return 0;
  await client.query(
    `INSERT INTO ${tables.chunks} (id, note, ordinal, title, heading, line_start, line_end, text, embed_hash, tags, metadata, embedding, term_count)
     SELECT id, note, ordinal, title, heading, line_start, line_end, text, embed_hash, ARRAY(SELECT json_array_elements_text(tags)),
            metadata, embedding, term_count
     FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[], $9::text[],
                 $10::json[], $11::jsonb[], $12::vector[], $13::int[])
          AS c(id, note, ordinal, title, heading, line_start, line_end, text, embed_hash, tags, metadata, embedding, term_count)`,
    Object.values(columns),
  );
  // Sorted by term, so a term's postings lie together in the table as well as in its index.
  const order = postings.term.map((_, position) => position).sort((a, b) => compareCodeUnits(postings.term[a]!, postings.term[b]!));
  await client.query(
    `INSERT INTO ${tables.postings} (term, chunk, note, tf, length)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])`,
    Object.values(postings).map((column: (string | number)[]) => order.map((position) => column[position])),
  );
  return termTotal;
}

/** Replaces one note (or removes it, when `note` has no record) in its own transaction. */
export async function replaceNote(
  pool: Pool,
  lock: WriterLock,
  tables: TableSet,
  embedderId: string,
  path: string,
  note: NoteRecord | undefined,
  vectors: ReadonlyMap<string, Float32Array>,
): Promise<void> {
  await writeTransaction(pool, lock, async (client) => {
    const before = await client.query<{ chunks: number; terms: number }>(
      `SELECT count(*)::int AS chunks, coalesce(sum(term_count), 0)::int AS terms FROM ${tables.chunks} WHERE note = $1`,
      [path],
    );
    await client.query(
      `UPDATE ${tables.terms} t SET df = t.df - x.n
       FROM (SELECT term, count(*)::int AS n FROM ${tables.postings} WHERE note = $1 GROUP BY term) x
       WHERE t.term = x.term`,
      [path],
    );
    await client.query(`DELETE FROM ${tables.postings} WHERE note = $1`, [path]);
    await client.query(`DELETE FROM ${tables.chunks} WHERE note = $1`, [path]);
    await client.query(`DELETE FROM ${tables.notes} WHERE path = $1`, [path]);
    const terms = note === undefined ? 0 : await insertNotes(client, tables, [note], vectors);
    if (note !== undefined) await addTermFrequencies(client, tables, path);
    await client.query(
      `UPDATE asknotes_indexes SET chunk_count = chunk_count - $2 + $3, term_total = term_total - $4 + $5, version = version + 1 WHERE embedder = $1`,
      [embedderId, before.rows[0]?.chunks ?? 0, note?.chunks.length ?? 0, before.rows[0]?.terms ?? 0, terms],
    );
  });
}

/** Adds the document frequencies of one note's chunks, or of every chunk when `path` is undefined. */
export async function addTermFrequencies(client: PoolClient, tables: TableSet, path: string | undefined): Promise<void> {
  await client.query(
    `INSERT INTO ${tables.terms} AS t (term, df)
     SELECT term, count(*)::int FROM ${tables.postings} ${path === undefined ? '' : 'WHERE note = $1'} GROUP BY term
     ON CONFLICT (term) DO UPDATE SET df = t.df + excluded.df`,
    path === undefined ? [] : [path],
  );
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Vectors already stored for these embed hashes (reused instead of embedding the text again). */
export async function storedVectors(pool: Pool, tables: TableSet, hashes: readonly string[]): Promise<Map<string, Float32Array>> {
  const found = new Map<string, Float32Array>();
  for (let start = 0; start < hashes.length; start += 2000) {
    const { rows } = await pool.query<{ embed_hash: string; embedding: string }>(
      `SELECT DISTINCT ON (embed_hash) embed_hash, embedding::text AS embedding FROM ${tables.chunks} WHERE embed_hash = ANY($1::text[])`,
      [hashes.slice(start, start + 2000)],
    );
    for (const row of rows) found.set(row.embed_hash, parseVector(row.embedding));
  }
  return found;
}
