/**
 * Access rules (issue 4 "Access", issue 8 "Security"): bearer auth on every route but /healthz and
 * the static page, CORS only for the configured origin, security headers everywhere, and request
 * logs that never contain the token, the question or note text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { bearerTokenMatches } from '../src/server/bearer-auth.ts';
import { CONTENT_SECURITY_POLICY } from '../src/server/security-headers.ts';
import { isProbe } from '../src/server/request-log.ts';
import { parseSse, rawRequest, startTestServer } from './support/start-test-server.ts';
import type { RawResponse, TestServer } from './support/start-test-server.ts';

const TOKEN = 'correct-horse-battery-staple-9f2c';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Probe {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const json = { 'content-type': 'application/json' };
const PROTECTED: Probe[] = [
  { name: 'POST /ask', method: 'POST', path: '/ask', headers: json, body: '{"question":"What does depends_on wait for?"}' },
  { name: 'POST /ask (stream)', method: 'POST', path: '/ask', headers: { ...json, accept: 'text/event-stream' }, body: '{"question":"q"}' },
  { name: 'GET /readyz', method: 'GET', path: '/readyz' },
  { name: 'GET /index/status', method: 'GET', path: '/index/status' },
  { name: 'POST /reindex', method: 'POST', path: '/reindex' },
  { name: 'GET /notes/<path>', method: 'GET', path: '/notes/dockercon-2023.md' },
];
const OPEN: Probe[] = [
  { name: 'GET /healthz', method: 'GET', path: '/healthz' },
  { name: 'GET / (chat page)', method: 'GET', path: '/' },
  { name: 'GET /app.js (page asset)', method: 'GET', path: '/app.js' },
  { name: 'GET /app.css (page asset)', method: 'GET', path: '/app.css' },
];

const send = (url: string, probe: Probe, headers: Record<string, string> = {}): Promise<RawResponse> =>
  rawRequest(url, {
    method: probe.method,
    path: probe.path,
    headers: { ...probe.headers, ...headers },
    ...(probe.body === undefined ? {} : { body: probe.body }),
  });

describe('auth off (no API_TOKEN)', () => {
  it.each([...PROTECTED, ...OPEN])('$name needs no token', async (probe) => {
    server = await startTestServer();
    const response = await send(server.url, probe);
    expect(response.status).toBeLessThan(300);
  });
});

describe('auth on (API_TOKEN set)', () => {
  it.each(OPEN)('$name stays open', async (probe) => {
    server = await startTestServer({ apiToken: TOKEN });
    expect((await send(server.url, probe)).status).toBe(200);
  });

  it.each(PROTECTED)('$name: 401 without or with a wrong token, 2xx with the right one', async (probe) => {
    server = await startTestServer({ apiToken: TOKEN });
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ];
    for (const headers of attempts) {
      const response = await send(server.url, probe, headers);
      expect({ headers, status: response.status }).toEqual({ headers, status: 401 });
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'unauthorized' } });
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="asknotes"/);
    }
    const allowed = await send(server.url, probe, { authorization: `Bearer ${TOKEN}` });
    expect(allowed.status).toBeGreaterThanOrEqual(200);
    expect(allowed.status).toBeLessThan(300);
  });

  it('accepts the scheme in any case', async () => {
    server = await startTestServer({ apiToken: TOKEN });
    expect((await rawRequest(server.url, { path: '/readyz', headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('answers unknown routes with 401 rather than revealing which exist', async () => {
    server = await startTestServer({ apiToken: TOKEN });
    expect((await rawRequest(server.url, { path: '/nope' })).status).toBe(401);
    expect((await rawRequest(server.url, { path: '/nope', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });
});

describe('bearerTokenMatches', () => {
  it.each<[string | undefined, boolean]>([
    [`Bearer ${TOKEN}`, true],
    [`BEARER ${TOKEN}`, true],
    [`Bearer   ${TOKEN}  `, true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    [TOKEN, false],
    [`Token ${TOKEN}`, false],
    [`Bearer ${TOKEN.toUpperCase()}`, false],
    [`Bearer ${TOKEN} extra`, false],
  ])('%s -> %s', (header, expected) => {
    expect(bearerTokenMatches(header, TOKEN)).toBe(expected);
  });
});

describe('CORS', () => {
  const ORIGIN = 'http://localhost:5173';

  it('is off by default: no CORS headers, and a preflight finds nothing', async () => {
    server = await startTestServer();
    const simple = await rawRequest(server.url, { path: '/healthz', headers: { origin: ORIGIN } });
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await rawRequest(server.url, {
      method: 'OPTIONS',
      path: '/ask',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(404);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the configured origin, with a preflight that needs no token', async () => {
    server = await startTestServer({ corsOrigin: `${ORIGIN}/`, apiToken: TOKEN });
    const preflight = await rawRequest(server.url, {
      method: 'OPTIONS',
      path: '/ask',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, POST');
    expect(preflight.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, Accept');
    expect(preflight.headers.vary).toMatch(/Origin/);

    const actual = await rawRequest(server.url, { path: '/readyz', headers: { origin: ORIGIN, authorization: `Bearer ${TOKEN}` } });
    expect(actual.status).toBe(200);
    expect(actual.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(actual.headers['access-control-expose-headers']).toBe('Retry-After');
  });

  it('gives other origins nothing', async () => {
    server = await startTestServer({ corsOrigin: ORIGIN });
    for (const origin of ['http://evil.example', 'http://localhost:5174', `${ORIGIN}.evil.example`, 'null']) {
      const response = await rawRequest(server.url, { path: '/readyz', headers: { origin } });
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await rawRequest(server.url, { method: 'OPTIONS', path: '/ask', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.status).toBe(404);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});

describe('security headers', () => {
  it.each<[string, Probe]>([
    ['the chat page', { name: '', method: 'GET', path: '/' }],
    ['healthz', { name: '', method: 'GET', path: '/healthz' }],
    ['a JSON answer', PROTECTED[0]!],
    ['an SSE answer', PROTECTED[1]!],
    ['a note', { name: '', method: 'GET', path: '/notes/dockercon-2023.md' }],
    ['a 404', { name: '', method: 'GET', path: '/nope' }],
    ['a 400', { name: '', method: 'POST', path: '/ask', headers: json, body: '{' }],
  ])('on %s', async (_name, probe) => {
    server = await startTestServer();
    const response = await send(server.url, probe);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['content-security-policy']).toBeDefined();
    expect(response.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('the page gets a CSP without inline script', async () => {
    server = await startTestServer();
    const response = await rawRequest(server.url, { path: '/' });
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
  });
});

describe('request log', () => {
  it('has one line per request with method, path, status and ms, and never the token, question, note text or query', async () => {
    server = await startTestServer({ apiToken: TOKEN, readNote: async () => 'NOTE-BODY-TEXT that must stay out of logs' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    await rawRequest(server.url, { method: 'POST', path: '/ask', headers: { ...json, ...auth }, body: '{"question":"QUESTION-TEXT-42"}' });
    const sse = await rawRequest(server.url, { method: 'POST', path: '/ask', headers: { ...json, ...auth }, body: '{"question":"QUESTION-TEXT-43","stream":true}' });
    expect(parseSse(sse.body).at(-1)?.event).toBe('done');
    await rawRequest(server.url, { path: '/notes/a.md?secret=QUERY-SECRET', headers: auth });
    await rawRequest(server.url, { path: '/readyz', headers: { authorization: 'Bearer WRONG-TOKEN-XYZ' } });

    const requests = server.logs.lines.filter((line) => line.msg === 'request');
    expect(requests.map(({ method, path, status }) => ({ method, path, status }))).toEqual([
      { method: 'POST', path: '/ask', status: 200 },
      { method: 'POST', path: '/ask', status: 200 },
      { method: 'GET', path: '/notes/a.md', status: 200 },
      { method: 'GET', path: '/readyz', status: 401 },
    ]);
    for (const line of requests) {
      // Health probes are logged at debug (issue 17); everything else at info.
      expect(line.level).toBe(line.path === '/readyz' ? 'debug' : 'info');
      expect(typeof line.ms).toBe('number');
    }
    const everything = server.logs.text();
    for (const secret of [TOKEN, 'WRONG-TOKEN-XYZ', 'QUESTION-TEXT', 'NOTE-BODY-TEXT', 'QUERY-SECRET', 'depends_on']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('logs health probes (/healthz, /readyz) at debug and every other request at info', async () => {
    server = await startTestServer();
    for (const path of ['/healthz', '/readyz', '/healthz?x=1', '/index/status', '/readyz/extra', '/']) {
      await rawRequest(server.url, { path });
    }
    await rawRequest(server.url, { method: 'HEAD', path: '/readyz' });
    await rawRequest(server.url, { method: 'POST', path: '/readyz', headers: json, body: '{}' });
    const requests = server.logs.lines.filter((line) => line.msg === 'request');
    expect(requests.map(({ method, path, level }) => `${level} ${method} ${path}`)).toEqual([
      'debug GET /healthz',
      'debug GET /readyz',
      'debug GET /healthz',
      'info GET /index/status',
      'info GET /readyz/extra',
      'info GET /',
      'debug HEAD /readyz',
      'info POST /readyz',
    ]);
  });

  it.each([
    ['GET', '/healthz', true],
    ['HEAD', '/readyz', true],
    ['GET', '/readyz', true],
    ['POST', '/healthz', false],
    ['GET', '/ask', false],
    ['GET', '/healthz/', false],
  ])('isProbe(%s %s) is %s', (method, path, expected) => {
    expect(isProbe(method, path)).toBe(expected);
  });

  it('keeps every log line one JSON object, whatever the path', async () => {
    server = await startTestServer();
    await rawRequest(server.url, { path: '/x%0a{"level":"error"}' });
    const text = server.logs.text();
    expect(text.trim().split('\n').every((line) => JSON.parse(line) !== null)).toBe(true);
    expect(server.logs.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});
