/**
 * Hybrid retrieval (score fusion: fusion.test.ts): distance -> similarity, near-duplicate collapse (pure,
 * tables), and `retrieve` on real indexes built by `updateIndex` (scores, k clamping, methods).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nearDuplicate,
  retrieve,
  type RetrievalMethod,
  type Retrieved,
} from '../src/answer/retrieve.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { distanceToSimilarity } from '../src/vector-index/fuse-scores.ts';
import type { LoadedIndex } from '../src/vector-index/files/loaded-index.ts';
import { openIndex } from '../src/vector-index/files/read-generation.ts';
import type { IndexedChunk } from '../src/vector-index/indexed-chunk.ts';
import { buildNotesIndex, type NotesIndex } from './support/answer-fixtures.ts';

describe('distanceToSimilarity (HNSWLib cosine distance -> similarity)', () => {
  it.each([
    [0, 1],
    [0.25, 0.75],
    [0.5, 0.5],
    [1, 0],
    [1.5, 0],
    [2, 0],
    // Float noise around identical vectors must not exceed 1.
    [-1e-7, 1],
  ])('distance %f -> similarity %f', (distance, similarity) => {
    expect(distanceToSimilarity(distance)).toBeCloseTo(similarity, 9);
  });

  it('is non-increasing in distance', () => {
    const distances = Array.from({ length: 41 }, (_, step) => step / 20);
    const similarities = distances.map(distanceToSimilarity);
    for (let position = 1; position < similarities.length; position += 1) {
      expect(similarities[position]!).toBeLessThanOrEqual(similarities[position - 1]!);
    }
  });
});

function chunk(note: string, lines: [number, number], text = `${note} ${lines.join('-')}`): IndexedChunk {
  return { id: `${note}:${lines.join('-')}`, note, title: note, heading: '', lines, text, embedHash: '', tags: [] };
}

describe('nearDuplicate', () => {
  it.each([
    { name: 'same note, same lines', a: chunk('a.md', [1, 10]), b: chunk('a.md', [1, 10]), duplicate: true },
    { name: 'one-line overlap of a continuation chunk', a: chunk('a.md', [1, 10]), b: chunk('a.md', [10, 20]), duplicate: false },
    { name: 'adjacent chunks', a: chunk('a.md', [1, 10]), b: chunk('a.md', [11, 20]), duplicate: false },
    { name: 'mostly overlapping', a: chunk('a.md', [1, 10]), b: chunk('a.md', [3, 12]), duplicate: true },
    { name: 'a short chunk inside a long one', a: chunk('a.md', [1, 40]), b: chunk('a.md', [20, 22]), duplicate: true },
    { name: 'same lines of different notes', a: chunk('a.md', [1, 10]), b: chunk('b.md', [1, 10]), duplicate: false },
    {
      name: 'the same text in two notes (a copied note)',
      a: chunk('a.md', [1, 10], 'same words'),
      b: chunk('copy/a.md', [5, 14], 'same words'),
      duplicate: true,
    },
  ])('$name -> $duplicate', ({ a, b, duplicate }) => {
    expect(nearDuplicate(a, b)).toBe(duplicate);
    expect(nearDuplicate(b, a)).toBe(duplicate);
  });
});

function expectRanked(hits: readonly Retrieved[]): void {
  for (const hit of hits) {
    expect(hit.score).toBeGreaterThan(0);
    expect(hit.score).toBeLessThanOrEqual(1);
    expect(hit.similarity).toBeGreaterThanOrEqual(0);
    expect(hit.similarity).toBeLessThanOrEqual(1);
  }
  for (let position = 1; position < hits.length; position += 1) {
    expect(hits[position]!.score).toBeLessThanOrEqual(hits[position - 1]!.score);
  }
  expect(new Set(hits.map((hit) => hit.chunk.id)).size).toBe(hits.length);
  for (const [position, hit] of hits.entries()) {
    for (const other of hits.slice(position + 1)) expect(nearDuplicate(hit.chunk, other.chunk)).toBe(false);
  }
}

describe('retrieve on small hand-made notes', () => {
  let small: NotesIndex;
  let empty: NotesIndex;
  beforeAll(async () => {
    [small, empty] = await Promise.all([
      buildNotesIndex({
        'alpha.md': '# Alpha\n\nThe zebra grazes near the river bank every morning.\n',
        'beta.md': '# Beta\n\nCompose depends_on waits for service_started by default.\n',
        'gamma.md': '# Gamma\n\nKubernetes offloads container startup to containerd shims.\n',
      }),
      buildNotesIndex({}),
    ]);
  });
  afterAll(async () => {
    await Promise.all([small?.cleanup(), empty?.cleanup()]);
  });

  it.each<{ k: number; method: RetrievalMethod; expected: number }>([
    { k: 10, method: 'vector', expected: 3 },
    { k: 10, method: 'hybrid', expected: 3 },
    { k: 2, method: 'hybrid', expected: 2 },
    { k: 0, method: 'hybrid', expected: 1 },
    { k: 2.7, method: 'vector', expected: 2 },
  ])('k=$k ($method) is clamped to 1..index size: $expected sources', async ({ k, method, expected }) => {
    const hits = await retrieve(small.index, small.embedder, 'zebra river', { k, method });
    expect(hits).toHaveLength(expected);
    expectRanked(hits);
  });

  it.each<RetrievalMethod>(['hybrid', 'vector', 'keyword'])(
    '%s: the note that holds every query word ranks first, with score 1 (first in every ranking)',
    async (method) => {
      const hits = await retrieve(small.index, small.embedder, 'Which zebra grazes by the river?', { k: 3, method });
      expect(hits[0]?.chunk.note).toBe('alpha.md');
      expect(hits[0]?.score).toBe(1);
      expectRanked(hits);
    },
  );

  it('keyword search returns only notes that contain a query term', async () => {
    const hits = await retrieve(small.index, small.embedder, 'service_started', { k: 3, method: 'keyword' });
    expect(hits.map((hit) => hit.chunk.note)).toEqual(['beta.md']);
  });

  it('an empty index gives no sources for any method', async () => {
    expect(empty.index.chunks).toHaveLength(0);
    for (const method of ['hybrid', 'vector', 'keyword'] as const) {
      expect(await retrieve(empty.index, empty.embedder, 'zebra', { k: 4, method })).toEqual([]);
    }
  });

  it('an aborted signal stops retrieval', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(retrieve(small.index, small.embedder, 'zebra', { k: 2, signal: controller.signal })).rejects.toThrow();
  });
});

describe('retrieve on the repository notes', () => {
  let notes: NotesIndex;
  beforeAll(async () => {
    notes = await buildNotesIndex();
  });
  afterAll(async () => {
    await notes?.cleanup();
  });

  it.each([
    ['What is the default depends_on condition in compose?', 'default is `service_started`'],
    ['How can I see what compose up would change without actually doing it?', '--dry-run'],
    ['How many years has Docker been an open-source project?', 'open-source for 10 years'],
  ])('%s -> the evidence is among the first sources, in rank order', async (question, evidence) => {
    const hits = await retrieve(notes.index, notes.embedder, question, { k: 4 });
    expect(hits).toHaveLength(4);
    expectRanked(hits);
    expect(hits[0]?.score).toBeGreaterThan(0.9);
    expect(hits.slice(0, 3).some((hit) => hit.chunk.text.includes(evidence))).toBe(true);
  });

  it.each([1, 4, 8, 20])('k=%i returns exactly k distinct, non-overlapping sources', async (k) => {
    const hits = await retrieve(notes.index, notes.embedder, 'How do I build images in CI with a cache?', { k });
    expect(hits).toHaveLength(Math.min(k, notes.index.chunks.length));
    expectRanked(hits);
  });

  it('hybrid finds what either ranking alone puts first (fusion, not one ranking)', async () => {
    const question = 'What is the default depends_on condition in compose?';
    const [hybrid, vector, keyword] = await Promise.all(
      (['hybrid', 'vector', 'keyword'] as const).map((method) => retrieve(notes.index, notes.embedder, question, { k: 4, method })),
    );
    const hybridIds = new Set(hybrid!.map((hit) => hit.chunk.id));
    expect(hybridIds.has(vector![0]!.chunk.id) || hybridIds.has(keyword![0]!.chunk.id)).toBe(true);
    // The fused score reflects agreement: a source both rankings found scores above one found by one ranking.
    const inBoth = hybrid!.filter(
      (hit) => vector!.some((other) => other.chunk.id === hit.chunk.id) && keyword!.some((other) => other.chunk.id === hit.chunk.id),
    );
    expect(inBoth.length).toBeGreaterThan(0);
  });

  // The repository notes are a small index: its vector search is an exact scan, not the graph.
  describe('the vector search of a small index is exact', () => {
    /** The index with its HNSW store replaced by one that records whether it was searched. */
    function withRecordingStore(index: LoadedIndex, exact: LoadedIndex['exact']) {
      const calls: number[] = [];
      const store = {
        similaritySearchVectorWithScore: async (vector: number[], k: number) => {
          calls.push(k);
          return index.store.similaritySearchVectorWithScore(vector, k);
        },
      } as unknown as LoadedIndex['store'];
      return { index: { ...index, store, exact }, calls };
    }

    it('built and reopened, a small index scans its vectors exactly instead of searching the graph', async () => {
      // A new embedder object: the index is read from disk, not taken from the last build.
      const embedder = createLocalEmbedder();
      const reopened = await openIndex(notes.indexDir, embedder);
      expect(reopened).not.toBe(notes.index);
      for (const [index, by] of [[notes.index, notes.embedder], [reopened!, embedder]] as const) {
        expect(index.exact).toBeDefined();
        const { index: recorded, calls } = withRecordingStore(index, index.exact);
        const hits = await retrieve(recorded, by, 'What is the default depends_on condition?', { k: 4, method: 'vector' });
        expect(hits).toHaveLength(4);
        expect(calls).toEqual([]);
      }
      // Quantised from vectors.bin on load or from the build's vectors: the same scan.
      const query = await embedder.embedQuery('How do I build images in CI with a cache?');
      expect(reopened!.exact!.search(query, 10)).toEqual(notes.index.exact!.search(query, 10));
    });

    it('ranks as the graph does where the graph is exact (49 chunks), with the same similarities', async () => {
      const question = 'How do I build images in CI with a cache?';
      const exact = await retrieve(notes.index, notes.embedder, question, { k: 8, method: 'vector' });
      const { index: graphOnly, calls } = withRecordingStore(notes.index, undefined);
      const graph = await retrieve(graphOnly, notes.embedder, question, { k: 8, method: 'vector' });
      expect(calls.length).toBe(1);
      expect(exact.map((hit) => hit.chunk.id)).toEqual(graph.map((hit) => hit.chunk.id));
      exact.forEach((hit, position) => expect(hit.similarity).toBeCloseTo(graph[position]!.similarity, 4));
    });
  });
});
