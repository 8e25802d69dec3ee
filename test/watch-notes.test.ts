import { mkdir, mkdtemp, readdir, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import { watchNotes } from '../src/notes/watch-notes.ts';
import type { NotesWatcher } from '../src/notes/watch-notes.ts';

let dir = '';
let watcher: NotesWatcher | undefined;
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** Collects onChange batches and lets a test wait for the next one. */
function batches() {
  const seen: string[][] = [];
  let waiters: Array<() => void> = [];
  return {
    seen,
    onChange: (paths: string[]) => {
      seen.push(paths);
      for (const wake of waiters) wake();
      waiters = [];
    },
    async next(count: number, timeoutMs = 8_000): Promise<string[]> {
      const deadline = Date.now() + timeoutMs;
      while (seen.length < count) {
        if (Date.now() > deadline) throw new Error(`no change batch #${count} within ${timeoutMs} ms (got ${JSON.stringify(seen)})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return seen[count - 1] ?? [];
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each([
  ['native', 0],
  ['polling', 40],
])('watchNotes (%s)', (mode, pollMs) => {
  it('reports a created, a modified and a deleted note, one debounced batch each', async () => {
    dir = await mkdtemp(join(tmpdir(), 'asknotes-watch-'));
    await mkdir(join(dir, 'day1'));
    await writeFile(join(dir, 'day1', 'compose.md'), '# Compose\n');
    const changes = batches();
    watcher = watchNotes(dir, { pollMs, debounceMs: 100, onChange: changes.onChange });
    await watcher.ready;
    expect(watcher.mode).toBe(mode);

    await writeFile(join(dir, 'new.md'), '# New\n');
    expect(await changes.next(1)).toEqual(['new.md']);

    await writeFile(join(dir, 'day1', 'compose.md'), '# Compose\n\nedited, and longer\n');
    expect(await changes.next(2)).toEqual(['day1/compose.md']);

    await unlink(join(dir, 'new.md'));
    expect(await changes.next(3)).toEqual(['new.md']);
  });

  it('merges a burst into one batch and ignores hidden paths and other file types', async () => {
    dir = await mkdtemp(join(tmpdir(), 'asknotes-watch-'));
    const changes = batches();
    watcher = watchNotes(dir, { pollMs, debounceMs: 150, onChange: changes.onChange });
    await watcher.ready;

    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD.md'), 'ref');
    await writeFile(join(dir, '.draft.md'), 'hidden');
    await writeFile(join(dir, 'photo.png'), 'png');
    await writeFile(join(dir, 'notes.json'), '{}');
    await mkdir(join(dir, 'node_modules'));
    await writeFile(join(dir, 'node_modules', 'readme.md'), 'x');
    // Long enough for any of those to have been reported on their own.
    await pause(pollMs * 3 + 400);
    expect(changes.seen).toEqual([]);

    await writeFile(join(dir, 'a.md'), 'a');
    await writeFile(join(dir, 'b.markdown'), 'b');
    await writeFile(join(dir, 'c.txt'), 'c');
    expect(await changes.next(1)).toEqual(['a.md', 'b.markdown', 'c.txt']);
  });

  it('reports nothing after close, and never writes to the folder', async () => {
    dir = await mkdtemp(join(tmpdir(), 'asknotes-watch-'));
    await writeFile(join(dir, 'keep.md'), 'keep');
    const before = await stat(join(dir, 'keep.md'));
    const changes = batches();
    watcher = watchNotes(dir, { pollMs, debounceMs: 100, onChange: changes.onChange });
    await watcher.ready;
    await writeFile(join(dir, 'x.md'), 'x');
    await watcher.close();
    watcher = undefined;
    await pause(pollMs * 3 + 300);
    expect(changes.seen).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['keep.md', 'x.md']);
    expect((await stat(join(dir, 'keep.md'))).mtimeMs).toBe(before.mtimeMs);
  });
});

it('a failing change handler is logged and watching goes on', async () => {
  dir = await mkdtemp(join(tmpdir(), 'asknotes-watch-'));
  const logged: string[] = [];
  let calls = 0;
  watcher = watchNotes(dir, {
    pollMs: 0,
    debounceMs: 50,
    log: (message) => logged.push(message),
    onChange: async () => {
      calls += 1;
      throw new Error('index busy');
    },
  });
  await watcher.ready;
  await writeFile(join(dir, 'one.md'), '1');
  while (calls < 1) await pause(20);
  await writeFile(join(dir, 'two.md'), '2');
  while (calls < 2) await pause(20);
  expect(logged.filter((line) => line.includes('index busy'))).toHaveLength(2);
});

it('falls back to polling when native watching fails, and keeps reporting changes', async () => {
  dir = await mkdtemp(join(tmpdir(), 'asknotes-watch-'));
  const created: Array<{ usePolling: boolean; watcher: FSWatcher; ready: Promise<void> }> = [];
  const logged: string[] = [];
  const changes = batches();
  watcher = watchNotes(dir, {
    pollMs: 0,
    debounceMs: 50,
    log: (message) => logged.push(message),
    onChange: changes.onChange,
    createWatcher: (paths, options) => {
      const real = watch(paths, options);
      const ready = new Promise<void>((resolve) => real.once('ready', () => resolve()));
      created.push({ usePolling: options?.usePolling === true, watcher: real, ready });
      return real;
    },
  });
  await watcher.ready;
  expect(watcher.mode).toBe('native');
  // What chokidar reports when the inotify watch limit is reached.
  created[0]?.watcher.emit('error', Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' }));
  expect(watcher.mode).toBe('polling');
  expect(created.map((entry) => entry.usePolling)).toEqual([false, true]);
  expect(logged.some((line) => line.includes('ENOSPC') && line.includes('polling every 2000 ms'))).toBe(true);
  // Changes made while switching are covered by one "everything may have changed" batch.
  expect(await changes.next(1)).toEqual(['.']);
  await created[1]?.ready;
  await writeFile(join(dir, 'after.md'), 'after');
  expect(await changes.next(2)).toEqual(['after.md']);
});
