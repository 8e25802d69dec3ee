/**
 * The live index a server answers from: updates run one at a time and coalesce, each finished build
 * is swapped in whole, and answers holding the previous index object keep working.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { retrieve } from '../src/answer/retrieve.ts';
import type { EmbedOptions, Embedder } from '../src/embeddings/embedder.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createLiveIndex, type LiveIndex } from '../src/vector-index/live-index.ts';
import { createFilesBackend } from '../src/vector-index/files/files-backend.ts';
import type { BuildProgress } from '../src/vector-index/index-backend.ts';
import { SECOND_NOTE, collectLog, copySampleNotes, createTempDirs, writeNote } from './support/index-fixtures.ts';

const temp = createTempDirs();
afterAll(() => temp.cleanup());

/** An embedder whose document embedding waits until `open()`; it counts its calls. */
function gatedEmbedder(inner: Embedder = createLocalEmbedder()) {
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  let entered: () => void = () => {};
  const enteredOnce = new Promise<void>((resolve) => (entered = resolve));
  let failNext: Error | undefined;
  const calls = { count: 0 };
  const embedder = Object.create(inner) as Embedder;
  Object.defineProperty(embedder, 'embedDocuments', {
    value: async (documents: string[], options?: EmbedOptions) => {
      calls.count += 1;
      entered();
      await gate;
      if (failNext !== undefined) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      return inner.embedDocuments(documents, options);
    },
  });
  return {
    embedder,
    calls,
    /** Resolves once a build is waiting inside embedDocuments. */
    entered: enteredOnce,
    open: () => release(),
    close: () => {
      gate = new Promise<void>((resolve) => (release = resolve));
    },
    failNextWith: (error: Error) => (failNext = error),
  };
}

/** Counts builds: every build reports its scan phase exactly once. */
function countBuilds(live: LiveIndex): { scans: number } {
  const counter = { scans: 0 };
  const state = live.state();
  let progress: BuildProgress | undefined = state.progress;
  Object.defineProperty(state, 'progress', {
    get: () => progress,
    set: (value: BuildProgress | undefined) => {
      if (value?.phase === 'scan') counter.scans += 1;
      progress = value;
    },
  });
  return counter;
}

let notesDir: string;
let indexDir: string;
beforeEach(async () => {
  notesDir = await temp.make('asknotes-live-notes-');
  indexDir = await temp.make('asknotes-live-index-');
  await copySampleNotes(notesDir);
  await writeNote(notesDir, SECOND_NOTE.path, SECOND_NOTE.text);
});

const notesOf = (hits: { chunk: { note: string; text: string } }[]) => hits.map((hit) => hit.chunk.note);

describe('createLiveIndex', () => {
  it('coalesces update() calls made during a build into one follow-up build that sees every change', async () => {
    const gated = gatedEmbedder();
    const { log, lines } = collectLog();
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: gated.embedder, log });
    const builds = countBuilds(live);

    const first = live.update();
    await gated.entered;
    expect(live.state().building).toBe(true);
    // Changes arrive while the first build is embedding: the watcher asks for updates each time.
    await writeNote(notesDir, SECOND_NOTE.path, `${SECOND_NOTE.text}\n## Late addition\n\nThe heron feeder jams on Tuesdays.\n`);
    const second = live.update();
    await writeNote(notesDir, 'later.md', '# Later\n\nA note about pelican migrations and their timetables.\n');
    const third = live.update();
    const fourth = live.update();
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(fourth).toBe(first);

    gated.open();
    const summary = await first;
    expect(builds.scans).toBe(2);
    expect(gated.calls.count).toBe(2);
    expect(lines.filter((line) => line.startsWith('indexed '))).toHaveLength(2);
    // The follow-up embedded only what changed during the first build.
    expect(summary).toMatchObject({ notes: 3, wroteGeneration: true });
    expect(summary!.embedded).toBeGreaterThanOrEqual(2);
    expect(summary!.embedded).toBeLessThan(summary!.chunks / 4);
    const state = live.state();
    expect(state.building).toBe(false);
    expect(state.lastSummary).toBe(summary);
    const texts = state.current!.index.chunks.map((chunk) => chunk.text).join('\n');
    expect(texts).toContain('heron feeder');
    expect(texts).toContain('pelican migrations');

    // Nothing changed since: a new call starts a new (empty) build, not the finished one.
    const fifth = live.update();
    expect(fifth).not.toBe(first);
    expect(await fifth).toMatchObject({ embedded: 0, wroteGeneration: false });
    expect(builds.scans).toBe(3);
  });

  it('swaps in a new index after a note edit; answers holding the old index object keep working', async () => {
    const embedder = createLocalEmbedder();
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder, log: () => {} });
    await live.update();
    const old = live.state().current!.index;
    const oldDirectory = old.directory;
    expect(notesOf(await retrieve(old, embedder, 'zebrafish aquarium pager', { k: 2 }))[0]).toBe(SECOND_NOTE.path);
    // A snapshot of the served graph: an update must build beside it, never change it in place.
    const oldPoints = old.chunks.map((_, label) => old.store.index.getPoint(label));

    const path = join(notesDir, SECOND_NOTE.path);
    await writeFile(path, (await readFile(path, 'utf8')).replaceAll('zebrafish', 'axolotl').replaceAll('Zebrafish', 'Axolotl'));
    const summary = await live.update();
    expect(summary?.wroteGeneration).toBe(true);

    const current = live.state().current!.index;
    expect(current).not.toBe(old);
    expect(current.directory).not.toBe(oldDirectory);
    // The previous generation is gone from disk...
    expect(existsSync(oldDirectory)).toBe(false);
    // The new text no longer says zebrafish (only the file name does, a field the keyword index boosts).
    expect(current.chunks.some((chunk) => /zebrafish/i.test(chunk.text))).toBe(false);
    expect(current.keyword.search('zebrafish', 5).every((hit) => current.byId.get(hit.id)?.note === SECOND_NOTE.path)).toBe(true);
    const fresh = await retrieve(current, embedder, 'axolotl aquarium pager', { k: 2 });
    expect(notesOf(fresh)[0]).toBe(SECOND_NOTE.path);
    expect(fresh[0]?.chunk.text).toContain('axolotl');
    // ...yet an answer that started with the old object still gets its (old) evidence, both searches.
    const stale = await retrieve(old, embedder, 'zebrafish aquarium pager', { k: 2 });
    expect(notesOf(stale)[0]).toBe(SECOND_NOTE.path);
    expect(stale[0]?.chunk.text).toContain('zebrafish');
    const staleVector = await retrieve(old, embedder, 'zebrafish aquarium pager', { k: 2, method: 'vector' });
    expect(staleVector[0]?.chunk.note).toBe(SECOND_NOTE.path);
    expect(staleVector[0]?.chunk.text).toContain('zebrafish');
    expect(old.keyword.search('zebrafish', 5).length).toBeGreaterThan(0);
    expect(old.chunks.map((_, label) => old.store.index.getPoint(label))).toEqual(oldPoints);
  });

  it('keeps serving the current index when a build fails, and recovers on the next update', async () => {
    const gated = gatedEmbedder();
    gated.open();
    const { log, lines } = collectLog();
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: gated.embedder, log });
    await live.update();
    const before = live.state().current!.index;

    await writeNote(notesDir, 'new.md', '# New\n\nFlamingo counts by month.\n');
    gated.failNextWith(new Error('the embedder fell over'));
    expect(await live.update()).toBeDefined();
    expect(live.state().current!.index).toBe(before);
    expect(live.state().lastError).toBe('the embedder fell over');
    expect(lines).toContain('indexing failed: the embedder fell over');

    await live.update();
    expect(live.state().lastError).toBeUndefined();
    expect(live.state().current!.index.chunks.some((chunk) => chunk.text.includes('Flamingo'))).toBe(true);
  });

  it('open() loads a valid index without building, and refuses a damaged one with one log line', async () => {
    const embedder = createLocalEmbedder();
    const builder = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder, log: () => {} });
    await builder.update();
    const built = builder.state().current!.index;

    const gated = gatedEmbedder(createLocalEmbedder());
    const reader = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: gated.embedder, log: () => {} });
    expect(await reader.open()).toBe(true);
    expect(reader.state().current!.index.manifest).toEqual(built.manifest);
    expect(gated.calls.count).toBe(0);

    await writeFile(join(built.directory, 'manifest.json'), '{ not json');
    const { log, lines } = collectLog();
    const damaged = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: createLocalEmbedder(), log });
    expect(await damaged.open()).toBe(false);
    expect(damaged.state().current).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('manifest is not valid JSON');
  });

  it('switchEmbedder builds the new index while the old one keeps serving, then swaps both together', async () => {
    const first = createLocalEmbedder();
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: first, log: () => {} });
    await live.update();
    const before = live.state().current!;

    const gated = gatedEmbedder(createLocalEmbedder({ dimensions: 256 }));
    const switching = live.switchEmbedder(gated.embedder);
    await gated.entered;
    // While the new index is built, answers still come from the old embedder's index.
    expect(live.state().current).toBe(before);
    expect(live.embedder()).toBe(gated.embedder);
    gated.open();
    await switching;

    const after = live.state().current!;
    expect(after.embedder).toBe(gated.embedder);
    expect(after.index.manifest.embedder).toBe(gated.embedder.id);
    expect(after.index.manifest.dimensions).toBe(256);
    expect(after.index.chunks.map((chunk) => chunk.id)).toEqual(before.index.chunks.map((chunk) => chunk.id));
    // The first embedder's index stays on disk, in its own folder, for a switch back.
    expect(existsSync(before.index.directory)).toBe(true);
  });

  it('warmStart serves the quick embedder\'s index at once, builds the main one behind it, then swaps', async () => {
    const slow = gatedEmbedder(createLocalEmbedder({ dimensions: 256 }));
    const quick = createLocalEmbedder();
    const lines: string[] = [];
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: slow.embedder, log: (line) => lines.push(line) });
    expect(await live.open()).toBe(false);
    const warming = live.warmStart(quick);
    await slow.entered;
    // The slow build is under way; the quick index already answers.
    const serving = live.state().current!;
    expect(serving.embedder).toBe(quick);
    expect(serving.index.manifest.embedder).toBe(quick.id);
    expect(live.state().building).toBe(true);
    const hits = await retrieve(serving.index, serving.embedder, 'depends_on condition', { k: 2 });
    expect(hits).toHaveLength(2);
    expect(lines).toContain(`serving the ${quick.id} index while the ${slow.embedder.id} index is built`);
    slow.open();
    await warming;
    expect(live.state().current?.embedder).toBe(slow.embedder);
    expect(live.state().current?.index.manifest.dimensions).toBe(256);
  });

  it('warmStart never replaces an index the main build already swapped in', async () => {
    const main = createLocalEmbedder({ dimensions: 256 });
    const live = createLiveIndex({ backend: createFilesBackend({ indexDir }), notesDir, embedder: main, log: () => {} });
    await live.update();
    const built = live.state().current;
    await live.warmStart(createLocalEmbedder());
    expect(live.state().current?.embedder).toBe(main);
    expect(live.state().current?.index).toBe(built?.index);
  });
});
