/**
 * `read_note`'s line ranges (pure): exactly the 1-based, inclusive lines asked for, numbered like
 * `cat -n`, so a client can quote them back as `note:from-to` (the same numbering as sources).
 */
import { AppError } from '../errors.ts';
import { splitLines } from '../notes/markdown-lines.ts';

/** Lines returned by one call at most; a longer range is cut and says where to continue. */
export const MAX_LINES_PER_READ = 2_000;

export interface NoteLines {
  /** Number of lines in the whole note. */
  totalLines: number;
  /** The first and last line returned, 1-based and inclusive. */
  from: number;
  to: number;
  /** The lines themselves, as in the file (without line endings). */
  lines: string[];
  /** Set when the range was cut at MAX_LINES_PER_READ: the `from` of the next call. */
  nextFrom?: number;
}

/** Picks lines `from`..`to` (defaults: the whole note); a range outside the note is `invalid_request`. */
export function pickLines(text: string, range: { from?: number | undefined; to?: number | undefined }): NoteLines {
  const all = splitLines(text);
  const totalLines = all.length;
  if (totalLines === 0 && range.from === undefined) return { totalLines, from: 1, to: 0, lines: [] };
  const from = range.from ?? 1;
  const to = Math.min(range.to ?? totalLines, totalLines);
  if (from > totalLines) {
    throw new AppError('invalid_request', `"from" is ${from}, but the note has ${totalLines} line${totalLines === 1 ? '' : 's'}.`);
  }
  if (range.to !== undefined && range.to < from) throw new AppError('invalid_request', `"to" (${range.to}) must not be before "from" (${from}).`);
  const last = Math.min(to, from + MAX_LINES_PER_READ - 1);
  const result: NoteLines = { totalLines, from, to: last, lines: all.slice(from - 1, last) };
  if (last < to) result.nextFrom = last + 1;
  return result;
}

/** The lines with their numbers, right-aligned and tab-separated (`  12\ttext`). */
export function numberLines(picked: Pick<NoteLines, 'from' | 'to' | 'lines'>): string {
  const width = String(picked.to).length;
  return picked.lines.map((line, offset) => `${String(picked.from + offset).padStart(width)}\t${line}`).join('\n');
}
