/**
 * Chunks as answer sources, with what vault notes and PDFs add: a PDF source's `page`, and the notes
 * a Markdown source links to (`[[People/Ada Quill|Ada]]` -> "Ada" opens `People/Ada Quill.md`).
 * Also the text the model and the extractive answerer read: the shown words (`displayText`), line
 * for line, so quoting a source never shows link or callout syntax.
 */
import { resolveLinks, resolverFor, type LinkResolver } from '../notes/resolve-links.ts';
import { displayText } from '../notes/vault-syntax.ts';
import type { Source, SourceLink } from './answer-types.ts';

interface ChunkLike {
  id: string;
  note: string;
  heading: string;
  lines: [number, number];
  text: string;
  page?: number;
}

/** One resolver per index version (the manifest's notes are its vault). */
export function linkResolverFor(manifest: { notes: Record<string, unknown> }): LinkResolver {
  return resolverFor(manifest.notes);
}

/** The links of a chunk that open an indexed note, each shown text once. */
export function sourceLinks(chunk: ChunkLike, resolve: LinkResolver): SourceLink[] {
  if (!chunk.text.includes('[[')) return [];
  const links: SourceLink[] = [];
  for (const link of resolveLinks(chunk.text, chunk.lines[0], chunk.note, resolve)) {
    if (link.note === null || links.some((known) => known.shown === link.shown)) continue;
    links.push({ shown: link.shown, note: link.note });
  }
  return links;
}

export function toSource(chunk: ChunkLike, n: number, score: number, resolve: LinkResolver): Source {
  const links = sourceLinks(chunk, resolve);
  return {
    n,
    id: chunk.id,
    note: chunk.note,
    heading: chunk.heading,
    lines: chunk.lines,
    text: chunk.text,
    score: Number(score.toFixed(4)),
    ...(chunk.page === undefined ? {} : { page: chunk.page }),
    ...(links.length === 0 ? {} : { links }),
  };
}

/** Sources as a reader sees them: the same lines, vault syntax replaced by its shown words. */
export function shownSources<T extends { text: string }>(sources: readonly T[]): T[] {
  return sources.map((source) => ({ ...source, text: displayText(source.text) }));
}
