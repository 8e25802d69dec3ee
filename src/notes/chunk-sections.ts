/**
 * Pure: a note's sections (a heading and the lines under it, with its heading path), how adjacent
 * sections are grouped before splitting, and the list items a line sits in (extra heading-path parts
 * for a chunk that starts inside a list item).
 *
 * - The note's title heading (the first `#` heading, when it is the title) is left out of paths: the
 *   title is already in `embedText`.
 * - Adjacent sections under the same parent are grouped when one of them is tiny or has no body (a
 *   bare `## Day 1` joins the `### Keynote` that follows it).
 */
import { LIST_MARKER, plainText, type LineInfo, type LineRange } from './markdown-lines.ts';

export interface Section {
  /** 0-based line index of the heading (or of the first body line for the part before any heading). */
  start: number;
  end: number;
  path: string[];
  /** Any non-blank line besides the heading itself. */
  hasBody: boolean;
}

/** The note's sections in order; the part before the first heading only when it has text. */
export function buildSections(lines: string[], infos: Array<LineInfo | undefined>, from: number, title: string): Section[] {
  const sections: Section[] = [];
  const stack: Array<{ level: number; text: string; shown: boolean }> = [];
  let titleSeen = false;
  let current: Section = { start: from, end: from - 1, path: [], hasBody: false };
  const finish = (end: number): void => {
    current.end = end;
    if (current.end >= current.start) sections.push(current);
  };
  for (let index = from; index < lines.length; index += 1) {
    const info = infos[index];
    if (info === undefined) continue;
    if (info.kind === 'heading') {
      finish(index - 1);
      while (stack.length > 0 && (stack[stack.length - 1]?.level ?? 0) >= info.level) stack.pop();
      // The title heading is already the first line of `embedText`; repeating it in every path is noise.
      const isTitle = !titleSeen && info.level === 1 && info.headingText === title;
      if (info.level === 1) titleSeen = true;
      stack.push({ level: info.level, text: info.headingText, shown: !isTitle && info.headingText !== '' });
      current = {
        start: index,
        end: index,
        path: stack.filter((entry) => entry.shown).map((entry) => entry.text),
        hasBody: false,
      };
    } else if (info.kind !== 'blank' && info.kind !== 'heading-rest') {
      current.hasBody = true;
    }
  }
  finish(lines.length - 1);
  // The part before the first heading only counts when it has text.
  return sections.filter((section) => section.hasBody || infos[section.start]?.kind === 'heading');
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.every((part, index) => path[index] === part);
}

export function groupSections(
  sections: Section[],
  lengthOf: (start: number, end: number) => number,
  minChars: number,
): LineRange[] {
  const groups: Array<{ start: number; end: number; last: Section; bodyless: boolean }> = [];
  for (const section of sections) {
    const group = groups[groups.length - 1];
    // "Under the same parent": the next section lies within the parent of the group's last one.
    const sameParent = group !== undefined && startsWith(section.path, group.last.path.slice(0, -1));
    const tiny =
      group !== undefined &&
      (group.bodyless || lengthOf(group.start, group.end) < minChars || lengthOf(section.start, section.end) < minChars);
    if (group !== undefined && sameParent && tiny) {
      group.end = section.end;
      group.last = section;
      group.bodyless = group.bodyless && !section.hasBody;
    } else {
      groups.push({ start: section.start, end: section.end, last: section, bodyless: !section.hasBody });
    }
  }
  return groups;
}

/** The labels of the list items that contain line `start` (nearest last), looking back to the section start. */
export function listAncestors(
  lines: string[],
  infos: Array<LineInfo | undefined>,
  start: number,
  sectionStart: number,
): string[] {
  const first = infos[start];
  if (first === undefined || first.indent === 0) return [];
  const labels: string[] = [];
  let indent = first.indent;
  for (let index = start - 1; index >= sectionStart && indent > 0; index -= 1) {
    const info = infos[index];
    if (info === undefined || info.kind === 'blank' || info.kind === 'fence-body' || info.kind === 'fence-close') {
      continue;
    }
    if (info.kind === 'heading' || info.kind === 'heading-rest') break;
    if (info.indent >= indent) continue;
    indent = info.indent;
    if (info.listItem && info.kind === 'text') {
      const label = listLabel(lines[index] ?? '');
      if (label !== '') labels.unshift(label);
    }
  }
  return labels;
}

function listLabel(line: string): string {
  const text = plainText(line.replace(LIST_MARKER, '').replace(/^\[[ xX]\][ \t]+/, '')).replace(/:$/, '');
  if (text.length <= 80) return text;
  const cut = text.slice(0, 80);
  const space = cut.lastIndexOf(' ');
  return `${cut.slice(0, space > 40 ? space : 80)}…`;
}
