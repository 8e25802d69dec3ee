/**
 * `GET /index/status`'s body from the live index's state (src/library/index-status.ts): every note's
 * line, or only the named notes' (`?note=`), failures included, progress while embedding.
 */
import { describe, expect, it } from 'vitest';
import type { Embedder } from '../src/embeddings/embedder.ts';
import { indexStatusReport } from '../src/library/index-status.ts';
import type { IndexManifest, SearchableIndex } from '../src/vector-index/index-backend.ts';
import type { LiveIndexState } from '../src/vector-index/live-index.ts';

const manifest: IndexManifest = {
  embedder: 'local:test',
  dimensions: 8,
  chunkerVersion: 1,
  builtAt: '2026-01-01T00:00:10.000Z',
  chunkCount: 3,
  notes: {
    'b.md': { hash: 'b'.repeat(64), title: 'B', chunkIds: ['b1'] },
    'a/one.md': { hash: '1'.repeat(64), title: 'One', chunkIds: ['o1', 'o2'] },
  },
  failures: [],
};

function state(overrides: Partial<LiveIndexState> = {}): LiveIndexState {
  return {
    current: { index: { manifest } as unknown as SearchableIndex, embedder: { id: 'local:test' } as unknown as Embedder },
    building: false,
    progress: undefined,
    lastSummary: undefined,
    lastError: undefined,
    failures: [{ path: 'broken.md', reason: 'not valid UTF-8' }],
    ...overrides,
  };
}

const lineOf = {
  one: { path: 'a/one.md', chunks: 2, hash: '1'.repeat(64), status: 'indexed' },
  b: { path: 'b.md', chunks: 1, hash: 'b'.repeat(64), status: 'indexed' },
  broken: { path: 'broken.md', chunks: 0, hash: null, status: 'failed', reason: 'not valid UTF-8' },
};

describe('indexStatusReport', () => {
  it.each([
    ['every note, sorted by path', undefined, [lineOf.one, lineOf.b, lineOf.broken]],
    ['only the named ones', ['b.md'], [lineOf.b]],
    ['a named failed note', ['broken.md', 'a/one.md'], [lineOf.one, lineOf.broken]],
    ['nothing for unknown names (or inherited keys)', ['gone.md', 'constructor', '__proto__'], []],
    ['nothing when no name is given', [], []],
  ] as const)('%s', (_name, only, notes) => {
    expect(indexStatusReport(state(), only).notes).toEqual(notes);
  });

  it('reports the embedding progress of a running build and no notes before the first index', () => {
    const report = indexStatusReport(state({ current: undefined, building: true, progress: { phase: 'embed', done: 3, total: 9 } }), ['b.md']);
    expect(report).toEqual({ state: 'building', embedder: null, notes: [], progress: { done: 3, total: 9 } });
  });
});
