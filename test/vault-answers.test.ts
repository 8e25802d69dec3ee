/**
 * Vault notes and PDFs through the whole answer path: a real index (local embedder) over a vault
 * with wikilinks, callouts, aliases and a PDF; extractive answers and the prompt the model gets.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import type { AnswerEvent, DoneEvent, SourcesEvent } from '../src/answer/answer-types.ts';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { keywordDocument, updateIndex, type LoadedIndex } from '../src/vector-index/index-store.ts';
import { collectEvents, engineDeps, EXTRACTIVE_MODE, ollamaMode } from './support/answer-fixtures.ts';
import { startFakeOllama, type FakeChatMessage, type FakeOllama } from './support/fake-ollama.ts';
import { makePdf } from './support/make-pdf.ts';

const VAULT: Record<string, string | Uint8Array> = {
  'People/Ada Quill.md': '---\naliases: [AQ]\n---\n# Ada Quill\n\nAda leads the platform team and owns the storage budget.\n',
  'Meetings/Planning.md': [
    '# Planning meeting', // 1
    '', // 2
    'The migration owner is [[People/Ada Quill|Ada]], with help from [[Bo Chen]].', // 3
    '', // 4
    '![[whiteboard.png]]', // 5
    '', // 6
    '> [!warning] Budget freeze', // 7
    '> Hiring waits until the audit in March.', // 8
    '',
  ].join('\n'),
  'Finance/Budget.md': [
    '---',
    'tags: [finance]',
    '---',
    '# Budget',
    '',
    'See [[#Totals]] and [[Meetings/Planning#Budget freeze|the freeze]] #budget/2024',
    '> [!note] Approved by the board #approved',
    '',
    '## Totals',
    '',
    'The storage budget is 40,000 euros.',
    '',
  ].join('\n'),
  'Reports/Annual.pdf': makePdf({
    pages: [
      ['Annual report 2024', 'Revenue grew by twelve percent.'],
      ['Offices', 'The new office opens in Porto in June.', 'The Lyon office closes.'],
    ],
  }),
};

let folder: string;
let index: LoadedIndex;
let built: { index: LoadedIndex; embedder: ReturnType<typeof createLocalEmbedder> };
let ollama: FakeOllama;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'asknotes-vault-'));
  for (const [path, content] of Object.entries(VAULT)) {
    await mkdir(dirname(join(folder, 'notes', path)), { recursive: true });
    await writeFile(join(folder, 'notes', path), content);
  }
  const embedder = createLocalEmbedder();
  ({ index } = await updateIndex({ notesDir: join(folder, 'notes'), indexDir: join(folder, 'index'), embedder }));
  built = { index, embedder };
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama?.close();
  await rm(folder, { recursive: true, force: true });
});
afterEach(async () => {
  await ollama.reset();
});

function ask(question: string, mode = EXTRACTIVE_MODE as Parameters<typeof engineDeps>[1]): Promise<AnswerEvent[]> {
  const answer = createAnswerEngine(engineDeps(built, mode));
  return collectEvents(answer({ question, k: 3 }, { signal: new AbortController().signal }));
}

const sourcesOf = (events: AnswerEvent[]) => events.find((event): event is SourcesEvent => event.type === 'sources')!;
const doneOf = (events: AnswerEvent[]) => events.find((event): event is DoneEvent => event.type === 'done')!;

describe('vault notes in the index', () => {
  it('indexes shown words for keywords, and aliases as title words', () => {
    const planning = index.chunks.find((chunk) => chunk.note === 'Meetings/Planning.md')!;
    expect(keywordDocument(planning).text).toContain('The migration owner is Ada, with help from Bo Chen.');
    expect(keywordDocument(planning).text).toContain('> Budget freeze');
    expect(keywordDocument(planning).text).not.toMatch(/\[\[|\[!warning\]/);
    // The chunk itself keeps the note's own lines.
    expect(planning.text).toContain('[[People/Ada Quill|Ada]]');
    expect(planning.lines).toEqual([1, 8]);
    const ada = index.chunks.find((chunk) => chunk.note === 'People/Ada Quill.md')!;
    expect(ada.title).toBe('Ada Quill (AQ)');
    expect(index.keyword.search('AQ', 3)[0]?.id).toBe(ada.id);
  });

  it('indexes a PDF page by page with the page on each chunk', () => {
    const pdf = index.chunks.filter((chunk) => chunk.note === 'Reports/Annual.pdf');
    expect(pdf.map((chunk) => [chunk.page, chunk.lines])).toEqual([
      [1, [1, 2]],
      [2, [1, 3]],
    ]);
  });
});

describe('tags of vault notes', () => {
  it('come from front matter and prose #tags, never from a wikilink\'s #heading, and scope answers', async () => {
    const budget = index.chunks.filter((chunk) => chunk.note === 'Finance/Budget.md');
    expect(budget.length).toBeGreaterThan(0);
    for (const chunk of budget) expect(chunk.tags).toEqual(['finance', 'budget/2024', 'approved']);
    const answer = createAnswerEngine(engineDeps(built, EXTRACTIVE_MODE));
    const events = await collectEvents(
      answer({ question: 'What is the storage budget?', k: 3, filter: { tags: ['budget'] } }, { signal: new AbortController().signal }),
    );
    const notes = sourcesOf(events).sources.map((source) => source.note);
    expect(notes.length).toBeGreaterThan(0);
    expect(new Set(notes)).toEqual(new Set(['Finance/Budget.md']));
  });
});

describe('answers from vault notes', () => {
  it('an extractive answer quotes the shown words; the source links them to the target note', async () => {
    const events = await ask('Who is the migration owner?');
    const planning = sourcesOf(events).sources.find((source) => source.note === 'Meetings/Planning.md');
    expect(planning?.lines).toEqual([1, 8]);
    expect(planning?.links).toEqual([{ shown: 'Ada', note: 'People/Ada Quill.md' }]);
    const answer = doneOf(events).answer;
    expect(answer).toContain('The migration owner is Ada, with help from Bo Chen.');
    expect(answer).not.toContain('[[');
  });

  it('a quoted callout has no marker, only its title and body', async () => {
    const answer = doneOf(await ask('When does hiring resume after the budget freeze?')).answer;
    expect(answer).toContain('Hiring waits until the audit in March.');
    expect(answer).not.toContain('[!warning]');
  });

  it('a PDF source carries its page and lines within the page', async () => {
    const events = await ask('Where does the new office open?');
    const source = sourcesOf(events).sources[0];
    expect(source).toMatchObject({ note: 'Reports/Annual.pdf', page: 2, lines: [1, 3] });
    expect(doneOf(events).answer).toContain('The new office opens in Porto in June.');
  });

  it('the model is prompted with the shown words and the PDF page', async () => {
    await ask('Who is the migration owner, and where does the new office open?', ollamaMode(ollama.url));
    const call = ollama.callsTo('chat')[0];
    const messages = ((call?.body as { messages?: FakeChatMessage[] })?.messages ?? []) as FakeChatMessage[];
    const prompt = messages.find((message) => message.role === 'user')?.content ?? '';
    expect(prompt).toContain('The migration owner is Ada, with help from Bo Chen.');
    expect(prompt).not.toContain('[[');
    expect(prompt).toMatch(/from="Reports\/Annual\.pdf, page 2, lines 1-3/);
  });
});
