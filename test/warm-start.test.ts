/**
 * Answers from the first seconds (issue 15): a first start with Ollama there but no Ollama index
 * yet serves the built-in index at once, says so with each answer, and switches to Ollama's index
 * when it is built (here the stand-in takes 2 s per embed request).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { postOnce, requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';

let server: ComposedServer | undefined;
let ollama: FakeOllama | undefined;
afterEach(async () => {
  await server?.close();
  await ollama?.close();
  server = undefined;
  ollama = undefined;
});

interface AskBody {
  embedder?: string;
  notice?: string;
  sources?: unknown[];
}

describe('first start with Ollama and no index', () => {
  it('answers from the built-in index within seconds, with a notice, then from Ollama\'s', async () => {
    ollama = await startFakeOllama({ latency: { headersMs: 2_000 } });
    const started = Date.now();
    server = await startComposedServer({
      env: { OLLAMA_HOST: ollama.url, EMBEDDINGS: 'auto', LLM: 'none', OLLAMA_TIMEOUT_MS: '20000', OLLAMA_CONNECT_TIMEOUT_MS: '2000' },
    });
    const ask = async (): Promise<{ status: number; body: AskBody }> => {
      const exchange = await postOnce(server!.url, '/ask', JSON.stringify({ question: 'What is the default depends_on condition?' }));
      return { status: exchange.status, body: JSON.parse(exchange.body || '{}') as AskBody };
    };
    // Before the built-in index serves, the server says it is building it (it used to say idle).
    const seenBeforeReady: Array<{ state: string; build?: { embedder: string } }> = [];
    await until(
      async () => {
        const status = JSON.parse((await requestOnce(server!.url, 'GET', '/index/status', undefined)).body) as { state: string; build?: { embedder: string } };
        const ready = (await requestOnce(server!.url, 'GET', '/readyz', undefined)).status === 200;
        if (!ready) seenBeforeReady.push(status);
        return ready;
      },
      10_000,
      'no index served',
    );
    for (const status of seenBeforeReady) expect(status).toMatchObject({ state: 'building', build: { embedder: expect.stringMatching(/^local:/) } });
    const early = await ask();
    expect(early.status).toBe(200);
    expect(early.body.embedder).toMatch(/^local:/);
    expect(early.body.notice).toMatch(/Answered from the local:\S+ index while ollama:nomic-embed-text indexes your notes.*answers switch to it when it is done\./);
    expect(Date.now() - started).toBeLessThan(30_000);
    // Then Ollama's index is the one being built.
    const behind = JSON.parse((await requestOnce(server.url, 'GET', '/index/status', undefined)).body) as { state: string; build?: { embedder: string } };
    expect(behind).toMatchObject({ state: 'building', build: { embedder: 'ollama:nomic-embed-text' } });

    await until(async () => (await ask()).body.embedder === 'ollama:nomic-embed-text', 60_000, 'never switched to the Ollama index');
    const late = await ask();
    expect(late.body.notice ?? '').not.toMatch(/Answered from the/);
    expect(server.logs.text()).toContain('while the ollama:nomic-embed-text index is built');
  });
});
