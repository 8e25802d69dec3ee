/**
 * Crash safety during a LIVE re-index (issue 8; `index-crash.test.ts` covers SIGKILL during
 * `npm run index`-style builds, 20 trials). Here the real server (`main()` in a child process) is
 * serving when a quarter of the notes change under it; its watcher starts the re-index, and the
 * child is SIGKILLed at a random (seeded) moment in that window. After every kill:
 *   - the notes folder is byte for byte what the test wrote (the server never writes it);
 *   - the index on disk loads without complaint and is exactly the old build or the new one;
 *   - the next start (the next trial's child) serves, answers, and catches up to the notes.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { openIndex, updateIndex } from '../src/vector-index/index-store.ts';
import { requestOnce, until } from './support/hardening-app.ts';
import { REPO_ROOT, collectLog, createTempDirs, expectedManifestContent, hashDirectory, manifestContent } from './support/index-fixtures.ts';
import { spawnLineChild } from './support/line-child.ts';
import { createRandom, generateCorpus } from './support/synthetic-corpus.ts';

const TRIALS = 10;
const SEED = Number(process.env['CRASH_SEED'] ?? 0x11fe);
const CORPUS_CHUNKS = 400;
const CHILD = join(REPO_ROOT, 'test/support/hardening-server-child.ts');

type SetName = 'old' | 'new';
type ManifestContent = Awaited<ReturnType<typeof expectedManifestContent>>;

type LogLine = { msg: string; [field: string]: unknown };

interface ServerChild {
  child: ChildProcess;
  /** Parsed JSON log lines (and the plain `loaded` line as {msg: 'loaded'}). */
  lines: LogLine[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Resolves with the first line whose msg matches; rejects if the child exits first. */
  waitFor(match: (msg: string) => boolean): Promise<LogLine>;
}

const children = new Set<ChildProcess>();

function parseLogLine(line: string): LogLine {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return { msg: line };
  }
}

function spawnServer(): ServerChild {
  const server = spawnLineChild(CHILD, REPO_ROOT, parseLogLine, children);
  return { ...server, waitFor: (match) => server.waitFor((line) => match(line.msg), 'the expected log line') };
}

const temp = createTempDirs();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await temp.cleanup();
});

describe('SIGKILL during a live re-index of the running server', () => {
  let notesDir: string;
  let indexDir: string;
  /** The files that differ between the two sets, with both versions. */
  const versions = new Map<string, Record<SetName, string>>();
  const expected: Record<SetName, ManifestContent> = { old: {}, new: {} };

  async function writeSet(name: SetName): Promise<void> {
    for (const [path, texts] of versions) await writeFile(join(notesDir, path), texts[name]);
  }

  beforeAll(async () => {
    notesDir = await temp.make('asknotes-live-crash-notes-');
    indexDir = await temp.make('asknotes-live-crash-index-');
    const corpus = await generateCorpus({ seed: 11, targetChunks: CORPUS_CHUNKS, dir: notesDir });
    for (const [position, file] of corpus.files.entries()) {
      if (position % 4 !== 0) continue;
      const text = await readFile(join(notesDir, file), 'utf8');
      versions.set(file, { old: text, new: `${text}\n## Revised\n\nRevision ${position}: the quokka cache was rebuilt after the outage.\n` });
    }
    await writeSet('new');
    expected.new = await expectedManifestContent(notesDir);
    await writeSet('old');
    expected.old = await expectedManifestContent(notesDir);
    expect(expected.old).not.toEqual(expected.new);
    // The first index, built in-process: the server starts with a complete old build.
    await updateIndex({ notesDir, indexDir, embedder: createLocalEmbedder() });
  });

  /** What a restart would load: the index on disk, which must be one whole build and raise no complaint. */
  async function indexOnDisk(context: string): Promise<SetName> {
    const log = collectLog();
    const index = await openIndex(indexDir, createLocalEmbedder(), { log: log.log });
    expect(log.lines, context).toEqual([]);
    expect(index, context).toBeDefined();
    const content = manifestContent(index!.manifest);
    const which = (['old', 'new'] as const).find((name) => isDeepStrictEqual(content, expected[name]));
    expect(which, `${context}: the index on disk is neither the old nor the new build`).toBeDefined();
    expect(index!.chunks.map((chunk) => chunk.id), context).toEqual(Object.values(content).flatMap((entry) => entry.chunkIds));
    expect(index!.store.index.getCurrentCount(), context).toBe(index!.manifest.chunkCount);
    return which!;
  }

  /** Starts `server` on the notes as they are; resolves with its URL once it serves the index of `notes`. */
  async function start(server: ServerChild, notes: SetName, context: string): Promise<string> {
    await server.waitFor((msg) => msg === 'loaded');
    server.child.stdin!.write(
      `${JSON.stringify({ NOTES_DIR: notesDir, INDEX_DIR: indexDir, PORT: '0', EMBEDDINGS: 'local', LLM: 'none', OLLAMA_HOST: 'http://127.0.0.1:9', OLLAMA_CONNECT_TIMEOUT_MS: '200', WATCH_POLL_MS: '0' })}\n`,
    );
    const listening = await server.waitFor((msg) => msg === 'listening');
    const url = String(listening['url']);
    // The index it opened was served at once: ready, and answering from the notes.
    await until(async () => (await requestOnce(url, 'GET', '/readyz', undefined)).status === 200, 30_000, `${context}: not ready`);
    const answer = await requestOnce(url, 'POST', '/ask', JSON.stringify({ question: 'What happened to the quokka cache?' }), { headers: { 'content-type': 'application/json' } });
    expect(answer.status, context).toBe(200);
    // …then caught up with the notes on disk.
    const want = expected[notes];
    await until(
      async () => {
        const status = JSON.parse((await requestOnce(url, 'GET', '/index/status', undefined)).body) as { state: string; notes: Array<{ path: string; hash: string | null }> };
        return status.state === 'idle' && isDeepStrictEqual(Object.fromEntries(status.notes.map((note) => [note.path, note.hash])), Object.fromEntries(Object.entries(want).map(([path, entry]) => [path, entry.hash])));
      },
      60_000,
      `${context}: did not catch up with the ${notes} notes`,
    );
    // It loaded what was on disk without calling any of it unusable.
    expect(server.lines.filter((line) => /cannot be used|indexing failed/.test(line.msg)), context).toEqual([]);
    return url;
  }

  it(`leaves a complete index (old or new) and untouched notes, at ${TRIALS} random moments`, async () => {
    let notes: SetName = 'old';
    let next = spawnServer();

    // Calibration: how long, here and now, from changing the notes to the new index being live.
    const calibrate = next;
    next = spawnServer();
    await start(calibrate, notes, 'calibration');
    notes = 'new';
    let changedAt = performance.now();
    await writeSet(notes);
    await calibrate.waitFor((msg) => msg.startsWith('indexed '));
    const liveMs = performance.now() - changedAt;
    calibrate.child.kill('SIGKILL');
    await calibrate.exited;
    expect(await indexOnDisk('calibration')).toBe('new');
    const window = liveMs * 1.3;

    const random = createRandom(SEED);
    const outcomes: string[] = [];
    let switched = 0;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const server = next;
      next = spawnServer();
      await indexOnDisk(`trial ${trial} start`);
      await start(server, notes, `trial ${trial} start`);
      const from: SetName = notes;
      const linesBefore = server.lines.length;
      notes = from === 'old' ? 'new' : 'old';
      await writeSet(notes);
      const notesHash = await hashDirectory(notesDir);
      changedAt = performance.now();
      // Every other kill anywhere in the window; the others in its second half, where the new
      // generation is embedded, written and switched in (the first part is the watcher's debounce).
      const draw = random();
      const killAfter = trial % 2 === 0 ? draw * window : liveMs * (0.5 + draw * 0.8);
      await sleep(Math.max(0, killAfter - (performance.now() - changedAt)));
      server.child.kill('SIGKILL');
      const { signal } = await server.exited;
      expect(signal).toBe('SIGKILL');
      // Only a build after the change counts (a restart may have caught up with earlier changes first).
      const finished = server.lines.slice(linesBefore).some((line) => line.msg.startsWith('indexed '));

      const context = `seed ${SEED}, trial ${trial} (kill after ${Math.round(killAfter)} of ~${Math.round(liveMs)} ms, from ${from} to ${notes}): ${server.stderr()}`;
      expect(await hashDirectory(notesDir), context).toBe(notesHash);
      const now = await indexOnDisk(context);
      if (finished) expect(now, context).toBe(notes);
      else expect([from, notes], context).toContain(now);
      if (now === notes) switched += 1;
      outcomes.push(`${Math.round(killAfter)}ms:${finished ? 'done' : 'killed'}->${now === notes ? 'new' : 'kept'}`);
    }
    // The last restart serves and catches up, like every one before it.
    const last = next;
    await start(last, notes, 'final restart');
    last.child.kill('SIGKILL');
    await last.exited;

    // Where the kills landed depends on the machine's speed at the time; the count is reported, not asserted.
    console.info(`live re-index crash trials (${TRIALS}, live after ~${Math.round(liveMs)} ms, ${switched} after the switch): ${outcomes.join(', ')}`);
  }, 240_000);
});
