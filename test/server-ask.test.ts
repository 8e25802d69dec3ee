import { afterEach, describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../src/answer/answer-types.ts';
import { AppError } from '../src/errors.ts';
import {
  SAMPLE_DONE_EVENT,
  SAMPLE_SOURCES,
  SAMPLE_SOURCES_EVENT,
  ask,
  parseSse,
  readSseUntil,
  sampleEvents,
  scriptedAnswer,
  startTestServer,
} from './support/start-test-server.ts';
import type { TestServer } from './support/start-test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('POST /ask as JSON', () => {
  it('collects the events into the SPEC response shape', async () => {
    const fake = scriptedAnswer(sampleEvents());
    server = await startTestServer({ answer: fake.answer, topK: 6 });
    const response = await ask(server.url, { question: '  What does depends_on wait for?  ' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      answer: SAMPLE_DONE_EVENT.answer,
      answerable: true,
      sources: SAMPLE_SOURCES,
      cited: [1],
      mode: 'ollama',
      model: 'llama3.2',
      embedder: 'ollama:nomic-embed-text',
      timings: SAMPLE_DONE_EVENT.timings,
    });
    // Trimmed question, and k defaults to TOP_K.
    expect(fake.calls[0]?.request).toEqual({ question: 'What does depends_on wait for?', k: 6 });
  });

  it('passes k, rag and history through and includes the notice', async () => {
    const fake = scriptedAnswer([
      { ...SAMPLE_SOURCES_EVENT, mode: 'extractive', model: null, notice: 'No chat model: run ollama pull llama3.2' },
      SAMPLE_DONE_EVENT,
    ]);
    server = await startTestServer({ answer: fake.answer });
    const history = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ];
    const response = await ask(server.url, { question: 'q', k: 2, rag: true, history });
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ mode: 'extractive', model: null, notice: 'No chat model: run ollama pull llama3.2' });
    expect(fake.calls[0]?.request).toEqual({ question: 'q', k: 2, rag: true, history });
  });

  it('aborts the answer when the client disconnects', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, 10_000, SAMPLE_DONE_EVENT]);
    server = await startTestServer({ answer: fake.answer });
    const controller = new AbortController();
    const pending = ask(server.url, { question: 'q' }, { signal: controller.signal });
    await waitFor(() => (fake.calls[0]?.yielded ?? 0) >= 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await fake.calls[0]?.finished;
    expect(fake.calls[0]?.sawAbort).toBe(true);
  });
});

describe('POST /ask as Server-Sent Events', () => {
  it.each([
    ['"stream": true', { stream: true }, {}],
    ['Accept: text/event-stream', {}, { accept: 'text/event-stream' }],
  ])('streams sources, deltas and one done event (%s)', async (_name, extra, headers) => {
    server = await startTestServer({ answer: scriptedAnswer(sampleEvents()).answer });
    const response = await ask(server.url, { question: 'q', ...extra }, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('connection')).toBe('keep-alive');
    const text = await response.text();
    expect(parseSse(text)).toEqual([
      { event: 'sources', data: { sources: SAMPLE_SOURCES, mode: 'ollama', model: 'llama3.2', embedder: 'ollama:nomic-embed-text' } },
      { event: 'delta', data: { text: 'By default depends_on ' } },
      { event: 'delta', data: { text: 'waits for service_started ' } },
      { event: 'delta', data: { text: '[1].' } },
      {
        event: 'done',
        data: { answer: SAMPLE_DONE_EVENT.answer, answerable: true, cited: [1], timings: SAMPLE_DONE_EVENT.timings },
      },
    ]);
    // The exact wire format: an event line, one data line, a blank line.
    expect(text.startsWith('event: sources\ndata: {"sources":[')).toBe(true);
  });

  it('sends exactly one terminal event and stops reading the AnswerFn after it', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT, { type: 'delta', text: 'late' }, SAMPLE_DONE_EVENT]);
    server = await startTestServer({ answer: fake.answer });
    const messages = parseSse(await (await ask(server.url, { question: 'q', stream: true })).text());
    expect(messages.map((message) => message.event)).toEqual(['sources', 'done']);
    await fake.calls[0]?.finished;
    expect(fake.calls[0]?.yielded).toBe(2);
  });

  it('turns an error thrown mid-stream into an error event', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, { type: 'delta', text: 'half' }, new AppError('upstream_timeout', 'Ollama did not answer within 60 s.')]);
    server = await startTestServer({ answer: fake.answer });
    const response = await ask(server.url, { question: 'q', stream: true });
    expect(response.status).toBe(200);
    const messages = parseSse(await response.text());
    expect(messages.map((message) => message.event)).toEqual(['sources', 'delta', 'error']);
    expect(messages.at(-1)?.data).toEqual({ code: 'upstream_timeout', message: 'Ollama did not answer within 60 s.' });
  });

  it('relays an error event from the AnswerFn and hides internal details', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, { type: 'error', code: 'internal', message: 'ENOENT /home/me/index/args.json' }]);
    server = await startTestServer({ answer: fake.answer });
    const messages = parseSse(await (await ask(server.url, { question: 'q', stream: true })).text());
    expect(messages.at(-1)?.event).toBe('error');
    expect(messages.at(-1)?.data).toMatchObject({ code: 'internal' });
    expect(JSON.stringify(messages)).not.toContain('ENOENT');
  });

  it('hides a non-AppError thrown mid-stream behind a generic internal error event', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, new Error('secret path /etc/shadow')]);
    server = await startTestServer({ answer: fake.answer });
    const text = await (await ask(server.url, { question: 'q', stream: true })).text();
    const messages = parseSse(text);
    expect(messages.map((message) => message.event)).toEqual(['sources', 'error']);
    expect(messages[1]?.data).toMatchObject({ code: 'internal' });
    expect(text).not.toContain('shadow');
    expect(server.logs.text()).toContain('secret path /etc/shadow');
  });

  it('ends with an error event when the AnswerFn stops without a terminal event', async () => {
    server = await startTestServer({ answer: scriptedAnswer([SAMPLE_SOURCES_EVENT, { type: 'delta', text: 'x' }]).answer });
    const messages = parseSse(await (await ask(server.url, { question: 'q', stream: true })).text());
    expect(messages.map((message) => message.event)).toEqual(['sources', 'delta', 'error']);
  });

  it('answers with a JSON error and its status when the AnswerFn fails before its first event', async () => {
    const fake = scriptedAnswer([new AppError('model_not_found', 'The Ollama model "llama3.2" is not installed. Run: ollama pull llama3.2')]);
    server = await startTestServer({ answer: fake.answer });
    const response = await ask(server.url, { question: 'q', stream: true });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: { code: 'model_not_found', message: 'The Ollama model "llama3.2" is not installed. Run: ollama pull llama3.2' },
    });
  });

  it('treats an error as the very first event like a thrown error', async () => {
    const fake = scriptedAnswer([{ type: 'error', code: 'llm_unavailable', message: 'Ollama is not reachable at http://127.0.0.1:11434.' }]);
    server = await startTestServer({ answer: fake.answer });
    const response = await ask(server.url, { question: 'q', stream: true });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('llm_unavailable');
  });

  it('aborts the AnswerFn signal when the client disconnects mid-stream', async () => {
    const script: Array<AnswerEvent | number> = [SAMPLE_SOURCES_EVENT];
    for (let index = 0; index < 200; index += 1) script.push(20, { type: 'delta', text: `piece ${index} ` });
    script.push(SAMPLE_DONE_EVENT);
    const fake = scriptedAnswer(script);
    server = await startTestServer({ answer: fake.answer });
    const controller = new AbortController();
    const response = await ask(server.url, { question: 'q', stream: true }, { signal: controller.signal });
    const seen = await readSseUntil(response, (message) => message.event === 'delta');
    expect(seen.map((message) => message.event)).toEqual(['sources', 'delta']);
    controller.abort();
    await fake.calls[0]?.finished;
    expect(fake.calls[0]?.signal.aborted).toBe(true);
    expect(fake.calls[0]?.sawAbort).toBe(true);
    expect(fake.calls[0]?.yielded).toBeLessThan(script.length);
    // The abandoned stream is logged as aborted, and is not an error.
    await waitFor(() => server!.logs.lines.some((line) => line.msg === 'request' && line.aborted === true));
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('aborts the AnswerFn signal when the client disconnects before the first event', async () => {
    const fake = scriptedAnswer([10_000, SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]);
    server = await startTestServer({ answer: fake.answer });
    const controller = new AbortController();
    const pending = ask(server.url, { question: 'q', stream: true }, { signal: controller.signal });
    await waitFor(() => fake.calls.length === 1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await fake.calls[0]?.finished;
    expect(fake.calls[0]?.sawAbort).toBe(true);
    expect(fake.calls[0]?.yielded).toBe(0);
  });

  it('sends heartbeat comments while the answer is idle', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, 250, SAMPLE_DONE_EVENT]);
    server = await startTestServer({ answer: fake.answer, sseHeartbeatMs: 50 });
    const text = await (await ask(server.url, { question: 'q', stream: true })).text();
    expect(text).toContain(': keep-alive\n\n');
    expect(parseSse(text).map((message) => message.event)).toEqual(['sources', 'done']);
  });
});

/** Polls a condition (for state inside the server that no response reports). */
async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
