/**
 * Choosing the chat model (issue 15): `GET /models` lists Ollama's installed chat models (embedding-only
 * ones left out, CHAT_MODEL marked) and `/ask` `model` answers with the one asked for, or
 * `503 model_not_found` naming `ollama pull <model>`; all against the stand-in Ollama.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import { createModeTracker } from '../src/answer/answer-mode.ts';
import { canChat, createChatModelCatalog, createOpenAIModelList } from '../src/answer/chat-models.ts';
import { parseConfig } from '../src/config.ts';
import { buildNotesIndex, engineDeps, type NotesIndex } from './support/answer-fixtures.ts';
import { closedPortUrl, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { startFakeOpenAI } from './support/fake-openai.ts';
import { ask, startTestServer, type TestServer } from './support/start-test-server.ts';

let ollama: FakeOllama;
let refusedUrl: string;
let server: TestServer | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ['llama3.2', 'nomic-embed-text', 'qwen2.5:7b', 'mxbai-embed-large', 'gemma3'] });
  refusedUrl = await closedPortUrl();
});
afterAll(async () => {
  await ollama?.close();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await ollama.reset();
});

describe('canChat', () => {
  it.each([
    { capabilities: ['completion', 'tools'], family: 'llama', name: 'llama3.2', chat: true },
    { capabilities: ['embedding'], family: 'nomic-bert', name: 'nomic-embed-text', chat: false },
    { capabilities: ['embedding', 'completion'], family: 'x', name: 'both', chat: true },
    { capabilities: undefined, family: 'bert', name: 'some-model', chat: false },
    { capabilities: undefined, family: 'llama', name: 'my-embed-model', chat: false },
    { capabilities: [], family: 'llama', name: 'mistral', chat: true },
    { capabilities: undefined, family: undefined, name: 'phi3', chat: true },
  ])('$name ($capabilities, $family) -> $chat', ({ capabilities, family, name, chat }) => {
    expect(canChat(capabilities, family, name)).toBe(chat);
  });
});

describe('the chat model catalog', () => {
  it('lists installed chat models newest first, embedding-only ones left out, the default marked', async () => {
    const catalog = createChatModelCatalog({ baseUrl: ollama.url, defaultModel: 'llama3.2', timeoutMs: 2_000 });
    const report = await catalog.list();
    expect(report).toEqual({
      default: 'llama3.2',
      reachable: true,
      models: [
        { name: 'gemma3:latest', default: false, family: 'gemma3', parameterSize: '4.3B', size: 3_338_801_804 },
        { name: 'qwen2.5:7b', default: false, family: 'qwen2', parameterSize: '7.6B', size: 4_683_087_332 },
        { name: 'llama3.2:latest', default: true, family: 'llama', parameterSize: '3.2B', size: 2_019_393_189 },
      ],
    });
    // Each model's capabilities were asked once; a second listing asks nothing but /api/tags.
    expect(ollama.callsTo('show')).toHaveLength(5);
    await catalog.list();
    expect(ollama.callsTo('show')).toHaveLength(5);
    expect(ollama.callsTo('tags')).toHaveLength(2);
  });

  it('marks no default when CHAT_MODEL is not installed', async () => {
    const report = await createChatModelCatalog({ baseUrl: ollama.url, defaultModel: 'mistral', timeoutMs: 2_000 }).list();
    expect(report.default).toBe('mistral');
    expect(report.models.some((model) => model.default)).toBe(false);
  });

  it('falls back to family and name when /api/show fails', async () => {
    await ollama.setFault('show', { type: 'status', status: 500 });
    const report = await createChatModelCatalog({ baseUrl: ollama.url, defaultModel: 'llama3.2', timeoutMs: 2_000 }).list();
    expect(report.models.map((model) => model.name)).toEqual(['gemma3:latest', 'qwen2.5:7b', 'llama3.2:latest']);
  });

  it.each([
    { name: 'refused', fault: null, url: () => refusedUrl, error: /not reachable .*ollama serve/ },
    { name: 'HTTP 500 on /api/tags', fault: { type: 'status', status: 500 } as const, url: () => ollama.url, error: /HTTP 500/ },
  ])('$name: reachable false, no models, the reason in words', async ({ fault, url, error }) => {
    if (fault !== null) await ollama.setFault('tags', fault);
    const report = await createChatModelCatalog({ baseUrl: url(), defaultModel: 'llama3.2', timeoutMs: 2_000 }).list();
    expect(report).toMatchObject({ default: 'llama3.2', reachable: false, models: [] });
    expect(report.error).toMatch(error);
  });

  it('a hanging Ollama costs at most the timeout', async () => {
    await ollama.setFault('tags', { type: 'hang' });
    const started = performance.now();
    const report = await createChatModelCatalog({ baseUrl: ollama.url, defaultModel: 'llama3.2', timeoutMs: 300 }).list();
    expect(report.reachable).toBe(false);
    expect(report.error).toMatch(/no answer within 300 ms/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('the chat model list of an OpenAI-compatible server (LLM_PROVIDER=openai)', () => {
  const options = { apiKey: 'sk-list', defaultModel: 'Qwen/Qwen2.5-7B-Instruct', embedModel: 'BAAI/bge-m3', timeoutMs: 2_000 };

  it('lists what GET /v1/models serves, embedding models left out, CHAT_MODEL marked, the key sent', async () => {
    const fake = await startFakeOpenAI({ apiKey: 'sk-list', models: ['Qwen/Qwen2.5-7B-Instruct', 'BAAI/bge-m3', 'nomic-ai/nomic-embed-text-v1.5', 'meta-llama/Llama-3.1-8B-Instruct'] });
    try {
      const report = await createOpenAIModelList({ ...options, baseUrl: fake.url }).list();
      expect(report).toEqual({
        default: 'Qwen/Qwen2.5-7B-Instruct',
        reachable: true,
        models: [
          { name: 'Qwen/Qwen2.5-7B-Instruct', default: true },
          { name: 'meta-llama/Llama-3.1-8B-Instruct', default: false },
        ],
      });
      expect(fake.callsTo('models')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it('unreachable or refusing the key: reachable false, no models, the reason in words', async () => {
    const refused = await createOpenAIModelList({ ...options, baseUrl: `${refusedUrl}/v1` }).list();
    expect(refused).toMatchObject({ reachable: false, models: [] });
    expect(refused.error).toBe(`The OpenAI-compatible server at ${refusedUrl}/v1 did not list its models (connection refused).`);
    const fake = await startFakeOpenAI({ apiKey: 'another-key' });
    try {
      const denied = await createOpenAIModelList({ ...options, baseUrl: fake.url }).list();
      expect(denied).toMatchObject({ reachable: false, models: [] });
      expect(denied.error).toMatch(/401.*OPENAI_API_KEY/);
    } finally {
      await fake.close();
    }
  });
});

describe('modeFor (a model asked for by one request)', () => {
  function tracker(env: Record<string, string> = {}) {
    return createModeTracker(parseConfig({ OLLAMA_HOST: ollama.url, OLLAMA_CONNECT_TIMEOUT_MS: '1000', ...env }), () => {});
  }

  it('an installed model answers through Ollama, whatever CHAT_MODEL is', async () => {
    const modes = tracker({ CHAT_MODEL: 'mistral' });
    await modes.check();
    expect(modes.mode().mode).toBe('extractive');
    const state = await modes.modeFor('qwen2.5:7b');
    expect(state).toMatchObject({ mode: 'ollama', chat: { model: 'qwen2.5:7b', baseUrl: ollama.url } });
  });

  it('a missing model is model_not_found naming the pull, after one fresh look', async () => {
    const modes = tracker();
    await modes.check();
    const tagsBefore = ollama.callsTo('tags').length;
    await expect(modes.modeFor('phi3')).rejects.toMatchObject({ code: 'model_not_found', message: expect.stringContaining('ollama pull phi3') });
    // A model pulled meanwhile is found without waiting for the periodic check.
    ollama.setModels(['llama3.2', 'phi3']);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await modes.modeFor('phi3')).mode).toBe('ollama');
    expect(ollama.callsTo('tags').length).toBeGreaterThan(tagsBefore);
  });

  it.each([
    { env: { LLM: 'none' }, mode: 'extractive' },
    { env: { LLM: 'auto', OLLAMA_HOST: '' }, mode: 'extractive' },
    { env: { LLM: 'ollama', OLLAMA_HOST: '' }, mode: 'ollama' },
  ])('$env: $mode (nothing to check the model against)', async ({ env, mode }) => {
    const modes = tracker({ ...env, ...(env.OLLAMA_HOST === '' ? { OLLAMA_HOST: refusedUrl } : {}) });
    await modes.check();
    expect((await modes.modeFor('phi3')).mode).toBe(mode);
  });
});

describe('POST /ask model and GET /models over HTTP', () => {
  let built: NotesIndex;
  beforeAll(async () => {
    built = await buildNotesIndex();
  });
  afterAll(async () => {
    await built?.cleanup();
  });

  async function serve(): Promise<TestServer> {
    const modes = createModeTracker(parseConfig({ OLLAMA_HOST: ollama.url, OLLAMA_CONNECT_TIMEOUT_MS: '1000' }), () => {});
    await modes.check();
    const catalog = createChatModelCatalog({ baseUrl: ollama.url, defaultModel: 'llama3.2', timeoutMs: 2_000 });
    return startTestServer({
      answer: createAnswerEngine(engineDeps(built, () => modes.mode(), { modeFor: (model, signal) => modes.modeFor(model, signal) })),
      listModels: (signal) => catalog.list(signal),
    });
  }

  it('GET /models lists the chat models with the default marked', async () => {
    server = await serve();
    const response = await fetch(`${server.url}/models`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { default: string; models: Array<{ name: string; default: boolean }> };
    expect(body.default).toBe('llama3.2');
    expect(body.models.map((model) => [model.name, model.default])).toEqual([
      ['gemma3:latest', false],
      ['qwen2.5:7b', false],
      ['llama3.2:latest', true],
    ]);
  });

  it('answers with the model asked for, and says so', async () => {
    server = await serve();
    const response = await ask(server.url, { question: 'What is the default depends_on condition in compose?', model: 'qwen2.5:7b' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ mode: 'ollama', model: 'qwen2.5:7b' });
    expect(ollama.callsTo('chat').map((call) => (call.body as { model: string }).model)).toEqual(['qwen2.5:7b']);
  });

  it('a model that is not installed is 503 model_not_found naming ollama pull, and Ollama is not asked to chat', async () => {
    server = await serve();
    const response = await ask(server.url, { question: 'What is the default depends_on condition in compose?', model: 'phi3' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: { code: 'model_not_found', message: 'The Ollama model "phi3" is not installed. Run: ollama pull phi3' },
    });
    expect(ollama.callsTo('chat')).toHaveLength(0);
  });

  it.each([
    { model: '', message: '"model" must be an Ollama model name such as "llama3.2" or "qwen2.5:7b".' },
    { model: 'llama 3', message: '"model" must be an Ollama model name such as "llama3.2" or "qwen2.5:7b".' },
    { model: '../etc/passwd', message: '"model" must be an Ollama model name such as "llama3.2" or "qwen2.5:7b".' },
    { model: 'a:b:c', message: '"model" must be an Ollama model name such as "llama3.2" or "qwen2.5:7b".' },
    { model: 3, message: '"model" must be a string (an Ollama model name).' },
    { model: `m${'x'.repeat(200)}`, message: '"model" must be at most 200 characters.' },
  ])('model $model -> 400 naming the field', async ({ model, message }) => {
    server = await serve();
    const response = await ask(server.url, { question: 'q', model });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid_request', message } });
  });
});
