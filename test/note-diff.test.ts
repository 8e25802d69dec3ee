/**
 * diffNotes / scanNotes: what both index backends (files, Postgres) decide an update must write.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NoteFailure } from '../src/notes/load-notes.ts';
import { diffNotes, noteUnchanged, type IndexedNoteEntry, type NoteIdentity } from '../src/vector-index/note-diff.ts';
import { scanNotes } from '../src/vector-index/scan-notes.ts';

const BEFORE = new Map<string, IndexedNoteEntry>([
  ['a.md', { hash: 'h-a', title: 'A' }],
  ['b.md', { hash: 'h-b', title: 'B' }],
  ['c.md', { hash: 'h-c', title: 'C' }],
]);
const SAME: NoteIdentity[] = [
  { path: 'a.md', hash: 'h-a', title: 'A' },
  { path: 'b.md', hash: 'h-b', title: 'B' },
  { path: 'c.md', hash: 'h-c', title: 'C' },
];
const broken: NoteFailure = { path: 'x.pdf', reason: 'encrypted' };

describe('diffNotes', () => {
  it.each<[string, NoteIdentity[], NoteFailure[], NoteFailure[], { changed: string[]; deleted: string[]; failuresChanged: boolean; same: boolean }]>([
    ['nothing changed', SAME, [], [], { changed: [], deleted: [], failuresChanged: false, same: true }],
    ['same notes in another order', [...SAME].reverse(), [], [], { changed: [], deleted: [], failuresChanged: false, same: true }],
    ['a note’s bytes changed', [SAME[0]!, { path: 'b.md', hash: 'h-b2', title: 'B' }, SAME[2]!], [], [], { changed: ['b.md'], deleted: [], failuresChanged: false, same: false }],
    ['only a title changed', [{ path: 'a.md', hash: 'h-a', title: 'A renamed' }, SAME[1]!, SAME[2]!], [], [], { changed: ['a.md'], deleted: [], failuresChanged: false, same: false }],
    ['a new note', [...SAME, { path: 'd.md', hash: 'h-d', title: 'D' }], [], [], { changed: ['d.md'], deleted: [], failuresChanged: false, same: false }],
    ['a note removed', [SAME[0]!, SAME[2]!], [], [], { changed: [], deleted: ['b.md'], failuresChanged: false, same: false }],
    ['a note renamed', [SAME[0]!, SAME[1]!, { path: 'c2.md', hash: 'h-c', title: 'C' }], [], [], { changed: ['c2.md'], deleted: ['c.md'], failuresChanged: false, same: false }],
    ['a new failure', SAME, [], [broken], { changed: [], deleted: [], failuresChanged: true, same: false }],
    ['a failure for another reason', SAME, [broken], [{ ...broken, reason: 'no text layer' }], { changed: [], deleted: [], failuresChanged: true, same: false }],
    ['the same failures in another order', SAME, [broken, { path: 'y.md', reason: 'too big' }], [{ path: 'y.md', reason: 'too big' }, broken], { changed: [], deleted: [], failuresChanged: false, same: true }],
  ])('%s', (_name, notes, failuresBefore, failuresNow, expected) => {
    const diff = diffNotes(BEFORE, notes, failuresBefore, failuresNow);
    expect({ ...diff, changed: diff.changed.map((note) => note.path) }).toEqual(expected);
  });

  it('returns the changed notes themselves, in the order given', () => {
    const notes = [
      { path: 'z.md', hash: '1', title: 'Z', text: 'z' },
      { path: 'a.md', hash: 'new', title: 'A', text: 'a' },
    ];
    expect(diffNotes(BEFORE, notes, [], []).changed).toEqual(notes);
  });

  it('noteUnchanged needs an entry with the same hash and title', () => {
    expect(noteUnchanged(undefined, SAME[0]!)).toBe(false);
    expect(noteUnchanged({ hash: 'h-a', title: 'A' }, SAME[0]!)).toBe(true);
    expect(noteUnchanged({ hash: 'h-a', title: 'a' }, SAME[0]!)).toBe(false);
  });
});

describe('scanNotes', () => {
  it('reads the folder, reports the scan and summarises with its counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'asknotes-scan-'));
    try {
      await writeFile(join(dir, 'one.md'), '# One\n\nText.\n');
      await writeFile(join(dir, 'two.txt'), 'Two.\n');
      const progress: unknown[] = [];
      const { loaded, summaryOf } = await scanNotes({ notesDir: dir, onProgress: (event) => progress.push(event) });
      expect(loaded.notes.map((note) => note.path).sort()).toEqual(['one.md', 'two.txt']);
      expect(progress).toEqual([{ phase: 'scan', notes: 2 }]);
      const summary = summaryOf({ chunks: 3, embedded: 1, reused: 2, removed: 0, wroteGeneration: true });
      expect(summary).toMatchObject({ notes: 2, failed: [], chunks: 3, embedded: 1, reused: 2, removed: 0, wroteGeneration: true });
      expect(summary.seconds).toBeGreaterThanOrEqual(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops after reading when the signal is aborted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'asknotes-scan-'));
    try {
      const controller = new AbortController();
      controller.abort();
      await expect(scanNotes({ notesDir: dir, signal: controller.signal })).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
