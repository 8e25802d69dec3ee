/**
 * The chat page with vault notes and PDFs (issue 16), in Chromium against the real app: a PDF
 * citation opens the cited page's text with the cited lines highlighted, a note's wikilinks show their
 * words and open the linked note, and an answer's shown words ("Ada") open the note they link to.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerFn, Source } from '../src/answer/answer-types.ts';
import { createNoteFiles } from '../src/notes/note-files.ts';
import { readNoteFile } from '../src/notes/read-note-file.ts';
import { silentLogger } from '../src/server/logger.ts';
import type { ServerDeps } from '../src/server/server-deps.ts';
import { axeViolations } from './support/axe.ts';
import { browserSkipReason, launchChromium } from './support/browser.ts';
import { makePdf } from './support/make-pdf.ts';
import { startPageServer, type PageServer } from './support/page-server.ts';
import { sampleModels } from './support/start-test-server.ts';

const PAGE_TWO = ['Offices', 'The new office opens in Porto in June.', 'The Lyon office closes.'];
const PLANNING = '# Planning\n\nThe owner is [[People/Ada Quill|Ada]], see ![[Annual.pdf]].\n\nBudget is fixed.\n';
const FILES: Record<string, string | Uint8Array> = {
  'papers/Annual.pdf': makePdf({ pages: [['Annual report 2024', 'Revenue grew.'], PAGE_TWO] }),
  'Meetings/Planning.md': PLANNING,
  'People/Ada Quill.md': '# Ada Quill\n\nRuns the platform team.\n',
};

const SOURCES: Source[] = [
  { n: 1, id: 'pdf-2', note: 'papers/Annual.pdf', heading: '', lines: [2, 2], page: 2, text: PAGE_TWO[1]!, score: 0.9 },
  {
    n: 2,
    id: 'planning',
    note: 'Meetings/Planning.md',
    heading: 'Planning',
    lines: [3, 3],
    text: 'The owner is [[People/Ada Quill|Ada]], see ![[Annual.pdf]].',
    score: 0.7,
    links: [{ shown: 'Ada', note: 'People/Ada Quill.md' }],
  },
];

const answer: AnswerFn = async function* () {
  yield { type: 'sources', sources: SOURCES, mode: 'extractive', model: null, embedder: 'local:test' };
  const text = '- The new office opens in Porto in June. [1]\n- The owner is Ada. [2]';
  yield { type: 'delta', text };
  yield { type: 'done', answer: text, answerable: true, cited: [1, 2], timings: { retrieval_ms: 1, generation_ms: 1, total_ms: 2 } };
};

const suiteTitle = browserSkipReason === undefined ? 'vault notes and PDFs in the chat page' : `vault notes and PDFs in the chat page (SKIPPED: ${browserSkipReason})`;

describe.skipIf(browserSkipReason !== undefined)(suiteTitle, () => {
  let folder: string;
  let browser: Browser;
  let server: PageServer;
  let page: Page;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'asknotes-page-vault-'));
    for (const [path, content] of Object.entries(FILES)) {
      await mkdir(dirname(join(folder, path)), { recursive: true });
      await writeFile(join(folder, path), content);
    }
    const indexed = Object.fromEntries(Object.keys(FILES).map((path) => [path, {}]));
    const deps: ServerDeps = {
      answer,
      readiness: () => ({ ready: true, building: false, mode: 'extractive', chatModel: null, provider: 'ollama', ollama: { url: 'http://127.0.0.1:11434', reachable: false, missingModels: [] } }),
      indexStatus: () => ({ state: 'idle', embedder: 'local:test', notes: [] }),
      reindex: () => undefined,
      readNote: async (path) => (Object.hasOwn(indexed, path) ? readNoteFile(folder, path) : undefined),
      listNotes: () => ({ notes: [], folders: [], tags: [] }),
      listModels: async () => sampleModels(),
      noteFiles: createNoteFiles({ notesDir: folder, indexed: () => indexed }),
      topK: 4,
      maxConcurrentAnswers: 4,
      log: silentLogger,
      sseHeartbeatMs: 0,
    };
    server = await startPageServer(deps);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    await page.goto(server.url);
    await page.locator('#question').fill('Where is the new office, and who owns the plan?');
    await page.locator('#question').press('Enter');
    await page.locator('article.turn[data-state="done"]').waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  });

  it('a PDF citation opens the cited page\'s text, the cited lines highlighted, numbered within the page', async () => {
    await expect.poll(() => page.locator('.source-meta').first().textContent()).toContain('page 2, line 2');
    await page.locator('article.turn .answer-body button.cite[data-n="1"]').click();
    const panel = page.locator('#note-panel');
    await expect.poll(() => panel.locator('#note-title').textContent()).toBe('papers/Annual.pdf');
    expect(await panel.locator('#note-lines').textContent()).toContain('page 2, line 2');
    await panel.locator('.line.cited').first().waitFor();
    const rows = await panel.locator('.line').evaluateAll((lines) =>
      lines.map((line) => [line.getAttribute('data-line'), line.querySelector('.line-text')?.textContent, line.classList.contains('cited')]),
    );
    expect(rows).toEqual([
      ['1', 'Offices', false],
      ['2', 'The new office opens in Porto in June.', true],
      ['3', 'The Lyon office closes.', false],
    ]);
    await page.screenshot({ path: 'test-results/chat-page-pdf-citation.png' });
  });

  it('a Markdown citation shows wikilinks as their words on the file\'s own lines, and they open the linked note', async () => {
    await page.locator('article.turn .answer-body button.cite[data-n="2"]').click();
    const panel = page.locator('#note-panel');
    await expect.poll(() => panel.locator('#note-title').textContent()).toBe('Meetings/Planning.md');
    const line = panel.locator('.line[data-line="3"]');
    await line.locator('button.note-link').first().waitFor();
    expect(await line.locator('.line-text').textContent()).toBe('The owner is Ada, see Annual.pdf.');
    expect(await line.getAttribute('class')).toContain('cited');
    expect(await panel.locator('.line[data-line="5"] .line-text').textContent()).toBe('Budget is fixed.');
    await line.locator('button.note-link', { hasText: 'Annual.pdf' }).click();
    await expect.poll(() => panel.locator('#note-title').textContent()).toBe('papers/Annual.pdf');
    expect(await panel.locator('#note-lines').textContent()).toBe('Linked note');
  });

  it('the words an answer shows for a link open the linked note', async () => {
    const link = page.locator('article.turn .answer-body button.note-link', { hasText: 'Ada' });
    expect(await link.count()).toBe(1);
    await link.click();
    const panel = page.locator('#note-panel');
    await expect.poll(() => panel.locator('#note-title').textContent()).toBe('People/Ada Quill.md');
    expect(await panel.locator('.line[data-line="3"] .line-text').textContent()).toBe('Runs the platform team.');
  });

  it('the Markdown export links a PDF citation to its page and names the page (issue 15 with 16)', async () => {
    await expect.poll(() => page.locator('#export').isEnabled()).toBe(true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
    const markdown = await readFile((await download.path())!, 'utf8');
    expect(markdown).toContain('- [1] [papers/Annual.pdf:2](papers/Annual.pdf#page=2) (page 2, line 2)');
    expect(markdown).toContain('- [2] [Meetings/Planning.md:3](Meetings/Planning.md#L3) — Planning (line 3)');
  });

  it.each(['light', 'dark'] as const)('axe finds no WCAG 2.1 A/AA or best-practice violation (%s) with wikilinks in the answer and the note panel', async (colorScheme) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
    context.setDefaultTimeout(10_000);
    const themed = await context.newPage();
    try {
      await themed.goto(server.url);
      await themed.locator('#question').fill('Who owns the plan?');
      await themed.locator('#question').press('Enter');
      await themed.locator('article.turn[data-state="done"]').waitFor();
      await themed.locator('article.turn .answer-body button.cite[data-n="2"]').click();
      await themed.locator('#note-panel .line.cited button.note-link').first().waitFor();
      expect(await axeViolations(themed)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
