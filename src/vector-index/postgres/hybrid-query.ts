/**
 * The fused search as one SQL statement: for each query a vector ranking (pgvector cosine distance,
 * HNSW) and a BM25 ranking (the GIN-indexed tsvector filters candidates; term frequencies and
 * lengths score them exactly as the files backend's keyword index does), combined by reciprocal
 * rank with the same constant, weights and tie order as `fuse-rankings.ts`.
 */
import { RRF_K } from '../fuse-rankings.ts';
import type { RetrievalMethod } from '../index-backend.ts';
import type { TableSet } from './schema.ts';
import { tsqueryLiteral, vectorLiteral } from './text-search-literals.ts';

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

export interface HybridRow {
  id: string;
  note: string;
  title: string;
  heading: string;
  line_start: number;
  line_end: number;
  text: string;
  embed_hash: string;
  tags: string[];
  fused: number;
  similarity: number;
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
  queries.forEach((query, position) => {
    const weight = parameter(query.weight);
    if (options.method !== 'keyword' && query.vector !== undefined) {
      const vector = parameter(vectorLiteral(query.vector));
      ctes.push(`v${position} AS (
        SELECT id, distance, row_number() OVER (ORDER BY distance, id COLLATE "C") AS rank
        FROM (SELECT id, embedding <=> ${vector}::vector AS distance FROM ${tables.chunks}
              ${inScope === '' ? '' : `WHERE ${inScope}`}
              ORDER BY embedding <=> ${vector}::vector LIMIT ${depth}) nearest)`);
      parts.push(`SELECT id, ${weight}::float8 / (${RRF_K} + rank) AS part, greatest(0, least(1, 1 - distance)) AS similarity FROM v${position}`);
    }
    if (options.method !== 'vector' && query.terms.length > 0) {
      const terms = parameter(query.terms.map((entry) => entry.term));
      const idfs = parameter(query.terms.map((entry) => entry.idf));
      const tsquery = parameter(tsqueryLiteral(query.terms.map((entry) => entry.term)));
      const frequency = 'cardinality(u.positions)';
      ctes.push(`k${position} AS (
        SELECT id, row_number() OVER (ORDER BY score DESC, id COLLATE "C") AS rank
        FROM (SELECT c.id, sum(q.idf * ${frequency} * ${k1 + 1} /
                     (${frequency} + ${k1} * (1 - ${b} + ${b} * c.term_count / ${averageLength}::float8))) AS score
              FROM ${tables.chunks} c
                   CROSS JOIN LATERAL unnest(c.terms) AS u(lexeme, positions, weights)
                   JOIN unnest(${terms}::text[], ${idfs}::float8[]) AS q(term, idf) ON q.term = u.lexeme
              WHERE c.terms @@ ${tsquery}::tsquery ${inScope === '' ? '' : `AND c.${inScope}`}
              GROUP BY c.id
              ORDER BY score DESC, c.id COLLATE "C" LIMIT ${depth}) scored)`);
      parts.push(`SELECT id, ${weight}::float8 / (${RRF_K} + rank) AS part, NULL::float8 AS similarity FROM k${position}`);
    }
  });
  if (parts.length === 0) return undefined;
  const text = `WITH ${ctes.join(',\n')},
    fused AS (SELECT id, sum(part) AS fused, coalesce(max(similarity), 0) AS similarity
              FROM (${parts.join('\nUNION ALL ')}) ranked GROUP BY id)
    SELECT c.id, c.note, c.title, c.heading, c.line_start, c.line_end, c.text, c.embed_hash, c.tags, f.fused, f.similarity
    FROM fused f JOIN ${tables.chunks} c USING (id)
    ORDER BY f.fused DESC, c.id COLLATE "C"`;
  return { text, values };
}
