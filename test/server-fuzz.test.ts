/**
 * Bad input (issue 8): thousands of generated requests to every route — random and malformed
 * JSON, wrong types, huge strings, deep nesting, invalid UTF-8, NUL bytes, odd content types and
 * encodings, oversized bodies, odd paths. Only the SPEC's answers may come back: never a 5xx,
 * never an `internal` error in the log, and the server answers a valid request correctly after.
 * Seeded, so a failure can be replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES } from '../src/errors.ts';
import type { NotesLibrary } from '../src/library/notes-library.ts';
import { SAMPLE_DONE_EVENT, ask, parseSse, rawRequest, sampleEvents, scriptedAnswer, startTestServer } from './support/start-test-server.ts';
import type { RawResponse, TestServer } from './support/start-test-server.ts';
import { createRandom } from './support/synthetic-corpus.ts';

const SEED = 0x5eed_2024;
const REQUESTS = 2_400;
const CONCURRENCY = 8;

const random = createRandom(SEED);
const int = (max: number) => Math.floor(random() * max);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

const STRINGS = ['', ' ', 'q', 'What is depends_on?', '\u0000', 'a\u0000b', '\ud800', '💥'.repeat(50), '<script>alert(1)</script>', '../../etc/passwd', 'x'.repeat(5000), '\n\t\r'];

function randomValue(depth: number): unknown {
  switch (int(depth > 4 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick([0, -1, 1, 1.5, 20, 21, 1e308, -0, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return pick(STRINGS);
    case 5:
      return pick(['user', 'assistant', 'system', '__proto__', 'constructor']);
    case 6:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let index = int(4); index > 0; index -= 1) object[pick(['question', 'k', 'rag', 'stream', 'history', 'role', 'content', '__proto__', 'x'])] = randomValue(depth + 1);
      return object;
    }
  }
}

function askLikeBody(): unknown {
  const body: Record<string, unknown> = {};
  if (random() < 0.85) body.question = random() < 0.6 ? pick(STRINGS) : randomValue(3);
  if (random() < 0.4) body.k = random() < 0.5 ? int(25) : randomValue(3);
  if (random() < 0.3) body.rag = random() < 0.6 ? random() < 0.5 : randomValue(3);
  if (random() < 0.3) body.stream = random() < 0.6 ? random() < 0.5 : randomValue(3);
  if (random() < 0.3) {
    body.history =
      random() < 0.6
        ? Array.from({ length: int(25) }, () => ({ role: pick(['user', 'assistant', 'system', 1]), content: random() < 0.9 ? pick(STRINGS) : randomValue(3) }))
        : randomValue(3);
  }
  return body;
}

function randomBody(): Buffer {
  const kind = int(12);
  if (kind <= 4) return Buffer.from(JSON.stringify(askLikeBody()));
  if (kind === 5) return Buffer.from(JSON.stringify(randomValue(0)) ?? 'undefined');
  if (kind === 6) {
    // Malformed: cut short or with a byte replaced.
    const text = JSON.stringify(askLikeBody());
    const at = int(text.length);
    return Buffer.from(random() < 0.5 ? text.slice(0, at) : `${text.slice(0, at)}${pick(['{', '"', '\\', ',', '\u0000', ']'])}${text.slice(at + 1)}`);
  }
  if (kind === 7) return Buffer.concat([Buffer.from('{"question":"'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from('"}')]);
  if (kind === 8) {
    const depth = pick([100, 1_000, 10_000, 30_000]);
    return Buffer.from(`{"question":"q","history":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  }
  if (kind === 9) return Buffer.from(JSON.stringify({ question: 'q', history: [{ role: 'user', content: 'x'.repeat(pick([10_000, 60_000, 70_000, 200_000])) }] }));
  if (kind === 10) return Buffer.from(Array.from({ length: int(300) }, () => int(256)));
  return Buffer.alloc(0);
}

const CONTENT_TYPES: Array<string | undefined> = [
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  ';;;',
  'application/',
  undefined,
];

const PATH_CHARS = 'abcxyz0123456789-_.~/%!$&\'()*+,;=:@\\"<>^`{|}[]#?';
function randomPath(): string {
  const kind = int(6);
  if (kind === 0) return pick(['/', '/healthz', '/readyz', '/index/status', '/ask', '/reindex', '/notes/dockercon-2023.md']);
  if (kind === 1) return `/notes/${Array.from({ length: int(40) }, () => pick([...PATH_CHARS, '%2e', '%2f', '%00', '%c0%ae', '%E0%A4%A', '..', '%25'])).join('')}`;
  if (kind === 2) return `/${Array.from({ length: int(30) + 1 }, () => pick([...PATH_CHARS])).join('')}`;
  if (kind === 3) return `/ask?${Array.from({ length: int(30) }, () => pick([...PATH_CHARS])).join('')}`;
  if (kind === 4) return `/${'a/'.repeat(int(2000))}`;
  return pick(['/%', '/%%', '/%zz', '//', '/..', '/./healthz', '/healthz/', '/HEALTHZ', '/notes', '/notes/']);
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function randomRequest(): FuzzRequest {
  const post = random() < 0.6;
  const method = post ? 'POST' : pick(['GET', 'GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
  const path = post ? (random() < 0.8 ? pick(['/ask', '/ask', '/ask', '/reindex']) : randomPath()) : randomPath();
  const headers: Record<string, string> = {};
  const contentType = pick(CONTENT_TYPES);
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (random() < 0.2) headers.accept = pick(['text/event-stream', '*/*', 'application/json', 'text/html, text/event-stream;q=0.9']);
  if (random() < 0.05) headers['content-encoding'] = pick(['gzip', 'br', 'identity', 'bogus']);
  if (random() < 0.05) headers.authorization = pick(['Bearer x', 'Basic eA==', '']);
  if (!post && random() >= 0.1) return { method, path, headers };
  const body = randomBody();
  // Node's client frames a GET/HEAD/DELETE body only when told its length.
  headers['content-length'] = String(body.length);
  return { method, path, headers, body };
}

/** What the SPEC allows, by status, for a server with no token, a ready index and room to answer. */
const ALLOWED = new Set([200, 202, 204, 400, 404, 413, 415]);

describe('fuzzing every route', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ answer: scriptedAnswer(sampleEvents).answer, maxConcurrentAnswers: 64 });
  });
  afterAll(async () => {
    await server.close();
  });

  it(`${REQUESTS} generated requests get only SPEC answers (seed ${SEED.toString(16)})`, async () => {
    const requests = Array.from({ length: REQUESTS }, randomRequest);
    const results: Array<{ request: FuzzRequest; response: RawResponse }> = [];
    const failures: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        try {
          const response = await rawRequest(server.url, { method: request.method, path: request.path, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) });
          results.push({ request, response });
        } catch (error) {
          failures.push({ method: request.method, path: request.path, headers: request.headers, body: request.body?.subarray(0, 100).toString('latin1'), bodyLength: request.body?.length, error: String(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(failures).toEqual([]);
    const unexpected = results.filter(({ response }) => !ALLOWED.has(response.status));
    expect(unexpected.map(({ request, response }) => ({ method: request.method, path: request.path, headers: request.headers, status: response.status, body: response.body.slice(0, 200) }))).toEqual([]);
    for (const { request, response } of results) {
      if (response.status >= 400 && request.method !== 'HEAD') {
        const body = JSON.parse(response.body) as { error: { code: keyof typeof ERROR_CODES; message: string } };
        expect(ERROR_CODES[body.error.code].status).toBe(response.status);
      }
      if (response.headers['content-type']?.startsWith('text/event-stream') === true) {
        expect(parseSse(response.body).at(-1)?.event).toBe('done');
      }
    }
    // Every kind of answer showed up, so the generator really reached each branch.
    const statuses = new Set(results.map(({ response }) => response.status));
    for (const status of [200, 202, 400, 404, 413, 415]) expect(statuses).toContain(status);
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('answers a valid request correctly afterwards', async () => {
    const response = await ask(server.url, { question: 'What does depends_on wait for?' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { answer: string }).answer).toBe(SAMPLE_DONE_EVENT.answer);
  });
});

/** A NotesLibrary stand-in: the doors are what is fuzzed here; one note exists, everything else is not found. */
function fakeLibrary(): NotesLibrary {
  const notFound = (path: string) => new AppError('not_found', `No note "${path.slice(0, 50)}" in the index.`);
  return {
    search: async (request) => {
      if (typeof request.query !== 'string' || request.query.trim() === '') throw new AppError('invalid_request', '"query" must not be empty.');
      return [{ rank: 1, note: 'dockercon-2023.md', heading: 'Day 1', lines: [1, 2], text: 'depends_on', score: 1 }];
    },
    read: async (request) => {
      if (request.path !== 'dockercon-2023.md') throw notFound(request.path);
      return { path: request.path, title: 'DockerCon', totalLines: 1, from: 1, to: 1, numbered: '1\t# DockerCon 2023', text: '# DockerCon 2023' };
    },
    readWhole: async (path) => {
      if (path !== 'dockercon-2023.md') throw notFound(path);
      return { path, title: 'DockerCon', text: '# DockerCon 2023\n' };
    },
    list: async () => [{ path: 'dockercon-2023.md', title: 'DockerCon', tags: [], chunks: 1 }],
    ask: async () => ({ answer: SAMPLE_DONE_EVENT.answer, answerable: true, sources: [], cited: [], mode: 'extractive', model: null, embedder: 'local:x', timings: SAMPLE_DONE_EVENT.timings }),
  };
}

const HOSTILE_TEXT = [...STRINGS, 'x'.repeat(300_000), '../../../../etc/passwd', '/etc/shadow', 'C:\\boot.ini', '%2e%2e%2fetc', 'notes\u0000.md'];

function openAiLikeBody(): unknown {
  const message = (): unknown => {
    const roll = int(10);
    if (roll === 0) return randomValue(2);
    const role = pick(['user', 'user', 'assistant', 'system', 'developer', 'tool', 'function', 'wizard', '', 7]);
    const content =
      roll < 6
        ? pick(HOSTILE_TEXT)
        : roll < 8
          ? Array.from({ length: int(4) }, () => pick([{ type: 'text', text: pick(HOSTILE_TEXT) }, { type: 'image_url', image_url: { url: 'data:,' } }, { type: 'input_audio' }, { type: 'file', file: {} }, { type: 'text' }, 'text', null]))
          : pick([null, 42, {}, [[]]]);
    return { role, content };
  };
  const body: Record<string, unknown> = {};
  if (random() < 0.9) body.model = random() < 0.8 ? 'asknotes' : pick(['gpt-4o', '', 42, null]);
  if (random() < 0.9) body.messages = random() < 0.85 ? Array.from({ length: int(6) + (random() < 0.05 ? 600 : 0) }, message) : randomValue(2);
  if (random() < 0.5) body.stream = random() < 0.7 ? random() < 0.5 : randomValue(3);
  if (random() < 0.1) body.n = pick([1, 2, 0, 'x']);
  if (random() < 0.1) body.k = pick([1, 4, 21, 0, 'x']);
  if (random() < 0.1) body.tools = [{ type: 'function', function: { name: 'x' } }];
  return body;
}

function mcpMessage(id: number): unknown {
  const method = pick(['tools/call', 'tools/call', 'tools/call', 'tools/list', 'resources/list', 'resources/read', 'resources/templates/list', 'ping', 'initialize', 'prompts/list', 'nope/nope', '']);
  const tool = pick(['search_notes', 'read_note', 'ask_notes', 'list_notes', 'delete_everything', '', '__proto__']);
  const args: Record<string, unknown> = {};
  for (const key of ['query', 'question', 'path', 'from', 'to', 'k', 'filter', 'folder', 'tag']) {
    if (random() < 0.3) args[key] = random() < 0.5 ? pick(HOSTILE_TEXT) : randomValue(2);
  }
  const params = method === 'tools/call'
    ? { name: tool, arguments: random() < 0.9 ? args : randomValue(2) }
    : method === 'resources/read'
      ? { uri: pick(['notes://dockercon-2023.md', 'notes://../../etc/passwd', 'notes://%2e%2e/x', 'file:///etc/passwd', 'notes://', 'notes://%zz', 'x'.repeat(5000)]) }
      : randomValue(2);
  const message: Record<string, unknown> = { jsonrpc: random() < 0.95 ? '2.0' : '1.0', method, params };
  if (random() < 0.9) message.id = random() < 0.9 ? id : randomValue(3);
  return random() < 0.05 ? [message, message] : message;
}

describe('fuzzing /v1 and /mcp', () => {
  const DOOR_REQUESTS = 600;
  let server: TestServer;
  let session = '';
  const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  beforeAll(async () => {
    server = await startTestServer({ answer: scriptedAnswer(sampleEvents).answer, maxConcurrentAnswers: 64, library: fakeLibrary() });
    const init = await rawRequest(server.url, {
      method: 'POST',
      path: '/mcp',
      headers: mcpHeaders,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } } }),
    });
    session = String(init.headers['mcp-session-id']);
    await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...mcpHeaders, 'mcp-session-id': session }, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
  });
  afterAll(async () => {
    await server.close();
  });

  it(`${DOOR_REQUESTS} hostile requests get clear errors in each door's shape, and no crash (seed ${SEED.toString(16)})`, async () => {
    const requests: FuzzRequest[] = Array.from({ length: DOOR_REQUESTS }, (_, id) => {
      if (random() < 0.5) {
        const text = JSON.stringify(openAiLikeBody());
        const body = Buffer.from(random() < 0.1 ? text.slice(0, int(text.length)) : text);
        return { method: 'POST', path: pick(['/v1/chat/completions', '/v1/chat/completions', '/v1/completions', '/v1/embeddings']), headers: { 'content-type': random() < 0.95 ? 'application/json' : 'text/plain', 'content-length': String(body.length) }, body };
      }
      const text = JSON.stringify(mcpMessage(id + 1));
      const body = Buffer.from(random() < 0.1 ? text.slice(0, int(text.length)) : text);
      const headers: Record<string, string> = { ...mcpHeaders, 'content-length': String(body.length) };
      if (random() < 0.85) headers['mcp-session-id'] = random() < 0.95 ? session : 'forged';
      if (random() < 0.05) headers.accept = 'application/json';
      return { method: random() < 0.95 ? 'POST' : pick(['GET', 'DELETE', 'PATCH']), path: '/mcp', headers, body };
    });
    const results: Array<{ request: FuzzRequest; response: RawResponse }> = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        // A DELETE would end the shared session for everyone after it.
        if (request.method === 'DELETE') request.headers['mcp-session-id'] = 'forged';
        if (request.method === 'GET') continue;
        results.push({ request, response: await rawRequest(server.url, { method: request.method, path: request.path, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) }) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const allowed = new Set([200, 202, 400, 404, 405, 406, 413, 415]);
    expect(results.filter(({ response }) => !allowed.has(response.status)).map(({ request, response }) => ({ path: request.path, status: response.status, body: response.body.slice(0, 300) }))).toEqual([]);
    for (const { request, response } of results) {
      if (request.path.startsWith('/v1') && response.status >= 400) {
        const body = JSON.parse(response.body) as { error: { code: keyof typeof ERROR_CODES; type: string; message: string } };
        expect(ERROR_CODES[body.error.code].status).toBe(response.status);
        expect(body.error.type).toMatch(/_error$/);
      } else if (request.path === '/mcp' && response.status >= 400) {
        expect(JSON.parse(response.body)).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number), message: expect.any(String) } });
      } else if (response.headers['content-type']?.startsWith('text/event-stream') === true && request.path === '/mcp') {
        for (const line of response.body.split('\n').filter((entry) => entry.startsWith('data: '))) {
          const message = JSON.parse(line.slice('data: '.length)) as { result?: { content?: Array<{ text: string }> }; error?: unknown };
          expect(JSON.stringify(message)).not.toMatch(/root:x:0/);
        }
      }
    }
    const statuses = new Set(results.map(({ response }) => response.status));
    for (const status of [200, 400, 404]) expect(statuses).toContain(status);
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);

    // Both doors still answer properly.
    const completion = await rawRequest(server.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'asknotes', messages: [{ role: 'user', content: 'What does depends_on wait for?' }] }) });
    expect((JSON.parse(completion.body) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toContain(SAMPLE_DONE_EVENT.answer);
    const list = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...mcpHeaders, 'mcp-session-id': session }, body: '{"jsonrpc":"2.0","id":99999,"method":"tools/list"}' });
    expect(list.body).toContain('search_notes');
  }, 120_000);
});
