/** Pure: a note in, heading-aware chunks out. (Implementation: see issue 2.) */
import type { Note } from './load-notes.ts';

export interface Chunk {
  /** Stable id from note path + shown text (sha256, hex, shortened). */
  id: string;
  note: string;
  /** Heading path joined with " > ", e.g. "Day 1 > 15 Tips and Tricks > depends_on" ("" before any heading). */
  heading: string;
  /** 1-based inclusive line range in the note file. */
  lines: [number, number];
  /** Exactly the note's lines start..end joined with "\n" (what users see). */
  text: string;
  /** What is embedded: note title + heading path + text. */
  embedText: string;
}
