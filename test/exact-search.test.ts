/**
 * Exact vector search (pure): the same top k as a plain cosine scan, on random dense and sparse
 * vectors and on hand-made edge cases; and the limits that hand large indexes to HNSW.
 */
import { describe, expect, it } from 'vitest';
import { EXACT_MAX_VALUES, EXACT_MAX_WORK, ExactSearch } from '../src/vector-index/exact-search.ts';
import { createRandom } from './support/synthetic-corpus.ts';

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

/** The reference: every row scored with a plain cosine, best first, ties by row. */
function bruteForce(rows: Float32Array, count: number, dimensions: number, query: ArrayLike<number>, k: number) {
  return Array.from({ length: count }, (_, label) => ({ label, similarity: cosine(rows.subarray(label * dimensions, (label + 1) * dimensions), query) }))
    .sort((a, b) => b.similarity - a.similarity || a.label - b.label)
    .slice(0, k);
}

function randomRows(count: number, dimensions: number, seed: number, density = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: count * dimensions }, () => (random() < density ? random() * 2 - 1 : 0));
}

describe('ExactSearch.search', () => {
  it('with an allowed(row) predicate: the top k of the allowed rows only, as a scan of those rows finds them', () => {
    const count = 400;
    const dimensions = 32;
    const rows = randomRows(count, dimensions, 11);
    const search = ExactSearch.fromRows(rows, count, dimensions)!;
    const allowed = (row: number) => row % 7 === 3;
    const query = randomRows(1, dimensions, 12);
    const expected = bruteForce(rows, count, dimensions, query, count).filter((hit) => allowed(hit.label)).slice(0, 10);
    const actual = search.search(query, 10, allowed);
    expect(actual.map((hit) => hit.label)).toEqual(expected.map((hit) => hit.label));
    expect(search.search(query, 10, () => false)).toEqual([]);
  });

  it.each([
    { name: 'dense rows, dense query', count: 300, dimensions: 32, density: 1, k: 10 },
    { name: 'sparse rows and query (like the built-in embedder)', count: 500, dimensions: 128, density: 0.1, k: 25 },
    { name: 'k above the row count', count: 7, dimensions: 8, density: 1, k: 20 },
    { name: 'one row', count: 1, dimensions: 4, density: 1, k: 3 },
  ])('$name: the same labels and similarities as a plain cosine scan', ({ count, dimensions, density, k }) => {
    const rows = randomRows(count, dimensions, 7, density);
    const search = ExactSearch.fromRows(rows, count, dimensions)!;
    for (let seed = 1; seed <= 5; seed++) {
      const query = randomRows(1, dimensions, 100 + seed, density);
      const expected = bruteForce(rows, count, dimensions, query, k);
      const actual = search.search(query, k);
      expect(actual.map((hit) => hit.label)).toEqual(expected.map((hit) => hit.label));
      actual.forEach((hit, position) => expect(hit.similarity).toBeCloseTo(expected[position]!.similarity, 5));
    }
  });

  it('does not depend on the length of the rows or the query', () => {
    const rows = Float32Array.from([1, 0, 0, 10, 10, 0, 0, 0, 3]);
    const search = ExactSearch.fromRows(rows, 3, 3)!;
    expect(search.search([5, 5, 0], 3).map((hit) => hit.label)).toEqual([1, 0, 2]);
    expect(search.search([5, 5, 0], 1)[0]!.similarity).toBeCloseTo(1, 6);
  });

  it('gives repeated searches the same answer (its scratch scores are cleared)', () => {
    const rows = randomRows(50, 16, 3);
    const search = ExactSearch.fromRows(rows, 50, 16)!;
    const query = randomRows(1, 16, 4);
    const first = search.search(query, 5);
    search.search(randomRows(1, 16, 5), 5);
    expect(search.search(query, 5)).toEqual(first);
  });

  it.each([
    ['a zero query', [0, 0, 0], 2],
    ['k = 0', [1, 0, 0], 0],
    ['a query of another size', [1, 0], 2],
  ])('finds nothing for %s', (_name, query, k) => {
    expect(ExactSearch.fromRows(Float32Array.from([1, 0, 0, 0, 1, 0]), 2, 3)!.search(query, k)).toEqual([]);
  });

  it('scores a zero row 0 instead of failing', () => {
    const search = ExactSearch.fromRows(Float32Array.from([0, 0, 1, 1]), 2, 2)!;
    expect(search.search([1, 1], 2)).toEqual([
      { label: 1, similarity: expect.closeTo(1, 6) },
      { label: 0, similarity: 0 },
    ]);
  });
});

describe('ExactSearch limits', () => {
  it('is not made for an index over EXACT_MAX_VALUES, nor for rows that do not match the count', () => {
    const dimensions = 1024;
    const tooMany = EXACT_MAX_VALUES / dimensions + 1;
    expect(ExactSearch.fromRows(new Float32Array(tooMany * dimensions), tooMany, dimensions)).toBeUndefined();
    expect(ExactSearch.fromRows(new Float32Array(10), 3, 4)).toBeUndefined();
    expect(ExactSearch.fromRows(new Float32Array(12), 3, 4)).toBeDefined();
  });

  it('accepts a query while chunks × its non-zero dimensions stay within EXACT_MAX_WORK', () => {
    const dimensions = 64;
    const count = EXACT_MAX_WORK / 8; // 8 non-zero dimensions fit exactly, 9 do not
    const search = ExactSearch.fromRows(new Float32Array(count * dimensions), count, dimensions)!;
    const query = (nonZero: number) => Array.from({ length: dimensions }, (_, d) => (d < nonZero ? 1 : 0));
    expect(search.accepts(query(8))).toBe(true);
    expect(search.accepts(query(9))).toBe(false);
    expect(search.accepts(query(8).slice(1))).toBe(false);
  });
});
