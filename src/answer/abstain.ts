/**
 * Honest "not in your notes", by two general, explainable rules:
 *
 * 1. The question names something the notes never mention: a number or version ("DockerCon 2024")
 *    or a proper name ("Docker Swarm") that occurs in no indexed chunk.
 * 2. No retrieved source covers enough of what the question is about. Coverage is weighted by IDF,
 *    so the question's rare, specific words count far more than words every note uses ("Docker");
 *    a word the notes never use gets the highest weight of all.
 *
 * No per-question tuning: the same rules and thresholds serve any notes folder. With a chat model
 * the coverage rule only stops questions the notes clearly do not touch (MODEL_MIN_COVERAGE).
 */
import { coverage, unknownNames as findUnknownNames, type QueryTerms } from './evidence.ts';

/** Share of the question's weighted terms that the best single source must contain. */
export const MIN_COVERAGE = 0.25;

/**
 * The same share when a chat model will read the sources: it then abstains only when the evidence
 * is clearly absent, and the model decides the rest (its "not in the notes" is detected). Questions
 * phrased in the user's own words often share little vocabulary with notes that do answer them.
 */
export const MODEL_MIN_COVERAGE = 0.1;

export interface Judgement {
  answerable: boolean;
  /** Best single-source coverage, 0..1. */
  coverage: number;
  /** Named terms of the question that no indexed chunk contains. */
  unknownNames: string[];
}

/**
 * `documentFrequency` tells in how many indexed chunks a term occurs (the keyword index's count).
 */
export function judgeEvidence(
  query: QueryTerms,
  sources: readonly string[],
  options: { question?: string; documentFrequency?: (term: string) => number; minCoverage?: number } = {},
): Judgement {
  let best = 0;
  for (const text of sources) best = Math.max(best, coverage(query, text));
  const frequency = options.documentFrequency;
  const unknownNames =
    options.question === undefined || frequency === undefined
      ? []
      : findUnknownNames(options.question, frequency);
  return {
    answerable: query.terms.length > 0 && best >= (options.minCoverage ?? MIN_COVERAGE) && unknownNames.length === 0,
    coverage: best,
    unknownNames,
  };
}

/** The answer given when the notes do not cover a question: says so, and names the nearest notes. */
export function notCoveredAnswer(nearest: readonly { note: string; heading: string }[], unknownNames: readonly string[] = []): string {
  const places = [...new Set(nearest.map((source) => (source.heading ? `${source.note} (${source.heading})` : source.note)))];
  const never = unknownNames.length > 0 ? ` They never mention ${unknownNames.map((name) => `"${name}"`).join(', ')}.` : '';
  if (places.length === 0) return `Your notes do not cover this: there are no notes indexed yet.`;
  return `Your notes do not seem to cover this.${never} The nearest notes are: ${places.slice(0, 3).join('; ')}.`;
}
