/**
 * Citation markers in a model's answer (pure). Local models cite in many forms besides the `[n]` the
 * prompt asks for — `[1, 2]`, `[1][2]`, `[1-3]`, `[^1]`, `【1】`, `Source 1`, `(Source 1)`, `source #1`,
 * and `(1)` — (issue 12). Every form that names a real source becomes `[n]` (one bracket per source, so
 * the chat page links each); bracketed numbers that name no source (`[9]`, `[0]`) are dropped, so they
 * can never become links. Code (fenced blocks and inline spans) is left exactly as written.
 */

export interface Citations {
  /** The answer with every recognised citation written as `[n]`. */
  text: string;
  /** The source numbers cited, in order of first use, only those in `available`. */
  cited: number[];
}

/** Longest range `[a-b]` expanded; a wider one is not a citation. */
const MAX_RANGE = 20;

const NUMBER_LIST = String.raw`\d{1,3}(?:\s*(?:,|;|&|and|[-–—]|to)\s*(?:sources?\s*#?\s*)?\d{1,3})*`;

/**
 * One regex for every form, tried left to right. Named groups say which form matched:
 * - `definition`: a footnote definition line `[^1]: …` (the page lists the sources itself);
 * - `bracket`: `[1]`, `[1, 2]`, `[1-3]`, `[^1]`, `[Source 1]`, `[source: 2]` (not a link `[1](…)`);
 * - `lenticular`: `【1】`, `【1†L3-L9】`, `【Source 1】`;
 * - `sourceParen`: `(Source 1)`, `(see sources 1 and 2)`;
 * - `sourceWord`: `Source 1`, `sources 1 and 3`, `source #2`;
 * - `numberParen`: `(1)` and `(1, 2)` only after text on the same line and before punctuation or the
 *   line end, so an enumeration such as "(1) pin versions" or "you can (1) pin" is left alone.
 */
const CITATION = new RegExp(
  [
    String.raw`(?<definition>^[ \t]*\[\^\d{1,3}\]:[^\n]*(?:\n|$))`,
    String.raw`(?<bracket>\[\^?\s*(?:(?:sources?|refs?|references?)\s*[:#]?\s*)?(?<bracketList>${NUMBER_LIST})\s*\](?![(:]))`,
    String.raw`(?<lenticular>【\s*(?:sources?\s*[:#]?\s*)?(?<lenticularList>${NUMBER_LIST})(?:†[^】\n]*)?\s*】)`,
    String.raw`(?<sourceParen>\(\s*(?:see\s+|from\s+|cf\.\s*)?(?:sources?|src\.?)\s*[:#]?\s*(?<sourceParenList>${NUMBER_LIST})\s*\))`,
    String.raw`(?<sourceWord>\bsources?\s*#?\s*(?<sourceWordList>${NUMBER_LIST})\b)`,
    String.raw`(?<=\S[ \t]+)(?<numberParen>\((?<numberParenList>\d{1,3}(?:\s*,\s*\d{1,3})*)\)(?=[.,;:!?]|[ \t]*(?:\n|$)|[ \t]*\())`,
  ]
    .join('|')
    // The spaces before a marker go with it when it is dropped ("claim [9]." -> "claim.").
    .replace(/^/, String.raw`(?<lead>[ \t]*)(?:`)
    .concat(')'),
  'gimu',
);

/** The numbers a list like `1, 2`, `1-3`, `1 and Source 4` names, in order, without duplicates. */
function listedNumbers(list: string): number[] {
  const numbers: number[] = [];
  const add = (n: number) => {
    if (!numbers.includes(n)) numbers.push(n);
  };
  const parts = list.split(/\s*(?:,|;|&|\band\b)\s*/i);
  for (const part of parts) {
    const range = /^(?:sources?\s*#?\s*)?(\d+)\s*(?:[-–—]|\bto\b)\s*(?:sources?\s*#?\s*)?(\d+)$/i.exec(part.trim());
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to >= from && to - from <= MAX_RANGE) for (let n = from; n <= to; n++) add(n);
      continue;
    }
    const single = /(\d+)\s*$/.exec(part);
    if (single) add(Number(single[1]));
  }
  return numbers;
}

/** Splits text into prose and code (fenced blocks, inline spans); only prose holds citations. */
export function proseAndCode(text: string): { text: string; code: boolean }[] {
  const parts: { text: string; code: boolean }[] = [];
  let prose = '';
  let fence: string | undefined;
  let code = '';
  for (const line of text.split(/(?<=\n)/)) {
    const marker = /^[ \t]{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      code += line;
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
        parts.push({ text: code, code: true });
        code = '';
        fence = undefined;
      }
      continue;
    }
    if (marker !== undefined) {
      if (prose !== '') parts.push(...inlineCode(prose));
      prose = '';
      fence = marker;
      code = line;
      continue;
    }
    prose += line;
  }
  if (prose !== '') parts.push(...inlineCode(prose));
  // An unclosed fence runs to the end, as in CommonMark.
  if (code !== '') parts.push({ text: code, code: true });
  return parts;
}

/** Inline code spans (a run of backticks closed by an equal run on the same line). */
function inlineCode(text: string): { text: string; code: boolean }[] {
  const parts: { text: string; code: boolean }[] = [];
  let last = 0;
  for (const match of text.matchAll(/(`+)[^`\n]*?(?<!`)\1(?!`)/g)) {
    if (match.index > last) parts.push({ text: text.slice(last, match.index), code: false });
    parts.push({ text: match[0], code: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), code: false });
  return parts;
}

/**
 * Rewrites every recognised citation to `[n]` markers for sources in `available` and lists them.
 * A bracketed marker naming no real source is removed (with the space before it); a worded one
 * ("Source 9") stays as plain text, since removing words would break the sentence.
 */
export function normaliseCitations(text: string, available: readonly number[]): Citations {
  const allowed = new Set(available);
  const cited: number[] = [];
  // Code is masked (same length, so offsets hold) rather than cut out: `(1)` after a code span still
  // has text before it on its line.
  const masked = proseAndCode(text)
    .map((part) => (part.code ? CODE_MASK.repeat(part.text.length) : part.text))
    .join('');
  let rewritten = '';
  let last = 0;
  for (const match of masked.matchAll(CITATION)) {
    if (match[0].includes(CODE_MASK)) continue; // only a footnote definition line can reach into code: keep it
    rewritten += text.slice(last, match.index) + replacement(match, allowed, cited);
    last = match.index + match[0].length;
  }
  return { text: rewritten + text.slice(last), cited };
}

/** Stands in for code while citations are matched; never part of a citation form. */
const CODE_MASK = '\u0001';

/** What one matched citation becomes; records the real sources it names in `cited`. */
function replacement(match: RegExpExecArray | RegExpMatchArray, allowed: ReadonlySet<number>, cited: number[]): string {
  const groups = match.groups ?? {};
  const lead = groups['lead'] ?? '';
  if (groups['definition'] !== undefined) return '';
  const list =
    groups['bracketList'] ?? groups['lenticularList'] ?? groups['sourceParenList'] ?? groups['sourceWordList'] ?? groups['numberParenList'] ?? '';
  const numbers = listedNumbers(list);
  const real = numbers.filter((n) => allowed.has(n));
  const worded = groups['sourceWord'] !== undefined || groups['numberParen'] !== undefined;
  // A worded or parenthesised number that is not wholly real is prose ("Source 9", "(2023)").
  if (worded && real.length !== numbers.length) return match[0];
  for (const n of real) if (!cited.includes(n)) cited.push(n);
  if (real.length === 0) return '';
  return lead + real.map((n) => `[${n}]`).join('');
}

/** The source numbers an answer cites (after normalisation), in order of first use. */
export function citedSources(text: string, available: readonly number[]): number[] {
  return normaliseCitations(text, available).cited;
}

/**
 * Normalises citations while an answer streams: each `push` returns the next piece of the normalised
 * answer. Text that could still turn out to be part of a citation (an open `[`, a trailing
 * "Source 1 and", an unclosed inline code span) is held back until it is settled, so the pieces always
 * add up to `normaliseCitations(whole).text`.
 */
export class CitationStream {
  private raw = '';
  private emitted = '';

  constructor(private readonly available: readonly number[]) {}

  push(text: string): string {
    this.raw += text;
    return this.emit(normaliseCitations(this.raw.slice(0, settledLength(this.raw)), this.available).text);
  }

  /** The rest of the answer, once the model has finished. */
  end(): Citations {
    const result = normaliseCitations(this.raw, this.available);
    this.emit(result.text);
    return result;
  }

  /** The normalised text sent so far. */
  get sent(): string {
    return this.emitted;
  }

  private emit(normalised: string): string {
    // Normalisation is local, so a settled prefix only ever grows; if it did not, wait for the end
    // (the terminal event carries the whole answer either way).
    if (!normalised.startsWith(this.emitted)) return '';
    const next = normalised.slice(this.emitted.length);
    this.emitted = normalised;
    return next;
  }
}

/** How much of `raw` cannot change meaning when more text arrives. */
export function settledLength(raw: string): number {
  let hold = raw.length;
  const lineStart = raw.lastIndexOf('\n') + 1;
  const line = raw.slice(lineStart);
  // A code fence being opened, or an inline code span still open on this line.
  if (/^[ \t]{0,3}[`~]/.test(line)) hold = lineStart;
  else if ((line.match(/`/g) ?? []).length % 2 === 1) hold = Math.min(hold, lineStart + line.indexOf('`'));
  // An opening bracket whose marker is unfinished, or finished as the very last character (what
  // follows decides: `[1](` is a link, `(1) pin` an enumeration, `(1)` at a line end a citation).
  for (const opener of ['[', '【', '(']) {
    const at = raw.lastIndexOf(opener);
    if (at !== -1 && raw.length - at <= 48 && /^[[【(][^\n\]】)]*(?:[\]】)][ \t]*)?$/.test(raw.slice(at))) hold = Math.min(hold, at);
  }
  // "Sou…", or "Source 1 and …" still listing numbers.
  const word = /\bs(?:o(?:u(?:r(?:c(?:es?)?)?)?)?)?$|\bsources?\b[^.!?\n[\]()]{0,30}$/i.exec(raw);
  if (word) hold = Math.min(hold, word.index);
  // Spaces before the held part go with a marker that may be dropped.
  while (hold > 0 && (raw[hold - 1] === ' ' || raw[hold - 1] === '\t')) hold--;
  return hold;
}
