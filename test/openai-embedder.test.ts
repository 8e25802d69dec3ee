/**
 * Embeddings from an OpenAI-compatible server (LLM_PROVIDER=openai) against the stand-in: the
 * requests (batches, prefixes, float encoding, key), the vectors in order, abort, retries, and the
 * errors; the /models probe; and chooseEmbedder picking it, or the local embedder, or failing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { chooseEmbedder } from '../src/embeddings/create-embedder.ts';
import { prefixesFor } from '../src/embeddings/model-prefixes.ts';
import { createOpenAIEmbedder, type OpenAIEmbedderOptions } from '../src/embeddings/openai-embedder.ts';
import { probeOpenAI, servesModel } from '../src/embeddings/openai-probe.ts';
import { AppError, isAbortError } from '../src/errors.ts';
import { closedPortUrl } from './support/fake-ollama.ts';
import { startFakeOpenAI, type FakeOpenAI } from './support/fake-openai.ts';

const MODEL = 'nomic-ai/nomic-embed-text-v1.5';
let fake: FakeOpenAI;
let refusedUrl: string;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  refusedUrl = `${await closedPortUrl()}/v1`;
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const embedder = (options: Partial<OpenAIEmbedderOptions> = {}) =>
  createOpenAIEmbedder({ baseUrl: fake.url, apiKey: undefined, model: MODEL, maxRetries: 0, timeoutMs: 5_000, ...options });

const bodyOf = (index: number) => fake.callsTo('embeddings')[index]?.body as { model: string; input: string[]; encoding_format?: string };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createOpenAIEmbedder', () => {
  it('is identified by provider and model, apart from the Ollama embedder of a same-named model', () => {
    expect(embedder().id).toBe(`openai:${MODEL}`);
    expect(embedder({ model: 'nomic-embed-text:latest' }).id).toBe('openai:nomic-embed-text');
  });

  it('sends batches of EMBED_BATCH_SIZE with the model, its document prefix and float encoding, and keeps the order', async () => {
    const documents = ['alpha\nwith a newline', 'beta', 'gamma', 'delta', 'epsilon'];
    const progress: number[] = [];
    const vectors = await embedder({ batchSize: 2, concurrency: 2 }).embedDocuments(documents, { onProgress: (done) => progress.push(done) });
    const calls = fake.callsTo('embeddings');
    expect(calls).toHaveLength(3);
    expect(calls.map((_, index) => bodyOf(index).input).flat().sort()).toEqual(documents.map((text) => `search_document: ${text}`).sort());
    for (const index of [0, 1, 2]) {
      expect(bodyOf(index).model).toBe(MODEL);
      expect(bodyOf(index).encoding_format).toBe('float');
    }
    // Newlines reach the server as they are in the note (LangChain would turn them into spaces).
    expect(calls.some((_, index) => bodyOf(index).input.includes('search_document: alpha\nwith a newline'))).toBe(true);
    expect(vectors).toEqual(documents.map((text) => fake.vectorFor(`search_document: ${text}`)));
    expect(progress.at(-1)).toBe(5);
    expect(calls.every((call) => call.headers.authorization === undefined)).toBe(true);
  });

  it('embeds a query with the query prefix, with the key when one is configured', async () => {
    const guarded = await startFakeOpenAI({ apiKey: 'sk-embed' });
    try {
      const vector = await embedder({ baseUrl: guarded.url, apiKey: 'sk-embed' }).embedQuery('what is compose watch?');
      expect(vector).toEqual(guarded.vectorFor('search_query: what is compose watch?'));
      expect(guarded.callsTo('embeddings')[0]?.headers.authorization).toBe('Bearer sk-embed');
      const error = await rejection(embedder({ baseUrl: guarded.url, apiKey: 'nope' }).embedQuery('x'));
      expect((error as AppError).code).toBe('llm_unavailable');
      expect((error as AppError).message).toContain('OPENAI_API_KEY');
    } finally {
      await guarded.close();
    }
  });

  it('knows the prefixes of models under their Hugging Face names', () => {
    expect(prefixesFor('nomic-ai/nomic-embed-text-v1.5')).toEqual({ document: 'search_document: ', query: 'search_query: ' });
    expect(prefixesFor('Qwen/Qwen3-Embedding-0.6B').document).toBe('');
    expect(prefixesFor('Qwen/Qwen3-Embedding-0.6B').query).toMatch(/^Instruct: /);
    expect(prefixesFor('BAAI/bge-m3')).toEqual({ document: '', query: '' });
  });

  it('an unknown model is model_not_found naming EMBED_MODEL, and is not retried', async () => {
    const error = await rejection(embedder({ model: 'no-such-embedder', maxRetries: 3 }).embedDocuments(['x']));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('model_not_found');
    expect((error as AppError).message).toContain('EMBED_MODEL');
    expect(fake.callsTo('embeddings')).toHaveLength(1);
  });

  it('nothing listening is llm_unavailable at once, not retried with back-off', async () => {
    const started = Date.now();
    const error = await rejection(embedder({ baseUrl: refusedUrl, maxRetries: 3 }).embedQuery('x'));
    expect((error as AppError).code).toBe('llm_unavailable');
    expect((error as AppError).message).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries a transient 500 and then succeeds', async () => {
    fake.setFault('embeddings', { type: 'status', status: 500, times: 1 });
    const vectors = await embedder({ maxRetries: 1 }).embedDocuments(['retry me']);
    expect(vectors).toEqual([fake.vectorFor('search_document: retry me')]);
    expect(fake.callsTo('embeddings').map((call) => call.status)).toEqual([500, 200]);
  });

  it('a hung request is upstream_timeout, and the request is closed', async () => {
    fake.setFault('embeddings', { type: 'hang' });
    const error = await rejection(embedder({ timeoutMs: 300 }).embedDocuments(['x']));
    expect((error as AppError).code).toBe('upstream_timeout');
    await fake.waitFor(() => fake.callsTo('embeddings')[0]?.clientClosed === true);
  });

  it('an abort rejects with an AbortError at once and closes the request', async () => {
    fake.setFault('embeddings', { type: 'hang' });
    const controller = new AbortController();
    const pending = rejection(embedder().embedDocuments(['x', 'y'], { signal: controller.signal }));
    await fake.waitFor(() => fake.callsTo('embeddings').length === 1);
    controller.abort();
    expect(isAbortError(await pending)).toBe(true);
    await fake.waitFor(() => fake.callsTo('embeddings')[0]?.clientClosed === true);
  });
});

describe('probeOpenAI', () => {
  it('lists the served models', async () => {
    expect(await probeOpenAI({ baseUrl: fake.url, apiKey: undefined })).toEqual({
      reachable: true,
      models: ['Qwen/Qwen2.5-7B-Instruct', MODEL],
    });
    expect(fake.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['GET /v1/models']);
  });

  it.each([
    ['nothing listening', async () => refusedUrl, undefined, /connection refused/],
    ['a base URL without /v1', async () => fake.url.replace(/\/v1$/, ''), undefined, /HTTP 404; does the base URL end in \/v1\?/],
  ])('%s: unreachable, saying why', async (_name, url, apiKey, error) => {
    const probe = await probeOpenAI({ baseUrl: await url(), apiKey });
    expect(probe.reachable).toBe(false);
    expect(probe.error).toMatch(error);
  });

  it('a key the server refuses: unreachable, naming OPENAI_API_KEY', async () => {
    const guarded = await startFakeOpenAI({ apiKey: 'right' });
    try {
      const probe = await probeOpenAI({ baseUrl: guarded.url, apiKey: 'wrong' });
      expect(probe).toMatchObject({ reachable: false, error: '/models answered HTTP 401; check OPENAI_API_KEY' });
    } finally {
      await guarded.close();
    }
  });

  it.each([
    [['Qwen/Qwen2.5-7B-Instruct'], 'Qwen/Qwen2.5-7B-Instruct', true],
    [['Qwen/Qwen2.5-7B-Instruct'], 'qwen/qwen2.5-7b-instruct', false],
    [['llama3.2:latest'], 'llama3.2', true],
    [['llama3.2'], 'llama3.2:latest', true],
    [['llama3.2:1b'], 'llama3.2', false],
  ])('servesModel(%j, %s) is %s', (models, name, expected) => {
    expect(servesModel(models, name)).toBe(expected);
  });
});

describe('chooseEmbedder with LLM_PROVIDER=openai', () => {
  const config = (env: Record<string, string>) =>
    parseConfig({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, EMBED_MODEL: MODEL, OLLAMA_CONNECT_TIMEOUT_MS: '1000', ...env });

  it('the OpenAI-compatible embedder when the server serves EMBED_MODEL', async () => {
    const choice = await chooseEmbedder(config({}));
    expect(choice.embedder.id).toBe(`openai:${MODEL}`);
    expect(choice.reason).toContain(fake.url);
  });

  it('OPENAI_EMBED_BASE_URL sends embeddings to a second server (vLLM serves one model per server)', async () => {
    const embedServer = await startFakeOpenAI({ models: [MODEL] });
    try {
      fake.setModels(['Qwen/Qwen2.5-7B-Instruct']);
      const choice = await chooseEmbedder(config({ OPENAI_EMBED_BASE_URL: embedServer.url }));
      expect(choice.embedder.id).toBe(`openai:${MODEL}`);
      await choice.embedder.embedQuery('hello');
      expect(embedServer.callsTo('embeddings')).toHaveLength(1);
      expect(fake.callsTo('embeddings')).toHaveLength(0);
    } finally {
      await embedServer.close();
    }
  });

  it('EMBEDDINGS=auto falls back to the local embedder, saying why', async () => {
    fake.setModels(['Qwen/Qwen2.5-7B-Instruct']);
    const choice = await chooseEmbedder(config({}));
    expect(choice.embedder.id).toMatch(/^local:/);
    expect(choice.reason).toContain(`does not serve ${MODEL}`);
    const down = await chooseEmbedder(config({ OPENAI_BASE_URL: refusedUrl }));
    expect(down.embedder.id).toMatch(/^local:/);
    expect(down.reason).toContain('not reachable');
  });

  it('EMBEDDINGS=openai (the server, required) fails with the error code instead', async () => {
    fake.setModels(['Qwen/Qwen2.5-7B-Instruct']);
    await expect(chooseEmbedder(config({ EMBEDDINGS: 'openai' }))).rejects.toMatchObject({ code: 'model_not_found' });
    await expect(chooseEmbedder(config({ EMBEDDINGS: 'openai', OPENAI_BASE_URL: refusedUrl }))).rejects.toMatchObject({ code: 'llm_unavailable' });
  });

  it('EMBEDDINGS=local never calls the server', async () => {
    const choice = await chooseEmbedder(config({ EMBEDDINGS: 'local' }));
    expect(choice.embedder.id).toMatch(/^local:/);
    expect(fake.calls).toHaveLength(0);
  });
});
