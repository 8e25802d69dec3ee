/**
 * `GET /index/status`'s body from the live index's state (src/library/index-status.ts): every note's
 * line, or only the named notes' (`?note=`), failures included; which build runs and how far, a warm
 * start's built-in index included (it used to say "idle" while that one was built).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Embedder } from '../src/embeddings/embedder.ts';
import { indexStatusReport, runningBuild } from '../src/library/index-status.ts';
import type { BuildProgress, BuildSummary, IndexBackend, IndexManifest, SearchableIndex, UpdateOptions } from '../src/vector-index/index-backend.ts';
import { createLiveIndex, type LiveIndex, type LiveIndexState } from '../src/vector-index/live-index.ts';

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

function state(overrides: Partial<LiveIndexState> = {}): Pick<LiveIndex, 'state' | 'embedder'> {
  const value: LiveIndexState = {
    current: { index: { manifest } as unknown as SearchableIndex, embedder: { id: 'local:test' } as unknown as Embedder },
    building: false,
    progress: undefined,
    lastSummary: undefined,
    lastError: undefined,
    failures: [{ path: 'broken.md', reason: 'not valid UTF-8' }],
    quickBuild: undefined,
    ...overrides,
  };
  return { state: () => value, embedder: () => ({ id: 'ollama:nomic-embed-text' }) as unknown as Embedder };
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
    expect(report).toEqual({ state: 'building', embedder: null, notes: [], build: { embedder: 'ollama:nomic-embed-text', phase: 'embed' }, progress: { done: 3, total: 9 } });
  });
});

describe('a warm start reports its build (issue 15 follow-up)', () => {
  /** A backend whose builds report the given progress, then wait until released. */
  function steppedBackend() {
    const waiting: Array<{ embedder: string; report: (progress: BuildProgress) => void; finish: () => void }> = [];
    const backend = {
      kind: 'files',
      open: async () => undefined,
      version: async () => undefined,
      close: async () => undefined,
      update: (options: UpdateOptions) =>
        new Promise<{ index: SearchableIndex; summary: BuildSummary }>((resolve) => {
          waiting.push({
            embedder: options.embedder.id,
            report: (progress) => options.onProgress?.(progress),
            finish: () =>
              resolve({
                index: { manifest: { ...manifest, embedder: options.embedder.id } } as unknown as SearchableIndex,
                summary: { notes: 2, chunks: 3, embedded: 3, reused: 0, removed: 0, failed: [], seconds: 1, wroteGeneration: true },
              }),
          });
        }),
    } as unknown as IndexBackend;
    return { backend, waiting };
  }

  it('says building, whose index and how far, from the built-in index\'s first step to Ollama\'s last', async () => {
    const notesDir = await mkdtemp(join(tmpdir(), 'asknotes-warm-status-'));
    try {
      const { backend, waiting } = steppedBackend();
      const ollama = { id: 'ollama:nomic-embed-text' } as unknown as Embedder;
      const quick = { id: 'local:hash-v1-d1024' } as unknown as Embedder;
      const live = createLiveIndex({ backend, notesDir, embedder: ollama, log: () => {} });
      const done = live.warmStart(quick);

      // The built-in index: nothing serves yet; before any progress it is reading the notes.
      await vi.waitFor(() => expect(waiting).toHaveLength(1));
      expect(indexStatusReport(live)).toMatchObject({ state: 'building', embedder: null, build: { embedder: quick.id, phase: 'scan' } });
      expect(runningBuild(live)?.embedder).toBe(quick.id);
      waiting[0]!.report({ phase: 'embed', done: 256, total: 7703 });
      expect(indexStatusReport(live)).toMatchObject({ state: 'building', build: { embedder: quick.id, phase: 'embed' }, progress: { done: 256, total: 7703 } });
      waiting[0]!.report({ phase: 'write', chunks: 7703 });
      const writing = indexStatusReport(live);
      expect(writing).toMatchObject({ state: 'building', build: { embedder: quick.id, phase: 'write' } });
      expect(writing.progress).toBeUndefined();
      waiting[0]!.finish();

      // Then Ollama's, behind the built-in index that now serves.
      await vi.waitFor(() => expect(waiting).toHaveLength(2));
      waiting[1]!.report({ phase: 'embed', done: 64, total: 7703 });
      expect(indexStatusReport(live)).toMatchObject({ state: 'building', embedder: quick.id, build: { embedder: ollama.id, phase: 'embed' }, progress: { done: 64, total: 7703 } });
      waiting[1]!.finish();
      await done;
      const idle = indexStatusReport(live);
      expect(idle).toMatchObject({ state: 'idle', embedder: ollama.id });
      expect(idle.build).toBeUndefined();
      expect(runningBuild(live)).toBeUndefined();
    } finally {
      await rm(notesDir, { recursive: true, force: true });
    }
  });
});
