/**
 * Pure: the syntax of Obsidian / Foam vaults, read line by line so that line numbers never move.
 *
 * - `[[target]]`, `[[target|alias]]`, `[[target#heading]]`, `[[#heading]]`: wikilinks. Their *shown
 *   words* are the alias, else the target's name (its last path segment, without `.md`), with the
 *   heading after " > " as Obsidian renders it.
 * - `![[target]]`: an embed. Kept as a reference to the target (its shown words), on its own line.
 *   A numeric "alias" (`![[diagram.png|300]]`) is an image size, not words.
 * - `> [!warning]+ Budget freeze`: a callout. The marker (`[!warning]` and the fold sign) is dropped,
 *   the quote, the title and the body stay.
 * - Nothing inside fenced code or inline code changes: `[[x]]` in a code sample is code.
 *
 * `displayText` maps a note's text (or any run of its lines) to the words a reader sees, with the
 * same number of lines; that is what is embedded, indexed for keywords, quoted and prompted, while
 * the note's own lines stay what sources and citations point at.
 */

export interface WikiLink {
  /** 0-based line within the text given. */
  line: number;
  /** [start, end) UTF-16 offsets of the whole `[[…]]` (or `![[…]]`) within the line. */
  start: number;
  end: number;
  /** The target as written, without heading or alias ("" for `[[#heading]]`: this note). */
  target: string;
  /** The heading or block after `#`, when there is one. */
  heading?: string;
  /** The words a reader sees in place of the link. */
  shown: string;
  embed: boolean;
}

// `[[` … `]]` with no brackets or line ends inside; an escaped pipe (`\|`, in tables) counts as a pipe.
const WIKILINK = /(!?)\[\[([^[\]\n]+?)\]\]/g;
const CALLOUT = /^((?:[ \t]*>)+[ \t]*)\[![\w-]+\][+-]?[ \t]*/;
const FENCE = /^[ \t>]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*(`{3,}|~{3,})/;
const INLINE_CODE = /(`+)(?:(?!\1)[\s\S])*?\1/g;

/** The target's name: its last path segment, without a `.md` / `.markdown` extension. */
export function targetName(target: string): string {
  const segment = target.split('/').pop() ?? target;
  return segment.replace(/\.(?:md|markdown)$/i, '');
}

/** Parses the inside of `[[…]]` (without the brackets). */
export function parseWikiLinkBody(body: string, embed: boolean): Omit<WikiLink, 'line' | 'start' | 'end'> {
  const pipe = body.search(/\\?\|/);
  const destination = (pipe < 0 ? body : body.slice(0, pipe)).trim();
  let alias = pipe < 0 ? '' : body.slice(pipe).replace(/^\\?\|/, '').trim();
  // An image size (`|300`, `|300x200`) is not words to show.
  if (embed && /^\d+(?:x\d+)?$/.test(alias)) alias = '';
  const hash = destination.indexOf('#');
  const target = (hash < 0 ? destination : destination.slice(0, hash)).trim();
  const heading = hash < 0 ? undefined : destination.slice(hash + 1).replace(/^#+/, '').trim();
  const headingWords = heading === undefined || heading.startsWith('^') ? '' : heading.split('#').join(' > ');
  const name = targetName(target);
  const shown = alias !== '' ? alias : [name, headingWords].filter((part) => part !== '').join(' > ') || name || destination;
  return { target, ...(heading === undefined || heading === '' ? {} : { heading }), shown, embed };
}

/** Ranges of inline code in a line, where link syntax is literal. */
function codeSpans(line: string): Array<[number, number]> {
  if (!line.includes('`')) return [];
  return [...line.matchAll(INLINE_CODE)].map((match) => [match.index ?? 0, (match.index ?? 0) + match[0].length]);
}

function inSpans(spans: Array<[number, number]>, at: number): boolean {
  return spans.some(([start, end]) => at >= start && at < end);
}

/** Calls `visit` with each line and whether it is code (inside a fence, or a fence line itself). */
function eachLine(lines: readonly string[], visit: (line: string, index: number, code: boolean) => void): void {
  let fence: string | undefined;
  lines.forEach((line, index) => {
    const marker = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim().endsWith(marker)) {
        fence = undefined;
      }
      visit(line, index, true);
      return;
    }
    if (marker !== undefined) {
      fence = marker;
      visit(line, index, true);
      return;
    }
    visit(line, index, false);
  });
}

function linksInLine(line: string, index: number): WikiLink[] {
  if (!line.includes('[[')) return [];
  const spans = codeSpans(line);
  const links: WikiLink[] = [];
  for (const match of line.matchAll(WIKILINK)) {
    const start = match.index ?? 0;
    if (inSpans(spans, start)) continue;
    const body = match[2] ?? '';
    if (body.trim() === '') continue;
    links.push({ line: index, start, end: start + match[0].length, ...parseWikiLinkBody(body, match[1] === '!') });
  }
  return links;
}

/** Every wikilink and embed in `text` (outside code), in reading order. */
export function wikiLinks(text: string): WikiLink[] {
  const links: WikiLink[] = [];
  eachLine(text.split('\n'), (line, index, code) => {
    if (!code) links.push(...linksInLine(line, index));
  });
  return links;
}

/** One line as a reader sees it (the line must not be code). */
export function displayLine(line: string): string {
  let shown = line.replace(CALLOUT, '$1');
  if (!shown.includes('[[')) return shown;
  const links = linksInLine(shown, 0);
  for (const link of links.reverse()) shown = `${shown.slice(0, link.start)}${link.shown}${shown.slice(link.end)}`;
  return shown;
}

/**
 * `text` with wikilinks, embeds and callout markers replaced by what a reader sees, line for line
 * (the result has exactly as many lines as `text`; code is left as written).
 */
export function displayText(text: string): string {
  if (!text.includes('[[') && !text.includes('[!')) return text;
  const lines = text.split('\n');
  eachLine(lines, (line, index, code) => {
    if (!code) lines[index] = displayLine(line);
  });
  return lines.join('\n');
}

/** Front matter `aliases` (or Obsidian's older `alias`): a list or one comma-separated string. */
export function frontMatterAliases(data: Record<string, unknown>): string[] {
  const raw = data['aliases'] ?? data['alias'];
  const items: unknown[] = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
  const aliases = items
    .filter((item): item is string | number => typeof item === 'string' || typeof item === 'number')
    .map((item) => String(item).trim())
    .filter((alias) => alias !== '');
  return [...new Set(aliases)];
}
