/**
 * `GET /notes/<path>` serves indexed notes as inert text and nothing else. Every traversal form is
 * tried against two servers: the production wiring (index gate + readNoteFile, as in main.ts) and
 * one with a deliberately naive readNote that reads any path it is given, which proves the
 * server's own URL checks hold even if the reader did not. Paths are sent byte for byte.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNoteFile } from '../src/notes/read-note-file.ts';
import { notePathFromUrl } from '../src/server/notes-route.ts';
import { rawRequest, startTestServer } from './support/start-test-server.ts';
import type { TestServer } from './support/start-test-server.ts';

const SECRET = 'TOP SECRET: outside the notes folder';
let root = '';
let notesDir = '';
let secretPath = '';
let production: TestServer;
let naive: TestServer;

const INDEXED = ['guide.md', 'day1/compose.md', 'with space.md', '100% sure.md', 'unicodé.md', 'xss.md'];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'asknotes-notes-route-'));
  notesDir = join(root, 'notes');
  secretPath = join(root, 'secret.md');
  await mkdir(join(notesDir, 'day1'), { recursive: true });
  await writeFile(secretPath, SECRET);
  await writeFile(join(notesDir, 'guide.md'), '# Guide\n\nLine two.\n');
  await writeFile(join(notesDir, 'day1', 'compose.md'), '# Compose\n');
  await writeFile(join(notesDir, 'with space.md'), 'spaces');
  await writeFile(join(notesDir, '100% sure.md'), 'percent');
  await writeFile(join(notesDir, 'unicodé.md'), 'accent');
  await writeFile(join(notesDir, 'xss.md'), '<script>alert(1)</script><img src=x onerror=alert(2)>');
  await writeFile(join(notesDir, '.hidden.md'), SECRET);
  await symlink(secretPath, join(notesDir, 'link-out.md'));
  await symlink(root, join(notesDir, 'linkdir'));

  // As main.ts wires it: only notes in the index, through the safe reader.
  // The symlinks are listed too, so that the reader itself (not the index gate) must refuse them.
  const indexed = new Set([...INDEXED, 'link-out.md', 'linkdir/secret.md']);
  production = await startTestServer({
    readNote: async (path) => (indexed.has(path) ? readNoteFile(notesDir, path) : undefined),
  });
  // A reader with no checks at all: only the server's URL handling stands in the way.
  naive = await startTestServer({
    readNote: async (path) => {
      try {
        return await readFile(join(notesDir, path), 'utf8');
      } catch {
        return undefined;
      }
    },
  });
});

afterAll(async () => {
  await production?.close();
  await naive?.close();
  if (root !== '') await rm(root, { recursive: true, force: true });
});

const TRAVERSALS: string[] = [
  '/notes/../secret.md',
  '/notes/..%2fsecret.md',
  '/notes/..%2Fsecret.md',
  '/notes/%2e%2e/secret.md',
  '/notes/%2e%2e%2fsecret.md',
  '/notes/%2E%2E%2Fsecret.md',
  '/notes/.%2e/secret.md',
  '/notes/%252e%252e%252fsecret.md',
  '/notes/..%252fsecret.md',
  '/notes/..%5csecret.md',
  '/notes/..\\secret.md',
  '/notes/%2e%2e%5c%2e%2e%5csecret.md',
  '/notes/day1/../../secret.md',
  '/notes/day1/%2e%2e/%2e%2e/secret.md',
  '/notes/day1%2f..%2f..%2fsecret.md',
  '/notes//etc/passwd',
  '/notes/%2fetc%2fpasswd',
  '/notes/%2Fguide.md',
  `/notes/${encodeURIComponent('SECRET_PATH')}`,
  '/notes/C:%5cWindows%5cwin.ini',
  '/notes/C:/Windows/win.ini',
  '/notes/guide.md%00',
  '/notes/guide.md%00.png',
  '/notes/%00../secret.md',
  '/notes/%c0%ae%c0%ae/secret.md',
  '/notes/%E0%A4%A',
  '/notes/%',
  '/notes/%zz',
  '/notes/./guide.md',
  '/notes/day1//compose.md',
  '/notes/guide.md/',
  '/notes/.hidden.md',
  '/notes/%2ehidden.md',
  '/notes/',
  '/notes',
  `/notes/${'a/'.repeat(600)}x.md`,
];

const expandTraversal = (path: string): string => path.replace('SECRET_PATH', secretPath);

describe('GET /notes traversal attempts', () => {
  it('uses at least 15 forms', () => {
    expect(TRAVERSALS.length).toBeGreaterThanOrEqual(15);
  });

  describe.each([
    ['production wiring', () => production],
    ['naive reader', () => naive],
  ])('%s', (_name, server) => {
    it.each(TRAVERSALS)('404 for %s', async (path) => {
      const response = await rawRequest(server().url, { path: expandTraversal(path) });
      expect(response.status).toBe(404);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'not_found' } });
      expect(response.body).not.toContain('TOP SECRET');
    });
  });

  // Symlinks look like ordinary paths in the URL: only the reader's realpath check can stop them.
  it.each(['/notes/link-out.md', '/notes/linkdir/secret.md'])(
    '404 for %s, a symlink that points outside (production wiring)',
    async (path) => {
      const response = await rawRequest(production.url, { path });
      expect(response.status).toBe(404);
      expect(response.body).not.toContain('TOP SECRET');
    },
  );

  it('404 for a note on disk that is not in the index', async () => {
    await writeFile(join(notesDir, 'unindexed.md'), 'not yet indexed');
    expect((await rawRequest(production.url, { path: '/notes/unindexed.md' })).status).toBe(404);
  });
});

describe('GET /notes serves indexed notes', () => {
  it.each([
    ['/notes/guide.md', '# Guide\n\nLine two.\n'],
    ['/notes/day1/compose.md', '# Compose\n'],
    ['/notes/with%20space.md', 'spaces'],
    ['/notes/100%25%20sure.md', 'percent'],
    ['/notes/unicod%C3%A9.md', 'accent'],
    ['/notes/guide.md?download=1', '# Guide\n\nLine two.\n'],
  ])('%s', async (path, text) => {
    const response = await rawRequest(production.url, { path });
    expect(response.status).toBe(200);
    expect(response.body).toBe(text);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('serves HTML-looking notes as inert text', async () => {
    const response = await rawRequest(production.url, { path: '/notes/xss.md' });
    expect(response.status).toBe(200);
    expect(response.body).toContain('<script>');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
  });

  it('answers HEAD without a body', async () => {
    const response = await rawRequest(production.url, { method: 'HEAD', path: '/notes/guide.md' });
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength('# Guide\n\nLine two.\n')));
  });

  it('does not serve notes to other methods', async () => {
    expect((await rawRequest(production.url, { method: 'POST', path: '/notes/guide.md' })).status).toBe(404);
  });
});

describe('notePathFromUrl', () => {
  it.each<[string, string | undefined]>([
    ['guide.md', 'guide.md'],
    ['day1/compose.md', 'day1/compose.md'],
    ['with%20space.md', 'with space.md'],
    ['100%25%20sure.md', '100% sure.md'],
    ['%E6%97%A5%E6%9C%AC.md', '日本.md'],
    ['..%2fsecret.md', undefined],
    ['%252e%252e%252fx.md', undefined],
    ['a%5cb.md', undefined],
    ['%00', undefined],
    ['a%0a.md', undefined],
    ['/abs.md', undefined],
    ['c:x.md', undefined],
    ['%E0%A4%A', undefined],
    ['', undefined],
  ])('%s -> %s', (encoded, expected) => {
    expect(notePathFromUrl(encoded)).toBe(expected);
  });
});
