/** followNoteList: announces a changed list of notes once per change, never on the first look. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.ts';
import type { NoteSummary, NotesLibrary } from '../src/library/notes-library.ts';
import { followNoteList } from '../src/server/mcp/note-list-changes.ts';

function libraryListing(lists: Array<NoteSummary[] | 'not ready'>): NotesLibrary {
  let at = 0;
  const unused = () => Promise.reject(new Error('not used'));
  return {
    search: unused,
    read: unused,
    readWhole: unused,
    ask: unused,
    list: async () => {
      const next = lists[Math.min(at, lists.length - 1)];
      at += 1;
      if (next === 'not ready') throw new AppError('index_not_ready', 'still indexing');
      return next ?? [];
    },
  };
}

const note = (path: string, title = path): NoteSummary => ({ path, title, tags: [], chunks: 1 });

describe('followNoteList', () => {
  it.each([
    { name: 'the same list again', lists: [[note('a.md')], [note('a.md')]], announced: 0 },
    { name: 'a note added', lists: [[note('a.md')], [note('a.md'), note('b.md')]], announced: 1 },
    { name: 'a note removed', lists: [[note('a.md'), note('b.md')], [note('a.md')]], announced: 1 },
    { name: 'a note renamed (same title)', lists: [[note('a.md', 'A')], [note('c.md', 'A')]], announced: 1 },
    { name: 'a title changed', lists: [[note('a.md', 'A')], [note('a.md', 'B')]], announced: 1 },
    { name: 'the first build finishing', lists: ['not ready' as const, [note('a.md')]], announced: 1 },
    { name: 'two changes, then none', lists: [[], [note('a.md')], [note('a.md'), note('b.md')], [note('a.md'), note('b.md')]], announced: 2 },
  ])('$name: $announced announcement(s)', async ({ lists, announced }) => {
    let count = 0;
    const follower = followNoteList(libraryListing(lists), () => (count += 1), 60_000);
    try {
      for (let look = 0; look < lists.length; look++) await follower.check();
      expect(count).toBe(announced);
    } finally {
      follower.close();
    }
  });
});
