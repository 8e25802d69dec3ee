/**
 * The search as one SQL statement (one snapshot): for each query a vector ranking (pgvector cosine
 * distance, HNSW), a BM25F ranking (the query terms' postings — weighted term frequency and chunk
 * length — score their chunks exactly as the files backend's keyword index does) and the per-note
 * sums of the query terms' frequencies (for whole-note BM25), both from the query terms' postings. It returns raw scores; the
 * caller fuses them by the rule every backend shares (`fuse-scores.ts`).
 */
import type { RetrievalMethod } from '../index-backend.ts';
import type { TableSet } from './schema.ts';
import { vectorLiteral } from './text-search-literals.ts';

export interface WeightedTerm {
  term: string;
  idf: number;
}

export interface HybridQuery {
  vector: ArrayLike<number> | undefined;
  terms: readonly WeightedTerm[];
  weight: number;
}

export interface Bm25Parameters {
  k1: number;
  b: number;
  averageLength: number;
}

/** A candidate chunk (`kind` 'chunk') with its raw score in each ranking that found it. */
export interface HybridChunkRow {
  kind: 'chunk';
  id: string;
  note: string;
  title: string;
  heading: string;
  line_start: number;
  line_end: number;
  text: string;
  embed_hash: string;
  tags: string[];
  /** Which query (position) each score belongs to. */
  queries: number[];
  /** `vector` or `keyword`, per score. */
  rankings: string[];
  /** Cosine similarity (vector) or BM25F score (keyword). */
  scores: number[];
  /** For a PDF: the 1-based page (kept in `metadata`). */
  page: number | null;
}

/** One query term's frequency summed over one note's chunks (`kind` 'note'). */
export interface HybridNoteRow {
  kind: 'note';
  note: string;
  /** The query (position), alone. */
  queries: [number];
  /** The summed frequency, alone. */
  scores: [number];
  lexeme: string;
}

export type HybridRow = HybridChunkRow | HybridNoteRow;

/** A number as a float8 literal: arithmetic in double precision, as in JavaScript, not in numeric. */
function float(value: number): string {
  return `${value}::float8`;
}

/** The statement and its parameters, or undefined when no ranking has anything to search with. */
export function hybridQuery(
  tables: TableSet,
  queries: readonly HybridQuery[],
  options: { method: RetrievalMethod; depth: number; bm25: Bm25Parameters; notes?: readonly string[] | undefined },
): { text: string; values: unknown[] } | undefined {
  const values: unknown[] = [];
  const parameter = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const depth = parameter(Math.max(1, Math.floor(options.depth)));
  const { k1, b, averageLength } = options.bm25;
  // A scope is the notes it allows: both rankings search only their chunks.
  const inScope = options.notes === undefined ? '' : `note = ANY(${parameter(options.notes)}::text[])`;
  const ctes: string[] = [];
  const parts: string[] = [];
  const noteParts: string[] = [];
  queries.forEach((query, position) => {
    if (options.method !== 'keyword' && query.vector !== undefined) {
      const vector = parameter(vectorLiteral(query.vector));
      ctes.push(`v${position} AS (
        SELECT id, embedding <=> ${vector}::vector AS distance FROM ${tables.chunks}
        ${inScope === '' ? '' : `WHERE ${inScope}`}
        ORDER BY embedding <=> ${vector}::vector LIMIT ${depth})`);
      parts.push(`SELECT id, ${position} AS query, 'vector' AS ranking, greatest(0, least(1, 1 - distance))::float8 AS score FROM v${position}`);
    }
    if (options.method !== 'vector' && query.terms.length > 0) {
      const terms = parameter(query.terms.map((entry) => entry.term));
      const idfs = parameter(query.terms.map((entry) => entry.idf));
      // The query terms' postings (B-tree on term, index-only), read by both uses below: twice from
      // the index is cheaper than once into a materialised CTE (measured at 2,000 and 10,000 chunks).
      ctes.push(`p${position} AS NOT MATERIALIZED (
        SELECT p.chunk, p.note, p.term, p.tf, p.length, q.idf
        FROM unnest(${terms}::text[], ${idfs}::float8[]) AS q(term, idf) JOIN ${tables.postings} p ON p.term = q.term)`);
      ctes.push(`k${position} AS (
        SELECT chunk AS id, sum(idf * tf * ${float(k1 + 1)} / (tf + ${float(k1)} * (${float(1 - b)} + ${float(b)} * length / ${float(averageLength)})))::float8 AS score
        FROM p${position} ${inScope === '' ? '' : `WHERE ${inScope}`}
        GROUP BY chunk
        ORDER BY score DESC, chunk COLLATE "C" LIMIT ${depth})`);
      parts.push(`SELECT id, ${position} AS query, 'keyword' AS ranking, score FROM k${position}`);
      // Every note sharing a term (not only the scope's), as the files backend's whole-note scores.
      ctes.push(`n${position} AS (SELECT note, term AS lexeme, sum(tf)::float8 AS frequency FROM p${position} GROUP BY note, term)`);
      noteParts.push(`SELECT 'note' AS kind, NULL, note, NULL, NULL, NULL::int, NULL::int, NULL, NULL, NULL::text[],
        ARRAY[${position}], NULL::text[], ARRAY[frequency], lexeme, NULL::int FROM n${position}`);
    }
  });
  if (parts.length === 0) return undefined;
  const text = `WITH ${ctes.join(',\n')},
    found AS (SELECT id, array_agg(query ORDER BY query, ranking) AS queries, array_agg(ranking ORDER BY query, ranking) AS rankings,
                     array_agg(score ORDER BY query, ranking) AS scores
              FROM (${parts.join('\nUNION ALL ')}) ranked GROUP BY id)
    SELECT 'chunk' AS kind, c.id, c.note, c.title, c.heading, c.line_start, c.line_end, c.text, c.embed_hash, c.tags,
           f.queries, f.rankings, f.scores, NULL AS lexeme, (c.metadata->>'page')::int AS page
    FROM found f JOIN ${tables.chunks} c USING (id)
    ${noteParts.map((part) => `UNION ALL ${part}`).join('\n')}`;
  return { text, values };
}
