import { afterEach, describe, expect, it } from 'vitest';
import { MAX_STATUS_NOTES } from '../src/server/create-app.ts';
import type { Readiness } from '../src/server/server-deps.ts';
import { readyReadiness, sampleIndexStatus, startTestServer } from './support/start-test-server.ts';
import type { TestServer } from './support/start-test-server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('GET /healthz', () => {
  it('is 200 {"status":"ok"} even while the index is not ready', async () => {
    server = await startTestServer({ readiness: () => readyReadiness({ ready: false, building: true }) });
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('is 503 before the first index build and 200 after, with the readiness body', async () => {
    const building: Readiness = {
      ready: false,
      building: true,
      mode: 'extractive',
      chatModel: null,
      provider: 'ollama',
      ollama: { url: 'http://127.0.0.1:11434', reachable: true, version: '0.5.7', missingModels: ['nomic-embed-text'], fix: 'ollama pull nomic-embed-text' },
      reason: 'The first index build is still running.',
    };
    let current = building;
    server = await startTestServer({ readiness: () => current });
    const before = await fetch(`${server.url}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual(building);

    current = readyReadiness();
    const after = await fetch(`${server.url}/readyz`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({
      ready: true,
      building: false,
      mode: 'ollama',
      chatModel: 'llama3.2',
      provider: 'ollama',
      index: { notes: 1, chunks: 42, embedder: 'ollama:nomic-embed-text', builtAt: '2024-01-01T00:00:00.000Z' },
      ollama: { url: 'http://127.0.0.1:11434', reachable: true, version: '0.5.7', missingModels: [] },
    });
  });
});

describe('GET /index/status', () => {
  it('returns the report as JSON', async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/index/status`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(sampleIndexStatus());
  });

  it('hands the notes named by ?note= to the report, and refuses too many or overlong ones', async () => {
    const asked: (readonly string[] | undefined)[] = [];
    server = await startTestServer({
      indexStatus: (only) => {
        asked.push(only);
        return sampleIndexStatus();
      },
    });
    const get = (query: string) => fetch(`${server!.url}/index/status${query}`);
    expect((await get('?note=dockercon-2023.md&note=day%201%2Fa%20b.md&other=x')).status).toBe(200);
    expect((await get('?other=x')).status).toBe(200);
    expect(asked).toEqual([['dockercon-2023.md', 'day 1/a b.md'], undefined]);

    const tooMany = await get(`?${Array.from({ length: MAX_STATUS_NOTES + 1 }, (_, i) => `note=n${i}.md`).join('&')}`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: { code: string; message: string } }).error).toEqual({
      code: 'invalid_request',
      message: `At most ${MAX_STATUS_NOTES} "note" parameters per request (got ${MAX_STATUS_NOTES + 1}).`,
    });
    expect((await get(`?note=${'a'.repeat(1025)}`)).status).toBe(400);
    expect(asked).toHaveLength(2);
  });
});

describe('POST /reindex', () => {
  it('starts a re-index and answers 202 at once', async () => {
    let calls = 0;
    let finish = (): void => {};
    server = await startTestServer({
      reindex: () => {
        calls += 1;
        // Still running when the response goes out.
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    const response = await fetch(`${server.url}/reindex`, { method: 'POST' });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ status: 'accepted', progress: '/index/status' });
    expect(calls).toBe(1);
    const withJsonBody = await fetch(`${server.url}/reindex`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(withJsonBody.status).toBe(202);
    expect(calls).toBe(2);
    finish();
  });

  it('logs a re-index that fails later, and keeps serving', async () => {
    server = await startTestServer({ reindex: () => Promise.reject(new Error('disk full')) });
    expect((await fetch(`${server.url}/reindex`, { method: 'POST' })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.logs.lines.some((line) => line.level === 'error' && line.msg === 're-index failed' && line.error === 'disk full')).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('GET / (static page)', () => {
  it('serves the chat page as HTML', async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/<html/i);
  });
});
