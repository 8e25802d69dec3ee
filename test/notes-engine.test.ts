/**
 * composeNotesEngine: the start-up `npm start` and `npm run mcp` share. Composing answers nothing
 * yet (the HTTP server listens in between); start() opens/builds the index, watches the notes and
 * (ROLE=serve) follows an index another process wrote without building one itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { composeNotesEngine, type EngineLog } from '../src/library/notes-engine.ts';
import { closedPortUrl } from './support/fake-ollama.ts';
import { until } from './support/hardening-app.ts';
import { writeNote } from './support/index-fixtures.ts';

let notesDir: string;
let indexDir: string;
let ollama: string;
beforeAll(async () => {
  notesDir = await mkdtemp(join(tmpdir(), 'asknotes-engine-notes-'));
  indexDir = await mkdtemp(join(tmpdir(), 'asknotes-engine-index-'));
  ollama = await closedPortUrl();
  await writeNote(notesDir, 'garden.md', '# Garden\n\nPlant tomatoes by May.\n');
});
afterAll(async () => {
  await rm(notesDir, { recursive: true, force: true });
  await rm(indexDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
});

const configWith = (extra: Record<string, string> = {}) =>
  parseConfig({
    NOTES_DIR: notesDir,
    INDEX_DIR: indexDir,
    OLLAMA_HOST: ollama,
    OLLAMA_CONNECT_TIMEOUT_MS: '300',
    EMBEDDINGS: 'local',
    LLM: 'none',
    WATCH_POLL_MS: '100',
    INDEX_FOLLOW_MS: '100',
    ...extra,
  });

function quietLog(): EngineLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (message) => lines.push(message), warn: (message) => lines.push(message), error: (message) => lines.push(message) };
}

const paths = async (list: () => Promise<{ path: string }[]>) => (await list()).map((note) => note.path).sort();

describe('composeNotesEngine', () => {
  it('composes without indexing, then start() builds, serves and follows note changes', async () => {
    const log = quietLog();
    let checks = 0;
    const engine = await composeNotesEngine(configWith(), { log, afterCheck: () => checks++ });
    try {
      expect(checks).toBe(1);
      expect(engine.live.state().current).toBeUndefined();
      expect(engine.tracker.mode().mode).toBe('extractive');
      expect(log.lines.some((line) => line.startsWith('embedder local:'))).toBe(true);

      await engine.start();
      await until(() => engine.live.state().current !== undefined && !engine.live.state().building, 30_000, 'the first build');
      expect(await paths(() => engine.library.list())).toEqual(['garden.md']);
      const answer = await engine.library.ask({ question: 'When do I plant tomatoes?' }, { signal: new AbortController().signal });
      expect(JSON.stringify(answer)).toContain('garden.md');

      await writeNote(notesDir, 'kitchen.md', '# Kitchen\n\nDescale the kettle monthly.\n');
      await until(async () => (await paths(() => engine.library.list())).includes('kitchen.md'), 30_000, 'the watcher to index a new note');
    } finally {
      await engine.stop();
      await engine.backend.close();
    }
  });

  it('ROLE=serve never builds: it opens the index another process wrote', async () => {
    const emptyIndex = await mkdtemp(join(tmpdir(), 'asknotes-engine-index-'));
    try {
      const serving = await composeNotesEngine(configWith({ INDEX_DIR: emptyIndex, ROLE: 'serve' }), { log: quietLog() });
      await serving.start();
      expect(serving.live.state().current).toBeUndefined();
      expect(serving.live.state().building).toBe(false);

      const writer = await composeNotesEngine(configWith({ INDEX_DIR: emptyIndex }), { log: quietLog() });
      await writer.live.update();
      await until(() => serving.live.state().current !== undefined, 30_000, 'the serving engine to follow the written index');
      expect(await paths(() => serving.library.list())).toContain('garden.md');
      await Promise.all([serving.stop(), writer.stop()]);
      await Promise.all([serving.backend.close(), writer.backend.close()]);
    } finally {
      await rm(emptyIndex, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    }
  });
});
