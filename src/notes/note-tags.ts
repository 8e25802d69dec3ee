/**
 * Pure: a note's tags, from its front matter and from `#tags` in its prose (issue 15).
 *
 * - Front matter `tags` as a YAML list, or a string separated by commas and/or spaces
 *   (`tags: [a, b]`, `tags: "a, b #c"`); a leading `#` is dropped.
 * - Inline `#tag` in prose, as Obsidian reads them: `#` at the start of a line or after white
 *   space or an opening bracket, then letters, digits, `_`, `-` and `/`, with at least one
 *   character that is not a digit (`#123` is an issue number, not a tag). Never inside fenced or
 *   inline code, headings, URLs (`https://x.org/#anchor`) or link targets (`[a](#anchor)`).
 * - Nested tags (`#project/asknotes`) are kept whole; `tagMatches` makes `project` select them.
 * - Tags compare without regard to case, as Obsidian's do, so they are kept in lower case.
 */
import { proseLines } from './markdown-facts.ts';

/** A usable tag: letters, digits, `_`, `-`, `/`-separated parts, not only digits. */
const TAG = /^[\p{L}\p{N}_-]+(?:\/[\p{L}\p{N}_-]+)*$/u;
const INLINE_TAG = /(^|[\s([{])#([\p{L}\p{N}_\-/]+)/gu;
const INLINE_CODE = /(`+)[\s\S]*?\1/g;
const URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s<>()]*/gi;
// Also wikilinks: `[[#Heading]]` and `[[Note#Section]]` name headings, not tags (issue 16).
const LINK_TARGET = /\]\([^)]*\)|<[^>\s]*>|!?\[\[[^[\]\n]*\]\]/g;

/** Lower case, no leading `#` or stray `/`; undefined when nothing usable is left. */
export function normalizeTag(raw: string): string | undefined {
  const tag = raw.trim().replace(/^#+/, '').replace(/^\/+|\/+$/g, '').toLowerCase();
  if (!TAG.test(tag) || /^[\p{N}/]+$/u.test(tag)) return undefined;
  return tag;
}

/** Front matter `tags`: a list, or one string separated by commas and/or white space. */
export function frontMatterTags(value: unknown): string[] {
  const raw: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,\s]+/) : [];
  const tags: string[] = [];
  for (const item of raw) {
    if (typeof item !== 'string' && typeof item !== 'number') continue;
    const tag = normalizeTag(String(item));
    if (tag !== undefined) tags.push(tag);
  }
  return [...new Set(tags)];
}

/** `#tags` in the prose of a note's text (front matter, code and headings excluded). */
export function inlineTags(text: string): string[] {
  const tags: string[] = [];
  for (const { text: line } of proseLines(text)) {
    if (!line.includes('#')) continue;
    const cleaned = line.replace(INLINE_CODE, ' ').replace(URL, ' ').replace(LINK_TARGET, ' ');
    for (const match of cleaned.matchAll(INLINE_TAG)) {
      const tag = normalizeTag(match[2] ?? '');
      if (tag !== undefined) tags.push(tag);
    }
  }
  return [...new Set(tags)];
}

/** All of a note's tags: front matter first, then inline ones, each once. */
export function noteTags(frontMatterValue: unknown, text: string): string[] {
  return [...new Set([...frontMatterTags(frontMatterValue), ...inlineTags(text)])];
}

/** Whether a note tag is selected by a wanted tag: the same, or nested under it (`a` selects `a/b`). */
export function tagMatches(noteTag: string, wanted: string): boolean {
  return noteTag === wanted || noteTag.startsWith(`${wanted}/`);
}
