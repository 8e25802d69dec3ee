/** The chunk as every index backend keeps and returns it, and the hashes that key its vector. */
import { createHash } from 'node:crypto';
import type { Chunk } from '../notes/chunk-markdown.ts';
import type { Note } from '../notes/load-notes.ts';

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
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function toIndexedChunk(chunk: Chunk, note: Pick<Note, 'title' | 'tags'>): IndexedChunk {
  return {
    id: chunk.id,
    note: chunk.note,
    title: note.title,
    heading: chunk.heading,
    lines: chunk.lines,
    text: chunk.text,
    embedHash: sha256(chunk.embedText),
    tags: note.tags,
  };
}

/** The text the keyword index sees: the same fields the embedder sees. */
export function keywordText(chunk: IndexedChunk): string {
  return `${chunk.title}\n${chunk.heading}\n${chunk.text}`;
}

/** Folder name (files) or table-name part (postgres) for an embedder id: readable and safe. */
export function embedderFolder(embedderId: string): string {
  return embedderId.replace(/[^A-Za-z0-9._-]+/g, '-');
}
