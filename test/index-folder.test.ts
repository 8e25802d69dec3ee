/**
 * Folders that cannot be used (issue 17): INDEX_DIR on a read-only file system, not writable, not a
 * folder, or on /proc; NOTES_DIR missing or not a folder. Each is named in plain words with the fix,
 * in the log at `error`, in /readyz `reason`, and a build that cannot make progress fails within
 * seconds instead of "still running" for ever.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { describeNotesFolderError, FolderProblem } from '../src/notes/folder-problem.ts';
import { loadNotes } from '../src/notes/load-notes.ts';
import { describeIndexFolderError, prepareIndexFolder } from '../src/vector-index/index-folder.ts';
import { createFilesBackend } from '../src/vector-index/files/files-backend.ts';
import { createLiveIndex } from '../src/vector-index/live-index.ts';
import { requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';

const isRoot = process.getuid?.() === 0;
const hasProc = existsSync('/proc/self');

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'asknotes-folders-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('plain words for index-folder errors', () => {
  it.each([
    ['EROFS', 'is on a read-only file system'],
    ['EACCES', 'is not writable by this user'],
    ['EPERM', 'is not writable by this user'],
    ['ENOTDIR', 'is not a folder'],
    ['ENOENT', 'cannot be created: the file system there does not hold ordinary folders (such as /proc or /sys)'],
    ['ENOSPC', 'is on a full disk'],
    ['EIO', 'cannot be used (EIO)'],
  ])('%s -> "%s", naming INDEX_DIR, the folder and the fix', (code, words) => {
    const problem = describeIndexFolderError(code, '/data/index');
    expect(problem).toBeInstanceOf(FolderProblem);
    expect(problem.message).toContain(`INDEX_DIR /data/index ${words}`);
    expect(problem.message).toContain('Set INDEX_DIR to a folder this user can write');
    expect(problem.message).not.toMatch(/\b(mkdir|open|scandir)\b/);
  });
});

describe('plain words for notes-folder errors', () => {
  it.each([
    ['ENOENT', 'does not exist'],
    ['EACCES', 'is not readable by this user'],
    ['ENOTDIR', 'is not a folder'],
    ['ELOOP', 'is a symbolic link that loops'],
  ])('%s -> "%s", naming NOTES_DIR and the fix', (code, words) => {
    const problem = describeNotesFolderError(code, '/notes');
    expect(problem.message).toBe(`NOTES_DIR /notes ${words}. ${problem.fix}`);
    expect(problem.fix).toContain('Set NOTES_DIR');
  });
});

describe('prepareIndexFolder', () => {
  it('creates missing parents one level at a time and leaves no probe file behind', async () => {
    const target = join(scratch, 'a', 'b', 'c');
    await prepareIndexFolder(target);
    expect((await stat(target)).isDirectory()).toBe(true);
    await prepareIndexFolder(target);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses a path below a file: not a folder', async () => {
    const file = join(scratch, 'package.json');
    await writeFile(file, '{}');
    await expect(prepareIndexFolder(join(file, 'idx'))).rejects.toThrow(`INDEX_DIR ${join(file, 'idx')} is not a folder`);
    await expect(prepareIndexFolder(file)).rejects.toThrow('is not a folder');
  });

  it.skipIf(!hasProc)('fails at once under /proc, where Node\'s recursive mkdir would loop for ever', async () => {
    const started = Date.now();
    await expect(prepareIndexFolder('/proc/asknotes-index/x')).rejects.toThrow(/INDEX_DIR \/proc\/asknotes-index\/x cannot be created: .*\/proc/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  // Root writes through mode bits, so only a non-root run can see EACCES.
  it.skipIf(isRoot)('refuses a folder this user cannot write', async () => {
    const locked = join(scratch, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o555);
    try {
      await expect(prepareIndexFolder(join(locked, 'index'))).rejects.toThrow('is not writable by this user');
    } finally {
      await chmod(locked, 0o755);
    }
  });
});

describe('a missing notes folder', () => {
  it('is named in plain words with the fix', async () => {
    const missing = join(scratch, 'no-such-notes');
    await expect(loadNotes(missing)).rejects.toThrow(`NOTES_DIR ${missing} does not exist. Set NOTES_DIR`);
    const file = join(scratch, 'notes.txt');
    await writeFile(file, 'not a folder');
    await expect(loadNotes(file)).rejects.toThrow(`NOTES_DIR ${file} is not a folder.`);
  });
});

describe('the live index with an unusable INDEX_DIR', () => {
  it('ends the build with the reason, reported through logError, and is not left building', async () => {
    const notesDir = join(scratch, 'live-notes');
    await mkdir(notesDir, { recursive: true });
    await writeFile(join(notesDir, 'a.md'), '# A\n\nAlpha.\n');
    const blocker = join(scratch, 'blocker');
    await writeFile(blocker, '');
    const info: string[] = [];
    const errors: string[] = [];
    const live = createLiveIndex({
      backend: createFilesBackend({ indexDir: join(blocker, 'index') }),
      notesDir,
      embedder: createLocalEmbedder(),
      log: (line) => info.push(line),
      logError: (line) => errors.push(line),
    });
    await live.update();
    expect(live.state().building).toBe(false);
    expect(live.state().current).toBeUndefined();
    expect(live.state().lastError).toContain('is not a folder');
    expect(errors).toEqual([`indexing failed: ${live.state().lastError}`]);
    expect(info.filter((line) => line.startsWith('indexing failed'))).toEqual([]);
  });
});

describe('the composed server with an unusable folder', () => {
  let server: ComposedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function failedReadiness(env: Record<string, string>): Promise<{ reason: string; errors: string[] }> {
    server = await startComposedServer({ env });
    const running = server;
    let reason = '';
    // "Within seconds": the build must end in a reported failure, never stay "still running".
    await until(
      async () => {
        const ready = await requestOnce(running.url, 'GET', '/readyz', undefined);
        const body = JSON.parse(ready.body) as { reason?: string; building?: boolean };
        reason = body.reason ?? '';
        return ready.status === 503 && body.building === false && reason.startsWith('The index could not be built');
      },
      10_000,
      'the failed build was not reported',
    );
    const errors = running.logs.lines.filter((line) => line.level === 'error').map((line) => line.msg);
    return { reason, errors };
  }

  it('INDEX_DIR below a file: /readyz and the error log say "is not a folder" and how to fix it', async () => {
    const blocker = join(scratch, 'composed-blocker');
    await writeFile(blocker, '');
    const { reason, errors } = await failedReadiness({ INDEX_DIR: join(blocker, 'idx') });
    expect(reason).toContain(`INDEX_DIR ${join(blocker, 'idx')} is not a folder`);
    expect(reason).toContain('Set INDEX_DIR to a folder this user can write');
    expect(reason).not.toMatch(/ENOTDIR|ENOENT|mkdir/);
    expect(errors.some((line) => line.includes('is not a folder'))).toBe(true);
  });

  it.skipIf(!hasProc)('INDEX_DIR under /proc fails within seconds instead of "still running" for ever', async () => {
    const { reason } = await failedReadiness({ INDEX_DIR: '/proc/asknotes-index' });
    expect(reason).toMatch(/INDEX_DIR \/proc\/asknotes-index cannot be created/);
  });

  it('a missing NOTES_DIR is logged at error and named in /readyz', async () => {
    const missing = join(scratch, 'composed-missing-notes');
    const { reason, errors } = await failedReadiness({ NOTES_DIR: missing });
    expect(reason).toContain(`NOTES_DIR ${missing} does not exist`);
    expect(errors.some((line) => line.includes(`NOTES_DIR ${missing} does not exist`))).toBe(true);
  });
});
