/**
 * Honest "not in your notes": a question is answerable only when one retrieved source covers most of
 * what the question is about. Coverage is weighted by IDF, so the question's rare, specific words
 * ("Swarm", "subscription") count far more than words every note uses ("Docker"); a word that appears
 * nowhere in the notes gets the highest weight of all. One general rule, no per-question tuning.
 */
import { coverage, type QueryTerms } from './evidence.ts';

/** Share of the question's weighted terms that the best source must contain. */
export const MIN_COVERAGE = 0.5;

export interface Judgement {
  answerable: boolean;
  /** Best single-source coverage, 0..1. */
  coverage: number;
}

export function judgeEvidence(query: QueryTerms, sources: readonly string[]): Judgement {
  let best = 0;
  for (const text of sources) best = Math.max(best, coverage(query, text));
  return { answerable: query.terms.length > 0 && best >= MIN_COVERAGE, coverage: best };
}

/** The answer given when the notes do not cover a question: says so, and names the nearest notes. */
export function notCoveredAnswer(nearest: readonly { note: string; heading: string }[]): string {
  const places = [...new Set(nearest.map((source) => (source.heading ? `${source.note} (${source.heading})` : source.note)))];
  if (places.length === 0) return 'Your notes do not cover this: there are no notes indexed yet.';
  return `Your notes do not seem to cover this. The nearest notes are: ${places.slice(0, 3).join('; ')}.`;
}
