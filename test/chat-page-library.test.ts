/**
 * The page as a daily tool (issue 15), in Chromium through playwright-core (one browser for the file):
 * saved conversations (reload, list, rename, delete with undo, search, export), the scope and model
 * pickers, "Ask about this note", the index progress bar, and an axe-core WCAG 2.1 A/AA +
 * best-practices check in light and dark with an answer shown and the citation panel open.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerFn, AskRequest, Source } from '../src/answer/answer-types.ts';
import { silentLogger } from '../src/server/logger.ts';
import type { IndexStatusReport, Readiness, ServerDeps } from '../src/server/server-deps.ts';
import { axeViolations } from './support/axe.ts';
import { browserSkipReason, launchChromium } from './support/browser.ts';
import { startPageServer, type PageServer } from './support/page-server.ts';
import { sampleModels } from './support/start-test-server.ts';

const NOTE = 'work/compose-tips.md';
const NOTE_TEXT = ['# Compose tips', '', 'Intro line.', '', '- `depends_on > condition`', '  - default is `service_started`', '  - `service_healthy` waits for the healthcheck', '', 'Closing line.'].join('\n');
const SOURCES: Source[] = [
  { n: 1, id: 'c1', note: NOTE, heading: 'Compose tips', lines: [5, 7], text: NOTE_TEXT.split('\n').slice(4, 7).join('\n'), score: 0.9 },
  { n: 2, id: 'c2', note: 'home/other.md', heading: 'Other', lines: [1, 2], text: 'Other text', score: 0.5 },
];

const READY: Readiness = {
  ready: true,
  provider: 'ollama',
  building: false,
  mode: 'ollama',
  chatModel: 'llama3.2',
  index: { notes: 2, chunks: 12, embedder: 'ollama:nomic-embed-text', builtAt: '2026-01-01T00:00:00.000Z' },
  ollama: { url: 'http://127.0.0.1:11434', reachable: true, missingModels: [] },
};

function statusWith(hash: string, extra: Partial<IndexStatusReport> = {}): IndexStatusReport {
  return {
    state: 'idle',
    embedder: 'ollama:nomic-embed-text',
    notes: [
      { path: NOTE, chunks: 3, hash, status: 'indexed' },
      { path: 'home/other.md', chunks: 1, hash: 'b'.repeat(64), status: 'indexed' },
    ],
    ...extra,
  };
}

/** Answers every question with "Answer to <question> [1]." over SOURCES; records the requests. */
function recordingAnswer(): { answer: AnswerFn; requests: AskRequest[] } {
  const requests: AskRequest[] = [];
  const answer: AnswerFn = async function* (request) {
    requests.push(request);
    yield { type: 'sources', sources: SOURCES, mode: 'ollama', model: request.model ?? 'llama3.2', embedder: 'ollama:nomic-embed-text' };
    const text = `Answer to ${request.question} [1].`;
    yield { type: 'delta', text };
    yield { type: 'done', answer: text, answerable: true, cited: [1], timings: { retrieval_ms: 1, generation_ms: 1, total_ms: 2 } };
  };
  return { answer, requests };
}

interface Fake {
  deps: ServerDeps;
  requests: AskRequest[];
  setStatus(status: IndexStatusReport): void;
  setReadiness(readiness: Readiness): void;
}

function fake(): Fake {
  const { answer, requests } = recordingAnswer();
  let status = statusWith('a'.repeat(64));
  let readiness = READY;
  return {
    requests,
    setStatus: (next) => (status = next),
    setReadiness: (next) => (readiness = next),
    deps: {
      answer,
      readiness: () => readiness,
      indexStatus: (only) => (only === undefined ? status : { ...status, notes: status.notes.filter((note) => only.includes(note.path)) }),
      listNotes: () => ({
        notes: [],
        folders: [{ path: 'home', notes: 1 }, { path: 'work', notes: 1 }],
        tags: [{ tag: 'docker', notes: 1 }, { tag: 'project/asknotes', notes: 1 }],
      }),
      listModels: async () => sampleModels(),
      reindex: () => undefined,
      readNote: async (path) => (path === NOTE ? NOTE_TEXT : undefined),
      topK: 4,
      maxConcurrentAnswers: 4,
      log: silentLogger,
      sseHeartbeatMs: 0,
    },
  };
}

const suiteTitle = browserSkipReason === undefined ? 'saved conversations, scope, model, progress, axe' : `saved conversations (SKIPPED: ${browserSkipReason})`;

describe.skipIf(browserSkipReason !== undefined)(suiteTitle, () => {
  let browser: Browser;
  const servers: PageServer[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function open(deps: ServerDeps, options: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ page: Page; errors: string[]; server: PageServer }> {
    const server = await startPageServer(deps);
    servers.push(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light', acceptDownloads: true });
    contexts.push(context);
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(server.url);
    return { page, errors, server };
  }

  async function ask(page: Page, question: string): Promise<void> {
    const before = await page.locator('article.turn[data-state="done"]').count();
    await page.locator('#question').fill(question);
    await page.locator('#question').press('Enter');
    await expect.poll(() => page.locator('article.turn[data-state="done"]').count()).toBe(before + 1);
  }

  const titles = (page: Page) => page.locator('#conversation-list .conversation-title').allTextContents();

  it('keeps conversations across reloads: listed newest first, titled by the first question, reopened as they ended', async () => {
    const { deps } = fake();
    const { page, errors } = await open(deps);
    await ask(page, 'First conversation question');
    await ask(page, 'A follow-up');
    await page.locator('#new-chat').click();
    await ask(page, 'Second conversation question');
    await expect.poll(() => titles(page)).toEqual(['Second conversation question', 'First conversation question']);

    await page.reload();
    // The open conversation comes back, and so does the list.
    await expect.poll(() => titles(page)).toEqual(['Second conversation question', 'First conversation question']);
    await expect.poll(() => page.locator('article.turn .question').allTextContents()).toEqual(['Second conversation question']);

    await page.locator('#conversation-list .conversation-open', { hasText: 'First conversation question' }).click();
    await expect.poll(() => page.locator('article.turn .question').allTextContents()).toEqual(['First conversation question', 'A follow-up']);
    expect(await page.locator('article.turn').last().locator('.answer-body').textContent()).toContain('Answer to A follow-up');
    expect(await page.locator('article.turn').last().locator('button.cite[data-n="1"]').count()).toBeGreaterThan(0);
    expect(await page.locator('#conversation-list [aria-current="true"] .conversation-title').textContent()).toBe('First conversation question');
    expect(errors).toEqual([]);
  });

  it('renames with the keyboard, deletes with undo, and searches by text', async () => {
    const { deps } = fake();
    const { page, errors } = await open(deps);
    await ask(page, 'Kubernetes question');
    await page.locator('#new-chat').click();
    await ask(page, 'Compose question');

    await page.getByRole('button', { name: 'Rename “Kubernetes question”' }).click();
    const input = page.getByRole('textbox', { name: 'New name' });
    await expect.poll(() => input.evaluate((element) => element === document.activeElement)).toBe(true);
    await input.fill('K8s notes');
    await input.press('Enter');
    await expect.poll(() => titles(page)).toEqual(['Compose question', 'K8s notes']);
    // Escape leaves the name as it was.
    await page.getByRole('button', { name: 'Rename “K8s notes”' }).click();
    await page.getByRole('textbox', { name: 'New name' }).fill('Something else');
    await page.getByRole('textbox', { name: 'New name' }).press('Escape');
    await expect.poll(() => titles(page)).toEqual(['Compose question', 'K8s notes']);

    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('kubernetes');
    await expect.poll(() => titles(page)).toEqual(['K8s notes']);
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('nothing like this');
    await expect.poll(() => page.locator('#conversation-empty').textContent()).toBe('No conversation matches.');
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('');

    await page.getByRole('button', { name: 'Delete “K8s notes”' }).click();
    await expect.poll(() => titles(page)).toEqual(['Compose question']);
    expect(await page.locator('#undo').textContent()).toContain('Deleted “K8s notes”.');
    // Undo has the focus: Enter brings the conversation back.
    await page.keyboard.press('Enter');
    await expect.poll(() => titles(page)).toEqual(['Compose question', 'K8s notes']);
    await page.reload();
    await expect.poll(() => titles(page)).toEqual(['Compose question', 'K8s notes']);

    // Deleting the open conversation starts a new one.
    await page.getByRole('button', { name: 'Delete “Compose question”' }).click();
    await expect.poll(() => titles(page)).toEqual(['K8s notes']);
    expect(await page.locator('article.turn').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('exports a conversation as Markdown with note:lines links, and says when cited notes changed since', async () => {
    const state = fake();
    const { page, errors } = await open(state.deps);
    // Only the cited note's hash is asked for, never every note's line (about 1 MB on a large folder).
    const statusQueries: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/index/status') statusQueries.push(url.search);
    });
    await ask(page, 'What is the default condition?');
    await expect.poll(() => titles(page)).toEqual(['What is the default condition?']);
    await expect.poll(() => statusQueries).toEqual([`?note=${encodeURIComponent(NOTE)}`]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
    expect(download.suggestedFilename()).toBe('what-is-the-default-condition.md');
    const markdown = await readFile((await download.path())!, 'utf8');
    expect(markdown).toContain('# What is the default condition?');
    expect(markdown).toContain('## What is the default condition?\n\nAnswer to What is the default condition? [1].');
    expect(markdown).toContain(`- [1] [${NOTE}:5-7](work/compose-tips.md#L5) — Compose tips (lines 5–7)`);
    expect(markdown).not.toContain('home/other.md'); // retrieved, not cited

    expect(await page.locator('#changed-notice').isHidden()).toBe(true);
    state.setStatus(statusWith('c'.repeat(64)));
    await page.reload();
    await expect.poll(() => page.locator('#changed-notice').textContent()).toBe(
      `Cited notes changed since this conversation: ${NOTE} (edited). Its answers may no longer match them.`,
    );
    expect(statusQueries.every((query) => query === `?note=${encodeURIComponent(NOTE)}`)).toBe(true);

    // A cited note that left the index is named too.
    state.setStatus({ ...statusWith('a'.repeat(64)), notes: statusWith('a'.repeat(64)).notes.filter((note) => note.path !== NOTE) });
    await page.reload();
    await expect.poll(() => page.locator('#changed-notice').textContent()).toBe(
      `Cited notes changed since this conversation: ${NOTE} (no longer indexed). Its answers may no longer match them.`,
    );
    expect(errors).toEqual([]);
  });

  it('scope and model pickers send filter and model, are kept with the conversation, and "Ask about this note" scopes to it', async () => {
    const state = fake();
    const { page, errors } = await open(state.deps);
    const scope = page.getByRole('combobox', { name: 'Search in' });
    const model = page.getByRole('combobox', { name: 'Model' });
    await expect.poll(() => scope.locator('option').allTextContents()).toEqual([
      'All notes', 'home/ (1 note)', 'work/ (1 note)', '#docker (1 note)', '#project/asknotes (1 note)',
    ]);
    await expect.poll(() => model.locator('option').allTextContents()).toEqual(['Default (llama3.2)', 'qwen2.5:latest']);

    await ask(page, 'Unscoped');
    expect(state.requests.at(-1)?.filter).toBeUndefined();
    expect(state.requests.at(-1)?.model).toBeUndefined();

    // Keyboard only: focus the picker, choose with the arrow keys.
    await scope.focus();
    await scope.selectOption('tag:project/asknotes');
    await model.selectOption('qwen2.5:latest');
    await ask(page, 'Scoped');
    expect(state.requests.at(-1)).toMatchObject({ filter: { tags: ['project/asknotes'] }, model: 'qwen2.5:latest' });
    await scope.selectOption('folder:work');
    await ask(page, 'In a folder');
    expect(state.requests.at(-1)?.filter).toEqual({ notes: ['work/**'] });

    // The pickers are remembered with the conversation.
    await page.reload();
    await expect.poll(() => scope.inputValue()).toBe('folder:work');
    await expect.poll(() => model.inputValue()).toBe('qwen2.5:latest');
    await page.locator('#new-chat').click();
    expect(await scope.inputValue()).toBe('');
    expect(await model.inputValue()).toBe('');

    // Ask about this note: from the citation panel.
    await ask(page, 'Where is it?');
    await page.locator('article.turn').last().locator('button.cite[data-n="1"]').first().click();
    await page.getByRole('button', { name: 'Ask about this note' }).click();
    expect(await scope.inputValue()).toBe(`note:${NOTE}`);
    expect(await page.locator('#question').evaluate((element) => element === document.activeElement)).toBe(true);
    await ask(page, 'About this note');
    expect(state.requests.at(-1)?.filter).toEqual({ notes: [NOTE] });
    expect(errors).toEqual([]);
  });

  it('shows index build progress with counts and the time left, and hides it when the build is done', async () => {
    const state = fake();
    // The progress comes with /readyz: /index/status (every note's line) is not polled for it.
    state.setReadiness({ ...READY, building: true, progress: { done: 896, total: 7699 } });
    state.setStatus(statusWith('a'.repeat(64), { state: 'building', progress: { done: 1, total: 2 } }));
    const { page, errors } = await open(state.deps);
    const statusRequests: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/index/status') statusRequests.push(request.url());
    });
    const label = page.locator('#index-progress-label');
    await expect.poll(() => label.textContent()).toMatch(/^Indexing: 896 of 7,699 chunks/);
    state.setReadiness({ ...READY, building: true, progress: { done: 1_796, total: 7699 } });
    await expect.poll(() => label.textContent(), { timeout: 8_000 }).toMatch(/^Indexing: 1,796 of 7,699 chunks · about \d+ (s|min) left$/);
    expect(await page.locator('#index-progress').evaluate((bar) => [(bar as HTMLProgressElement).value, (bar as HTMLProgressElement).max])).toEqual([1796, 7699]);
    state.setReadiness(READY);
    state.setStatus(statusWith('a'.repeat(64)));
    await expect.poll(() => page.locator('#status-progress').isHidden(), { timeout: 8_000 }).toBe(true);
    expect(statusRequests).toEqual([]);
    expect(errors).toEqual([]);
  });

  it.each(['light', 'dark'] as const)('axe finds no WCAG 2.1 A/AA or best-practice violation (%s), with an answer and the note panel open', async (colorScheme) => {
    const { deps } = fake();
    const { page, errors } = await open(deps, { colorScheme });
    await ask(page, 'What is the default condition?');
    await page.locator('article.turn').last().locator('button.cite[data-n="1"]').first().click();
    await page.locator('#note-panel .line.cited').first().waitFor();
    const violations = await axeViolations(page);
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
  });
});
