/**
 * Cancellation (issue 8): 200 SSE answers from the real composed server (`main()`, LLM=ollama, the
 * stand-in streaming slowly), each dropped by its client at a random (seeded) moment — before the
 * headers, mid-stream, or after the end. Afterwards the stand-in has no request left open and saw
 * every one either finish or be closed by asknotes; the server's sockets, its answer slots and its
 * memory are back at their baseline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeChatMessage, type FakeOllama } from './support/fake-ollama.ts';
import {
  completeSseMessages,
  memoryAfterGc,
  openServerSockets,
  postOnce,
  startComposedServer,
  trackServerSockets,
  until,
  type ComposedServer,
  type RawExchange,
} from './support/hardening-app.ts';
import { createRandom } from './support/synthetic-corpus.ts';

const STREAMS = 200;
const WAVE = 20;
const MAX_CONCURRENT_ANSWERS = 24;
const SEED = Number(process.env['CANCEL_SEED'] ?? 0xab0_27);
const TOKENS = Array.from({ length: 30 }, (_, index) => (index === 29 ? ' [1].' : ` word${index}`));
/** Headers after ~30 ms, then a token every 15 ms: an answer lasts about 0.5-1 s here; aborts land in 0..1.2 s. */
const LATENCY = { headersMs: 30, tokenMs: 15 };
const ABORT_WINDOW_MS = 1_200;
const QUESTION = 'What is the default depends_on condition in compose?';

let ollama: FakeOllama;
let server: ComposedServer;

beforeAll(async () => {
  ollama = await startFakeOllama({ chatScript: TOKENS, latency: LATENCY });
  server = await startComposedServer({
    env: { LLM: 'ollama', OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: '5000', MAX_CONCURRENT_ANSWERS: String(MAX_CONCURRENT_ANSWERS) },
  });
  await server.ready();
});
afterAll(async () => {
  await server?.close();
  await ollama?.close();
});

/**
 * The same answerable question every time, tagged by an earlier assistant turn: assistant turns reach
 * the model but not retrieval, so the tag cannot make the evidence look weak (and skip Ollama).
 */
function askBody(id: number, stream: boolean): string {
  return JSON.stringify({ question: QUESTION, stream, history: [{ role: 'assistant', content: `request ${id}` }] });
}

function idOf(messages: FakeChatMessage[] | undefined): number | undefined {
  const tag = (messages ?? []).find((message) => message.role === 'assistant')?.content ?? '';
  const match = /^request (-?\d+)$/.exec(tag);
  return match === null ? undefined : Number(match[1]);
}

async function streamAndAbort(id: number, abortAfterMs: number | undefined): Promise<RawExchange> {
  return postOnce(server.url, '/ask', askBody(id, true), abortAfterMs === undefined ? {} : { abortAfterMs });
}

async function settled(baselineSockets: number): Promise<void> {
  await ollama.whenIdle(10_000);
  await until(() => openServerSockets(server.port) <= baselineSockets, 10_000, 'server sockets did not return to their baseline');
}

interface AbortSummary {
  beforeHeaders: number;
  midStream: number;
  completed: number;
  upstream: number;
  closedUpstream: number;
}

/**
 * The 200 streams, in waves, and every check on what they left at the stand-in. A function of its
 * own so that the responses and call records it looks at are garbage once it returns: the memory
 * check after it must weigh the server, not the test's own bookkeeping.
 */
async function abortStreams(random: () => number, baselineSockets: number): Promise<AbortSummary> {
  const summary: AbortSummary = { beforeHeaders: 0, midStream: 0, completed: 0, upstream: 0, closedUpstream: 0 };
  for (let wave = 0; wave < STREAMS / WAVE; wave += 1) {
    const exchanges = await Promise.all(
      Array.from({ length: WAVE }, (_, index) => streamAndAbort(wave * WAVE + index, Math.round(random() * ABORT_WINDOW_MS))),
    );
    for (const exchange of exchanges) {
      const events = completeSseMessages(exchange.body).map((message) => message.event);
      if (exchange.status === 0) summary.beforeHeaders += 1;
      else if (events.includes('done')) summary.completed += 1;
      else summary.midStream += 1;
      // Never a failure: a stream is cut by its client, or it completes; no error event, no other status.
      expect([0, 200]).toContain(exchange.status);
      expect(events).not.toContain('error');
    }
  }
  // The seed spreads the aborts over every phase of an answer.
  expect(summary.beforeHeaders).toBeGreaterThan(0);
  expect(summary.midStream).toBeGreaterThan(STREAMS / 5);
  expect(summary.completed).toBeGreaterThan(0);

  await settled(baselineSockets);
  // The stand-in: nothing open; every request it got either finished or was closed by asknotes.
  expect(ollama.openRequests()).toBe(0);
  const chats = ollama.callsTo('chat');
  expect(chats.length).toBeGreaterThan(STREAMS / 2);
  for (const call of chats) {
    expect(call.endedAt).toBeDefined();
    expect(call.finished || call.clientClosed).toBe(true);
  }
  // Each answer was asked upstream at most once, and a client that left mid-stream closed its own request.
  const ids = chats.map((call) => idOf((call.body as { messages?: FakeChatMessage[] }).messages));
  expect(ids.every((id) => id !== undefined && id >= 0 && id < STREAMS)).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  summary.upstream = chats.length;
  summary.closedUpstream = chats.filter((call) => call.clientClosed).length;
  expect(summary.closedUpstream).toBeGreaterThanOrEqual(summary.midStream / 2);
  return summary;
}

describe('clients that abort SSE answers', () => {
  it(`${STREAMS} streams aborted at random moments (seed ${SEED.toString(16)}) leave nothing behind`, async () => {
    const random = createRandom(SEED);
    const baselineSockets = openServerSockets(server.port);

    // Warm-up: complete answers and aborted ones, so lazily built caches are not counted as leaks.
    await Promise.all(Array.from({ length: WAVE }, (_, index) => streamAndAbort(STREAMS + index, index % 2 === 0 ? undefined : 100 + index * 20)));
    await settled(baselineSockets);
    // The stand-in runs in this process and keeps every call it saw: drop those before weighing.
    await ollama.reset();
    ollama.setChatScript(TOKENS);
    ollama.setLatency(LATENCY);
    const before = await memoryAfterGc();
    const sockets = trackServerSockets(server.port);

    const summary = await abortStreams(random, baselineSockets);
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);

    // Every answer slot was given back: a full set of concurrent answers is admitted, none turned away.
    ollama.setLatency({});
    const statuses = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_ANSWERS }, async (_, index) => (await postOnce(server.url, '/ask', askBody(index, false))).status),
    );
    expect(statuses).toEqual(statuses.map(() => 200));
    await settled(baselineSockets);
    expect(openServerSockets(server.port)).toBe(baselineSockets);

    await ollama.reset();
    const after = await memoryAfterGc();
    // Every connection of those answers is closed and gone from memory, not merely closed.
    expect(sockets.accepted()).toBeGreaterThanOrEqual(STREAMS + MAX_CONCURRENT_ANSWERS);
    if (after.gc) expect(sockets.retained()).toBe(0);
    const heapGrowth = after.heapMiB - before.heapMiB;
    // With a real GC the heap must come back within a few MiB; without one, only a generous bound holds.
    expect(heapGrowth).toBeLessThan(before.gc ? 6 : 96);
    console.info(
      `cancellation: ${STREAMS} streams (${summary.beforeHeaders} cut before headers, ${summary.midStream} mid-stream, ${summary.completed} completed); ` +
        `${summary.upstream} upstream requests, ${summary.closedUpstream} closed by asknotes, 0 left open; ` +
        `${sockets.accepted()} server sockets, ${sockets.retained()} retained after GC; heap ${before.heapMiB.toFixed(1)} -> ${after.heapMiB.toFixed(1)} MiB (gc ${before.gc}), rss ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB`,
    );
  }, 120_000);
});
