/**
 * The chat page (issue 5) in a real browser: Debian's Chromium driven by playwright-core, against the
 * real server (CSP, auth, SSE) with a scripted AnswerFn that streams slowly, so the tests see what a
 * user sees. Screenshots go to test-results/ (UPDATE_SCREENSHOTS=1 also refreshes docs/).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerFn, AnswerMode, AskRequest, Source } from '../src/answer/answer-types.ts';
import { AppError, isAbortError } from '../src/errors.ts';
import { silentLogger } from '../src/server/logger.ts';
import type { Readiness, ServerDeps } from '../src/server/server-deps.ts';
import { browserSkipReason, launchChromium } from './support/browser.ts';
import { startPageServer } from './support/page-server.ts';
import { sampleModels } from './support/start-test-server.ts';
import type { PageServer } from './support/page-server.ts';
import { CONTENT_SECURITY_POLICY } from '../src/server/security-headers.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures: the shipped DockerCon note, and sources that point at its real lines.

const NOTE = 'dockercon-2023.md';
const noteText = await readFile(new URL(`../notes/${NOTE}`, import.meta.url), 'utf8');
const noteLines = noteText.split('\n');
const COMPOSE_TIPS = 'DockerCon 2023 > Day 1 > 15 Tips and Tricks to Improve Your Compose Experience';

/** The 1-based line range from the line equal to `first` up to the line before `next` starts. */
function rangeOf(first: string, next: string): [number, number] {
  const start = noteLines.indexOf(first) + 1;
  const end = noteLines.indexOf(next, start) ;
  if (start === 0 || end === -1) throw new Error(`fixture lines not found in notes/${NOTE}: ${first}`);
  return [start, end];
}

function source(n: number, lines: [number, number], score: number, heading = COMPOSE_TIPS, note = NOTE): Source {
  const text = (note === NOTE ? noteLines : []).slice(lines[0] - 1, lines[1]).join('\n');
  return { n, id: `${note}#${lines[0]}`, note, heading, lines, text, score };
}

const composeSources: Source[] = [
  source(1, rangeOf('- `depends_on > condition`', '- `depends_on > restart`'), 0.82),
  source(2, rangeOf('- `depends_on > restart`', '- `depends_on > required`'), 0.74),
  source(3, rangeOf('- `depends_on > required`', '- YAML Anchors'), 0.61),
];

const composeAnswer = [
  'Use `depends_on` with a health condition, so Compose starts the app only once the database ',
  'is healthy rather than merely started [1]:\n\n',
  '```yaml\ndepends_on:\n  db:\n    condition: service_healthy\n```\n\n',
  'The default, `service_started`, only waits for the container to start [1]. ',
  'Add `restart: true` if the app should restart whenever the database does [2].',
];

const readyWithOllama: Readiness = {
  ready: true,
  building: false,
  mode: 'ollama',
  chatModel: 'llama3.2',
  provider: 'ollama',
  index: { notes: 1, chunks: 143, embedder: 'ollama:nomic-embed-text', builtAt: '2026-01-01T00:00:00.000Z' },
  ollama: { url: 'http://127.0.0.1:11434', reachable: true, missingModels: [] },
};

const readyExtractive: Readiness = {
  ready: true,
  building: false,
  mode: 'extractive',
  chatModel: null,
  provider: 'ollama',
  index: { notes: 1, chunks: 143, embedder: 'local:hash-384', builtAt: '2026-01-01T00:00:00.000Z' },
  ollama: { url: 'http://127.0.0.1:11434', reachable: false, missingModels: [], fix: 'ollama serve' },
  reason: 'Ollama is not reachable at http://127.0.0.1:11434, so answers are extractive.',
};

// ---------------------------------------------------------------------------------------------
// A scripted AnswerFn: streams the deltas with a pause before each, records every call.

interface Script {
  sources: Source[];
  deltas: string[];
  delayMs?: number;
  answerable?: boolean;
  mode?: AnswerMode;
  model?: string | null;
  notice?: string;
  /** Reasoning events sent before the first delta (issue 12). */
  reasoning?: string[];
  /** The done event's own notice (issue 12: an uncited answer). */
  doneNotice?: string;
  /** Thrown before any event, like a missing model. */
  throws?: AppError;
}

interface Call {
  request: AskRequest;
  signal: AbortSignal;
  /** Set when the stream ended because the signal aborted it. */
  stoppedEarly: boolean;
}

function scriptedAnswer(pick: (request: AskRequest) => Script): { answer: AnswerFn; calls: Call[] } {
  const calls: Call[] = [];
  const answer: AnswerFn = async function* (request, { signal }) {
    const call: Call = { request, signal, stoppedEarly: false };
    calls.push(call);
    const script = pick(request);
    if (script.throws) throw script.throws;
    yield {
      type: 'sources',
      sources: script.sources,
      mode: script.mode ?? 'ollama',
      model: script.mode === 'extractive' ? null : (script.model ?? 'llama3.2'),
      embedder: script.mode === 'extractive' ? 'local:hash-384' : 'ollama:nomic-embed-text',
      ...(script.notice === undefined ? {} : { notice: script.notice }),
    };
    for (const text of script.reasoning ?? []) yield { type: 'reasoning', text };
    for (const text of script.deltas) {
      try {
        await sleep(script.delayMs ?? 0, undefined, { signal });
      } catch (error) {
        if (!isAbortError(error)) throw error;
        call.stoppedEarly = true;
        return; // an abort is a stop, not a failure
      }
      yield { type: 'delta', text };
    }
    const answerText = script.deltas.join('');
    const cited = [...new Set([...answerText.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])))];
    yield {
      type: 'done',
      answer: answerText,
      answerable: script.answerable ?? true,
      cited,
      ...(script.doneNotice === undefined ? {} : { notice: script.doneNotice }),
      timings: { retrieval_ms: 3, generation_ms: 40, total_ms: 43 },
    };
  };
  return { answer, calls };
}

function fakeDeps(answer: AnswerFn, overrides: Partial<ServerDeps> = {}, notes = new Map([[NOTE, noteText]])): ServerDeps {
  return {
    answer,
    readiness: () => readyWithOllama,
    indexStatus: () => ({ state: 'idle', embedder: 'ollama:nomic-embed-text', notes: [] }),
    listNotes: () => ({ notes: [], folders: [], tags: [] }),
    listModels: async () => sampleModels(),
    reindex: () => undefined,
    readNote: async (path) => notes.get(path),
    topK: 4,
    maxConcurrentAnswers: 4,
    log: silentLogger,
    sseHeartbeatMs: 0,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Page helpers.

interface Problems {
  dialogs: string[];
  pageErrors: string[];
  /** Console errors other than failed resource loads the test expects (such as a 401). */
  consoleErrors: string[];
}

/** Records what a broken or unsafe page would show: dialogs (XSS), uncaught errors, CSP violations. */
function watch(page: Page): Problems {
  const problems: Problems = { dialogs: [], pageErrors: [], consoleErrors: [] };
  page.on('dialog', (dialog) => {
    problems.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 401/.test(message.text())) {
      problems.consoleErrors.push(message.text());
    }
  });
  return problems;
}

/** Records, per DOM change, the last answer's text and whether its sources were visible. */
async function recordAnswerSnapshots(page: Page): Promise<void> {
  await page.evaluate(() => {
    const store = window as unknown as { answerSnapshots: { state: string; text: string; sourcesVisible: boolean }[] };
    store.answerSnapshots = [];
    const conversation = document.getElementById('conversation');
    if (!conversation) throw new Error('no #conversation');
    new MutationObserver(() => {
      const turns = conversation.querySelectorAll('article.turn');
      const turn = turns[turns.length - 1];
      if (!(turn instanceof HTMLElement)) return;
      const sources = turn.querySelector('.sources');
      store.answerSnapshots.push({
        state: turn.dataset['state'] ?? '',
        text: turn.querySelector('.answer-body')?.textContent ?? '',
        sourcesVisible: sources instanceof HTMLElement && !sources.hidden,
      });
    }).observe(conversation, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

async function answerSnapshots(page: Page): Promise<{ state: string; text: string; sourcesVisible: boolean }[]> {
  return page.evaluate(() => (window as unknown as { answerSnapshots: { state: string; text: string; sourcesVisible: boolean }[] }).answerSnapshots);
}

async function askQuestion(page: Page, question: string): Promise<void> {
  await page.locator('#question').fill(question);
  await page.locator('#question').press('Enter');
}

const lastTurn = (page: Page) => page.locator('article.turn').last();

async function waitForState(page: Page, state: string): Promise<void> {
  await lastTurn(page).and(page.locator(`[data-state="${state}"]`)).waitFor({ timeout: 10_000 });
}

// ---------------------------------------------------------------------------------------------
// Without a browser: what the server sends for the page, and the page's own type-check.

describe('chat page assets', () => {
  it('serves the page, its modules and the vendored libraries without a token, and nothing else from public/', async () => {
    const { answer } = scriptedAnswer(() => ({ sources: [], deltas: [] }));
    const server = await startPageServer(fakeDeps(answer, { apiToken: 'secret' }));
    try {
      const get = (path: string) => fetch(new URL(path, server.url));
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      const html = await page.text();
      // No inline script or style for the CSP to block, and nothing from another origin.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\sstyle=|<style/);
      expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);

      for (const [path, type] of [
        ['/app.js', /^application\/javascript|^text\/javascript/],
        ['/sse.js', /javascript/],
        ['/render-answer.js', /javascript/],
        ['/answer-marks.js', /javascript/],
        ['/api.js', /javascript/],
        ['/dom.js', /javascript/],
        ['/note-panel.js', /javascript/],
        ['/status-bar.js', /javascript/],
        ['/turn.js', /javascript/],
        ['/app.css', /^text\/css/],
        ['/vendor/marked.esm.js', /javascript/],
        ['/vendor/purify.es.mjs', /^text\/javascript/],
      ] as const) {
        const response = await get(path);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type'), path).toMatch(type);
      }
      expect(await (await get('/vendor/marked.esm.js')).text()).toContain('export{');
      expect(await (await get('/vendor/purify.es.mjs')).text()).toContain('export { purify_default as default }');
      // Type-checking helpers and unknown files are not assets; the API still needs the token.
      for (const path of ['/tsconfig.json', '/vendor/marked.esm.d.ts', '/vendor/purify.cjs.js', '/vendor/..%2Fapp.js']) {
        expect((await get(path)).status, path).toBe(401);
      }
      expect((await get('/readyz')).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('the browser modules type-check (JSDoc, strict) against the marked and DOMPurify typings', async () => {
    const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname;
    const project = new URL('../src/server/public/tsconfig.json', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-p', project], { timeout: 60_000 }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }),
    );
    expect(stdout).toBe('');
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------

const suiteTitle = browserSkipReason === undefined ? 'chat page in Chromium' : `chat page in Chromium (SKIPPED: ${browserSkipReason})`;

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

  async function openPage(
    deps: ServerDeps,
    options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number }; beforeLoad?: (page: Page) => Promise<void> } = {},
  ): Promise<{ page: Page; problems: Problems; server: PageServer; context: BrowserContext }> {
    const server = await startPageServer(deps);
    servers.push(server);
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      colorScheme: options.colorScheme ?? 'light',
    });
    contexts.push(context);
    // A missing element should fail the test in seconds, not at vitest's 30 s timeout.
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems = watch(page);
    await options.beforeLoad?.(page);
    await page.goto(server.url);
    return { page, problems, server, context };
  }

  it('streams an answer in visible steps, then lists sources; [1] opens the note with the cited lines highlighted', async () => {
    const { answer, calls } = scriptedAnswer(() => ({ sources: composeSources, deltas: composeAnswer, delayMs: 120 }));
    const { page, problems } = await openPage(fakeDeps(answer));
    await expect.poll(() => page.locator('#status-index').textContent()).toBe('Index: 1 note, 143 chunks');
    await expect.poll(() => page.locator('#status-embedder').textContent()).toBe('Embedder: ollama:nomic-embed-text');
    await recordAnswerSnapshots(page);

    // Shift+Enter is a new line, Enter sends.
    const box = page.locator('#question');
    await box.fill('How do I make my app wait');
    await box.press('Shift+Enter');
    await box.pressSequentially('for the database?');
    expect(await box.inputValue()).toBe('How do I make my app wait\nfor the database?');
    await box.press('Enter');
    await waitForState(page, 'done');

    expect(calls).toHaveLength(1);
    expect(calls[0]?.request).toMatchObject({ question: 'How do I make my app wait\nfor the database?' });
    expect(calls[0]?.request.rag).toBeUndefined();
    expect(await lastTurn(page).locator('.question').textContent()).toBe('How do I make my app wait\nfor the database?');

    // The answer grew in at least two visible steps, each extending the last, before sources appeared.
    const snapshots = await answerSnapshots(page);
    const streamed = [...new Set(snapshots.filter((s) => s.state === 'streaming' && s.text !== '').map((s) => s.text))];
    expect(streamed.length).toBeGreaterThanOrEqual(2);
    for (let index = 1; index < streamed.length; index += 1) {
      expect(streamed[index]?.length).toBeGreaterThan(streamed[index - 1]?.length ?? 0);
    }
    expect(snapshots.filter((s) => s.state === 'streaming').every((s) => !s.sourcesVisible)).toBe(true);

    // Rendered as Markdown: a code block and inline code, and the streaming region is announced.
    const body = lastTurn(page).locator('.answer-body');
    expect(await body.getAttribute('aria-live')).toBe('polite');
    expect(await body.getAttribute('aria-busy')).toBe('false');
    expect(await body.locator('pre code').textContent()).toContain('condition: service_healthy');
    expect(await body.locator('p code').first().textContent()).toBe('depends_on');
    expect(await body.locator('button.cite').evaluateAll((buttons) => buttons.map((b) => b.textContent))).toEqual(['1', '1', '2']);
    expect(await body.textContent()).not.toContain('[1]');

    // Cited sources first (note, heading, lines, score); the uncited one folded under "also retrieved".
    const cited = lastTurn(page).locator('.source-list.cited > li');
    expect(await cited.count()).toBe(2);
    const [first, second] = composeSources;
    expect(await cited.nth(0).textContent()).toBe(`1 ${NOTE}${COMPOSE_TIPS}lines ${first?.lines[0]}–${first?.lines[1]}score 0.82`);
    expect(await cited.nth(1).textContent()).toContain(`2 ${NOTE}`);
    expect(await cited.nth(1).textContent()).toContain('score 0.74');
    const also = lastTurn(page).locator('details.also-retrieved');
    expect(await also.locator('summary').textContent()).toBe('Also retrieved (1)');
    expect(await also.evaluate((details) => (details as HTMLDetailsElement).open)).toBe(false);
    expect(await also.locator('li').textContent()).toContain('score 0.61');

    // [1] opens the note, its heading path, and the cited lines highlighted and scrolled into view.
    const citation = body.locator('button.cite[data-n="2"]');
    await body.locator('button.cite[data-n="1"]').first().click();
    const panel = page.locator('#note-panel');
    await panel.waitFor({ state: 'visible' });
    expect(await panel.locator('#note-title').textContent()).toBe(NOTE);
    expect(await panel.locator('#note-heading').textContent()).toBe(COMPOSE_TIPS);
    const highlighted = panel.locator('.line.cited');
    await highlighted.first().waitFor();
    const [start, end] = first?.lines ?? [0, 0];
    expect(await highlighted.evaluateAll((rows) => rows.map((row) => Number((row as HTMLElement).dataset['line'])))).toEqual(
      Array.from({ length: end - start + 1 }, (_, index) => start + index),
    );
    expect(await highlighted.locator('.line-text').allTextContents()).toEqual(noteLines.slice(start - 1, end).map((line) => line || ' '));
    expect(await panel.locator('.line').count()).toBe(noteLines.length - (noteText.endsWith('\n') ? 1 : 0));
    const inView = await page.evaluate(() => {
      const row = document.querySelector('#note-panel .line.cited');
      const scroller = document.getElementById('note-body');
      if (!row || !scroller) return false;
      const rowBox = row.getBoundingClientRect();
      const box = scroller.getBoundingClientRect();
      return scroller.scrollTop > 0 && rowBox.top >= box.top && rowBox.bottom <= box.bottom;
    });
    expect(inView).toBe(true);

    // Escape closes the panel and gives focus back to the citation; [2] then shows its own lines.
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-n'))).toBe('1');
    await citation.click();
    await expect.poll(() => panel.locator('.line.cited').first().getAttribute('data-line')).toBe(String(second?.lines[0]));

    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('keeps earlier turns as history, copies an answer, and starts over with New chat', async () => {
    const { answer, calls } = scriptedAnswer((request) => ({
      sources: composeSources,
      deltas: [`Answer to: ${request.question} [1]`],
    }));
    const { page, context, problems } = await openPage(fakeDeps(answer));
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);

    await askQuestion(page, 'first question');
    await waitForState(page, 'done');
    await askQuestion(page, 'second question');
    await waitForState(page, 'done');
    expect(await page.locator('article.turn').count()).toBe(2);
    expect(calls[1]?.request.history).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'Answer to: first question [1]' },
    ]);

    await page.locator('article.turn').first().locator('button.copy').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('Answer to: first question [1]');

    await page.locator('#new-chat').click();
    expect(await page.locator('article.turn').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('question');
    await askQuestion(page, 'third question');
    await waitForState(page, 'done');
    expect(calls[2]?.request.history).toBeUndefined();
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('Stop ends the stream: the text stops growing and the answer signal is aborted', async () => {
    const deltas = Array.from({ length: 40 }, (_, index) => `word${index} `);
    const { answer, calls } = scriptedAnswer(() => ({ sources: composeSources, deltas, delayMs: 150 }));
    const { page, problems } = await openPage(fakeDeps(answer));
    await askQuestion(page, 'Tell me everything');
    const body = lastTurn(page).locator('.answer-body');
    await expect.poll(() => body.textContent(), { timeout: 5_000 }).toContain('word1 ');
    await page.locator('#stop').click();

    await waitForState(page, 'stopped');
    await expect.poll(() => calls[0]?.signal.aborted).toBe(true);
    await expect.poll(() => calls[0]?.stoppedEarly).toBe(true);
    const stoppedText = await body.textContent();
    await sleep(600); // four more delta intervals: nothing may arrive
    expect(await body.textContent()).toBe(stoppedText);
    expect(stoppedText).not.toContain('word39');
    expect(await lastTurn(page).locator('.turn-state').textContent()).toBe('Stopped.');
    expect(await page.locator('#stop').isHidden()).toBe(true);
    expect(await page.locator('#send').isEnabled()).toBe(true);
    // The partial answer's citations still lead to their sources.
    expect(await lastTurn(page).locator('.sources').isVisible()).toBe(true);
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('shows markup in notes and in model output as text: no dialog, no new elements', async () => {
    const payload = '<img src=x onerror=alert(1)> and <script>alert(2)</script>';
    const evilNote = `# Evil\n\nThis note has ${payload} inside.\n\n<img src="x" onerror="alert('note')">\n`;
    const evilSource: Source = {
      n: 1,
      id: 'evil.md#1',
      note: 'evil.md',
      heading: 'Evil <img src=x onerror=alert(3)>',
      lines: [3, 5],
      text: evilNote,
      score: 0.9,
    };
    const { answer } = scriptedAnswer(() => ({
      sources: [evilSource],
      deltas: ['The note says ', `${payload} [1]`, '\n\n<img src=x onerror=alert(4)>\n\n', '[click](javascript:alert(5))'],
      delayMs: 30,
    }));
    const { page, problems } = await openPage(fakeDeps(answer, {}, new Map([['evil.md', evilNote]])));
    const before = await page.evaluate(() => ({
      images: document.images.length,
      scripts: document.scripts.length,
    }));

    await askQuestion(page, 'What does the evil note say?');
    await waitForState(page, 'done');
    await lastTurn(page).locator('button.cite').first().click();
    await page.locator('#note-panel .line.cited').first().waitFor();

    const body = lastTurn(page).locator('.answer-body');
    expect(await body.textContent()).toContain('<img src=x onerror=alert(1)>');
    expect(await body.textContent()).toContain('<script>alert(2)</script>');
    expect(await page.locator('#note-body').textContent()).toContain(payload);
    expect(await page.locator('#note-heading').textContent()).toBe('Evil <img src=x onerror=alert(3)>');
    expect(await lastTurn(page).locator('.source-heading').textContent()).toBe('Evil <img src=x onerror=alert(3)>');
    const after = await page.evaluate(() => ({
      images: document.images.length,
      scripts: document.scripts.length,
      handlers: document.querySelectorAll('[onerror], [onclick], [onload]').length,
      javascriptLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
    }));
    expect(after).toEqual({ ...before, handlers: 0, javascriptLinks: 0 });
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('extractive mode: shows the notice and disables the RAG switch; answerable:false shows "not in your notes"', async () => {
    const { answer, calls } = scriptedAnswer((request) =>
      request.question.includes('kubernetes')
        ? {
            sources: [composeSources[2] as Source],
            deltas: ['Your notes do not cover this. The nearest note is dockercon-2023.md.'],
            mode: 'extractive',
            answerable: false,
          }
        : {
            sources: composeSources,
            deltas: ['- waits for service to start and be healthy before starting other services [1]'],
            mode: 'extractive',
            notice: 'No chat model is connected, so this answer quotes your notes. Run ollama serve and ollama pull llama3.2 for written answers.',
          },
    );
    const { page, problems } = await openPage(fakeDeps(answer, { readiness: () => readyExtractive }));

    await expect.poll(() => page.locator('#status-mode').textContent()).toBe('extractive: no chat model connected');
    expect(await page.locator('#status-fix').textContent()).toBe('To fix: ollama serve');
    expect(await page.locator('#status-fix').getAttribute('title')).toBe(readyExtractive.reason);
    expect(await page.locator('#rag').isDisabled()).toBe(true);
    expect(await page.locator('#rag').isChecked()).toBe(true);
    expect(await page.locator('#rag-reason').textContent()).toContain('needs a chat model');

    await askQuestion(page, 'What does depends_on condition do?');
    await waitForState(page, 'done');
    expect(await lastTurn(page).locator('.notice').textContent()).toContain('No chat model is connected');
    expect(await lastTurn(page).locator('.badge-unanswerable').isHidden()).toBe(true);
    expect(calls[0]?.request.rag).toBeUndefined();

    await askQuestion(page, 'How do I upgrade kubernetes?');
    await waitForState(page, 'unanswerable');
    const turn = lastTurn(page);
    expect(await turn.locator('.badge-unanswerable').isVisible()).toBe(true);
    expect(await turn.locator('.badge-unanswerable').textContent()).toBe('Not in your notes');
    expect(await turn.locator('.turn-state').textContent()).toBe('The nearest passages in your notes are listed below.');
    // Nothing cited: the nearest passages are shown open under "also retrieved".
    expect(await turn.locator('.source-list.cited').count()).toBe(0);
    expect(await turn.locator('details.also-retrieved').evaluate((details) => (details as HTMLDetailsElement).open)).toBe(true);
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('folds a reasoning model\'s thinking under "Reasoning", apart from the answer, and marks an uncited answer', async () => {
    const uncited = 'This answer cites none of your notes, so it is not grounded in a cited note.';
    const { answer } = scriptedAnswer((request) =>
      request.question.includes('think')
        ? { sources: composeSources, reasoning: ['The user asks about <b>depends_on</b>. ', 'Source 1 covers it.'], deltas: ['It waits for `service_started` [1].'] }
        : { sources: composeSources, deltas: ['Compose starts services in order.'], doneNotice: uncited },
    );
    const { page, problems } = await openPage(fakeDeps(answer));

    await askQuestion(page, 'Please think: what does depends_on wait for?');
    await waitForState(page, 'done');
    const thinking = lastTurn(page).locator('details.reasoning');
    expect(await thinking.isVisible()).toBe(true);
    expect(await thinking.evaluate((details) => (details as HTMLDetailsElement).open)).toBe(false);
    expect(await thinking.locator('summary').textContent()).toBe('Reasoning');
    // Model text, shown as text: the tag is not markup.
    expect(await thinking.locator('.reasoning-text').textContent()).toBe('The user asks about <b>depends_on</b>. Source 1 covers it.');
    expect(await thinking.locator('b').count()).toBe(0);
    expect(await lastTurn(page).locator('.answer-body').textContent()).not.toContain('depends_on</b>');
    expect(await lastTurn(page).getAttribute('data-grounded')).toBeNull();
    expect(await lastTurn(page).locator('.notice').isHidden()).toBe(true);

    await askQuestion(page, 'And the order?');
    await waitForState(page, 'done');
    expect(await lastTurn(page).locator('details.reasoning').isHidden()).toBe(true);
    expect(await lastTurn(page).getAttribute('data-grounded')).toBe('uncited');
    expect(await lastTurn(page).locator('.notice').textContent()).toBe(uncited);
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('while the first index builds, says so and picks up the index when it is ready', async () => {
    let ready = false;
    const building: Readiness = {
      ready: false,
      building: true,
      mode: 'ollama',
      chatModel: 'llama3.2',
      provider: 'ollama',
      ollama: { url: 'http://127.0.0.1:11434', reachable: true, missingModels: [] },
      reason: 'The first index build is still running.',
    };
    const { answer } = scriptedAnswer(() => ({ sources: [], deltas: [] }));
    const { page, problems } = await openPage(fakeDeps(answer, { readiness: () => (ready ? readyWithOllama : building) }));
    await expect.poll(() => page.locator('#status-mode').textContent()).toContain('Indexing your notes');
    expect(await page.locator('#status-fix').textContent()).toBe('The first index build is still running.');
    ready = true;
    await expect.poll(() => page.locator('#status-index').textContent(), { timeout: 5_000 }).toBe('Index: 1 note, 143 chunks');
    expect(await page.locator('#status-mode').textContent()).toBe('Ollama: llama3.2');
    expect(await page.locator('#status-fix').isHidden()).toBe(true);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors.filter((text) => !text.includes('status of 503'))).toEqual([]);
  });

  it('when the index cannot be built, shows the plain-words reason, ahead of any Ollama fix (issue 17)', async () => {
    const reason =
      'The index could not be built: INDEX_DIR /data/index is on a read-only file system. Set INDEX_DIR to a folder this user can write (in Docker: a named volume, not a read-only mount).';
    const failed: Readiness = {
      ready: false,
      building: false,
      mode: 'extractive',
      chatModel: null,
      provider: 'ollama',
      ollama: { url: 'http://127.0.0.1:11434', reachable: false, missingModels: [], fix: 'ollama serve' },
      reason,
    };
    const { answer } = scriptedAnswer(() => ({ sources: [], deltas: [] }));
    const { page, problems } = await openPage(fakeDeps(answer, { readiness: () => failed }));
    await expect.poll(() => page.locator('#status-mode').textContent()).toBe('The index could not be built.');
    expect(await page.locator('#status-fix').textContent()).toBe(reason);
    expect(problems.pageErrors).toEqual([]);
  });

  it('RAG off sends rag:false; server errors are shown in plain words with the fix', async () => {
    const { answer, calls } = scriptedAnswer((request) =>
      request.rag === false
        ? { sources: [], deltas: [], throws: new AppError('model_not_found', 'The Ollama model "llama3.2" is not installed. Run: ollama pull llama3.2') }
        : { sources: composeSources, deltas: ['ok [1]'] },
    );
    const { page, problems } = await openPage(fakeDeps(answer));
    await expect.poll(() => page.locator('#rag').isEnabled()).toBe(true);
    await page.locator('#rag').uncheck();
    await askQuestion(page, 'Write me a haiku');
    await waitForState(page, 'error');
    expect(calls[0]?.request.rag).toBe(false);
    const error = lastTurn(page).locator('.turn-error');
    expect(await error.getAttribute('data-code')).toBe('model_not_found');
    expect(await error.textContent()).toBe('The Ollama model "llama3.2" is not installed. Run: ollama pull llama3.2');
    // The failed turn is not sent back as history.
    await page.locator('#rag').check();
    await askQuestion(page, 'And now from my notes?');
    await waitForState(page, 'done');
    expect(calls[1]?.request.history).toBeUndefined();
    // The page logs the 503 as a failed resource load; nothing else may go wrong.
    expect(problems.dialogs).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors.filter((text) => !text.includes('status of 503'))).toEqual([]);
  });

  it('asks once for the API token, keeps it for the tab, and sends it as a Bearer token', async () => {
    const { answer, calls } = scriptedAnswer(() => ({ sources: composeSources, deltas: ['Token accepted [1]'] }));
    const { page, problems } = await openPage(fakeDeps(answer, { apiToken: 'correct horse' }));
    const authorizations: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/ask')) authorizations.push(request.headers()['authorization']);
    });

    // The page itself loads without a token; /readyz answers 401, so the form appears.
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.locator('#token-input').fill('wrong guess');
    await page.locator('#token-input').press('Enter');
    await expect.poll(() => page.locator('#token-message').textContent()).toContain('not accepted');
    expect(await dialog.isVisible()).toBe(true);
    await page.locator('#token-input').fill('correct horse');
    await page.locator('#token-submit').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator('#status-index').textContent()).toBe('Index: 1 note, 143 chunks');

    await askQuestion(page, 'Is the token sent?');
    await waitForState(page, 'done');
    expect(calls).toHaveLength(1);
    expect(authorizations).toEqual(['Bearer correct horse']);

    // Kept for the tab: a reload does not ask again.
    await page.reload();
    await expect.poll(() => page.locator('#status-index').textContent()).toBe('Index: 1 note, 143 chunks');
    expect(await dialog.isVisible()).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('asknotes.apiToken'))).toBe('correct horse');
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('a late 401 for a wrong token never erases the right one typed after it', async () => {
    const { answer } = scriptedAnswer(() => ({ sources: composeSources, deltas: ['ok [1]'] }));
    // The page's /models request made with the wrong guess is held until the right token is in,
    // then let through: its 401 arrives after the right token was stored.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    const modelsTokens: (string | undefined)[] = [];
    const { page, problems } = await openPage(fakeDeps(answer, { apiToken: 'correct horse' }), {
      beforeLoad: async (opened) => {
        await opened.route('**/models', async (route) => {
          const authorization = route.request().headers()['authorization'];
          modelsTokens.push(authorization);
          if (authorization === 'Bearer wrong guess') {
            held += 1;
            await released;
          }
          await route.continue();
        });
      },
    });
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.locator('#token-input').fill('wrong guess');
    await page.locator('#token-input').press('Enter');
    await expect.poll(() => page.locator('#token-message').textContent()).toContain('not accepted');
    await expect.poll(() => held).toBe(1);
    await page.locator('#token-input').fill('correct horse');
    await page.locator('#token-submit').click();
    await dialog.waitFor({ state: 'hidden' });
    release();
    // The late 401 is answered by retrying with the token now stored, not by asking again.
    await expect.poll(() => modelsTokens.at(-1)).toBe('Bearer correct horse');
    await expect.poll(() => page.locator('#status-index').textContent()).toBe('Index: 1 note, 143 chunks');
    expect(await dialog.isVisible()).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('asknotes.apiToken'))).toBe('correct horse');
    expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
  });

  it('saves light, dark and phone-width screenshots', async () => {
    await mkdir(new URL('../test-results/', import.meta.url), { recursive: true });
    const shots: Record<string, string> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      const { answer } = scriptedAnswer(() => ({ sources: composeSources, deltas: composeAnswer }));
      const { page, problems } = await openPage(fakeDeps(answer), { colorScheme });
      await askQuestion(page, 'How do I make my app wait for the database in Compose?');
      await waitForState(page, 'done');
      await lastTurn(page).locator('button.cite[data-n="1"]').first().click();
      await page.locator('#note-panel .line.cited').first().waitFor();
      await page.locator('#question').fill('');
      await page.locator('#question').blur();
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe(colorScheme === 'dark' ? 'rgb(21, 23, 27)' : 'rgb(247, 247, 248)');
      const file = new URL(`../test-results/chat-page-${colorScheme}.png`, import.meta.url);
      await page.screenshot({ path: file.pathname });
      shots[colorScheme] = file.pathname;
      expect(problems).toEqual({ dialogs: [], pageErrors: [], consoleErrors: [] });
    }

    // Phone width: nothing overflows sideways, and the note panel covers the chat.
    const { answer } = scriptedAnswer(() => ({ sources: composeSources, deltas: composeAnswer }));
    const { page } = await openPage(fakeDeps(answer), { viewport: { width: 390, height: 780 } });
    await askQuestion(page, 'How do I make my app wait for the database in Compose?');
    await waitForState(page, 'done');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.locator('#send').isVisible()).toBe(true);
    await page.screenshot({ path: new URL('../test-results/chat-page-phone.png', import.meta.url).pathname });
    await lastTurn(page).locator('button.cite[data-n="1"]').first().click();
    const panelWidth = await page.locator('#note-panel').evaluate((panel) => panel.getBoundingClientRect().width);
    expect(panelWidth).toBe(390);

    if (process.env['UPDATE_SCREENSHOTS'] === '1') {
      await copyFile(shots['light'] ?? '', new URL('../docs/chat-page.png', import.meta.url));
      await copyFile(shots['dark'] ?? '', new URL('../docs/chat-page-dark.png', import.meta.url));
      await copyFile(new URL('../test-results/chat-page-phone.png', import.meta.url), new URL('../docs/chat-page-phone.png', import.meta.url));
    }
  }, 120_000);
});
