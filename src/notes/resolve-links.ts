/**
 * Pure: which note a wikilink target names, as Obsidian and Foam resolve it: by its path from the
 * vault's root (with or without the `.md` extension), else by a file name that only one note has.
 * Case does not matter (Obsidian's links are case-insensitive). An ambiguous or unknown name
 * resolves to nothing rather than to a guess; `[[#heading]]` (empty target) is the linking note.
 */
import { wikiLinks, type WikiLink } from './vault-syntax.ts';

export type LinkResolver = (target: string, from: string) => string | undefined;

const MARKDOWN_EXTENSION = /\.(?:md|markdown)$/i;

function key(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.?\//, '').toLowerCase();
}

/** A resolver over the vault's note paths (relative, "/"-separated). */
export function createLinkResolver(paths: Iterable<string>): LinkResolver {
  const byPath = new Map<string, string>();
  const byName = new Map<string, string | null>();
  const remember = (map: Map<string, string | null>, name: string, path: string): void => {
    const known = map.get(name);
    // null marks a name two notes share: it names neither.
    map.set(name, known === undefined || known === path ? path : null);
  };
  for (const path of paths) {
    const lower = key(path);
    byPath.set(lower, path);
    if (MARKDOWN_EXTENSION.test(lower)) byPath.set(lower.replace(MARKDOWN_EXTENSION, ''), path);
    const name = lower.split('/').pop() ?? lower;
    remember(byName, name, path);
    if (MARKDOWN_EXTENSION.test(name)) remember(byName, name.replace(MARKDOWN_EXTENSION, ''), path);
  }
  return (target, from) => {
    const wanted = key(target.trim());
    if (wanted === '') return from;
    const exact = byPath.get(wanted) ?? byPath.get(wanted.replace(MARKDOWN_EXTENSION, ''));
    if (exact !== undefined) return exact;
    // A relative path (`../people/ada`), as Foam writes some links.
    if (wanted.includes('/')) {
      const folder = from.split('/').slice(0, -1);
      for (const part of wanted.split('/')) {
        if (part === '..') folder.pop();
        else if (part !== '.') folder.push(part);
      }
      const relative = byPath.get(folder.join('/').toLowerCase());
      if (relative !== undefined) return relative;
    }
    const name = wanted.split('/').pop() ?? wanted;
    return byName.get(name) ?? byName.get(name.replace(MARKDOWN_EXTENSION, '')) ?? undefined;
  };
}

const resolvers = new WeakMap<object, LinkResolver>();

/** One resolver per set of notes (an index version's `manifest.notes`), made when first asked for. */
export function resolverFor(notes: Record<string, unknown>): LinkResolver {
  let resolver = resolvers.get(notes);
  if (resolver === undefined) {
    resolver = createLinkResolver(Object.keys(notes));
    resolvers.set(notes, resolver);
  }
  return resolver;
}

/** A link as sources and the note panel carry it: where it is, what it shows, which note it opens. */
export interface ResolvedLink {
  /** 1-based line in the note file. */
  line: number;
  /** [start, end) offsets of the link syntax within that line. */
  start: number;
  end: number;
  shown: string;
  /** The note it opens, or null when no indexed note has that name. */
  note: string | null;
  embed: boolean;
}

/** The wikilinks in a run of a note's lines starting at 1-based `firstLine`, resolved from note `from`. */
export function resolveLinks(text: string, firstLine: number, from: string, resolve: LinkResolver): ResolvedLink[] {
  return wikiLinks(text).map((link: WikiLink) => ({
    line: firstLine + link.line,
    start: link.start,
    end: link.end,
    shown: link.shown,
    note: resolve(link.target, from) ?? null,
    embed: link.embed,
  }));
}

/** The notes a text links to (resolved, without the note itself), each once. */
export function linkedNotes(text: string, from: string, resolve: LinkResolver): string[] {
  const notes = new Set<string>();
  for (const link of wikiLinks(text)) {
    const note = resolve(link.target, from);
    if (note !== undefined && note !== from) notes.add(note);
  }
  return [...notes];
}

