/**
 * Scoped questions (issue 15): which rows a scope allows (pure, tables), and retrieval applying it
 * inside every search — BM25, the exact vector scan and HNSW's filter — so a scoped question gets
 * the best sources of its scope, not the in-scope remainder of an unscoped top k.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine, noMatchAnswer } from '../src/answer/answer-engine.ts';
import type { DoneEvent, SourcesEvent } from '../src/answer/answer-types.ts';
import { retrieve, type RetrievalMethod } from '../src/answer/retrieve.ts';
import { globProblem, isScoped, type ScopeFilter } from '../src/answer/scope.ts';
import { scopeRows } from '../src/vector-index/scope-rows.ts';
import type { IndexedChunk, LoadedIndex } from '../src/vector-index/index-store.ts';
import { listNotes } from '../src/vector-index/note-listing.ts';
import { EXTRACTIVE_MODE, buildNotesIndex, collectEvents, engineDeps, type NotesIndex } from './support/answer-fixtures.ts';

function chunk(note: string, tags: string[] = []): IndexedChunk {
  return { id: note, note, title: note, heading: '', lines: [1, 1], text: note, embedHash: '', tags };
}

const CHUNKS = [
  chunk('inbox.md'),
  chunk('work/plan.md', ['project/asknotes', 'urgent']),
  chunk('work/2024/review.md', ['review']),
  chunk('home/garden.md', ['garden']),
  chunk('home/recipes/bread.md', ['food', 'Project']),
];

describe('scopeRows', () => {
  it.each<{ filter: ScopeFilter; notes: string[] }>([
    { filter: { notes: ['work/**'] }, notes: ['work/plan.md', 'work/2024/review.md'] },
    { filter: { notes: ['work/'] }, notes: ['work/plan.md', 'work/2024/review.md'] },
    { filter: { notes: ['work/*'] }, notes: ['work/plan.md'] },
    { filter: { notes: ['*.md'] }, notes: ['inbox.md'] },
    { filter: { notes: ['**/*.md'] }, notes: CHUNKS.map((item) => item.note) },
    { filter: { notes: ['home/**', 'inbox.md'] }, notes: ['inbox.md', 'home/garden.md', 'home/recipes/bread.md'] },
    { filter: { notes: ['{work,home}/*.md'] }, notes: ['work/plan.md', 'home/garden.md'] },
    { filter: { notes: ['nowhere/**'] }, notes: [] },
    { filter: { tags: ['project'] }, notes: ['work/plan.md'] },
    { filter: { tags: ['#Project/AskNotes'] }, notes: ['work/plan.md'] },
    { filter: { tags: ['garden', 'review'] }, notes: ['work/2024/review.md', 'home/garden.md'] },
    { filter: { tags: ['proj'] }, notes: [] },
    { filter: { notes: ['work/**'], tags: ['review'] }, notes: ['work/2024/review.md'] },
    { filter: { notes: ['home/**'], tags: ['urgent'] }, notes: [] },
    { filter: { notes: [], tags: [] }, notes: CHUNKS.map((item) => item.note) },
  ])('$filter selects $notes', ({ filter, notes }) => {
    const scope = scopeRows(CHUNKS, filter);
    const selected = CHUNKS.filter((_, row) => scope.allows(row)).map((item) => item.note);
    expect(selected).toEqual(notes);
    expect(scope.size).toBe(notes.length);
  });

  it.each([
    [undefined, false],
    [{}, false],
    [{ notes: [], tags: [] }, false],
    [{ notes: ['a/**'] }, true],
    [{ tags: ['x'] }, true],
  ])('isScoped(%j) = %j', (filter, scoped) => {
    expect(isScoped(filter)).toBe(scoped);
  });
});

describe('globProblem', () => {
  it.each([
    ['work/**', undefined],
    ['*.md', undefined],
    ['daily/2024-*.md', undefined],
    ['', 'must not be empty'],
    ['   ', 'must not be empty'],
    ['/etc/**', 'must be relative to the notes folder'],
    ['C:/notes/*', 'must be relative to the notes folder'],
    ['../secrets/*', 'must not contain ".."'],
    ['a/../../b', 'must not contain ".."'],
    ['work\\*.md', 'must use "/" between folders'],
    ['x'.repeat(301), 'must be at most 300 characters'],
  ])('globProblem(%j) = %j', (glob, problem) => {
    expect(globProblem(glob)).toBe(problem);
  });
});

describe('listNotes', () => {
  it('lists notes, every folder with the notes under it, and tags with their parents', () => {
    const listing = listNotes([...CHUNKS, chunk('work/plan.md', ['project/asknotes', 'urgent'])]);
    expect(listing.notes.map((note) => [note.path, note.chunks])).toEqual([
      ['home/garden.md', 1],
      ['home/recipes/bread.md', 1],
      ['inbox.md', 1],
      ['work/2024/review.md', 1],
      ['work/plan.md', 2],
    ]);
    expect(listing.folders).toEqual([
      { path: 'home', notes: 2 },
      { path: 'home/recipes', notes: 1 },
      { path: 'work', notes: 2 },
      { path: 'work/2024', notes: 1 },
    ]);
    expect(listing.tags).toEqual([
      { tag: 'Project', notes: 1 },
      { tag: 'food', notes: 1 },
      { tag: 'garden', notes: 1 },
      { tag: 'project', notes: 1 },
      { tag: 'project/asknotes', notes: 1 },
      { tag: 'review', notes: 1 },
      { tag: 'urgent', notes: 1 },
    ]);
  });
});

// Many notes about the same thing outside the scope, a weaker one inside it: filtering after an
// unscoped top k would find nothing in scope; filtering inside each search finds the in-scope note.
const ZEBRA = 'The zebra grazes near the river bank, the zebra drinks from the river every morning.\n';
const FILES: Record<string, string> = {
  'work/meeting.md': '---\ntags: [meetings]\n---\n# Meeting\n\nWe talked about a zebra once, next to budgets and hiring.\n',
  'work/budget.md': '# Budget\n\nThe budget for next year grows by ten percent. #finance\n',
  'home/garden.md': '# Garden\n\nTomatoes need sun. #garden\n',
};
for (let number = 0; number < 30; number += 1) FILES[`zoo/zebra-${number}.md`] = `# Zebra ${number}\n\n${ZEBRA}`;

describe('scoped retrieval', () => {
  let built: NotesIndex;
  let graphOnly: LoadedIndex;
  beforeAll(async () => {
    built = await buildNotesIndex(FILES);
    // The same index without the exact scan, so the vector half goes through HNSW and its filter.
    graphOnly = { ...built.index, exact: undefined };
  });
  afterAll(async () => {
    await built?.cleanup();
  });

  it('the unscoped top k is all outside the scope (the case that filtering afterwards gets wrong)', async () => {
    const hits = await retrieve(built.index, built.embedder, 'Where does the zebra graze?', { k: 4 });
    expect(hits.every((hit) => hit.chunk.note.startsWith('zoo/'))).toBe(true);
  });

  it('the indexed chunks carry their notes\' tags', () => {
    const byNote = new Map(built.index.chunks.map((item) => [item.note, item.tags]));
    expect(byNote.get('work/meeting.md')).toEqual(['meetings']);
    expect(byNote.get('work/budget.md')).toEqual(['finance']);
    expect(byNote.get('zoo/zebra-1.md')).toEqual([]);
  });

  it.each<{ method: RetrievalMethod; graph: boolean }>([
    { method: 'hybrid', graph: false },
    { method: 'vector', graph: false },
    { method: 'keyword', graph: false },
    { method: 'hybrid', graph: true },
    { method: 'vector', graph: true },
  ])('$method (graph: $graph): a folder scope returns the in-scope note first, and nothing else', async ({ method, graph }) => {
    const index = graph ? graphOnly : built.index;
    const scope = scopeRows(index.chunks, { notes: ['work/**'] });
    const hits = await retrieve(index, built.embedder, 'Where does the zebra graze?', { k: 4, method, scope });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((hit) => hit.chunk.note.startsWith('work/'))).toBe(true);
    if (method !== 'vector') expect(hits[0]?.chunk.note).toBe('work/meeting.md');
  });

  it('k is clamped to the size of the scope', async () => {
    const scope = scopeRows(built.index.chunks, { tags: ['garden'] });
    const hits = await retrieve(built.index, built.embedder, 'zebra', { k: 10, scope });
    expect(hits.map((hit) => hit.chunk.note)).toEqual(['home/garden.md']);
  });

  it('the engine answers from the scope, and honestly when the scope matches no note', async () => {
    const engine = createAnswerEngine(engineDeps(built, EXTRACTIVE_MODE));
    const scoped = await collectEvents(engine({ question: 'Where does the zebra graze?', filter: { tags: ['meetings'] } }, { signal: new AbortController().signal }));
    const sources = scoped[0] as SourcesEvent;
    expect(sources.sources.map((source) => source.note)).toEqual(['work/meeting.md']);

    const filter = { notes: ['archive/**'], tags: ['nothing'] };
    const empty = await collectEvents(engine({ question: 'Where does the zebra graze?', filter }, { signal: new AbortController().signal }));
    expect(empty.map((event) => event.type)).toEqual(['sources', 'delta', 'done']);
    expect((empty[0] as SourcesEvent).sources).toEqual([]);
    const done = empty[2] as DoneEvent;
    expect(done).toMatchObject({ answerable: false, cited: [], answer: noMatchAnswer(filter) });
    expect(done.answer).toMatch(/^No notes match this scope \(notes matching "archive\/\*\*", tagged #nothing\)/);
  });
});
