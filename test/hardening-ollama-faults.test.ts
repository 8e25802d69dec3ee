/**
 * Ollama faults (issue 8), end to end: the real composed server (`main()`, LLM=ollama, the stand-in
 * as OLLAMA_HOST, OLLAMA_TIMEOUT_MS=500) and `POST /ask` over HTTP, as JSON and as SSE. Every fault
 * must give the SPEC's code — a JSON error with its status while nothing was sent yet, an `error`
 * event once the stream began — well within the configured timeout plus slack, close its upstream
 * request, and leave a server that answers the next question normally.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AskResponse } from '../src/answer/answer-types.ts';
import { ERROR_CODES, type ErrorCode } from '../src/errors.ts';
import { startFakeOllama, type FakeFault, type FakeOllama } from './support/fake-ollama.ts';
import { completeSseMessages, postOnce, startComposedServer, type ComposedServer } from './support/hardening-app.ts';

const TIMEOUT_MS = 500;
/** "Within the configured timeout": the timeout itself plus generous slack for a busy two-core machine. */
const WITHIN_MS = TIMEOUT_MS + 4_500;
/** A question the notes answer, so the engine really asks Ollama (a weak one would be answered as "not covered"). */
const QUESTION = 'What is the default depends_on condition in compose?';
const TOKENS = ['By default', ' depends_on', ' waits for', ' service_started', ' [1].'];

interface FaultCase {
  name: string;
  /** `'*'` + refuse stops the stand-in listening (ECONNREFUSED); anything else is set on /api/chat. */
  fault: FakeFault;
  endpoint: 'chat' | '*';
  /** The code a JSON request gets (as its status's error body). */
  json: ErrorCode;
  /** SSE: `status` = refused with a JSON error before the stream began; `event` = sources, deltas, then this error event. */
  sse: { kind: 'status'; code: ErrorCode } | { kind: 'event'; code: ErrorCode };
  message?: RegExp;
}

const FAULTS: FaultCase[] = [
  { name: 'refused connection', endpoint: '*', fault: { type: 'refuse' }, json: 'llm_unavailable', sse: { kind: 'status', code: 'llm_unavailable' }, message: /not reachable/ },
  { name: 'connection reset on arrival', endpoint: 'chat', fault: { type: 'reset' }, json: 'llm_unavailable', sse: { kind: 'status', code: 'llm_unavailable' } },
  { name: '404 model not found', endpoint: 'chat', fault: { type: 'status', status: 404, error: "model 'llama3.2' not found" }, json: 'model_not_found', sse: { kind: 'status', code: 'model_not_found' }, message: /ollama pull llama3\.2/ },
  { name: '500 from Ollama', endpoint: 'chat', fault: { type: 'status', status: 500, error: 'llama runner process has terminated' }, json: 'llm_unavailable', sse: { kind: 'status', code: 'llm_unavailable' }, message: /llama runner process has terminated/ },
  { name: 'hang before the first token', endpoint: 'chat', fault: { type: 'hang' }, json: 'upstream_timeout', sse: { kind: 'status', code: 'upstream_timeout' }, message: /500 ms/ },
  { name: 'hang mid-stream', endpoint: 'chat', fault: { type: 'hang-mid-stream', after: 2 }, json: 'upstream_timeout', sse: { kind: 'event', code: 'upstream_timeout' }, message: /500 ms/ },
  { name: 'connection dropped mid-stream', endpoint: 'chat', fault: { type: 'drop-mid-stream', after: 2 }, json: 'llm_unavailable', sse: { kind: 'event', code: 'llm_unavailable' } },
  { name: 'error line mid-stream', endpoint: 'chat', fault: { type: 'error-mid-stream', after: 2, error: 'model runner crashed' }, json: 'llm_unavailable', sse: { kind: 'event', code: 'llm_unavailable' }, message: /model runner crashed/ },
  { name: 'stream ended without done', endpoint: 'chat', fault: { type: 'end-without-done', after: 2 }, json: 'llm_unavailable', sse: { kind: 'event', code: 'llm_unavailable' } },
  { name: 'malformed NDJSON line mid-stream', endpoint: 'chat', fault: { type: 'malformed-line', after: 2 }, json: 'llm_unavailable', sse: { kind: 'event', code: 'llm_unavailable' } },
  { name: 'malformed NDJSON as the first line', endpoint: 'chat', fault: { type: 'malformed-line', after: 0 }, json: 'llm_unavailable', sse: { kind: 'status', code: 'llm_unavailable' } },
  { name: 'tokens slower than the timeout', endpoint: 'chat', fault: { type: 'slow', tokenDelayMs: TIMEOUT_MS * 3 }, json: 'upstream_timeout', sse: { kind: 'status', code: 'upstream_timeout' }, message: /500 ms/ },
];

let ollama: FakeOllama;
let server: ComposedServer;
let injected = 0;

beforeAll(async () => {
  ollama = await startFakeOllama({ chatScript: TOKENS });
  server = await startComposedServer({ env: { LLM: 'ollama', OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: String(TIMEOUT_MS) } });
  await server.ready();
});
afterAll(async () => {
  await server?.close();
  await ollama?.close();
  console.info(`ollama faults injected through POST /ask: ${injected}`);
});
afterEach(async () => {
  await ollama.reset();
  ollama.setChatScript(TOKENS);
});

/** A normal answer from Ollama, proving the server is unharmed. */
async function expectHealthyAnswer(): Promise<void> {
  const response = await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION }));
  expect(response.status).toBe(200);
  const body = JSON.parse(response.body) as AskResponse;
  expect(body).toMatchObject({ mode: 'ollama', model: 'llama3.2', answer: TOKENS.join(''), cited: [1] });
}

/**
 * No request to the stand-in is left open: each one ended, by finishing, by the stand-in's own fault
 * (a drop), or because asknotes closed it (a timeout); a hang is only ever ended by asknotes.
 */
async function expectUpstreamClosed(fault?: FaultCase): Promise<void> {
  await ollama.whenIdle(WITHIN_MS);
  expect(ollama.openRequests()).toBe(0);
  const chats = ollama.callsTo('chat');
  for (const call of chats) expect(call.endedAt).toBeDefined();
  if (fault?.fault.type === 'hang' || fault?.fault.type === 'hang-mid-stream') {
    expect(chats.at(-1)?.clientClosed).toBe(true);
  }
}

async function inject(fault: FaultCase): Promise<void> {
  injected += 1;
  await ollama.setFault(fault.endpoint, fault.fault);
}

describe('Ollama faults through POST /ask on the composed server', () => {
  it('answers normally before any fault', async () => {
    await expectHealthyAnswer();
  });

  it.each(FAULTS)('$name: JSON error with the SPEC code, within the timeout', async (fault) => {
    await inject(fault);
    const started = performance.now();
    const response = await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION }));
    const elapsed = performance.now() - started;
    expect(response.status).toBe(ERROR_CODES[fault.json].status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(response.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(fault.json);
    if (fault.message !== undefined) expect(body.error.message).toMatch(fault.message);
    expect(elapsed).toBeLessThan(WITHIN_MS);
    await ollama.setFault(fault.endpoint, null);
    await expectUpstreamClosed(fault);
    await expectHealthyAnswer();
  });

  it.each(FAULTS)('$name: SSE gives the SPEC code as a status or as the one terminal error event', async (fault) => {
    await inject(fault);
    const started = performance.now();
    const response = await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION, stream: true }));
    const elapsed = performance.now() - started;
    expect(response.aborted).toBe(false);
    if (fault.sse.kind === 'status') {
      expect(response.status).toBe(ERROR_CODES[fault.sse.code].status);
      expect((JSON.parse(response.body) as { error: { code: string } }).error.code).toBe(fault.sse.code);
    } else {
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
      const messages = completeSseMessages(response.body);
      const events = messages.map((message) => message.event);
      // sources, the tokens that arrived before the fault, then exactly one terminal event: the error.
      expect(events[0]).toBe('sources');
      expect(events.slice(1, -1).every((event) => event === 'delta')).toBe(true);
      expect(events.filter((event) => event === 'done' || event === 'error')).toEqual(['error']);
      const error = messages.at(-1)?.data as { code: string; message: string };
      expect(error.code).toBe(fault.sse.code);
      if (fault.message !== undefined) expect(error.message).toMatch(fault.message);
    }
    expect(elapsed).toBeLessThan(WITHIN_MS);
    await ollama.setFault(fault.endpoint, null);
    await expectUpstreamClosed(fault);
    await expectHealthyAnswer();
  });

  it('very slow tokens that stay within the timeout are a complete answer, not a fault', async () => {
    injected += 1;
    await ollama.setFault('chat', { type: 'slow', tokenDelayMs: Math.round(TIMEOUT_MS / 3) });
    const response = await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION, stream: true }));
    const messages = completeSseMessages(response.body);
    expect(messages.map((message) => message.event)).toEqual(['sources', ...TOKENS.map(() => 'delta'), 'done']);
    expect((messages.at(-1)?.data as { answer: string }).answer).toBe(TOKENS.join(''));
    // Slower in total than one timeout: the timeout is between tokens, not for the whole answer.
    await ollama.setFault('chat', null);
    await expectUpstreamClosed();
  });

  it('many faults in a row leave nothing open and no internal error in the log', async () => {
    const errors = server.logs.lines.filter((line) => line.level === 'error');
    expect(errors).toEqual([]);
    expect(ollama.openRequests()).toBe(0);
    await expectHealthyAnswer();
  });
});
