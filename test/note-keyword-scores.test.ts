/**
 * BM25F fields of the keyword index and whole-note scores over its chunks (pure, small tables).
 */
import { describe, expect, it } from 'vitest';
import { FIELD_WEIGHTS, type KeywordDocument } from '../src/vector-index/bm25f.ts';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';
import { NoteKeywordScores } from '../src/vector-index/note-keyword-scores.ts';

describe('KeywordIndex fields', () => {
  const documents: KeywordDocument[] = [
    { id: 'body', text: 'zebra grazes here, also a lantern and a river', title: 'notes', heading: '' },
    { id: 'title', text: 'grazes here, also a lantern and a river', title: 'zebra', heading: '' },
    { id: 'heading', text: 'grazes here, also a lantern and a river', title: 'notes', heading: 'Zebra' },
  ];
  const index = KeywordIndex.build(documents);

  it('a title term outweighs a heading term, which outweighs a body term', () => {
    expect(index.search('zebra', 3).map((hit) => hit.id)).toEqual(['title', 'heading', 'body']);
    expect(FIELD_WEIGHTS.title).toBeGreaterThan(FIELD_WEIGHTS.heading);
  });

  it('a field term repeated in the field counts once', () => {
    const once = KeywordIndex.build([{ id: 'a', text: 'x', title: 'zebra' }, { id: 'b', text: 'y' }]);
    const twice = KeywordIndex.build([{ id: 'a', text: 'x', title: 'zebra zebra zebras' }, { id: 'b', text: 'y' }]);
    expect(twice.search('zebra', 1)[0]?.score).toBeCloseTo(once.search('zebra', 1)[0]?.score ?? 0, 12);
  });

  it('saved and loaded, the weighted postings are the same', () => {
    const loaded = KeywordIndex.deserialize(index.serialize(), documents);
    expect(loaded?.search('zebra lantern', 3)).toEqual(index.search('zebra lantern', 3));
    // Another field text for the same id is another document: the saved postings are refused.
    const changed = documents.map((document) => ({ ...document, title: 'other' }));
    expect(KeywordIndex.deserialize(index.serialize(), changed)).toBeUndefined();
  });
});

describe('NoteKeywordScores', () => {
  // Note "a" says "zebra" in one chunk and "lantern" in another; note "b" says both in one chunk.
  const chunks = [
    { id: 'a1', note: 'a.md', text: 'the zebra grazes', title: 'alpha' },
    { id: 'a2', note: 'a.md', text: 'a lantern glows', title: 'alpha' },
    { id: 'a3', note: 'a.md', text: 'nothing else here', title: 'alpha' },
    { id: 'b1', note: 'b.md', text: 'zebra by a lantern', title: 'beta' },
    { id: 'c1', note: 'c.md', text: 'only a river', title: 'gamma' },
  ];
  const keyword = KeywordIndex.build(chunks);
  const notes = NoteKeywordScores.fromKeywordIndex(keyword, chunks);

  it('scores a note by all its chunks together', () => {
    const scores = notes.search('zebra lantern');
    expect(notes.size).toBe(3);
    expect(['a.md', 'b.md', 'c.md'].filter((path) => scores.get(path) !== undefined)).toEqual(['a.md', 'b.md']);
    expect(scores.best).toBe(scores.get('b.md'));
    // Each note holds both words once; the longer note ranks lower, but it is found as a whole.
    expect(scores.get('a.md')).toBeGreaterThan(0);
    expect(scores.get('b.md')).toBeGreaterThan(scores.get('a.md') ?? 0);
    expect(keyword.search('zebra lantern', 5)[0]?.id).toBe('b1');
  });

  it('the title every chunk repeats counts once per note', () => {
    const one = KeywordIndex.build([
      { id: 'x1', text: 'first', title: 'zebra' },
      { id: 'y1', text: 'second', title: 'river' },
    ]);
    const many = KeywordIndex.build([
      { id: 'x1', text: 'first', title: 'zebra' },
      { id: 'x2', text: 'meadow', title: 'zebra' },
      { id: 'x3', text: 'harbour', title: 'zebra' },
      { id: 'y1', text: 'second', title: 'river' },
    ]);
    const single = NoteKeywordScores.fromKeywordIndex(one, [
      { id: 'x1', note: 'x.md', title: 'zebra' },
      { id: 'y1', note: 'y.md', title: 'river' },
    ]).search('zebra');
    const split = NoteKeywordScores.fromKeywordIndex(many, [
      { id: 'x1', note: 'x.md', title: 'zebra' },
      { id: 'x2', note: 'x.md', title: 'zebra' },
      { id: 'x3', note: 'x.md', title: 'zebra' },
      { id: 'y1', note: 'y.md', title: 'river' },
    ]).search('zebra');
    // Same term frequency (the title, once); only the note length differs.
    expect(split.get('x.md')).toBeGreaterThan(0);
    expect(split.get('x.md')).toBeLessThan(single.get('x.md') ?? 0);
    expect(split.get('x.md')).toBeGreaterThan((single.get('x.md') ?? 0) / 2);
  });
});

describe('NoteKeywordScores.score (the per-note sums a Postgres query returns)', () => {
  it('gives the same scores from summed frequencies as from the keyword index', () => {
    const chunks = [
      { id: 'a1', note: 'a.md', text: 'the zebra grazes', title: 'alpha' },
      { id: 'a2', note: 'a.md', text: 'a lantern glows by the zebra', title: 'alpha' },
      { id: 'b1', note: 'b.md', text: 'zebra by a lantern', title: 'beta zebra' },
    ];
    const keyword = KeywordIndex.build(chunks);
    const fromIndex = NoteKeywordScores.fromKeywordIndex(keyword, chunks);
    const totals = ['a.md', 'b.md'].map((path) => {
      const own = chunks.filter((chunk) => chunk.note === path);
      const length = own.reduce((sum, chunk) => sum + keyword.lengthOf(keyword.numberOfId(chunk.id)!), 0);
      return { path, chunks: own.length, length, title: own[0]!.title };
    });
    const summed = new Map<string, Map<string, number>>();
    for (const term of keyword.searchTerms('zebra lantern')) {
      const perNote = new Map<string, number>();
      keyword.forEachPosting(term, (document, frequency) => {
        const note = chunks.find((chunk) => keyword.numberOfId(chunk.id) === document)!.note;
        perNote.set(note, (perNote.get(note) ?? 0) + frequency);
      });
      summed.set(term, perNote);
    }
    const fromSums = new NoteKeywordScores(totals, keyword.saturation).score(summed);
    const expected = fromIndex.search('zebra lantern');
    expect([...fromSums.keys()].sort()).toEqual(['a.md', 'b.md']);
    for (const path of ['a.md', 'b.md']) expect(fromSums.get(path)).toBeCloseTo(expected.get(path) ?? 0, 12);
    expect(Math.max(...fromSums.values())).toBeCloseTo(expected.best, 12);
  });
});
