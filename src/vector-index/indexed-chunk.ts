/** The chunk as every index backend keeps and returns it, and the hashes that key its vector. */
import { createHash } from 'node:crypto';
import { titleWords, type NoteChunk } from '../notes/chunk-note.ts';
import type { Note } from '../notes/load-notes.ts';
import { displayText } from '../notes/vault-syntax.ts';
import type { KeywordDocument } from './bm25f.ts';

/** A chunk as the index keeps it: the shown text plus where it came from. */
export interface IndexedChunk {
  id: string;
  note: string;
  title: string;
  heading: string;
  lines: [number, number];
  text: string;
  /** sha256 of the embedded text: the key of the vector cache. */
  embedHash: string;
  /** The note's tags (front matter and inline, `note-tags.ts`): what a `tags` scope selects by. */
  tags: string[];
  /** For a PDF: the 1-based page, and `lines` are lines of that page. */
  page?: number;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function toIndexedChunk(chunk: NoteChunk, note: Pick<Note, 'title' | 'tags' | 'aliases'>): IndexedChunk {
  return {
    id: chunk.id,
    note: chunk.note,
    // The title with the note's aliases: the words every chunk of it is found by (chunk-note.ts).
    title: titleWords(note),
    heading: chunk.heading,
    lines: chunk.lines,
    text: chunk.text,
    embedHash: sha256(chunk.embedText),
    tags: note.tags,
    ...(chunk.page === undefined ? {} : { page: chunk.page }),
  };
}

/**
 * What the keyword index sees of a chunk, by field: its text (vault syntax as shown words), and as
 * boosted fields the names of its note (title with aliases, and file name) and its heading path.
 */
export function keywordDocument(chunk: IndexedChunk): KeywordDocument {
  return { id: chunk.id, text: displayText(chunk.text), title: `${chunk.title}\n${pathName(chunk.note)}`, heading: chunk.heading };
}

/** `linux/git-bisect.md` -> `linux git-bisect`: a note's path (folders and file name) is one of its names. */
export function pathName(path: string): string {
  return `${path.split('/').slice(0, -1).join(' ')} ${fileStem(path)}`.trim();
}

/** `dir/git-bisect.md` -> `git-bisect`. */
export function fileStem(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Folder name (files) or table-name part (postgres) for an embedder id: readable and safe. */
export function embedderFolder(embedderId: string): string {
  return embedderId.replace(/[^A-Za-z0-9._-]+/g, '-');
}
