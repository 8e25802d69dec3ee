/**
 * The watching indexer (`npm run index -- --watch`) retries a failed update on its own, with a
 * growing delay, instead of waiting for the next note change; a success resets the delay.
 * (The database-down-at-start case against a real Postgres engine is in postgres-roles.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { retryDelay, watchAndIndex } from '../src/cli/watch-indexer.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { createFilesBackend } from '../src/vector-index/files/files-backend.ts';
import type { IndexBackend } from '../src/vector-index/index-backend.ts';
import { until } from './support/hardening-app.ts';
import { createTempDirs, writeNote } from './support/index-fixtures.ts';

const temp = createTempDirs();
afterAll(() => temp.cleanup());

describe('retryDelay', () => {
  it('starts at a second, doubles, and stops growing at a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((failures) => retryDelay(failures))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(retryDelay(3, 50, 150)).toBe(150);
  });
});

describe('watchAndIndex', { timeout: 60_000 }, () => {
  it('retries a failing update without a note change until it succeeds, then publishes', async () => {
    const notesDir = await temp.make('asknotes-watch-notes-');
    const indexDir = await temp.make('asknotes-watch-index-');
    await writeNote(notesDir, 'heron.md', '# Heron\n\nThe heron feeder jams when the hopper is wet.\n');
    const files = createFilesBackend({ indexDir });
    let outages = 3;
    const attempts: number[] = [];
    const flaky: IndexBackend = {
      ...files,
      kind: files.kind,
      open: files.open.bind(files),
      version: files.version.bind(files),
      close: files.close.bind(files),
      update: async (options) => {
        attempts.push(Date.now());
        if (outages > 0) {
          outages -= 1;
          throw new Error('the database at db:5432/asknotes is unreachable: connect ECONNREFUSED');
        }
        return files.update(options);
      },
    };
    const lines: string[] = [];
    let stop!: (signal: string) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    const embedder = createLocalEmbedder({ dimensions: 64 });
    const done = watchAndIndex({
      backend: flaky,
      notesDir,
      embedder,
      watchPollMs: 60_000,
      log: (line) => lines.push(line),
      retryFirst: true,
      stopped,
      firstRetryMs: 40,
      lastRetryMs: 100,
    });
    await until(async () => (await files.version(embedder)) !== undefined, 20_000, 'the index was never published');
    stop('SIGTERM');
    expect(await done).toBe(0);
    // One try per delay (40, 80, then capped at 100 ms), each failure logged with its reason.
    expect(attempts).toHaveLength(4);
    expect(lines.filter((line) => line.startsWith('indexing failed: the database at db:5432/asknotes is unreachable'))).toHaveLength(3);
    expect(lines.filter((line) => line.startsWith('retrying in '))).toEqual(['retrying in 40 ms', 'retrying in 80 ms', 'retrying in 100 ms', 'retrying in 100 ms']);
    expect(lines).toContain('indexing works again after 4 failed tries');
    expect(lines).toContain('SIGTERM received: finishing the running update, then exiting');
  });
});
