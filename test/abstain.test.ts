/**
 * Abstention (pure): weighted keyword coverage of the question by the best single source, on
 * hand-made term weights, and the "not in your notes" answer.
 */
import { describe, expect, it } from 'vitest';
import { MIN_COVERAGE, judgeEvidence, notCoveredAnswer } from '../src/answer/abstain.ts';
import { coverage, queryTerms, unknownNames } from '../src/answer/evidence.ts';
import { isEnglishWord } from '../src/answer/english-words.ts';
import { tokenize } from '../src/embeddings/tokenize.ts';
import { handTerms } from './support/answer-fixtures.ts';

/** IDF-like weights by word as a user writes it; a word in every note weighs little, a rare one a lot. */
const IDF: Record<string, number> = {
  docker: 0.1,
  compose: 1,
  watch: 2,
  swarm: 4,
  subscription: 4,
  pricing: 2,
  tier: 3,
  zebra: 1,
  river: 1,
  morning: 1,
};

/** The question's terms weighted by IDF (looked up by stem, as the engine does with the index's IDF). */
function question(text: string) {
  const byStem = new Map(Object.entries(IDF).map(([word, weight]) => [tokenize(word)[0], weight]));
  return queryTerms(text, (term) => byStem.get(term) ?? 1);
}

describe('judgeEvidence', () => {
  it.each([
    {
      name: 'one source holds every word',
      question: 'compose watch',
      sources: ['Compose watch syncs files into running containers'],
      answerable: true,
      coverage: 1,
    },
    {
      name: 'only the common word is missing',
      question: 'docker compose watch',
      sources: ['compose watch syncs files'],
      answerable: true,
      coverage: 3 / 3.1,
    },
    {
      name: 'only common words match; the specific ones are nowhere',
      question: 'docker swarm subscription pricing tiers',
      sources: ['Docker Desktop pricing for teams', 'docker compose watch'],
      answerable: false,
      coverage: 2.1 / 13.1,
    },
    {
      name: 'the specific words are in the notes',
      question: 'docker swarm subscription pricing',
      sources: ['Swarm mode needs no subscription; pricing is per seat'],
      answerable: true,
      coverage: 10 / 10.1,
    },
    {
      name: 'words spread over several sources, none covers enough alone',
      question: 'zebra river morning lantern harbour meadow',
      sources: ['a zebra', 'the river', 'every morning', 'a lantern', 'the harbour', 'a meadow'],
      answerable: false,
      coverage: 1 / 6,
    },
    {
      name: 'inflections match through the stemmer',
      question: 'zebras watching rivers',
      sources: ['the zebra watches the river'],
      answerable: true,
      coverage: 1,
    },
    {
      name: 'no sources at all',
      question: 'compose watch',
      sources: [],
      answerable: false,
      coverage: 0,
    },
    {
      name: 'a question of stop words only has nothing to cover',
      question: 'What is it?',
      sources: ['What is it? It is what it is.'],
      answerable: false,
      coverage: 0,
    },
  ])('$name -> answerable $answerable', ({ question: text, sources, answerable, coverage: expected }) => {
    const judgement = judgeEvidence(question(text), sources);
    expect(judgement.answerable).toBe(answerable);
    expect(judgement.coverage).toBeCloseTo(expected, 9);
  });

  it.each([
    [MIN_COVERAGE - 0.01, false],
    [MIN_COVERAGE, true],
    [MIN_COVERAGE + 0.01, true],
  ])('hand-made weights: a source covering %f of the weight -> answerable %s (relative to MIN_COVERAGE)', (share, _expected) => {
    // Terms are stems, as the analyzer writes them: these two words are their own stems.
    const query = handTerms({ zebra: share, river: 1 - share });
    expect(judgeEvidence(query, ['a zebra']).answerable).toBe(share >= MIN_COVERAGE);
    expect(judgeEvidence(query, ['a zebra by the river']).answerable).toBe(true);
    expect(judgeEvidence(query, ['neither']).answerable).toBe(false);
  });

  it('the verdict is the best single source: adding a weaker source never changes it', () => {
    const query = question('compose watch');
    const alone = judgeEvidence(query, ['compose watch syncs files']);
    const withMore = judgeEvidence(query, ['unrelated', 'compose watch syncs files', 'compose only']);
    expect(withMore).toEqual(alone);
  });
});

describe('coverage', () => {
  const query = handTerms({ depends_on: 2, condit: 1, default: 1 });
  it.each([
    ['default is service_started for depends_on conditions', 1],
    ['depends_on: condition: service_healthy', 3 / 4],
    ['the default', 1 / 4],
    ['nothing relevant', 0],
  ])('%j covers %f', (text, expected) => {
    expect(coverage(query, text)).toBeCloseTo(expected, 9);
    expect(coverage(query, new Set(tokenize(text)))).toBeCloseTo(expected, 9);
  });

  it('an empty query covers nothing', () => {
    expect(coverage(handTerms({}), 'anything')).toBe(0);
  });
});

describe('notCoveredAnswer', () => {
  it('says the notes do not cover it and names the nearest notes, each once, at most three', () => {
    const answer = notCoveredAnswer([
      { note: 'compose.md', heading: 'Tips > depends_on' },
      { note: 'compose.md', heading: 'Tips > depends_on' },
      { note: 'scout.md', heading: '' },
      { note: 'wasm.md', heading: 'Lab' },
      { note: 'ai.md', heading: 'Keynote' },
    ]);
    expect(answer).toMatch(/do not (seem to )?cover/);
    expect(answer).toContain('compose.md (Tips > depends_on)');
    expect(answer.split('compose.md').length - 1).toBe(1);
    expect(answer).toContain('scout.md');
    expect(answer).toContain('wasm.md (Lab)');
    expect(answer).not.toContain('ai.md');
    // Nothing that looks like a citation: the answer does not pretend to be sourced.
    expect(answer).not.toMatch(/\[\d+\]/);
  });

  it('with no notes at all, says there are none', () => {
    expect(notCoveredAnswer([])).toMatch(/no notes/);
  });
});

describe('unknownNames', () => {
  const known = new Set(tokenize('Spotlight search, Docker, DockerCon 2023, v1.1, the last 48 hours, 01:30'));
  const frequency = (term: string) => (known.has(term) ? 1 : 0);
  it.each<[string, string[]]>([
    ['When will DockerCon 2024 take place?', ['2024']],
    ['Does it support Docker Swarm mode?', ['swarm']],
    ['Is there a Spotlight-style search?', []],
    ['How do I grow a Hyper-V disk?', ['hyper-v']],
    ['Keep only the last 72 hours between 02:45 and 03:00', []],
    ['What changed in v1.2?', ['v1.2']],
    ['Capital letters that start a sentence. Do not count', []],
    // A lower-case word that is not English in any form names a tool the notes never mention...
    ['How do I take snapshots with sanoid and mergerfs?', ['sanoid', 'mergerfs']],
    // ...but English words the notes lack are only phrasing: inflected, prefixed, or short.
    ['Which shortcut unticks the shelved boxes in subfolders?', []],
    ['Why is the vhd so slow?', []],
  ])('%j -> %j', (question, expected) => {
    expect(unknownNames(question, frequency)).toEqual(expected);
  });
});

describe('isEnglishWord (word list + inflections + English prefixes)', () => {
  it.each<[string, boolean]>([
    ['search', true],
    ['searching', true],
    ['unticks', true],
    ['subfolders', true],
    ['rewritten', true],
    ['sanoid', false],
    ['borgmatic', false],
    ['kubectl', false],
    // A prefix needs an English word of at least four letters after it.
    ['reqx', false],
  ])('%s -> %s', (word, expected) => {
    expect(isEnglishWord(word)).toBe(expected);
  });
});
