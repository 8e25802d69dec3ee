/**
 * What a scope can be made of (issue 15, `GET /index/notes`): the indexed notes with their tags,
 * every folder that holds notes, and every tag, each with how many notes it selects. Pure: derived
 * from the loaded index's chunks, so it always describes exactly what a scoped question searches.
 */
import { tagMatches } from '../notes/note-tags.ts';
import type { IndexedChunk } from './indexed-chunk.ts';

export interface NotesListing {
  notes: Array<{ path: string; title: string; tags: string[]; chunks: number }>;
  /** Folders (`a`, `a/b`), each with the notes under it at any depth; the glob `<path>/**` selects them. */
  folders: Array<{ path: string; notes: number }>;
  /** Tags, nested tags' parents included (`a` for `a/b`), each with the notes it selects. */
  tags: Array<{ tag: string; notes: number }>;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function listNotes(chunks: readonly IndexedChunk[]): NotesListing {
  const notes = new Map<string, NotesListing['notes'][number]>();
  for (const chunk of chunks) {
    const known = notes.get(chunk.note);
    if (known === undefined) notes.set(chunk.note, { path: chunk.note, title: chunk.title, tags: [...chunk.tags], chunks: 1 });
    else known.chunks += 1;
  }
  return listNoteSummaries([...notes.values()]);
}

/** The listing of notes already summarised (path, title, tags, chunk count), as a backend may keep them. */
export function listNoteSummaries(notes: readonly NotesListing['notes'][number][]): NotesListing {
  const folders = new Map<string, number>();
  const tags = new Set<string>();
  for (const note of notes) {
    const parts = note.path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const folder = parts.slice(0, depth).join('/');
      folders.set(folder, (folders.get(folder) ?? 0) + 1);
    }
    for (const tag of note.tags) {
      const parts = tag.split('/');
      for (let depth = 1; depth <= parts.length; depth += 1) tags.add(parts.slice(0, depth).join('/'));
    }
  }
  const noteList = [...notes].sort((a, b) => byText(a.path, b.path));
  return {
    notes: noteList,
    folders: [...folders.entries()].map(([path, count]) => ({ path, notes: count })).sort((a, b) => byText(a.path, b.path)),
    tags: [...tags]
      .sort(byText)
      .map((tag) => ({ tag, notes: noteList.filter((note) => note.tags.some((own) => tagMatches(own, tag))).length })),
  };
}
