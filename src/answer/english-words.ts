/**
 * Whether a word is ordinary English: it, or it less an inflection ending or an English prefix, is
 * in a general English word list (`word-list`, ~274,000 words with their inflections, MIT). A
 * lower-case word that is neither English nor in the notes is most likely the name of a tool or
 * product ("sanoid", "mergerfs") the notes never mention; an English word the notes lack is just
 * the user's own phrasing.
 *
 * The list is read on first use (a fraction of a second) and kept for the life of the process.
 */
import { readFileSync } from 'node:fs';
import wordListPath from 'word-list';

let words: Set<string> | undefined;

function englishWords(): Set<string> {
  words ??= new Set(readFileSync(wordListPath, 'utf8').split('\n'));
  return words;
}

/** Inflection endings and what the word may have ended in before them ("glowed" -> "glow", "piped" -> "pipe"). */
const ENDINGS: readonly [string, string][] = [
  ['s', ''], ['es', ''], ['ed', ''], ['ed', 'e'], ['ing', ''], ['ing', 'e'], ['er', ''], ['ers', ''], ['ly', ''],
];

/**
 * English derivational prefixes: "unticks" is "un" + "ticks", an English word made in the usual
 * way even when no word list has it.
 */
const PREFIXES = ['anti', 'auto', 'co', 'de', 'dis', 'inter', 'mis', 'multi', 'non', 'out', 'over', 'pre', 're', 'semi', 'sub', 'super', 'trans', 'un', 'under'];

/** Shortest rest of a prefixed or inflected word that counts (shorter ones make too many accidental words). */
const MIN_REST = 4;

function listed(word: string, list: Set<string>): boolean {
  if (list.has(word)) return true;
  return ENDINGS.some(([ending, restored]) => word.endsWith(ending) && word.length - ending.length >= MIN_REST - restored.length && list.has(word.slice(0, -ending.length) + restored));
}

/** True when `word` (lower-case letters), an inflection of it, or it less an English prefix is an English word. */
export function isEnglishWord(word: string): boolean {
  const list = englishWords();
  if (listed(word, list)) return true;
  return PREFIXES.some((prefix) => word.startsWith(prefix) && word.length - prefix.length >= MIN_REST && listed(word.slice(prefix.length), list));
}

/** Loads the list now (start-up), so the first question does not wait for it. */
export function loadEnglishWords(): void {
  englishWords();
}
