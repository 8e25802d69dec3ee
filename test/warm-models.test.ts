/**
 * Warm models (issue 12): the chat and embedding models are loaded at start and whenever Ollama
 * (re)appears, with the keep_alive (and num_ctx) real answers use, and /readyz says `warming` meanwhile.
 * Against the stand-in with a model load delay: the first answer after the warm-up does not pay it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createModelWarmer, warmModel, type WarmResult, type WarmSettings } from '../src/answer/warm-models.ts';
import { closedPortUrl, startFakeOllama, type FakeCall, type FakeOllama } from './support/fake-ollama.ts';
import { postOnce, requestOnce, startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';

const SETTINGS: WarmSettings = {
  baseUrl: 'http://127.0.0.1:9',
  chatModel: 'llama3.2',
  embedModel: 'nomic-embed-text',
  keepAlive: '30m',
  numCtx: 8192,
  timeoutMs: 10_000,
};

describe('createModelWarmer', () => {
  function stubbed(fail: (model: string) => boolean = () => false) {
    const calls: string[] = [];
    let open: (() => void) | undefined;
    let gate = Promise.resolve();
    const hold = () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    };
    const warm = async (_settings: WarmSettings, kind: 'chat' | 'embed', model: string): Promise<WarmResult> => {
      calls.push(`${kind}:${model}`);
      await gate;
      return { model, kind, ok: !fail(model), ms: 1 };
    };
    const logged: string[] = [];
    return { calls, hold, release: () => open?.(), logged, log: (message: string) => void logged.push(message), warm };
  }
  const up = { reachable: true, missingModels: [] as string[] };
  const down = { reachable: false, missingModels: [] as string[] };

  it('warms both models once while Ollama stays, and again when it reappears', async () => {
    const stub = stubbed();
    const warmer = createModelWarmer(SETTINGS, stub.log, stub.warm);
    stub.hold();
    warmer.update(up);
    expect(warmer.warming()).toBe(true);
    warmer.update(up); // a probe during the warm-up starts nothing new
    stub.release();
    await warmer.settled();
    expect(warmer.warming()).toBe(false);
    expect(stub.calls).toEqual(['chat:llama3.2', 'embed:nomic-embed-text']);
    warmer.update(up);
    await warmer.settled();
    expect(stub.calls).toHaveLength(2);
    warmer.update(down);
    warmer.update(up);
    await warmer.settled();
    expect(stub.calls).toEqual(['chat:llama3.2', 'embed:nomic-embed-text', 'chat:llama3.2', 'embed:nomic-embed-text']);
    expect(stub.logged).toEqual(['model loaded', 'model loaded', 'model loaded', 'model loaded']);
  });

  it('a missing model is warmed once it is pulled; a failed warm-up is retried at the next probe', async () => {
    const failing = new Set(['nomic-embed-text']);
    const stub = stubbed((model) => failing.has(model));
    const warmer = createModelWarmer(SETTINGS, stub.log, stub.warm);
    warmer.update({ reachable: true, missingModels: ['llama3.2'] });
    await warmer.settled();
    expect(stub.calls).toEqual(['embed:nomic-embed-text']);
    expect(stub.logged).toEqual(['model warm-up failed']);
    failing.clear();
    warmer.update(up);
    await warmer.settled();
    expect(stub.calls).toEqual(['embed:nomic-embed-text', 'chat:llama3.2', 'embed:nomic-embed-text']);
  });

  it('warms only what Ollama serves: no chat model with LLM=none, no embedder with EMBEDDINGS=local; nothing after stop', async () => {
    const stub = stubbed();
    const warmer = createModelWarmer({ ...SETTINGS, chatModel: undefined, embedModel: undefined }, stub.log, stub.warm);
    warmer.update(up);
    expect(warmer.warming()).toBe(false);
    const other = createModelWarmer({ ...SETTINGS, embedModel: undefined }, stub.log, stub.warm);
    other.stop();
    other.update(up);
    expect(stub.calls).toEqual([]);
  });
});

describe('warmModel against the stand-in', () => {
  let ollama: FakeOllama | undefined;
  afterEach(async () => {
    await ollama?.close();
    ollama = undefined;
  });

  it('loads each model with an empty request carrying keep_alive (and the answers\' num_ctx for chat)', async () => {
    ollama = await startFakeOllama({ latency: { coldLoadMs: 200 } });
    const settings = { ...SETTINGS, baseUrl: ollama.url };
    const [chat, embed] = await Promise.all([warmModel(settings, 'chat', 'llama3.2'), warmModel(settings, 'embed', 'nomic-embed-text')]);
    expect(chat).toMatchObject({ ok: true, kind: 'chat', model: 'llama3.2' });
    expect(embed).toMatchObject({ ok: true, kind: 'embed', model: 'nomic-embed-text' });
    expect(ollama.callsTo('chat')[0]?.body).toEqual({ model: 'llama3.2', messages: [], keep_alive: '30m', options: { num_ctx: 8192 } });
    expect(ollama.callsTo('embed')[0]?.body).toEqual({ model: 'nomic-embed-text', input: [], keep_alive: '30m', truncate: true });
    // Both stay loaded for the keep-alive asked for.
    const ps = (await (await fetch(`${ollama.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
    expect(ps.models.map((model) => model.name).sort()).toEqual(['llama3.2:latest', 'nomic-embed-text:latest']);
    for (const model of ps.models) {
      const minutes = (Date.parse(model.expires_at) - Date.now()) / 60_000;
      expect(minutes).toBeGreaterThan(29);
      expect(minutes).toBeLessThanOrEqual(30);
    }
  });

  it('reports a missing model or an unreachable server instead of throwing', async () => {
    ollama = await startFakeOllama();
    expect(await warmModel({ ...SETTINGS, baseUrl: ollama.url }, 'chat', 'qwen3')).toMatchObject({ ok: false, error: expect.stringMatching(/404.*not found/) });
    expect(await warmModel({ ...SETTINGS, baseUrl: await closedPortUrl() }, 'embed', 'nomic-embed-text')).toMatchObject({ ok: false });
  });
});

describe('the composed server keeps the models warm (stand-in with a model load delay)', () => {
  const LOAD_MS = 2_500;
  const QUESTION = 'What is the default depends_on condition in compose?';
  let ollama: FakeOllama | undefined;
  let server: ComposedServer | undefined;
  afterEach(async () => {
    await server?.close();
    await ollama?.close();
    server = undefined;
    ollama = undefined;
  });

  const readyz = async () => JSON.parse((await requestOnce(server!.url, 'GET', '/readyz', undefined)).body) as { warming?: boolean; ollama?: { reachable?: boolean } };
  const warmUps = (calls: FakeCall[]) => calls.filter((call) => call.endpoint === 'chat' && (call.body as { messages?: unknown[] }).messages?.length === 0);
  const answers = (calls: FakeCall[]) => calls.filter((call) => call.endpoint === 'chat' && ((call.body as { messages?: unknown[] }).messages?.length ?? 0) > 0);

  it('warms at start (/readyz says warming), so the first answer does not pay the load; again when Ollama reappears', async () => {
    ollama = await startFakeOllama({ latency: { coldLoadMs: LOAD_MS }, chatScript: 'It is `service_started` [1].' });
    server = await startComposedServer({
      env: { OLLAMA_HOST: ollama.url, LLM: 'ollama', EMBEDDINGS: 'ollama', OLLAMA_TIMEOUT_MS: '20000', OLLAMA_CONNECT_TIMEOUT_MS: '2000', OLLAMA_CHECK_INTERVAL_MS: '200' },
    });
    // The load takes LOAD_MS; the server is already listening while it runs.
    expect((await readyz()).warming).toBe(true);
    await server.ready();
    await until(async () => (await readyz()).warming === false, 20_000, 'the warm-up did not finish');
    const loadsDone = Date.now();

    const first = await postOnce(server.url, '/ask', JSON.stringify({ question: QUESTION }));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ mode: 'ollama', cited: [1] });
    const asked = answers(ollama.calls)[0];
    // Ordering, not a benchmark: the answer's chat call came after the load and did not wait for one.
    expect(asked?.startedAt).toBeGreaterThanOrEqual(loadsDone - 50);
    expect((asked?.endedAt ?? Number.POSITIVE_INFINITY) - (asked?.startedAt ?? 0)).toBeLessThan(LOAD_MS);

    // keep_alive on every chat and embed call; the warm-up asked for the answers' num_ctx.
    const modelCalls = ollama.calls.filter((call) => call.endpoint === 'chat' || call.endpoint === 'embed');
    expect(modelCalls.length).toBeGreaterThan(2);
    for (const call of modelCalls) expect((call.body as { keep_alive?: unknown }).keep_alive, call.path).toBe('30m');
    expect(warmUps(ollama.calls)).toHaveLength(1);
    expect((warmUps(ollama.calls)[0]?.body as { options?: unknown }).options).toEqual({ num_ctx: server.config.numCtx });
    expect((asked?.body as { options?: { num_ctx?: number } }).options?.num_ctx).toBe(server.config.numCtx);
    expect(ollama.callsTo('embed').some((call) => (call.body as { input?: unknown[] }).input?.length === 0)).toBe(true);

    // Ollama goes away (and forgets its loaded models), then comes back: the models are loaded again.
    await ollama.setFault('*', { type: 'refuse' });
    await until(async () => (await readyz()).ollama?.reachable === false, 10_000, 'the server did not notice Ollama leaving');
    ollama.setModels(['llama3.2', 'nomic-embed-text']);
    await ollama.setFault('*', null);
    await until(() => warmUps(ollama!.calls).length === 2, 10_000, 'no warm-up when Ollama came back');
    await until(async () => (await readyz()).warming === false, 20_000, 'the second warm-up did not finish');
    expect(server.logs.lines.filter((line) => line.msg === 'model loaded')).toHaveLength(4);
  });
});
