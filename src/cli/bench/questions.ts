/**
 * Benchmark questions, drawn deterministically from the indexed chunks: a run of 4 to 8 words of a
 * chunk's prose, as someone asks about a passage they half remember. Each question is distinct, so
 * the serving benchmark can tell which upstream chat request belongs to which question.
 */
import { createRandom } from '../../../test/support/synthetic-corpus.ts';

const WORD = /^[A-Za-z][a-z]{2,}$/;

export function makeQuestions(texts: readonly string[], count: number, seed: number): string[] {
  const random = createRandom(seed);
  const questions = new Set<string>();
  let attempts = 0;
  while (questions.size < count && attempts < count * 50 && texts.length > 0) {
    attempts += 1;
    const text = texts[Math.floor(random() * texts.length)] ?? '';
    // Prose only: skip headings, fences and list markers; keep plain words.
    const words = text
      .split('\n')
      .filter((line) => !/^\s*(#|```|~~~|\$|[-*] |\d+\. )/.test(line))
      .join(' ')
      .split(/\s+/)
      .map((word) => word.replace(/[.,?!:;]+$/, ''))
      .filter((word) => WORD.test(word));
    const length = 4 + Math.floor(random() * 5);
    if (words.length < length) continue;
    const start = Math.floor(random() * (words.length - length + 1));
    const phrase = words.slice(start, start + length).join(' ').toLowerCase();
    questions.add(`${phrase.charAt(0).toUpperCase()}${phrase.slice(1)}?`);
  }
  return [...questions];
}
