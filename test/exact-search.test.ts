/**
 * Exact vector search (the quantised scan): the same top k as a plain float64 cosine scan, to
 * within the stated quantisation bound, with either kernel; on random dense and sparse vectors,
 * on the built-in embedder's vectors, with a row filter; read from a vectors.bin; and the limits
 * that hand large indexes to HNSW.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQuestions } from '../src/cli/bench/questions.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';
import {
  EXACT_MAX_VALUES,
  ExactSearch,
  ExactSearchBuilder,
  QUANTISATION_LEVELS,
  readExactSearch,
  type ExactHit,
  type RowFilter,
} from '../src/vector-index/exact-search.ts';
import type { KernelKind } from '../src/vector-index/scan-kernel.ts';
import { createRandom, generateCorpus } from './support/synthetic-corpus.ts';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let d = 0; d < a.length; d++) {
    dot += a[d]! * b[d]!;
    normA += a[d]! * a[d]!;
    normB += b[d]! * b[d]!;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

const rowOf = (rows: Float32Array, dimensions: number, label: number) => rows.subarray(label * dimensions, (label + 1) * dimensions);

/** The reference: every (allowed) row scored with a float64 cosine, best first, ties by row. */
function bruteForce(rows: Float32Array, dimensions: number, query: ArrayLike<number>, k: number, allowed: RowFilter = () => true): ExactHit[] {
  const count = rows.length / dimensions;
  return Array.from({ length: count }, (_, label) => ({ label, similarity: cosine(rowOf(rows, dimensions, label), query) }))
    .filter((hit) => allowed(hit.label))
    .sort((a, b) => b.similarity - a.similarity || a.label - b.label)
    .slice(0, k);
}

/**
 * The documented bound on a row's score error: half a quantisation step per visited value, i.e.
 * Σ|unit query| × (the unit row's largest value) / (2 × 32,767), plus float32 rounding of the sums.
 */
function errorBound(row: Float32Array, query: ArrayLike<number>): number {
  let rowNorm = 0;
  let largest = 0;
  for (const value of row) {
    rowNorm += value * value;
    largest = Math.max(largest, Math.abs(value));
  }
  let queryNorm = 0;
  let queryAbs = 0;
  for (let d = 0; d < query.length; d++) {
    queryNorm += query[d]! * query[d]!;
    queryAbs += Math.abs(query[d]!);
  }
  if (rowNorm === 0) return 0;
  return ((queryAbs / Math.sqrt(queryNorm)) * (largest / Math.sqrt(rowNorm))) / (2 * QUANTISATION_LEVELS) + 1e-6;
}

/**
 * What a correct scan guarantees against the reference: each reported similarity is within its
 * row's bound of the true cosine, and no row left out beats a returned one by more than the bounds.
 */
function expectWithinBounds(rows: Float32Array, dimensions: number, query: ArrayLike<number>, actual: ExactHit[], expected: ExactHit[]): void {
  expect(actual).toHaveLength(expected.length);
  let slack = 0;
  for (const hit of actual) {
    const row = rowOf(rows, dimensions, hit.label);
    const bound = errorBound(row, query);
    expect(Math.abs(hit.similarity - cosine(row, query))).toBeLessThanOrEqual(bound);
    slack = Math.max(slack, bound);
  }
  const last = actual.at(-1);
  if (last === undefined) return;
  const lastTrue = cosine(rowOf(rows, dimensions, last.label), query);
  const returned = new Set(actual.map((hit) => hit.label));
  for (const hit of expected) if (!returned.has(hit.label)) expect(hit.similarity).toBeLessThanOrEqual(lastTrue + 2 * slack + 1e-6);
}

function randomRows(count: number, dimensions: number, seed: number, density = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: count * dimensions }, () => (random() < density ? random() * 2 - 1 : 0));
}

function recallAt(actual: ExactHit[], expected: ExactHit[]): number {
  const truth = new Set(expected.map((hit) => hit.label));
  return actual.filter((hit) => truth.has(hit.label)).length / Math.max(1, expected.length);
}

const KERNELS: KernelKind[] = ['wasm', 'js'];

describe.each(KERNELS)('ExactSearch.search (%s kernel)', (kernel) => {
  it.each([
    { name: 'dense rows, dense query', count: 300, dimensions: 32, density: 1, k: 10 },
    { name: 'sparse rows and query', count: 500, dimensions: 128, density: 0.1, k: 25 },
    { name: 'a row count that is not a multiple of 4, 3 query dimensions', count: 103, dimensions: 3, density: 1, k: 10 },
    { name: 'k above the row count', count: 7, dimensions: 8, density: 1, k: 20 },
    { name: 'one row', count: 1, dimensions: 4, density: 1, k: 3 },
  ])('$name: the plain cosine scan top k, within the quantisation bound', ({ count, dimensions, density, k }) => {
    const rows = randomRows(count, dimensions, 7, density);
    const search = ExactSearch.fromRows(rows, count, dimensions, { kernel })!;
    expect(search.kernelKind).toBe(kernel);
    let recall = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const query = randomRows(1, dimensions, 100 + seed, Math.max(density, 0.3));
      const expected = bruteForce(rows, dimensions, query, k);
      const actual = search.search(query, k);
      expectWithinBounds(rows, dimensions, query, actual, expected);
      recall += recallAt(actual, expected) / 5;
    }
    expect(recall).toBe(1);
  });

  it('leaves the rows it was built from unchanged', () => {
    const rows = randomRows(20, 8, 3);
    const copy = rows.slice();
    ExactSearch.fromRows(rows, 20, 8, { kernel });
    expect(rows).toEqual(copy);
  });

  it('does not depend on the length of the rows or the query', () => {
    const rows = Float32Array.from([1, 0, 0, 10, 10, 0, 0, 0, 3]);
    const search = ExactSearch.fromRows(rows, 3, 3, { kernel })!;
    expect(search.search([5, 5, 0], 3).map((hit) => hit.label)).toEqual([1, 0, 2]);
    expect(search.search([5, 5, 0], 1)[0]!.similarity).toBeCloseTo(1, 6);
  });

  it('gives repeated searches the same answer (its scratch sums are cleared)', () => {
    const rows = randomRows(50, 16, 3);
    const search = ExactSearch.fromRows(rows, 50, 16, { kernel })!;
    const query = randomRows(1, 16, 4);
    const first = search.search(query, 5);
    search.search(randomRows(1, 16, 5), 5);
    expect(search.search(query, 5)).toEqual(first);
  });

  it.each([
    ['a zero query', [0, 0, 0], 2],
    ['k = 0', [1, 0, 0], 0],
    ['a query of another size', [1, 0], 2],
    ['a query with a non-finite value', [1, Number.NaN, 0], 2],
  ])('finds nothing for %s', (_name, query, k) => {
    expect(ExactSearch.fromRows(Float32Array.from([1, 0, 0, 0, 1, 0]), 2, 3, { kernel })!.search(query, k)).toEqual([]);
  });

  it('scores a zero row 0 instead of failing', () => {
    const search = ExactSearch.fromRows(Float32Array.from([0, 0, 1, 1]), 2, 2, { kernel })!;
    expect(search.search([1, 1], 2)).toEqual([
      { label: 1, similarity: expect.closeTo(1, 5) },
      { label: 0, similarity: 0 },
    ]);
  });

  it('breaks ties by row', () => {
    const search = ExactSearch.fromRows(Float32Array.from([0, 1, 1, 0, 1, 0, 1, 0, 0, 1]), 5, 2, { kernel })!;
    expect(search.search([1, 0], 5).map((hit) => hit.label)).toEqual([1, 2, 3, 0, 4]);
  });

  it.each([
    { name: 'every other row', allowed: (row: number) => row % 2 === 0, k: 10 },
    { name: 'a few rows (fewer than k)', allowed: (row: number) => row % 97 === 5, k: 10 },
    { name: 'no row', allowed: () => false, k: 10 },
  ])('with a row filter ($name): the k best allowed rows', ({ allowed, k }) => {
    const rows = randomRows(400, 24, 11);
    const search = ExactSearch.fromRows(rows, 400, 24, { kernel })!;
    for (let seed = 1; seed <= 3; seed++) {
      const query = randomRows(1, 24, 200 + seed);
      const expected = bruteForce(rows, 24, query, k, allowed);
      const actual = search.search(query, k, allowed);
      expect(actual.every((hit) => allowed(hit.label))).toBe(true);
      expect(actual.map((hit) => hit.label)).toEqual(expected.map((hit) => hit.label));
    }
  });
});

describe('the two kernels', () => {
  it('agree to float32 rounding on every score', () => {
    const rows = randomRows(257, 40, 21, 0.5);
    const wasm = ExactSearch.fromRows(rows, 257, 40, { kernel: 'wasm' })!;
    const js = ExactSearch.fromRows(rows, 257, 40, { kernel: 'js' })!;
    const query = randomRows(1, 40, 22, 0.5);
    const fromWasm = wasm.search(query, 257);
    const fromJs = new Map(js.search(query, 257).map((hit) => [hit.label, hit.similarity]));
    expect(fromWasm).toHaveLength(257);
    for (const hit of fromWasm) expect(Math.abs(hit.similarity - fromJs.get(hit.label)!)).toBeLessThan(1e-6);
  });
});

describe("on the built-in embedder's vectors", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'asknotes-exact-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('finds the float64 cosine top 10 of real questions (recall@10 = 1 within the bound)', async () => {
    const corpus = await generateCorpus({ seed: 5, targetChunks: 300, dir: folder });
    const texts: string[] = [];
    for (const file of corpus.files) {
      for (const paragraph of (await readFile(join(folder, file), 'utf8')).split(/\n\s*\n/)) if (paragraph.trim() !== '') texts.push(paragraph);
    }
    const embedder = createLocalEmbedder();
    embedder.useTermStatistics(KeywordIndex.build(texts.map((text, position) => ({ id: String(position), text }))));
    const dimensions = embedder.dimensions;
    const rows = Float32Array.from((await embedder.embedDocuments(texts)).flat());
    const search = ExactSearch.fromRows(rows, texts.length, dimensions)!;
    let recall = 0;
    const questions = makeQuestions(texts, 30, 9);
    for (const question of questions) {
      const query = await embedder.embedQuery(question);
      expect(search.accepts(query)).toBe(true);
      const expected = bruteForce(rows, dimensions, query, 10);
      const actual = search.search(query, 10);
      expectWithinBounds(rows, dimensions, query, actual, expected);
      recall += recallAt(actual, expected) / questions.length;
    }
    expect(questions.length).toBe(30);
    expect(recall).toBeGreaterThanOrEqual(0.99);
  });
});

describe('readExactSearch (from a generation’s vectors.bin)', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'asknotes-vectors-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads the rows in blocks into the same search as fromRows', async () => {
    // More rows than one read block (4,096), so the block boundaries are crossed.
    const count = 5_000;
    const rows = randomRows(count, 6, 31);
    const path = join(folder, 'vectors.bin');
    await writeFile(path, new Uint8Array(rows.buffer));
    const read = await readExactSearch(path, count, 6);
    expect(read.ok).toBe(true);
    const fromFile = read.ok ? read.exact! : undefined;
    const fromRows = ExactSearch.fromRows(rows, count, 6)!;
    for (let seed = 1; seed <= 3; seed++) {
      const query = randomRows(1, 6, 40 + seed);
      expect(fromFile!.search(query, 20)).toEqual(fromRows.search(query, 20));
    }
  });

  it('refuses a file that does not match the chunk count and dimensions', async () => {
    const path = join(folder, 'short.bin');
    await writeFile(path, new Uint8Array(4 * 10));
    expect(await readExactSearch(path, 3, 4)).toEqual({ ok: false, reason: expect.stringContaining('does not match') });
  });
});

describe('ExactSearch limits', () => {
  it('is not made for an index over EXACT_MAX_VALUES, nor for rows that do not match the count', () => {
    const dimensions = 1024;
    const tooMany = EXACT_MAX_VALUES / dimensions + 1;
    expect(ExactSearchBuilder.create(tooMany, dimensions)).toBeUndefined();
    expect(ExactSearchBuilder.create(0, dimensions)).toBeUndefined();
    expect(ExactSearch.fromRows(new Float32Array(10), 3, 4)).toBeUndefined();
    expect(ExactSearch.fromRows(new Float32Array(12), 3, 4)).toBeDefined();
  });

  it('accepts a query while chunks × its non-zero dimensions stay within the work limit', () => {
    const dimensions = 64;
    const count = 100;
    const search = ExactSearch.fromRows(new Float32Array(count * dimensions), count, dimensions, { maxWork: 800 })!;
    const query = (nonZero: number) => Array.from({ length: dimensions }, (_, d) => (d < nonZero ? 1 : 0));
    expect(search.accepts(query(8))).toBe(true);
    expect(search.accepts(query(9))).toBe(false);
    expect(search.accepts(query(8).slice(1))).toBe(false);
  });

  it('holds 2 bytes per chunk and dimension, plus a scale and a sum per chunk (memory in 64 KiB pages)', () => {
    const search = ExactSearch.fromRows(new Float32Array(10_000 * 16), 10_000, 16)!;
    const needed = 10_000 * 16 * 2 + 10_000 * 4 + 10_000 * 8;
    expect(search.bytes).toBeGreaterThanOrEqual(needed);
    expect(search.bytes).toBeLessThan(needed + 65_536);
  });
});
