/**
 * Weighted score fusion (pure, tables): normalisation by the best score and the weighted mean.
 */
import { describe, expect, it } from 'vitest';
import { LISTED_FLOOR, fuseScores, normaliseByMax } from '../src/vector-index/fuse-scores.ts';
import { vectorFusionWeight } from '../src/answer/retrieve.ts';
import { LOCAL_FUSION_WEIGHT, createLocalEmbedder } from '../src/embeddings/local-embedder.ts';

describe('normaliseByMax', () => {
  it.each<{ name: string; hits: [string, number][]; expected: [string, number][] }>([
    { name: 'relative to the best', hits: [['a', 8], ['b', 4], ['c', 2]], expected: [['a', 1], ['b', 0.5], ['c', 0.25]] },
    { name: 'a listed hit scoring 0 keeps the floor', hits: [['a', 2], ['b', 0]], expected: [['a', 1], ['b', LISTED_FLOOR]] },
    { name: 'all zero: every hit at the floor', hits: [['a', 0]], expected: [['a', LISTED_FLOOR]] },
    { name: 'nothing listed', hits: [], expected: [] },
  ])('$name', ({ hits, expected }) => {
    expect([...normaliseByMax(hits.map(([id, score]) => ({ id, score })))]).toEqual(expected);
  });
});

describe('fuseScores', () => {
  const list = (weight: number, entries: [string, number][]) => ({ weight, scores: new Map(entries) });

  it('is the weighted mean of the normalised scores, a missing id counting 0', () => {
    const fused = fuseScores([list(1, [['a', 1], ['b', 0.5]]), list(0.25, [['b', 1], ['c', 1]])]);
    expect(fused.map((entry) => entry.id)).toEqual(['a', 'b', 'c']);
    expect(fused[0]?.fused).toBeCloseTo(1 / 1.25, 12);
    expect(fused[1]?.fused).toBeCloseTo((0.5 + 0.25) / 1.25, 12);
    expect(fused[2]?.fused).toBeCloseTo(0.25 / 1.25, 12);
  });

  it('first in every list scores 1', () => {
    expect(fuseScores([list(1, [['a', 1]]), list(0.1, [['a', 1]])])[0]?.fused).toBeCloseTo(1, 12);
  });

  it.each([
    // A low-weight half breaks a near-tie between the keyword half's candidates ...
    { name: 'near-tie', keywordB: 0.97, vectorWeight: 0.1, first: 'b' },
    // ... but cannot lift its favourite over a clear keyword match; with equal weight it can.
    { name: 'clear keyword match, low weight', keywordB: 0.6, vectorWeight: 0.1, first: 'a' },
    { name: 'clear keyword match, equal weight', keywordB: 0.6, vectorWeight: 1, first: 'b' },
  ])('$name: $first ranks first', ({ keywordB, vectorWeight, first }) => {
    const keyword = list(1, [['a', 1], ['b', keywordB]]);
    const vector = list(vectorWeight, [['b', 1], ['a', 0.5]]);
    expect(fuseScores([keyword, vector])[0]?.id).toBe(first);
  });

  it('ties break by id; no list or no weight gives nothing', () => {
    expect(fuseScores([list(1, [['b', 1], ['a', 1]])]).map((entry) => entry.id)).toEqual(['a', 'b']);
    expect(fuseScores([])).toEqual([]);
    expect(fuseScores([list(0, [['a', 1]])])).toEqual([]);
  });
});

describe('vectorFusionWeight', () => {
  it('the built-in embedder counts less than BM25; an embedder that says nothing counts as much', () => {
    const local = createLocalEmbedder();
    expect(vectorFusionWeight(local)).toBe(LOCAL_FUSION_WEIGHT);
    expect(LOCAL_FUSION_WEIGHT).toBeLessThan(0.5);
    const { fusionWeight: _dropped, ...semantic } = local;
    expect(vectorFusionWeight({ ...semantic, id: 'ollama:nomic-embed-text' })).toBe(1);
  });
});
