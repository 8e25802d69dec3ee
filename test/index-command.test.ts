/**
 * `npm run index [-- --rebuild]` as a user runs it (issue 2, "Done when" 1): a child process on temp
 * NOTES_DIR / INDEX_DIR, no Ollama (OLLAMA_HOST is a closed port, so `auto` must not wait).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { openIndex } from '../src/vector-index/index-store.ts';
import { closedPortUrl } from './support/fake-ollama.ts';
import {
  REPO_ROOT,
  SECOND_NOTE,
  copySampleNotes,
  createTempDirs,
  expectedChunks,
  hashDirectory,
  writeNote,
} from './support/index-fixtures.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function npmRunIndex(args: string[], variables: Record<string, string>): Promise<Run> {
  // Only what the test sets: a developer's own NOTES_DIR or OLLAMA_HOST must not leak in.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'OLLAMA_BASE_URL']) delete env[name];
  Object.assign(env, variables);
  const child = spawn('npm', ['run', '--silent', 'index', ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The summary block as `{ notes: '2', chunks: '51', … }`. */
function summaryOf(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => /^(embedder|notes|chunks|embedded|reused|removed|failed|seconds)\s+(.+)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1]!, match[2]!]),
  );
}

const temp = createTempDirs();
afterAll(() => temp.cleanup());

describe('npm run index', () => {
  let notesDir: string;
  let indexDir: string;
  let ollamaHost: string;
  let chunkCount: number;
  const brokenNote = 'broken.md';

  beforeAll(async () => {
    notesDir = await temp.make('asknotes-cli-notes-');
    indexDir = await temp.make('asknotes-cli-index-');
    await copySampleNotes(notesDir);
    await writeNote(notesDir, SECOND_NOTE.path, SECOND_NOTE.text);
    // Latin-1 bytes: not UTF-8, so the loader reports it and the build goes on without it.
    await writeFile(join(notesDir, brokenNote), Buffer.from([0x23, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x0a]));
    chunkCount = (await expectedChunks(notesDir)).length;
    ollamaHost = await closedPortUrl();
  });

  it('builds the index, prints progress lines and the summary, and exits 0', async () => {
    const notesBefore = await hashDirectory(notesDir);
    const run = await npmRunIndex([], { NOTES_DIR: notesDir, INDEX_DIR: indexDir, EMBEDDINGS: 'local', OLLAMA_HOST: ollamaHost });
    expect(run.code, run.stderr).toBe(0);
    const embedderId = createLocalEmbedder().id;
    expect(summaryOf(run.stdout)).toMatchObject({
      embedder: embedderId,
      notes: '2',
      chunks: String(chunkCount),
      embedded: String(chunkCount),
      reused: '0',
      removed: '0',
      failed: '1',
    });
    expect(summaryOf(run.stdout)['seconds']).toMatch(/^\d+\.\d\d$/);
    expect(run.stdout).toMatch(new RegExp(`^  ${brokenNote}: not valid UTF-8`, 'm'));
    // Not a TTY: plain progress lines on stderr, no carriage returns or escape codes.
    expect(run.stderr).toContain(`embedder ${embedderId} (EMBEDDINGS=local)`);
    expect(run.stderr).toContain('scanned 2 notes');
    expect(run.stderr).toContain(`embedding ${chunkCount}/${chunkCount}`);
    expect(run.stderr).toContain(`writing ${chunkCount} chunks`);
    expect(run.stderr).not.toMatch(/[\r\u001b]/);

    const index = await openIndex(indexDir, createLocalEmbedder());
    expect(index?.chunks).toHaveLength(chunkCount);
    expect(await hashDirectory(notesDir)).toBe(notesBefore);
  });

  it('with EMBEDDINGS=auto and no Ollama, falls back to the local embedder and reuses every vector', async () => {
    const run = await npmRunIndex([], { NOTES_DIR: notesDir, INDEX_DIR: indexDir, EMBEDDINGS: 'auto', OLLAMA_HOST: ollamaHost });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Ollama is not reachable at http:\/\/127\.0\.0\.1:\d+; using the built-in local embedder/);
    expect(summaryOf(run.stdout)).toMatchObject({ chunks: String(chunkCount), embedded: '0', reused: String(chunkCount) });
  });

  it('-- --rebuild re-embeds every chunk', async () => {
    const run = await npmRunIndex(['--rebuild'], { NOTES_DIR: notesDir, INDEX_DIR: indexDir, EMBEDDINGS: 'local', OLLAMA_HOST: ollamaHost });
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ chunks: String(chunkCount), embedded: String(chunkCount), reused: '0' });
  });

  it.each([
    { variable: 'EMBEDDINGS', value: 'sometimes', message: /Invalid configuration: EMBEDDINGS .*"sometimes"/ },
    { variable: 'OLLAMA_HOST', value: 'ftp://127.0.0.1:1', message: /Invalid configuration: OLLAMA_HOST must use http or https/ },
    { variable: 'NOTES_DIR', value: '/nonexistent/asknotes-notes', message: /^NOTES_DIR \/nonexistent\/asknotes-notes does not exist\. Set NOTES_DIR/m },
    // Node's recursive mkdir loops for ever under /proc; the index folder check fails at once (issue 17).
    { variable: 'INDEX_DIR', value: '/proc/asknotes-cli-index', message: /^INDEX_DIR \/proc\/asknotes-cli-index cannot be created: .*Set INDEX_DIR/m },
  ])('a bad $variable exits non-zero with one message naming it', async ({ variable, value, message }) => {
    const badIndexDir = join(await temp.make('asknotes-cli-bad-'), 'index');
    const run = await npmRunIndex([], {
      NOTES_DIR: notesDir,
      INDEX_DIR: badIndexDir,
      EMBEDDINGS: 'local',
      OLLAMA_HOST: ollamaHost,
      [variable]: value,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
    expect(run.stdout).toBe('');
    expect(existsSync(badIndexDir)).toBe(false);
  });
});
