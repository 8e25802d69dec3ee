/**
 * SPEC "Error codes": every code in src/errors.ts is produced by a real request, with its status
 * and the `{"error":{"code","message"}}` body. The last test fails if a code is added to the table
 * without a case here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, modelNotFound } from '../src/errors.ts';
import type { ErrorCode } from '../src/errors.ts';
import type { ServerDeps } from '../src/server/server-deps.ts';
import {
  SAMPLE_DONE_EVENT,
  SAMPLE_SOURCES_EVENT,
  ask,
  rawRequest,
  readyReadiness,
  scriptedAnswer,
  startTestServer,
} from './support/start-test-server.ts';
import type { RawResponse, TestServer } from './support/start-test-server.ts';

const covered = new Set<ErrorCode>();

/** Asserts the SPEC error shape and status, and records the code as covered. */
function expectError(response: RawResponse, code: ErrorCode): { code: string; message: string } {
  expect({ status: response.status, body: response.body }).toMatchObject({ status: ERROR_CODES[code].status });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  covered.add(code);
  return body.error;
}

const postAsk = (url: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  rawRequest(url, { method: 'POST', path: '/ask', headers, body });

describe('request errors (one shared server)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each<[string, string]>([
    ['bad JSON', '{"question": "q",'],
    ['JSON that is not an object', '"What is depends_on?"'],
    ['an array', '[{"question":"q"}]'],
    ['an empty body', ''],
    ['no question', '{}'],
    ['a null question', '{"question": null}'],
    ['a numeric question', '{"question": 42}'],
    ['a question that is only spaces', '{"question": "   \\n\\t "}'],
    ['a question over 4000 chars', JSON.stringify({ question: 'x'.repeat(4001) })],
    ['k = 0', '{"question":"q","k":0}'],
    ['k = 21', '{"question":"q","k":21}'],
    ['k = 1.5', '{"question":"q","k":1.5}'],
    ['k as a string', '{"question":"q","k":"3"}'],
    ['rag as a string', '{"question":"q","rag":"false"}'],
    ['stream as a number', '{"question":"q","stream":1}'],
    ['history not an array', '{"question":"q","history":"hi"}'],
    ['history with 21 turns', JSON.stringify({ question: 'q', history: Array.from({ length: 21 }, () => ({ role: 'user', content: 'x' })) })],
    ['a history role "system"', '{"question":"q","history":[{"role":"system","content":"x"}]}'],
    ['history content not a string', '{"question":"q","history":[{"role":"user","content":1}]}'],
    ['a history turn over 16000 chars', JSON.stringify({ question: 'q', history: [{ role: 'user', content: 'x'.repeat(16_001) }] })],
    ['deep nesting', `{"question":"q","history":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ])('400 invalid_request for %s', async (_name, body) => {
    expectError(await postAsk(server.url, body), 'invalid_request');
  });

  it('names the offending field and never echoes the body', async () => {
    const error = expectError(await postAsk(server.url, '{"question":"q","k":99}'), 'invalid_request');
    expect(error.message).toContain('"k"');
    const parseError = expectError(await postAsk(server.url, '{"question": "SECRET-TEXT'), 'invalid_request');
    expect(parseError.message).not.toContain('SECRET');
  });

  it.each<[string, Record<string, string>, string]>([
    ['text/plain', { 'content-type': 'text/plain' }, '{"question":"q"}'],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, 'question=q'],
    ['no content type', {}, '{"question":"q"}'],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
    ['a latin-1 charset', { 'content-type': 'application/json; charset=latin1' }, '{"question":"q"}'],
    ['a gzip body', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 'not really gzip'],
  ])('415 unsupported_media_type for %s', async (_name, headers, body) => {
    expectError(await postAsk(server.url, body, headers), 'unsupported_media_type');
  });

  it('415 for a non-JSON body on POST /reindex, while an empty POST is accepted', async () => {
    expectError(await rawRequest(server.url, { method: 'POST', path: '/reindex', headers: { 'content-type': 'text/plain' }, body: 'now' }), 'unsupported_media_type');
    expect((await rawRequest(server.url, { method: 'POST', path: '/reindex' })).status).toBe(202);
  });

  it('413 payload_too_large for a body over 64 KiB, declared or chunked', async () => {
    const big = JSON.stringify({ question: 'q', history: [{ role: 'user', content: 'x'.repeat(70_000) }] });
    expectError(await postAsk(server.url, big), 'payload_too_large');
    const chunked = await new Promise<RawResponse>((resolve, reject) => {
      // No Content-Length: the limit must hold while streaming too.
      import('node:http').then(({ request }) => {
        const { hostname, port } = new URL(server.url);
        const req = request({ host: hostname, port, method: 'POST', path: '/ask', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        for (let index = 0; index < 20; index += 1) req.write('x'.repeat(4096));
        req.end();
      }, reject);
    });
    expectError(chunked, 'payload_too_large');
    // A body just under the limit is read (and judged by the schema).
    const justUnder = JSON.stringify({ question: 'q', history: [{ role: 'user', content: 'x'.repeat(15_000) }, { role: 'user', content: 'y'.repeat(15_000) }, { role: 'user', content: 'z'.repeat(15_000) }, { role: 'user', content: 'w'.repeat(15_000) }] });
    expect(Buffer.byteLength(justUnder)).toBeLessThan(64 * 1024);
    expect((await postAsk(server.url, justUnder)).status).toBe(200);
  });

  it.each<[string, string, string]>([
    ['an unknown route', 'GET', '/nope'],
    ['GET /ask', 'GET', '/ask'],
    ['PUT /ask', 'PUT', '/ask'],
    ['POST /healthz', 'POST', '/healthz'],
    ['DELETE /index/status', 'DELETE', '/index/status'],
    ['an unknown note', 'GET', '/notes/missing.md'],
    ['a malformed escape outside /notes', 'GET', '/%E0%A4%A'],
    ['OPTIONS without CORS', 'OPTIONS', '/ask'],
  ])('404 not_found for %s', async (_name, method, path) => {
    expectError(await rawRequest(server.url, { method, path }), 'not_found');
  });
});

describe('answer and access errors', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const start = async (overrides: Partial<ServerDeps>) => {
    server = await startTestServer(overrides);
    return server;
  };
  const askRaw = (url: string, body: object) => postAsk(url, JSON.stringify(body));

  it('401 unauthorized with WWW-Authenticate when the token is missing or wrong', async () => {
    const { url } = await start({ apiToken: 's3cret-token' });
    const missing = await askRaw(url, { question: 'q' });
    expectError(missing, 'unauthorized');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="asknotes"');
    const wrong = await rawRequest(url, { method: 'POST', path: '/ask', headers: { 'content-type': 'application/json', authorization: 'Bearer nope' }, body: '{"question":"q"}' });
    expectError(wrong, 'unauthorized');
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="asknotes", error="invalid_token"');
  });

  it('403 forbidden on /v1 and /mcp for a Host naming another machine or a foreign Origin, in each door\'s shape', async () => {
    const { url } = await start({ listenHost: '127.0.0.1', library: undefined });
    const models = await rawRequest(url, { method: 'GET', path: '/v1/models', headers: { host: 'rebound.example:3000' } });
    expect(models.status).toBe(ERROR_CODES.forbidden.status);
    expect(JSON.parse(models.body)).toMatchObject({ error: { code: 'forbidden', type: 'permission_error' } });
    const origin = await rawRequest(url, { method: 'GET', path: '/v1/models', headers: { origin: 'https://evil.example' } });
    expect(JSON.parse(origin.body)).toMatchObject({ error: { code: 'forbidden' } });
    expect((await rawRequest(url, { method: 'GET', path: '/v1/models', headers: { origin: 'http://localhost:5173' } })).status).toBe(200);
    covered.add('forbidden');
  });

  it('403 forbidden on /ask too, in the SPEC shape, before the body is read or an answer starts; loopback names and the page pass', async () => {
    const scripted = scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]);
    const { url } = await start({ listenHost: '127.0.0.1', answer: scripted.answer });
    const port = new URL(url).port;
    const json = { 'content-type': 'application/json' };
    expectError(await postAsk(url, '{"question":"q"}', { ...json, host: `rebound.example:${port}` }), 'forbidden');
    expectError(await postAsk(url, '{not json', { ...json, host: 'rebound.example' }), 'forbidden');
    expectError(await postAsk(url, '{"question":"q"}', { ...json, origin: 'https://evil.example' }), 'forbidden');
    expect(scripted.calls).toHaveLength(0);
    // curl to 127.0.0.1 or localhost, and the chat page's own same-origin fetch, are answered.
    for (const headers of [{ host: `127.0.0.1:${port}` }, { host: `localhost:${port}` }, { host: `[::1]:${port}` }, { origin: `http://127.0.0.1:${port}` }]) {
      expect((await postAsk(url, '{"question":"q"}', { ...json, ...headers })).status).toBe(200);
    }
    expect(scripted.calls).toHaveLength(4);
  });

  it('/ask bound beyond loopback takes any Host (API_TOKEN protects it there)', async () => {
    const { url } = await start({ listenHost: '0.0.0.0', answer: scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]).answer });
    expect((await postAsk(url, '{"question":"q"}', { 'content-type': 'application/json', host: 'notes.lan:3000' })).status).toBe(200);
  });

  it('429 busy with Retry-After beyond maxConcurrentAnswers, and admits again once a slot frees', async () => {
    const slow = scriptedAnswer([SAMPLE_SOURCES_EVENT, 200, SAMPLE_DONE_EVENT]);
    const { url } = await start({ answer: slow.answer, maxConcurrentAnswers: 2 });
    const inFlight = [ask(url, { question: 'one' }), ask(url, { question: 'two', stream: true })];
    while (slow.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await askRaw(url, { question: 'three' });
    const error = expectError(refused, 'busy');
    expect(refused.headers['retry-after']).toBe('2');
    expect(error.message).toMatch(/try again/i);
    expect(slow.calls).toHaveLength(2);
    const responses = await Promise.all(inFlight);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    await Promise.all(responses.map((response) => response.text()));
    expect((await askRaw(url, { question: 'four' })).status).toBe(200);
  });

  it('frees the slot of an answer whose client disconnected', async () => {
    // Only the first answer is slow; the one admitted afterwards answers at once.
    const slow = scriptedAnswer(() => (slow.calls.length === 1 ? [SAMPLE_SOURCES_EVENT, 10_000, SAMPLE_DONE_EVENT] : [SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]));
    const { url } = await start({ answer: slow.answer, maxConcurrentAnswers: 1 });
    const controller = new AbortController();
    const abandoned = ask(url, { question: 'q' }, { signal: controller.signal }).catch(() => undefined);
    while (slow.calls.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await abandoned;
    await slow.calls[0]?.finished;
    // The next request may arrive before the server has run the first handler's cleanup.
    let status = 429;
    for (let attempt = 0; attempt < 50 && status === 429; attempt += 1) {
      const response = await ask(url, { question: 'q' });
      status = response.status;
      await response.body?.cancel();
      if (status === 429) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(status).toBe(200);
    expect(slow.calls[0]?.sawAbort).toBe(true);
  });

  it('503 index_not_ready while readiness says not ready, except for rag:false', async () => {
    const fake = scriptedAnswer([SAMPLE_SOURCES_EVENT, SAMPLE_DONE_EVENT]);
    const { url } = await start({ answer: fake.answer, readiness: () => readyReadiness({ ready: false, building: true, reason: 'Building the first index (12 of 40 notes).' }) });
    const error = expectError(await askRaw(url, { question: 'q' }), 'index_not_ready');
    expect(error.message).toBe('Building the first index (12 of 40 notes).');
    expect(fake.calls).toHaveLength(0);
    expect((await askRaw(url, { question: 'q', rag: false })).status).toBe(200);
  });

  it.each<[string, Error, ErrorCode, RegExp]>([
    ['index_not_ready thrown by the AnswerFn', new AppError('index_not_ready', 'The index is being rebuilt for a new embedder.'), 'index_not_ready', /rebuilt/],
    ['llm_unavailable', new AppError('llm_unavailable', 'Ollama is not reachable at http://127.0.0.1:11434 and LLM=ollama.'), 'llm_unavailable', /not reachable/],
    ['model_not_found', modelNotFound('llama3.2'), 'model_not_found', /ollama pull llama3\.2/],
    ['upstream_timeout', new AppError('upstream_timeout', 'Ollama did not answer within 60000 ms.'), 'upstream_timeout', /did not answer/],
  ])('%s from the AnswerFn keeps its status and message, in JSON and before a stream starts', async (_name, thrown, code, message) => {
    const { url } = await start({ answer: scriptedAnswer([thrown]).answer });
    expect(expectError(await askRaw(url, { question: 'q' }), code).message).toMatch(message);
    expect(expectError(await askRaw(url, { question: 'q', stream: true }), code).message).toMatch(message);
  });

  it('the same codes as error events in JSON mode become JSON errors with their status', async () => {
    const { url } = await start({
      answer: scriptedAnswer([SAMPLE_SOURCES_EVENT, { type: 'error', code: 'upstream_timeout', message: 'Ollama stopped sending tokens for 30 s.' }]).answer,
    });
    expect(expectError(await askRaw(url, { question: 'q' }), 'upstream_timeout').message).toMatch(/stopped sending/);
  });

  it('500 internal for unknown errors, without leaking their message', async () => {
    const { url, logs } = await start({ answer: scriptedAnswer([new TypeError('Cannot read properties of undefined (reading "vectors") at /srv/secret/index.js')]).answer });
    const response = await askRaw(url, { question: 'q' });
    const error = expectError(response, 'internal');
    expect(response.body).not.toMatch(/vectors|secret|TypeError/);
    expect(error.message).toMatch(/server/);
    // The details are in the log, for the operator.
    expect(logs.text()).toContain('/srv/secret/index.js');
  });

  it('500 internal hides even an AppError("internal") message, and covers failures outside /ask', async () => {
    const { url } = await start({
      answer: scriptedAnswer([new AppError('internal', 'hnswlib: /home/me/index/ollama/hnswlib.index is corrupt')]).answer,
      indexStatus: () => {
        throw new Error('manifest at /home/me/index/manifest.json unreadable');
      },
    });
    const answered = await askRaw(url, { question: 'q' });
    expectError(answered, 'internal');
    expect(answered.body).not.toContain('/home/me');
    const status = await rawRequest(url, { path: '/index/status' });
    expectError(status, 'internal');
    expect(status.body).not.toContain('/home/me');
  });

  it('500 internal when the AnswerFn ends without a done event (JSON mode)', async () => {
    const { url } = await start({ answer: scriptedAnswer([SAMPLE_SOURCES_EVENT, { type: 'delta', text: 'x' }]).answer });
    expectError(await askRaw(url, { question: 'q' }), 'internal');
  });

  it('the server keeps answering after errors', async () => {
    const { url } = await start({});
    await postAsk(url, '{bad');
    await askRaw(url, { question: '' });
    const response = await askRaw(url, { question: 'still there?' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ answer: SAMPLE_DONE_EVENT.answer });
  });
});

describe('coverage of the error table', () => {
  it('every code in src/errors.ts was produced above', () => {
    expect([...covered].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
