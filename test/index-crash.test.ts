/**
 * Crash safety (issue 2, "Done when" 3): SIGKILL the indexer at 20 random (seeded) moments while it
 * switches the index between two note sets; after every kill the index must load without a word of
 * complaint and be exactly the old build or exactly the new one. The notes are never written.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFile, cp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { openIndex, updateIndex } from '../src/vector-index/index-store.ts';
import {
  REPO_ROOT,
  collectLog,
  createTempDirs,
  embedderDir,
  expectedManifestContent,
  generationNames,
  hashDirectory,
  manifestContent,
} from './support/index-fixtures.ts';
import { spawnLineChild, type LineChild } from './support/line-child.ts';
import { createRandom, generateCorpus } from './support/synthetic-corpus.ts';

const TRIALS = 20;
/** Kill moments are drawn from this seed; CRASH_SEED=n reproduces another run. */
const SEED = Number(process.env['CRASH_SEED'] ?? 20231004);
/** Big enough that a build spans many event-loop turns and several files, small enough for 20 runs. */
const CORPUS_CHUNKS = 600;
const CRASH_INDEXER = join(REPO_ROOT, 'test/support/crash-indexer.ts');

interface Indexer extends Omit<LineChild<string>, 'waitFor'> {
  /** Resolves with the first line starting with `prefix`; rejects if the child exits first. */
  waitFor(prefix: string): Promise<string>;
}

const children = new Set<ChildProcess>();

function spawnIndexer(): Indexer {
  const indexer = spawnLineChild(CRASH_INDEXER, REPO_ROOT, (line) => line, children);
  return { ...indexer, waitFor: (prefix) => indexer.waitFor((line) => line.startsWith(prefix), `"${prefix}"`) };
}

const temp = createTempDirs();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await temp.cleanup();
});

describe('SIGKILL during indexing', () => {
  const sets = { old: '', new: '' };
  type SetName = keyof typeof sets;
  const expected: Record<SetName, Record<string, { hash: string; chunkIds: string[] }>> = { old: {}, new: {} };
  const notesHashes: Record<SetName, string> = { old: '', new: '' };
  let indexDir: string;

  beforeAll(async () => {
    sets.old = await temp.make('asknotes-crash-old-');
    sets.new = await temp.make('asknotes-crash-new-');
    indexDir = await temp.make('asknotes-crash-index-');
    const corpus = await generateCorpus({ seed: 7, targetChunks: CORPUS_CHUNKS, dir: sets.old });
    // The new set: a quarter of the notes edited, a tenth deleted, a few notes added.
    await cp(sets.old, sets.new, { recursive: true });
    for (const [position, file] of corpus.files.entries()) {
      if (position % 10 === 5) await rm(join(sets.new, file));
      else if (position % 4 === 0) await appendFile(join(sets.new, file), `\n## Revised\n\nRevision ${position}: the quokka cache was rebuilt.\n`);
    }
    await generateCorpus({ seed: 8, targetChunks: 40, dir: sets.new, subfolder: 'added' });
    for (const name of ['old', 'new'] as const) {
      expected[name] = await expectedManifestContent(sets[name]);
      notesHashes[name] = await hashDirectory(sets[name]);
    }
    expect(expected.old).not.toEqual(expected.new);
  });

  it(
    `leaves an index that loads and equals the old or the new build, at each of ${TRIALS} random moments`,
    async () => {
      const embedderId = createLocalEmbedder().id;
      const check = async (): Promise<SetName> => {
        const log = collectLog();
        const index = await openIndex(indexDir, createLocalEmbedder(), { log: log.log });
        expect(log.lines).toEqual([]);
        expect(index).toBeDefined();
        const content = manifestContent(index!.manifest);
        const which = (['old', 'new'] as const).find((name) => isDeepStrictEqual(content, expected[name]));
        expect(which, 'the loaded manifest is neither the old nor the new build').toBeDefined();
        // The docstore agrees with the manifest, chunk for chunk, and searches serve only those chunks.
        const ids = Object.values(content).flatMap((entry) => entry.chunkIds);
        expect(index!.chunks.map((chunk) => chunk.id).sort()).toEqual([...ids].sort());
        for (const label of [0, Math.floor(ids.length / 2), ids.length - 1]) {
          const hits = await index!.store.similaritySearchVectorWithScore(index!.store.index.getPoint(label), 10);
          expect((hits[0]?.[0].metadata as { id?: string } | undefined)?.id).toBe(index!.chunks[label]?.id);
          for (const [document] of hits) expect(ids).toContain((document.metadata as { id: string }).id);
        }
        return which!;
      };

      // The starting point: the old set, built in-process.
      await updateIndex({ notesDir: sets.old, indexDir, embedder: createLocalEmbedder() });
      let current: SetName = await check();
      expect(current).toBe('old');

      // One child runs a build while the next one loads its modules.
      let next = spawnIndexer();
      /** Runs one build; with a plan, SIGKILLs it `afterMs` after it printed `from` (unless it exited first). */
      const run = async (target: SetName, plan?: { from: 'started' | 'phase write'; afterMs: number }) => {
        const indexer = next;
        next = spawnIndexer();
        await indexer.waitFor('ready');
        indexer.child.stdin!.write(`${JSON.stringify({ notesDir: sets[target], indexDir })}\n`);
        await indexer.waitFor('started');
        const started = performance.now();
        if (plan !== undefined) {
          if (plan.from !== 'started') await indexer.waitFor(plan.from).catch(() => {});
          await Promise.race([sleep(plan.afterMs), indexer.exited]);
          if (indexer.running()) indexer.child.kill('SIGKILL');
        }
        const { code, signal } = await indexer.exited;
        if (signal !== 'SIGKILL' && code !== 0) throw new Error(`crash-indexer failed (${code}): ${indexer.stderr()}`);
        const writeLine = indexer.lines.indexOf('phase write');
        return {
          ms: performance.now() - started,
          writeMs: writeLine === -1 ? 0 : (indexer.times[writeLine] ?? started) - started,
          finished: indexer.lines.some((line) => line.startsWith('done ')),
          stderr: indexer.stderr(),
          phase: indexer.lines.filter((line) => line.startsWith('phase ')).pop()?.slice(6) ?? 'load',
        };
      };

      // Calibration: how long an uninterrupted switch to the new set takes here, now.
      const calibration = await run('new');
      expect(calibration.finished).toBe(true);
      current = await check();
      expect(current, `calibration: ${calibration.stderr}`).toBe('new');
      // Kill moments: every other one anywhere in the build (a little past its end included); the
      // others within its last phase, where the new generation is written and switched in, timed
      // from that phase's start so that a busier or idler machine still lands them there.
      const writing = calibration.ms - calibration.writeMs;

      const random = createRandom(SEED);
      const outcomes: string[] = [];
      for (let trial = 0; trial < TRIALS; trial += 1) {
        const target: SetName = current === 'old' ? 'new' : 'old';
        const plan =
          trial % 2 === 0
            ? { from: 'started' as const, afterMs: random() * calibration.ms * 1.1 }
            : { from: 'phase write' as const, afterMs: random() * writing * 1.1 };
        const result = await run(target, plan);
        const now = await check();
        // A finished build is live; a killed one left either the previous index or (killed after the switch) the new.
        const context = `seed ${SEED}, trial ${trial} (kill ${Math.round(plan.afterMs)} ms after ${plan.from}, in ${result.phase}, from ${current} to ${target}; before: ${outcomes.join(', ')}): ${result.stderr}`;
        if (result.finished) expect(now, context).toBe(target);
        outcomes.push(`${result.finished ? 'done' : result.phase}->${now === target ? 'switched' : 'kept'}`);
        current = now;
      }
      next.child.kill('SIGKILL');
      await next.exited;

      // A later uninterrupted build cleans up whatever the killed ones left behind.
      const target: SetName = current === 'old' ? 'new' : 'old';
      await updateIndex({ notesDir: sets[target], indexDir, embedder: createLocalEmbedder() });
      expect(await check()).toBe(target);
      expect(await generationNames(indexDir, embedderId)).toHaveLength(1);
      expect((await readdir(embedderDir(indexDir, embedderId))).filter((name) => name.endsWith('.tmp'))).toEqual([]);

      for (const name of ['old', 'new'] as const) expect(await hashDirectory(sets[name])).toBe(notesHashes[name]);
      console.info(
        `crash trials (seed ${SEED}, build ~${Math.round(calibration.ms)} ms, writing ~${Math.round(writing)} ms): ${outcomes.join(', ')}`,
      );
    },
    240_000,
  );
});
