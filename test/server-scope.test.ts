/**
 * `POST /ask` `filter` at the HTTP door (issue 15): valid scopes reach the engine as given, bad ones
 * are `400 invalid_request` naming the field; `GET /index/notes` lists what scopes are made of.
 * (Retrieval inside the scope is tested in scope.test.ts, on a real index.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import { listNotes } from '../src/vector-index/note-listing.ts';
import { EXTRACTIVE_MODE, buildNotesIndex, engineDeps, type NotesIndex } from './support/answer-fixtures.ts';
import { ask, sampleEvents, sampleListing, scriptedAnswer, startTestServer, type TestServer } from './support/start-test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('POST /ask filter', () => {
  it.each([
    { filter: { notes: ['work/**', '*.md'] } },
    { filter: { tags: ['project/asknotes', '#Docker'] } },
    { filter: { notes: ['daily/2024-*.md'], tags: ['review'] } },
    { filter: { notes: [], tags: [] } },
    { filter: {} },
  ])('passes $filter to the engine', async ({ filter }) => {
    const fake = scriptedAnswer(sampleEvents());
    server = await startTestServer({ answer: fake.answer });
    const response = await ask(server.url, { question: 'q', filter });
    expect(response.status).toBe(200);
    expect(fake.calls[0]?.request.filter).toEqual(filter);
  });

  it.each([
    { filter: 'work/**', message: '"filter" must be an object like {"notes": [...], "tags": [...]}.' },
    { filter: ['work/**'], message: '"filter" must be an object like {"notes": [...], "tags": [...]}.' },
    { filter: null, message: '"filter" must be an object like {"notes": [...], "tags": [...]}.' },
    { filter: { tag: ['x'] }, message: '"filter" may only have "notes" and "tags".' },
    { filter: { notes: 'work/**' }, message: '"filter.notes" must be an array of globs.' },
    { filter: { notes: [3] }, message: '"filter.notes.0" must be a string (a glob over note paths).' },
    { filter: { notes: ['ok/**', ''] }, message: '"filter.notes.1" must not be empty.' },
    { filter: { notes: ['../etc/*'] }, message: '"filter.notes.0" must not contain "..".' },
    { filter: { notes: ['/etc/*'] }, message: '"filter.notes.0" must be relative to the notes folder.' },
    { filter: { notes: Array.from({ length: 51 }, () => 'a') }, message: '"filter.notes" must have at most 50 globs.' },
    { filter: { tags: 'docker' }, message: '"filter.tags" must be an array of tags.' },
    { filter: { tags: ['two words'] }, message: '"filter.tags.0" must be a tag: letters, digits, "_", "-" and "/", not only digits.' },
    { filter: { tags: ['123'] }, message: '"filter.tags.0" must be a tag: letters, digits, "_", "-" and "/", not only digits.' },
    { filter: { tags: [{}] }, message: '"filter.tags.0" must be a string (a tag).' },
  ])('$filter -> 400 naming the field', async ({ filter, message }) => {
    const fake = scriptedAnswer(sampleEvents());
    server = await startTestServer({ answer: fake.answer });
    const response = await ask(server.url, { question: 'q', filter });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_request', message } });
    expect(fake.calls).toHaveLength(0);
  });
});

describe('GET /index/notes', () => {
  it('lists notes, folders and tags', async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/index/notes`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(sampleListing());
  });

  it('is 503 index_not_ready before the first build', async () => {
    server = await startTestServer({ listNotes: () => undefined });
    const response = await fetch(`${server.url}/index/notes`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('index_not_ready');
  });

  it('needs the token when API_TOKEN is set', async () => {
    server = await startTestServer({ apiToken: 'secret-token-123' });
    expect((await fetch(`${server.url}/index/notes`)).status).toBe(401);
    expect((await fetch(`${server.url}/index/notes`, { headers: { authorization: 'Bearer secret-token-123' } })).status).toBe(200);
  });
});

describe('a scoped question through HTTP, on a real index', () => {
  let built: NotesIndex;
  beforeAll(async () => {
    built = await buildNotesIndex({
      'work/plan.md': '---\ntags: [project/asknotes]\n---\n# Plan\n\nShip the scope control by Friday.\n',
      'home/list.md': '# List\n\nBuy bread and ship the parcel. #errands\n',
    });
  });
  afterAll(async () => {
    await built?.cleanup();
  });

  it('answers from the scope, says so when nothing matches, and lists the real notes', async () => {
    server = await startTestServer({
      answer: createAnswerEngine(engineDeps(built, EXTRACTIVE_MODE)),
      listNotes: () => listNotes(built.index.chunks),
    });
    const scoped = (await (await ask(server.url, { question: 'What do I ship?', filter: { tags: ['errands'] } })).json()) as {
      sources: Array<{ note: string }>;
    };
    expect(scoped.sources.map((source) => source.note)).toEqual(['home/list.md']);
    const byFolder = (await (await ask(server.url, { question: 'What do I ship?', filter: { notes: ['work/'] } })).json()) as {
      sources: Array<{ note: string }>;
    };
    expect(byFolder.sources.map((source) => source.note)).toEqual(['work/plan.md']);

    const none = await ask(server.url, { question: 'What do I ship?', filter: { notes: ['nowhere/**'] } });
    expect(none.status).toBe(200);
    expect(await none.json()).toMatchObject({ answerable: false, sources: [], cited: [], answer: expect.stringMatching(/^No notes match this scope/) });

    const listing = (await (await fetch(`${server.url}/index/notes`)).json()) as ReturnType<typeof listNotes>;
    expect(listing.folders).toEqual([{ path: 'home', notes: 1 }, { path: 'work', notes: 1 }]);
    expect(listing.tags).toEqual([
      { tag: 'errands', notes: 1 },
      { tag: 'project', notes: 1 },
      { tag: 'project/asknotes', notes: 1 },
    ]);
  });
});
