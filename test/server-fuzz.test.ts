/**
 * Bad input (issue 8): thousands of generated requests to every route — random and malformed
 * JSON, wrong types, huge strings, deep nesting, invalid UTF-8, NUL bytes, odd content types and
 * encodings, oversized bodies, odd paths. Only the SPEC's answers may come back: never a 5xx,
 * never an `internal` error in the log, and the server answers a valid request correctly after.
 * Seeded, so a failure can be replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.ts';
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
