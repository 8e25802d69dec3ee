/**
 * LLM_PROVIDER=openai end to end: its configuration (table), the answer mode decided from the
 * OpenAI-compatible server's /models, the answer engine streaming through it, and the composed
 * HTTP server (main) indexing and answering with the stand-in only, /readyz naming the provider.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import type { AnswerEvent, AskResponse } from '../src/answer/answer-types.ts';
import { createModeTracker } from '../src/answer/answer-mode.ts';
import { ConfigError, parseConfig } from '../src/config.ts';
import type { Readiness } from '../src/server/server-deps.ts';
import { buildNotesIndex, collectEvents, engineDeps, type NotesIndex } from './support/answer-fixtures.ts';
import { closedPortUrl } from './support/fake-ollama.ts';
import { startFakeOpenAI, type FakeOpenAI } from './support/fake-openai.ts';
import { startComposedServer } from './support/hardening-app.ts';

const CHAT = 'Qwen/Qwen2.5-7B-Instruct';
const EMBED = 'nomic-ai/nomic-embed-text-v1.5';
let fake: FakeOpenAI;
let refusedUrl: string;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  refusedUrl = `${await closedPortUrl()}/v1`;
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('configuration', () => {
  it('LLM=openai and EMBEDDINGS=openai insist on the OpenAI-compatible server', () => {
    expect(parseConfig({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://x/v1', LLM: 'openai', EMBEDDINGS: 'openai' })).toMatchObject({ llm: 'openai', embeddings: 'openai' });
  });

  it('defaults to Ollama, with no OpenAI settings', () => {
    expect(parseConfig({})).toMatchObject({ llmProvider: 'ollama', openaiBaseUrl: undefined, openaiEmbedBaseUrl: undefined, openaiApiKey: undefined });
  });

  it.each([
    [{ OPENAI_BASE_URL: 'http://10.0.0.5:8000/v1/' }, 'http://10.0.0.5:8000/v1', 'http://10.0.0.5:8000/v1'],
    [{ OPENAI_BASE_URL: ' https://llm.example/v1 ' }, 'https://llm.example/v1', 'https://llm.example/v1'],
    [{ OPENAI_BASE_URL: 'http://vllm-chat:8000/v1', OPENAI_EMBED_BASE_URL: 'http://vllm-embed:8000/v1' }, 'http://vllm-chat:8000/v1', 'http://vllm-embed:8000/v1'],
  ])('LLM_PROVIDER=openai with %j', (env, chat, embed) => {
    expect(parseConfig({ LLM_PROVIDER: 'openai', ...env })).toMatchObject({ llmProvider: 'openai', openaiBaseUrl: chat, openaiEmbedBaseUrl: embed });
  });

  it.each([
    [{ LLM_PROVIDER: 'openai' }, 'OPENAI_BASE_URL', /must be set when LLM_PROVIDER=openai/],
    [{ LLM_PROVIDER: 'vllm' }, 'LLM_PROVIDER', /ollama.*openai|Invalid option/],
    [{ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'localhost:8000' }, 'OPENAI_BASE_URL', /must use http or https|not a valid URL/],
    [{ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'ftp://x/v1' }, 'OPENAI_BASE_URL', /must use http or https/],
    [{ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL', /not a valid URL/],
    [{ OPENAI_EMBED_BASE_URL: 'http://x/v1?a=1' }, 'OPENAI_EMBED_BASE_URL', /query/],
    [{ LLM: 'openai' }, 'LLM', /is openai but LLM_PROVIDER is ollama: set LLM_PROVIDER=openai, or LLM=auto/],
    [{ EMBEDDINGS: 'openai' }, 'EMBEDDINGS', /LLM_PROVIDER is ollama/],
    [{ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://x/v1', LLM: 'ollama' }, 'LLM', /is ollama but LLM_PROVIDER is openai/],
    [{ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://x/v1', EMBEDDINGS: 'ollama' }, 'EMBEDDINGS', /is ollama but LLM_PROVIDER is openai/],
  ])('%j fails naming %s', (env, variable, message) => {
    let caught: unknown;
    try {
      parseConfig(env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toMatch(message);
  });

  it('never echoes the API key in an error', () => {
    expect(() => parseConfig({ OPENAI_API_KEY: 'sk-secret', LLM_PROVIDER: 'openai' })).toThrow(/OPENAI_BASE_URL/);
    try {
      parseConfig({ OPENAI_API_KEY: 'sk-secret', LLM_PROVIDER: 'openai' });
    } catch (error) {
      expect(String(error)).not.toContain('sk-secret');
    }
  });
});

describe('answer mode with LLM_PROVIDER=openai', () => {
  const tracker = (env: Record<string, string>) =>
    createModeTracker(
      parseConfig({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, CHAT_MODEL: CHAT, EMBED_MODEL: EMBED, OLLAMA_CONNECT_TIMEOUT_MS: '1000', ...env }),
      () => undefined,
    );

  it('LLM=auto: mode "openai" once /models lists CHAT_MODEL', async () => {
    const modes = tracker({ OPENAI_API_KEY: 'k', OLLAMA_TIMEOUT_MS: '1234', NUM_CTX: '4096' });
    expect(modes.mode().mode).toBe('extractive');
    expect(await modes.check()).toEqual({
      mode: 'openai',
      chat: { baseUrl: fake.url, apiKey: 'k', model: CHAT, numCtx: 4096, timeoutMs: 1234 },
    });
    expect(modes.server()).toEqual({ provider: 'openai', url: fake.url, reachable: true, missingModels: [] });
  });

  it('LLM=auto: extractive when the server lacks the chat model, naming the server and the model', async () => {
    fake.setModels([EMBED]);
    const modes = tracker({});
    const state = await modes.check();
    expect(state.mode).toBe('extractive');
    expect(state.mode === 'extractive' && state.notice).toContain(`has no ${CHAT}`);
    expect(state.mode === 'extractive' && state.notice).not.toContain('ollama pull');
    expect(modes.server()).toMatchObject({ reachable: true, missingModels: [CHAT] });
    expect(modes.server().fix).toContain(`vllm serve ${CHAT}`);
  });

  it('LLM=auto: extractive when the server is down; LLM=openai (required) answers through it all the same', async () => {
    const down = tracker({ OPENAI_BASE_URL: refusedUrl });
    expect((await down.check()).mode).toBe('extractive');
    expect(down.server()).toMatchObject({ reachable: false, fix: `start the OpenAI-compatible server at ${refusedUrl}` });
    const required = tracker({ OPENAI_BASE_URL: refusedUrl, LLM: 'openai' });
    expect((await required.check()).mode).toBe('openai');
  });

  it('with a separate embedding server, only the chat model is looked for on this one', async () => {
    fake.setModels([CHAT]);
    const modes = tracker({ OPENAI_EMBED_BASE_URL: refusedUrl });
    await modes.check();
    expect(modes.server().missingModels).toEqual([]);
    fake.setModels([CHAT]);
    const shared = tracker({});
    await shared.check();
    expect(shared.server().missingModels).toEqual([EMBED]);
  });
});

describe('the answer engine in mode "openai"', () => {
  let notes: NotesIndex;
  beforeAll(async () => {
    notes = await buildNotesIndex();
  });
  afterAll(() => notes.cleanup());

  const openaiMode = () => ({ mode: 'openai', chat: { baseUrl: fake.url, apiKey: undefined, model: CHAT, numCtx: 4096, timeoutMs: 5_000 } }) as const;

  it('streams sources (mode openai, the model), the server\'s pieces as deltas, and done with citations', async () => {
    fake.setChatScript(['The default', ' condition is', ' service_started [1].']);
    const answer = createAnswerEngine(engineDeps(notes, openaiMode()));
    const events: AnswerEvent[] = await collectEvents(answer({ question: 'What is the default depends_on condition in compose?' }, { signal: new AbortController().signal }));
    expect(events[0]).toMatchObject({ type: 'sources', mode: 'openai', model: CHAT });
    expect(events.filter((event) => event.type === 'delta').map((event) => event.type === 'delta' && event.text)).toEqual([
      'The default',
      ' condition is',
      ' service_started [1].',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'The default condition is service_started [1].', answerable: true, cited: [1] });
    const sent = fake.callsTo('chat')[0]?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]?.role).toBe('system');
    expect(sent.messages.at(-1)?.content).toContain('depends_on');
  });

  it("routes the server's reasoning_content to reasoning events, never to deltas, answer or citations", async () => {
    fake.setChatScript([{ reasoning: 'Source [2] looks relevant,' }, { reasoning: ' but [1] says it.' }, 'The default', ' condition is', ' service_started [1].']);
    const answer = createAnswerEngine(engineDeps(notes, openaiMode()));
    const events: AnswerEvent[] = await collectEvents(answer({ question: 'What is the default depends_on condition in compose?' }, { signal: new AbortController().signal }));
    const text = (type: AnswerEvent['type']) =>
      events
        .filter((event) => event.type === type)
        .map((event) => ('text' in event ? event.text : ''))
        .join('');
    expect(text('reasoning')).toBe('Source [2] looks relevant, but [1] says it.');
    expect(text('delta')).toBe('The default condition is service_started [1].');
    expect(events.findIndex((event) => event.type === 'reasoning')).toBeLessThan(events.findIndex((event) => event.type === 'delta'));
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'The default condition is service_started [1].', answerable: true, cited: [1] });
  });

  it('rag:false asks the server directly', async () => {
    fake.setChatScript('Hello there.');
    const answer = createAnswerEngine(engineDeps(notes, openaiMode()));
    const events = await collectEvents(answer({ question: 'Say hello', rag: false }, { signal: new AbortController().signal }));
    expect(events[0]).toMatchObject({ type: 'sources', sources: [], mode: 'openai', model: CHAT });
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'Hello there.' });
  });

  it('a failure before the first piece is thrown as the AppError (a JSON error, not a broken stream)', async () => {
    fake.setFault('chat', { type: 'status', status: 503, message: 'loading' });
    const answer = createAnswerEngine(engineDeps(notes, openaiMode()));
    await expect(collectEvents(answer({ question: 'What is the default depends_on condition in compose?' }, { signal: new AbortController().signal }))).rejects.toMatchObject({
      code: 'llm_unavailable',
    });
  });
});

describe('the composed server with LLM_PROVIDER=openai', () => {
  it('indexes with the server\'s embeddings, answers with its chat model, and /readyz names the provider', async () => {
    const server = await startComposedServer({
      env: { LLM_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-x', CHAT_MODEL: CHAT, EMBED_MODEL: EMBED, LLM: 'auto', EMBEDDINGS: 'auto' },
    });
    try {
      await server.ready();
      const readiness = (await (await fetch(`${server.url}/readyz`)).json()) as Readiness;
      expect(readiness).toMatchObject({ ready: true, mode: 'openai', chatModel: CHAT, provider: 'openai', index: { embedder: `openai:${EMBED}` } });
      expect(readiness.openai).toEqual({ url: fake.url, reachable: true, missingModels: [] });
      expect(readiness.ollama).toBeUndefined();
      expect(fake.callsTo('embeddings').length).toBeGreaterThan(0);
      expect(fake.calls.every((call) => call.headers.authorization === 'Bearer sk-x')).toBe(true);

      fake.setChatScript(['Use', ' service_healthy [1].']);
      const response = await fetch(`${server.url}/ask`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question: 'What is the default depends_on condition in compose?' }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as AskResponse;
      expect(body).toMatchObject({ answer: 'Use service_healthy [1].', mode: 'openai', model: CHAT, embedder: `openai:${EMBED}` });
      // The question was embedded by the server too, with the model's query prefix.
      const queries = fake.callsTo('embeddings').map((call) => (call.body as { input: string[] }).input).flat();
      expect(queries).toContain('search_query: What is the default depends_on condition in compose?');
    } finally {
      await server.close();
    }
  });
});
