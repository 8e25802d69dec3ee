/**
 * How much of a question the evidence covers, weighted by how informative each term is.
 * Shared by sentence selection (extractive answers) and abstention.
 */
import { SAME_WORD_PREFIX, sameWord, tokenize } from '../embeddings/tokenize.ts';
import { isEnglishWord } from './english-words.ts';

/** Inverse document frequency of a term in the indexed corpus (terms never seen get the highest). */
export type TermWeight = (term: string) => number;

export interface QueryTerms {
  terms: string[];
  weights: Map<string, number>;
  total: number;
}

/** The distinct content terms of a question with their weights. */
export function queryTerms(question: string, weight: TermWeight): QueryTerms {
  const weights = new Map<string, number>();
  for (const term of tokenize(question)) weights.set(term, weight(term));
  let total = 0;
  for (const value of weights.values()) total += value;
  return { terms: [...weights.keys()], weights, total };
}

/**
 * True when `term`, or another form of the same word, is in `present` (see `sameWord`: stemmers
 * miss irregular forms such as "rewrite"/"rewritten").
 */
export function termPresent(term: string, present: Set<string>): boolean {
  if (present.has(term)) return true;
  if (term.length < SAME_WORD_PREFIX) return false;
  for (const candidate of present) if (sameWord(term, candidate)) return true;
  return false;
}

/** Share (0..1) of the question's weighted terms that occur in `text`. */
export function coverage(query: QueryTerms, text: string | Set<string>): number {
  if (query.total === 0) return 0;
  const present = typeof text === 'string' ? new Set(tokenize(text)) : text;
  let covered = 0;
  for (const [term, value] of query.weights) if (termPresent(term, present)) covered += value;
  return covered / query.total;
}

/**
 * The things a question names, one entry per named word with its analysed terms (a version or
 * number: only its whole term): versions and
 * numbers that identify something ("DockerCon 2024", "v1.1", "3.12"), capitalised words that do
 * not start a sentence ("Swarm", "France", "Hyper-V") and lower-case words that are not English
 * ("sanoid"). A bare quantity ("the last 48 hours",
 * "between 01:30 and 02:45") is a value the user supplies, not a name.
 */
export function namedWords(question: string): { word: string; terms: string[] }[] {
  const named: { word: string; terms: string[] }[] = [];
  const words = question.split(/\s+/);
  words.forEach((word, position) => {
    const previous = words[position - 1];
    const startsSentence = previous === undefined || /[.!?:]$/.test(previous);
    const bare = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    if (bare === '') return;
    const hasLetter = /\p{L}/u.test(bare);
    const isName = !startsSentence && /^\p{Lu}/u.test(bare);
    const previousIsName = previous !== undefined && !startsSentence && /^\p{Lu}/u.test(previous);
    const isIdentifyingNumber = /\p{N}/u.test(bare) && (hasLetter || bare.includes('.') || previousIsName);
    if (!isName && !isIdentifyingNumber && !isCoinedWord(bare)) return;
    const terms = tokenize(bare);
    // A version is one identity: "v1.2" is not known because "v1.1" shares its parts.
    if (terms.length > 0) named.push({ word: bare.toLowerCase(), terms: /\p{N}/u.test(bare) ? terms.slice(0, 1) : terms });
  });
  return named;
}

/**
 * A lower-case word of letters that is not English in any inflection ("sanoid", "mergerfs",
 * "kubectl"): the name of a tool or product, as much a name as a capitalised one. Short words are
 * left out (abbreviations and typos are common there).
 */
function isCoinedWord(word: string): boolean {
  return word.length >= COINED_MIN_LENGTH && /^[a-z]+$/.test(word) && !isEnglishWord(word);
}

const COINED_MIN_LENGTH = 4;

/**
 * The named words of `question` that the notes never mention, each as written (lower-cased): a
 * word is unknown only when none of its terms occurs ("Spotlight-style" is known when the notes
 * say "Spotlight"; "Hyper-V" is not when they never say "Hyper"; "v1.2" is not when they only say
 * "v1.1").
 */
export function unknownNames(question: string, documentFrequency: (term: string) => number): string[] {
  const unknown = new Set<string>();
  for (const { word, terms } of namedWords(question)) {
    if (terms.every((term) => documentFrequency(term) === 0)) unknown.add(word);
  }
  return [...unknown];
}
