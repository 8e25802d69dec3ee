/**
 * The one analyzer shared by the keyword (BM25) index and the built-in local embedder, so both
 * see the same terms: Unicode-aware lower-cased words, English stop words removed, a Porter stem.
 *
 * Technical compounds such as `depends_on`, `--dry-run`, `spin.toml`, `v1.1` or
 * `docker/metadata-action` are kept whole (unstemmed, so an exact mention matches exactly) AND
 * split into their parts (stemmed, so "depends" or "toml" alone still match).
 * Deliberately general: no synonym lists, nothing tuned to a particular notes folder.
 */

export interface AnalyzedToken {
  /** What is indexed: the Porter stem of a plain word, or a compound as written (lower-cased). */
  term: string;
  /** The lower-cased word as written (for character n-grams); equals `term` for compounds. */
  surface: string;
  /** True for a whole compound (`spin.toml`); its parts follow it as separate plain tokens. */
  compound: boolean;
}

/**
 * A small general English list (articles, pronouns, auxiliaries, common prepositions and
 * conjunctions, question words). Contractions appear without their apostrophe because the
 * scanner drops apostrophes inside words. Direction words (up, down, out, off) are kept: in
 * technical notes `compose up` and `compose down` must stay different.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before ' +
    'being below between both but by can cannot could did do does doing during each either else ' +
    'etc every few for from further had has have having he her here hers herself him himself his ' +
    'how however i if in into is it its itself just let lets me more most much my myself neither no ' +
    'nor not of on once only or other ought our ours ourselves own same shall she should so some such ' +
    'than that the their theirs them themselves then there these they this those through thus to ' +
    'too until upon very via was we were what whatever when where whether which while who whom ' +
    'whose why will with within without would yet you your yours yourself yourselves ' +
    "arent cant couldnt didnt doesnt dont hadnt hasnt havent hed hes id ill im isnt ive shant " +
    "shes shouldnt thats theres theyd theyll theyre theyve wasnt wed well were weve whats wont " +
    'wouldnt youd youll youre youve'
  ).split(' '),
);

const JOINER = /[._\-+:/@]/;
const APOSTROPHE = /['’]/g;
const NON_ASCII = /[^\u0000-\u007f]/;
const LETTER_DIGIT_RUNS = /[\p{L}\p{M}]+|\p{N}+/gu;
const ASCII_LETTERS = /^[a-z]+$/;
const COMBINING_DIACRITICS = /[\u0300-\u036f]/g;
const WORD_CHARACTER = /[\p{L}\p{N}\p{M}]/u;
const DIGIT_CHARACTER = /\p{N}/u;

/**
 * Lower-cased, compatibility-normalised, with Latin diacritics folded (`café` = `cafe`, as people
 * often type them without). Only the combining diacritics block is dropped, so scripts whose
 * vowel signs are marks keep them. Skipped for plain ASCII, where it is the slow part.
 */
function normalise(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  return text.normalize('NFKD').replace(COMBINING_DIACRITICS, '').normalize('NFKC').toLowerCase();
}

/** `model's` -> `model`, `doesn't` -> `doesnt`. */
function dropApostrophes(word: string): string {
  if (word.length > 2 && (word.endsWith("'s") || word.endsWith('’s'))) word = word.slice(0, -2);
  return word.replace(APOSTROPHE, '');
}

/** Receives each token in reading order (see `analyze`); avoids an object per token. */
export type TokenVisitor = (term: string, surface: string, compound: boolean) => void;

// Character classes of the scanner (a hand-written loop: indexing 50,000 chunks is hot, and one
// pass over char codes is several times faster than a Unicode regular expression).
const OTHER = 0;
const LETTER = 1;
const DIGIT = 2;
const JOIN = 3;
const QUOTE = 4;

function classify(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code < 128) {
    if (code >= 97 && code <= 122) return LETTER;
    if (code >= 48 && code <= 57) return DIGIT;
    // . _ - + : / @ join the words of a compound; ' joins `doesn't`.
    if (code === 46 || code === 95 || code === 45 || code === 43 || code === 58 || code === 47 || code === 64) {
      return JOIN;
    }
    return code === 39 ? QUOTE : OTHER;
  }
  if (code === 0x2019) return QUOTE;
  // Astral characters (surrogate pairs) are looked at whole.
  const character = String.fromCodePoint(text.codePointAt(index) ?? code);
  if (!WORD_CHARACTER.test(character)) return OTHER;
  return DIGIT_CHARACTER.test(character) ? DIGIT : LETTER;
}

/** UTF-16 length of the character at `index` (2 for an astral one). */
function width(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
}

function isStopOrNoise(word: string): boolean {
  // Single letters mean nothing alone; single digits do ("9 years").
  return word.length === 1 ? !(word >= '0' && word <= '9') : STOP_WORDS.has(word);
}

// Word -> term ('' for a stop word), memoised: vocabularies are small and this is the hot path.
const TERM_CACHE = new Map<string, string>();
const TERM_CACHE_LIMIT = 200_000;

function termOf(word: string): string {
  let term = TERM_CACHE.get(word);
  if (term === undefined) {
    term = isStopOrNoise(word) ? '' : word.length <= 2 || !ASCII_LETTERS.test(word) ? word : porterStem(word);
    if (TERM_CACHE.size >= TERM_CACHE_LIMIT) TERM_CACHE.clear();
    TERM_CACHE.set(word, term);
  }
  return term;
}

/**
 * Calls `visit` for each token of `text`: a run of letters and digits, continued by `'` + letters
 * (`doesn't`) and by a joiner between word characters (`spin.toml`, `--dry-run` -> `dry-run`).
 * A compound is visited whole, then (for paths) each compound path segment, then its word parts;
 * `10gb` or `mikesir87` count as compounds of their letter and digit runs when every run is at
 * least two characters long. Stop words and single letters are skipped.
 */
export function scanTokens(text: string, visit: TokenVisitor): void {
  const plain = (word: string): void => {
    const term = termOf(word);
    if (term !== '') visit(term, word, false);
  };
  const normalised = normalise(text);
  const length = normalised.length;
  let index = 0;
  while (index < length) {
    let kind = classify(normalised, index);
    if (kind !== LETTER && kind !== DIGIT) {
      index += width(normalised, index);
      continue;
    }
    const start = index;
    let letters = false;
    let digits = false;
    let joined = false;
    let quoted = false;
    for (;;) {
      if (kind === LETTER) letters = true;
      else if (kind === DIGIT) digits = true;
      index += width(normalised, index);
      if (index >= length) break;
      kind = classify(normalised, index);
      if (kind === LETTER || kind === DIGIT) continue;
      if (kind !== JOIN && kind !== QUOTE) break;
      const next = index + 1 < length ? classify(normalised, index + 1) : OTHER;
      // A quote continues a word only before a letter; a joiner before any word character.
      if (next === LETTER || (next === DIGIT && kind === JOIN)) {
        if (kind === JOIN) joined = true;
        else quoted = true;
        index++;
        kind = next;
        continue;
      }
      break;
    }
    let raw = normalised.slice(start, index);
    if (quoted) raw = dropApostrophes(raw);
    if (joined) {
      visit(raw, raw, true);
      if (raw.includes('/')) {
        for (const segment of raw.split('/')) if (JOINER.test(segment)) visit(segment, segment, true);
      }
      visitParts(raw, plain);
    } else if (letters && digits) {
      const runs = raw.match(LETTER_DIGIT_RUNS) ?? [];
      if (runs.length > 1 && runs.every((run) => run.length >= 2)) {
        visit(raw, raw, true);
        for (const run of runs) plain(run);
      } else {
        plain(raw);
      }
    } else {
      plain(raw);
    }
  }
}

/** Calls `plain` with each run of word characters of a compound (a regex here was slow). */
function visitParts(compound: string, plain: (word: string) => void): void {
  let start = -1;
  let index = 0;
  while (index <= compound.length) {
    const kind = index < compound.length ? classify(compound, index) : OTHER;
    if (kind === LETTER || kind === DIGIT) {
      if (start < 0) start = index;
    } else if (start >= 0) {
      plain(compound.slice(start, index));
      start = -1;
    }
    index += index < compound.length ? width(compound, index) : 1;
  }
}

/** The tokens of `text` in reading order, as objects (see `scanTokens`). */
export function analyze(text: string): AnalyzedToken[] {
  const tokens: AnalyzedToken[] = [];
  scanTokens(text, (term, surface, compound) => tokens.push({ term, surface, compound }));
  return tokens;
}

/** The terms of `text` as the keyword index sees them (compounds and their parts). */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  scanTokens(text, (term) => terms.push(term));
  return terms;
}

/** Porter stem of a lower-case ASCII word; other words (accents, digits, short) are returned as is. */
export function stem(word: string): string {
  return word.length <= 2 || !ASCII_LETTERS.test(word) ? word : porterStem(word);
}

/**
 * M. F. Porter, "An algorithm for suffix stripping" (1980), following the reference C
 * implementation (including its `-bli`/`-logi` departures from the paper).
 */
function porterStem(word: string): string {
  let b = word;
  let k = b.length - 1; // last index of the current stem
  let j = 0; // end of the stem before a matched suffix

  const isConsonant = (i: number): boolean => {
    switch (b[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i === 0 ? true : !isConsonant(i - 1);
      default:
        return true;
    }
  };
  /** The number of vowel-consonant sequences in b[0..j]. */
  const measure = (): number => {
    let n = 0;
    let i = 0;
    for (;;) {
      if (i > j) return n;
      if (!isConsonant(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (isConsonant(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!isConsonant(i)) break;
        i++;
      }
      i++;
    }
  };
  const vowelInStem = (): boolean => {
    for (let i = 0; i <= j; i++) if (!isConsonant(i)) return true;
    return false;
  };
  const doubleConsonant = (i: number): boolean =>
    i >= 1 && b[i] === b[i - 1] && isConsonant(i);
  /** consonant-vowel-consonant ending at i, the last not w, x or y (e.g. -hop, not -how). */
  const cvc = (i: number): boolean => {
    if (i < 2 || !isConsonant(i) || isConsonant(i - 1) || !isConsonant(i - 2)) return false;
    const c = b[i];
    return c !== 'w' && c !== 'x' && c !== 'y';
  };
  const ends = (suffix: string): boolean => {
    const length = suffix.length;
    if (length > k + 1) return false;
    if (b.slice(k - length + 1, k + 1) !== suffix) return false;
    j = k - length;
    return true;
  };
  const setTo = (replacement: string): void => {
    b = b.slice(0, j + 1) + replacement;
    k = j + replacement.length;
  };
  const replaceIfMeasured = (replacement: string): void => {
    if (measure() > 0) setTo(replacement);
  };

  // Step 1ab: plurals and -ed / -ing.
  if (b[k] === 's') {
    if (ends('sses')) k -= 2;
    else if (ends('ies')) setTo('i');
    else if (b[k - 1] !== 's') k--;
  }
  if (ends('eed')) {
    if (measure() > 0) k--;
  } else if ((ends('ed') || ends('ing')) && vowelInStem()) {
    k = j;
    if (ends('at')) setTo('ate');
    else if (ends('bl')) setTo('ble');
    else if (ends('iz')) setTo('ize');
    else if (doubleConsonant(k)) {
      k--;
      const c = b[k];
      if (c === 'l' || c === 's' || c === 'z') k++;
    } else {
      j = k;
      if (measure() === 1 && cvc(k)) setTo('e');
    }
  }
  // Step 1c: terminal y -> i when there is another vowel in the stem.
  if (ends('y') && vowelInStem()) b = b.slice(0, k) + 'i' + b.slice(k + 1);

  // Step 2: double suffixes to single ones.
  if (k > 0) {
    for (const [suffix, replacement] of STEP2[b[k - 1] ?? ''] ?? []) {
      if (ends(suffix)) {
        replaceIfMeasured(replacement);
        break;
      }
    }
  }
  // Step 3: -ic-, -full, -ness etc.
  for (const [suffix, replacement] of STEP3[b[k] ?? ''] ?? []) {
    if (ends(suffix)) {
      replaceIfMeasured(replacement);
      break;
    }
  }
  // Step 4: strip -ant, -ence etc. in context <c>vcvc<v>.
  if (k > 0) {
    for (const suffix of STEP4[b[k - 1] ?? ''] ?? []) {
      if (ends(suffix)) {
        if (suffix === 'ion' && !(j >= 0 && (b[j] === 's' || b[j] === 't'))) break;
        if (measure() > 1) k = j;
        break;
      }
    }
  }
  // Step 5: remove a final -e, and -ll -> -l, when the measure allows.
  j = k;
  if (b[k] === 'e') {
    const m = measure();
    if (m > 1 || (m === 1 && !cvc(k - 1))) k--;
  }
  // As in the C code, the measure here is still taken up to the old end (j).
  if (b[k] === 'l' && doubleConsonant(k) && measure() > 1) k--;
  return b.slice(0, k + 1);
}

// Suffix tables keyed by the penultimate (step 2, 4) or last (step 3) letter, as in the C code.
const STEP2: Record<string, [string, string][]> = {
  a: [
    ['ational', 'ate'],
    ['tional', 'tion'],
  ],
  c: [
    ['enci', 'ence'],
    ['anci', 'ance'],
  ],
  e: [['izer', 'ize']],
  l: [
    ['bli', 'ble'],
    ['alli', 'al'],
    ['entli', 'ent'],
    ['eli', 'e'],
    ['ousli', 'ous'],
  ],
  o: [
    ['ization', 'ize'],
    ['ation', 'ate'],
    ['ator', 'ate'],
  ],
  s: [
    ['alism', 'al'],
    ['iveness', 'ive'],
    ['fulness', 'ful'],
    ['ousness', 'ous'],
  ],
  t: [
    ['aliti', 'al'],
    ['iviti', 'ive'],
    ['biliti', 'ble'],
  ],
  g: [['logi', 'log']],
};
const STEP3: Record<string, [string, string][]> = {
  e: [
    ['icate', 'ic'],
    ['ative', ''],
    ['alize', 'al'],
  ],
  i: [['iciti', 'ic']],
  l: [
    ['ical', 'ic'],
    ['ful', ''],
  ],
  s: [['ness', '']],
};
const STEP4: Record<string, string[]> = {
  a: ['al'],
  c: ['ance', 'ence'],
  e: ['er'],
  i: ['ic'],
  l: ['able', 'ible'],
  n: ['ant', 'ement', 'ment', 'ent'],
  o: ['ion', 'ou'],
  s: ['ism'],
  t: ['ate', 'iti'],
  u: ['ous'],
  v: ['ive'],
  z: ['ize'],
};

/** Shortest common prefix for two different stems to count as one word. */
export const SAME_WORD_PREFIX = 5;

/**
 * Whether two different stems are forms of one word the stemmer did not join: stemmers miss
 * irregular forms ("rewrite"/"rewritten" → rewrit/rewritten, "deploy"/"deployable" →
 * deploi/deploy), so two stems of at least 5 letters match when they agree on all but the shorter
 * one's last letter.
 */
export function sameWord(a: string, b: string): boolean {
  if (a.length < SAME_WORD_PREFIX || b.length < SAME_WORD_PREFIX) return false;
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common += 1;
  return common >= Math.max(SAME_WORD_PREFIX, Math.min(a.length, b.length) - 1);
}
