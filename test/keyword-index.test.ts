/**
 * The BM25 keyword index (pure, in memory): ranking on a small table of documents, the BM25
 * formula itself, coverage and IDF, and the edge cases (empty query, empty corpus).
 */
import { describe, expect, it } from 'vitest';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';

const DOCS = [
  { id: 'udemy', text: 'New partnership between Docker and Udemy: accredited Docker courses.' },
  { id: 'dry-run', text: 'docker compose up --dry-run shows what would happen, non-destructive.' },
  { id: 'depends', text: 'depends_on condition: the default is service_started; service_healthy waits.' },
  { id: 'cache', text: 'Cloud builds share a cache among the team, so nobody builds the same thing twice.' },
  { id: 'wasm', text: 'Spin reads spin.toml, the config file of a Wasm application.' },
  { id: 'platform', text: 'Platform engineering is closer to user experience than to infrastructure. Docker.' },
];

describe('KeywordIndex.search', () => {
  const index = KeywordIndex.build(DOCS);

  it.each([
    ['Which course platform did Docker announce a partnership with?', 'udemy'],
    ['How can I preview compose up without changing anything? --dry-run', 'dry-run'],
    ['What is the default depends_on condition?', 'depends'],
    ['shared build cache for the team', 'cache'],
    ['Which file configures a Spin app?', 'wasm'],
    ['spin.toml', 'wasm'],
    ['platform engineering and user experience', 'platform'],
  ])('%s -> %s first', (query, expected) => {
    expect(index.search(query, 3)[0]?.id).toBe(expected);
  });

  it('returns at most k hits, best first, only documents sharing a term', () => {
    const hits = index.search('docker', 10);
    expect(hits.map((hit) => hit.id).sort()).toEqual(['dry-run', 'platform', 'udemy']);
    for (let position = 1; position < hits.length; position++) {
      expect(hits[position - 1]!.score).toBeGreaterThanOrEqual(hits[position]!.score);
    }
    expect(index.search('docker', 2)).toHaveLength(2);
  });

  it('with an allowed(number) predicate: only allowed documents, with their unscoped scores', () => {
    const all = index.search('docker', 10);
    const allowedIds = new Set(['platform', 'udemy']);
    const numbers = new Map(DOCS.map((document, number) => [document.id, number]));
    const scoped = index.search('docker', 10, (number) => allowedIds.has(DOCS[number]?.id ?? ''));
    expect(scoped).toEqual(all.filter((hit) => allowedIds.has(hit.id)));
    expect(index.search('docker', 1, (number) => number === numbers.get('platform'))).toEqual(all.filter((hit) => hit.id === 'platform'));
  });

  it('ranks the document with more occurrences higher, and among equals the shorter one', () => {
    const small = KeywordIndex.build([
      { id: 'once', text: 'cache alpha beta gamma' },
      { id: 'twice', text: 'cache cache alpha beta' },
      { id: 'long', text: 'cache alpha beta gamma delta epsilon zeta eta theta iota' },
    ]);
    expect(small.search('cache', 3).map((hit) => hit.id)).toEqual(['twice', 'once', 'long']);
  });

  it('weights a rare term above a common one', () => {
    const small = KeywordIndex.build([
      { id: 'common', text: 'docker docker' },
      { id: 'rare', text: 'udemy' },
      { id: 'other1', text: 'docker' },
      { id: 'other2', text: 'docker compose' },
    ]);
    expect(small.search('docker udemy', 1)[0]?.id).toBe('rare');
  });

  it('computes the BM25 score (k1 = 1.2, b = 0.75)', () => {
    const small = KeywordIndex.build([
      { id: 'a', text: 'cache cache build' },
      { id: 'b', text: 'build' },
    ]);
    // Document a: tf 2, length 3; average length 2; df(cache) = 1 of N = 2.
    const idf = Math.log(1 + (2 - 1 + 0.5) / (1 + 0.5));
    const norm = 1 - 0.75 + (0.75 * 3) / 2;
    const expected = (idf * 2 * 2.2) / (2 + 1.2 * norm);
    const [hit] = small.search('cache', 1);
    expect(hit?.id).toBe('a');
    expect(hit?.score).toBeCloseTo(expected, 6);
  });

  it('gives repeated searches the same answer (its scratch scores are cleared)', () => {
    const first = index.search('docker cache team', 5);
    index.search('spin wasm', 5);
    expect(index.search('docker cache team', 5)).toEqual(first);
  });

  it.each([
    ['an empty query', ''],
    ['only stop words', 'what is the'],
    ['unknown words', 'zebra xylophone'],
  ])('returns nothing for %s', (_name, query) => {
    expect(index.search(query, 5)).toEqual([]);
  });

  it('returns nothing for k <= 0', () => {
    expect(index.search('docker', 0)).toEqual([]);
  });

  it('handles an empty corpus', () => {
    const empty = KeywordIndex.build([]);
    expect(empty.size).toBe(0);
    expect(empty.search('docker', 5)).toEqual([]);
    expect(empty.coverage('docker', 'x')).toBe(0);
    expect(empty.idf('docker')).toBeGreaterThan(0);
  });

  it('rejects duplicate ids', () => {
    expect(() => KeywordIndex.build([{ id: 'a', text: 'x' }, { id: 'a', text: 'y' }])).toThrow(/duplicate/);
  });
});

describe('KeywordIndex other forms of a word', () => {
  const index = KeywordIndex.build([
    { id: 'rewritten', text: 'Compose was rewritten from Python to Go.' },
    { id: 'deployable', text: 'Each service is deployable on its own.' },
    { id: 'other', text: 'Python scripts and Go binaries.' },
  ]);

  it.each([
    // The stemmer leaves these apart ("rewrite" → rewrit, "rewritten" → rewritten).
    ['rewrite', ['rewritten']],
    ['deploy', ['deployable']],
    // Shorter than five letters, or a different word that merely shares a start: no variants.
    ['go', []],
    ['rewind', []],
    ['composer', []],
  ])('%s -> %j', (word, expected) => {
    const [term = ''] = index.terms(word);
    expect(index.variants(term).map((variant) => index.search(variant, 1)[0]?.id)).toEqual(expected);
  });

  it('finds a document by another form of a word the notes never use in the question\'s form', () => {
    expect(index.search('Why was it rewrite?', 3).map((hit) => hit.id)).toEqual(['rewritten']);
  });

  it('uses only the exact form when the notes use it', () => {
    const both = KeywordIndex.build([
      { id: 'rewritten', text: 'Compose was rewritten from Python to Go.' },
      { id: 'rewrite', text: 'A rewrite of the docs.' },
    ]);
    expect(both.search('rewrite', 3).map((hit) => hit.id)).toEqual(['rewrite']);
  });
});

describe('KeywordIndex term statistics', () => {
  const index = KeywordIndex.build(DOCS);

  it('counts documents per analyzed term', () => {
    expect(index.size).toBe(DOCS.length);
    expect(index.documentFrequency('docker')).toBe(3);
    expect(index.documentFrequency('depends_on')).toBe(1);
    expect(index.documentFrequency('zebra')).toBe(0);
    expect(index.terms('Which builds? Building!')).toEqual(['build']);
  });

  it('gives rarer terms a higher IDF, and unseen terms the highest', () => {
    // Statistics are per analyzed term: "Udemy" is indexed as its stem.
    const [udemy = ''] = index.terms('Udemy');
    expect(udemy).toBe('udemi');
    expect(index.documentFrequency(udemy)).toBe(1);
    expect(index.idf(udemy)).toBeGreaterThan(index.idf('docker'));
    expect(index.idf('zebra')).toBeGreaterThan(index.idf(udemy));
    expect(index.idf('docker')).toBeGreaterThan(0);
  });

  it('answers whether a document has a term', () => {
    expect(index.has('wasm', 'spin.toml')).toBe(true);
    expect(index.has('udemy', 'spin.toml')).toBe(false);
    expect(index.has('nope', 'docker')).toBe(false);
  });

  it('measures IDF-weighted coverage of the query by one document', () => {
    expect(index.coverage('Udemy partnership', 'udemy')).toBeCloseTo(1, 10);
    expect(index.coverage('Udemy partnership', 'platform')).toBe(0);
    const partial = index.coverage('docker udemy', 'platform');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(0.5); // docker is common, udemy (missing) is rare
    // A term no document has counts fully against every document.
    expect(index.coverage('Udemy zebra', 'udemy')).toBeLessThan(0.6);
    expect(index.coverage('', 'udemy')).toBe(0);
    expect(index.coverage('udemy', 'unknown-id')).toBe(0);
  });
});
