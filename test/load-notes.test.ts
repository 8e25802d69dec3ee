import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isNotePath,
  listNoteFiles,
  loadNote,
  loadNotes,
  parseNote,
  type LoadedNotes,
  type Note,
} from '../src/notes/load-notes.ts';
import { readNoteFile } from '../src/notes/read-note-file.ts';

let base: string;
let root: string;
let outside: string;
let hasFifo = false;

const BOM_CRLF = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Bom Note\r\n\r\nline\r\n')]);

async function write(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
}

/** Every path under a folder with its size and modification time, to prove nothing was written. */
async function snapshot(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true });
  const rows = await Promise.all(
    entries.map(async (entry) => {
      const info = await stat(join(folder, entry)).catch(() => undefined);
      return `${entry} ${info?.size ?? 'link'} ${info?.mtimeMs ?? ''}`;
    }),
  );
  return rows.sort();
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'asknotes-load-'));
  root = join(base, 'notes');
  outside = join(base, 'outside');
  await write(join(outside, 'secret.md'), '# Secret\n\nnot a note of this folder\n');
  await write(join(root, 'a.md'), '# Alpha\n\nalpha text\n');
  await write(join(root, 'b.markdown'), 'beta text\n');
  await write(join(root, 'c.txt'), 'plain text note\n');
  await write(join(root, 'UPPER.MD'), 'upper-case extension\n');
  await write(join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await write(join(root, 'data.json'), '{}');
  await write(join(root, 'sub', 'deep', 'd.md'), '## Deep\n\ndeep text\n');
  await write(join(root, 'folder.md', 'inside.md'), 'a note inside a folder named like a note\n');
  await write(join(root, '.hidden.md'), 'hidden\n');
  await write(join(root, '.obsidian', 'workspace.md'), 'hidden folder\n');
  await write(join(root, 'node_modules', 'pkg', 'README.md'), 'dependency\n');
  await write(join(root, 'sub', '.trash', 'old.md'), 'hidden nested folder\n');
  await write(join(root, 'bom.md'), BOM_CRLF);
  await write(join(root, 'front.md'), '---\ntitle: From Front Matter\ntags: [docker, "#compose", docker]\n---\n# Heading Title\n\nbody\n');
  await write(join(root, 'tag-string.md'), '---\ntags: "alpha, beta #gamma"\n---\nbody\n');
  await write(join(root, 'front-bad.md'), '---\ntitle: [unclosed\n---\n# Fallback Title\n\nbody\n');
  await write(join(root, 'no-heading.md'), 'just text, no heading\n');
  await write(join(root, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  await write(join(root, 'utf16.md'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hi\n', 'utf16le')]));
  await write(join(root, 'binary.txt'), Buffer.from([0x41, 0x00, 0x42]));
  await write(join(root, 'big.md'), `${'x'.repeat(2000)}\n`);
  await symlink(join(root, 'a.md'), join(root, 'link-in.md'));
  await symlink(join(outside, 'secret.md'), join(root, 'link-out.md'));
  await symlink(outside, join(root, 'dir-out'));
  await symlink(join(root, 'sub'), join(root, 'dir-in'));
  await symlink(join(root, 'missing.md'), join(root, 'broken.md'));
  await symlink(join(root, 'loop.md'), join(root, 'loop.md'));
  await symlink(join(root, '.hidden.md'), join(root, 'to-hidden.md'));
  try {
    execFileSync('mkfifo', [join(root, 'pipe.md')]);
    hasFifo = true;
  } catch {
    hasFifo = false; // no mkfifo on this system: the FIFO case is skipped below
  }
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('loadNotes', () => {
  let loaded: LoadedNotes;
  let before: string[];
  const byPath = (path: string): Note => {
    const found = loaded.notes.find((note) => note.path === path);
    if (found === undefined) throw new Error(`no note ${path}`);
    return found;
  };
  const reasonFor = (path: string): string | undefined => loaded.failures.find((failure) => failure.path === path)?.reason;

  beforeAll(async () => {
    before = await snapshot(base);
    loaded = await loadNotes(root, { maxBytes: 1024 });
  });

  it('finds .md, .markdown and .txt notes recursively, sorted, with "/" paths, skipping hidden and node_modules', () => {
    expect(loaded.notes.map((note) => note.path)).toEqual([
      'UPPER.MD',
      'a.md',
      'b.markdown',
      'bom.md',
      'c.txt',
      'folder.md/inside.md',
      'front-bad.md',
      'front.md',
      'link-in.md',
      'no-heading.md',
      'sub/deep/d.md',
      'tag-string.md',
    ]);
  });

  it.each([
    { path: 'latin1.md', reason: /not valid UTF-8/ },
    { path: 'utf16.md', reason: /UTF-16/ },
    { path: 'binary.txt', reason: /NUL bytes/ },
    { path: 'big.md', reason: /larger than the 1024 bytes limit/ },
    { path: 'link-out.md', reason: /outside the notes folder/ },
    { path: 'dir-out', reason: /outside the notes folder/ },
    { path: 'broken.md', reason: /broken symlink/ },
    { path: 'loop.md', reason: /broken symlink \(too many symlinks/ },
    { path: 'to-hidden.md', reason: /hidden/ },
  ])('reports $path as a failure with a reason, without stopping', ({ path, reason }) => {
    expect(reasonFor(path)).toMatch(reason);
  });

  it.runIf(process.platform !== 'win32')('reports a FIFO named like a note instead of blocking on it', () => {
    if (!hasFifo) return;
    expect(reasonFor('pipe.md')).toMatch(/not a regular file/);
  });

  it('lists failures sorted by path and never lists a note twice', () => {
    const paths = loaded.failures.map((failure) => failure.path);
    expect(paths).toEqual([...paths].sort());
    const all = [...loaded.notes.map((note) => note.path), ...paths];
    expect(new Set(all).size).toBe(all.length);
    // The in-folder folder link is not followed: its notes are already read at their real paths.
    expect(all.some((path) => path.startsWith('dir-in'))).toBe(false);
    expect(all.some((path) => path.includes('secret'))).toBe(false);
  });

  it('strips a BOM, keeps CRLF in the text, and hashes the raw bytes', () => {
    const note = byPath('bom.md');
    expect(note.text).toBe('# Bom Note\r\n\r\nline\r\n');
    expect(note.title).toBe('Bom Note');
    expect(note.hash).toBe(createHash('sha256').update(BOM_CRLF).digest('hex'));
  });

  it.each([
    { path: 'front.md', title: 'From Front Matter', tags: ['docker', 'compose'] },
    { path: 'tag-string.md', title: 'tag-string', tags: ['alpha', 'beta', 'gamma'] },
    { path: 'a.md', title: 'Alpha', tags: [] },
    { path: 'no-heading.md', title: 'no-heading', tags: [] },
    { path: 'front-bad.md', title: 'Fallback Title', tags: [] },
  ])('reads title and tags of $path', ({ path, title, tags }) => {
    expect(byPath(path)).toMatchObject({ title, tags });
  });

  it('keeps a note with malformed front matter, with a warning', () => {
    const note = byPath('front-bad.md');
    expect(note.warnings?.[0]).toMatch(/front matter \(lines 1-3\) is not valid YAML.*kept as note text/);
    expect(byPath('front.md').warnings).toBeUndefined();
  });

  it('reads a symlinked note inside the folder', () => {
    expect(byPath('link-in.md').text).toBe(byPath('a.md').text);
  });

  it('never writes to the notes folder', async () => {
    await readNoteFile(root, 'a.md');
    await loadNote(root, 'a.md');
    expect(await snapshot(base)).toEqual(before);
  });

  it('listNoteFiles gives the candidate files in the same order', async () => {
    const listed = await listNoteFiles(root);
    expect(listed).toEqual([...listed].sort());
    for (const note of loaded.notes) expect(listed).toContain(note.path);
    expect(listed).toContain('latin1.md');
    expect(listed).not.toContain('link-out.md');
    expect(listed).not.toContain('.hidden.md');
  });

  it('loads one note by path with the same rules', async () => {
    expect(await loadNote(root, 'sub/deep/d.md')).toMatchObject({ path: 'sub/deep/d.md', text: '## Deep\n\ndeep text\n' });
    expect(await loadNote(root, 'link-out.md')).toMatchObject({ reason: expect.stringMatching(/outside/) });
    expect(await loadNote(root, '../outside/secret.md')).toMatchObject({ reason: expect.stringMatching(/not a note path/) });
    expect(await loadNote(root, 'latin1.md')).toMatchObject({ reason: expect.stringMatching(/UTF-8/) });
  });

  it('applies the default 5 MiB limit', async () => {
    const folder = await mkdtemp(join(base, 'large-'));
    await writeFile(join(folder, 'huge.md'), Buffer.alloc(5 * 1024 * 1024 + 1, 0x61));
    await writeFile(join(folder, 'ok.md'), Buffer.alloc(5 * 1024 * 1024, 0x61));
    const result = await loadNotes(folder);
    expect(result.notes.map((note) => note.path)).toEqual(['ok.md']);
    expect(result.failures).toEqual([{ path: 'huge.md', reason: expect.stringMatching(/5 MiB limit/) }]);
  });

  it('rejects a missing notes folder with a message naming it', async () => {
    await expect(loadNotes(join(base, 'nope'))).rejects.toThrow(/nope.*does not exist/);
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')('reports an unreadable file', async () => {
    const folder = await mkdtemp(join(base, 'perm-'));
    await writeFile(join(folder, 'locked.md'), 'secret');
    await chmod(join(folder, 'locked.md'), 0o000);
    const result = await loadNotes(folder);
    expect(result.failures).toEqual([{ path: 'locked.md', reason: expect.stringMatching(/permission denied/) }]);
  });

  it('stops when aborted', async () => {
    await expect(loadNotes(root, { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe('parseNote', () => {
  it.each([
    { name: 'valid UTF-8', bytes: Buffer.from('héllo ✓ 😀\n'), ok: true },
    { name: 'UTF-8 BOM', bytes: Buffer.from('\uFEFFhi'), ok: true },
    { name: 'truncated multi-byte sequence', bytes: Buffer.from([0x68, 0xe2, 0x9c]), ok: false },
    { name: 'overlong encoding', bytes: Buffer.from([0xc0, 0xaf]), ok: false },
    { name: 'UTF-16 BE BOM', bytes: Buffer.from([0xfe, 0xff, 0x00, 0x68]), ok: false },
  ])('$name', ({ bytes, ok }) => {
    const result = parseNote('x.md', bytes);
    expect('reason' in result).toBe(!ok);
  });

  it('carries front matter and inline tags, lower case, each once', () => {
    const note = parseNote('t.md', Buffer.from('---\ntags: [Docker]\n---\n# Title\n\nabout #compose and #docker\n'));
    expect('reason' in note ? [] : note.tags).toEqual(['docker', 'compose']);
  });
});

describe('isNotePath', () => {
  it.each([
    ['a.md', true],
    ['dir/b.markdown', true],
    ['c.TXT', true],
    ['notes.json', false],
    ['../a.md', false],
    ['a/../b.md', false],
    ['./a.md', false],
    ['.hidden.md', false],
    ['dir/.git/a.md', false],
    ['node_modules/a.md', false],
    ['/etc/a.md', false],
    ['C:/a.md', false],
    ['a\\b.md', false],
    ['a\0.md', false],
    ['a//b.md', false],
    ['', false],
  ])('%j → %s', (path, expected) => {
    expect(isNotePath(path)).toBe(expected);
  });
});

describe('readNoteFile', () => {
  it.each([
    ['a.md', '# Alpha\n\nalpha text\n'],
    ['sub/deep/d.md', '## Deep\n\ndeep text\n'],
    ['link-in.md', '# Alpha\n\nalpha text\n'],
    ['bom.md', '# Bom Note\r\n\r\nline\r\n'],
  ])('reads %s', async (path, text) => {
    expect(await readNoteFile(root, path)).toBe(text);
  });

  it.each([
    '../outside/secret.md',
    'sub/../../outside/secret.md',
    'sub/../a.md',
    '%2e%2e/outside/secret.md',
    '..%2Foutside%2Fsecret.md',
    `${'/'}etc/passwd`,
    'C:/Windows/win.ini',
    'c:secret.md',
    'sub\\deep\\d.md',
    '..\\outside\\secret.md',
    'a.md\0.png',
    '.hidden.md',
    '.obsidian/workspace.md',
    'sub/.trash/old.md',
    'node_modules/pkg/README.md',
    'data.json',
    'image.png',
    'folder.md',
    'link-out.md',
    'dir-out/secret.md',
    'to-hidden.md',
    'broken.md',
    'loop.md',
    'latin1.md',
    'missing.md',
    '',
    './a.md',
  ])('refuses %j', async (path) => {
    expect(await readNoteFile(root, path)).toBeUndefined();
  });

  it('refuses everything when the notes folder does not exist', async () => {
    expect(await readNoteFile(join(base, 'nope'), 'a.md')).toBeUndefined();
  });

  it.runIf(process.platform !== 'win32')('refuses a FIFO without blocking', async () => {
    if (!hasFifo) return;
    expect(await readNoteFile(root, 'pipe.md')).toBeUndefined();
  });
});
