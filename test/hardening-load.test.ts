/**
 * Load (issue 8) on the real composed server (`main()`, LLM=ollama, the stand-in as Ollama):
 * answers in flight are bounded by MAX_CONCURRENT_ANSWERS and the rest are turned away at once with
 * `429 busy` and `Retry-After`; then a short run of 64 concurrent clients (the 60 s version is
 * `npm run soak`) gets no 5xx, no failed connection, no error event, and RSS stays within a generous
 * bound once warm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_AFTER_SECONDS } from '../src/server/ask-route.ts';
import { SOAK_QUESTIONS, formatLoadReport, runLoad } from '../src/cli/soak-command.ts';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { completeSseMessages, postOnce, startComposedServer, type ComposedServer } from './support/hardening-app.ts';

const QUESTION = 'What is the default depends_on condition in compose?';
const TOKENS = ['By default', ' depends_on', ' waits for', ' service_started', ' [1].'];

describe('admission: at most MAX_CONCURRENT_ANSWERS answers in flight', () => {
  const MAX = 4;
  let ollama: FakeOllama;
  let server: ComposedServer;
  beforeAll(async () => {
    // Each answer holds its slot for about a second: long enough that all requests overlap.
    ollama = await startFakeOllama({ chatScript: TOKENS, latency: { headersMs: 300, tokenMs: 150 } });
    server = await startComposedServer({ env: { LLM: 'ollama', OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: '10000', MAX_CONCURRENT_ANSWERS: String(MAX) } });
    await server.ready();
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it(`admits ${MAX} of 12 simultaneous answers and turns the rest away with 429 busy and Retry-After`, async () => {
    // Start-up's own requests (model checks, the warm-up load) may still be in flight after
    // /readyz: they are not answers, so the count starts once they are done.
    await ollama.whenIdle(30_000);
    await ollama.reset();
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, index) => postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION, stream: index % 2 === 0 }))),
    );
    const admitted = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 429);
    expect(admitted).toHaveLength(MAX);
    expect(refused).toHaveLength(12 - MAX);
    for (const response of refused) {
      expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect((JSON.parse(response.body) as { error: { code: string } }).error.code).toBe('busy');
    }
    for (const response of admitted) {
      if (response.headers['content-type']?.startsWith('text/event-stream') === true) {
        expect(completeSseMessages(response.body).at(-1)?.event).toBe('done');
      } else {
        expect((JSON.parse(response.body) as { answer: string }).answer).toBe(TOKENS.join(''));
      }
    }
    // Upstream never saw more answers than the bound at once (a periodic model check is not an
    // answer), and only admitted answers reached it.
    expect(ollama.peakOpenChats()).toBeLessThanOrEqual(MAX);
    expect(ollama.callsTo('chat')).toHaveLength(MAX);

    // The slots are free again: the next batch of MAX is admitted in full.
    const again = await Promise.all(Array.from({ length: MAX }, () => postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION }))));
    expect(again.map((response) => response.status)).toEqual([200, 200, 200, 200]);
  });

  it('a busy server still answers everything that is not an answer', async () => {
    const held = Array.from({ length: MAX }, () => postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION })));
    await ollama.waitFor(() => ollama.openRequests() === MAX);
    expect((await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION }))).status).toBe(429);
    for (const path of ['/healthz', '/readyz', '/index/status']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(200);
    }
    expect((await fetch(`${server.url}/notes/dockercon-2023.md`)).status).toBe(200);
    expect((await Promise.all(held)).map((response) => response.status)).toEqual([200, 200, 200, 200]);
  });
});

describe('64 concurrent clients for a few seconds', () => {
  const CLIENTS = 64;
  const SECONDS = 5;
  let ollama: FakeOllama;
  let server: ComposedServer;
  beforeAll(async () => {
    ollama = await startFakeOllama({ latency: { headersMs: 20, tokenMs: 5 } });
    server = await startComposedServer({ env: { LLM: 'ollama', OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: '10000', LOG_LEVEL: 'warn' } });
    await server.ready();
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it(`no 5xx, no failed connection, bounded in-flight answers, RSS within bounds (${CLIENTS} clients, ${SECONDS} s)`, async () => {
    // Start-up's own requests (the warm-up chat) are not answers: count from when they are done.
    await ollama.whenIdle(30_000);
    await ollama.reset();
    // The stand-in shares this process and records every call: forget them, or they count as RSS growth.
    const forget = setInterval(() => {
      ollama.calls.length = 0;
    }, 500);
    const report = await runLoad({ url: server.url, clients: CLIENTS, durationMs: SECONDS * 1000, questions: SOAK_QUESTIONS });
    clearInterval(forget);
    console.info(`load:\n${formatLoadReport(report, CLIENTS)}`);
    expect(report.serverErrors).toBe(0);
    expect(report.connectionErrors).toBe(0);
    expect(report.errorEvents).toBe(0);
    expect(Object.keys(report.statuses).map(Number).every((status) => status === 200 || status === 429)).toBe(true);
    expect(report.statuses[200] ?? 0).toBeGreaterThan(CLIENTS);
    // More clients than slots: some were turned away, and upstream never held more than the bound.
    expect(report.statuses[429] ?? 0).toBeGreaterThan(0);
    expect(ollama.peakOpenChats()).toBeLessThanOrEqual(server.config.maxConcurrentAnswers);
    await ollama.whenIdle(10_000);
    // Generous: a leak of a few KiB per request would pass here; the soak and the cancel test are finer.
    expect(report.rss.endMiB - report.rss.warmMiB).toBeLessThan(200);
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);
  }, 60_000);
});
