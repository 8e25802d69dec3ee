import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOllamaEmbedder, type OllamaEmbedderOptions } from '../src/embeddings/ollama-embedder.ts';
import { modelBaseName, prefixesFor } from '../src/embeddings/model-prefixes.ts';
import { AppError, isAbortError } from '../src/errors.ts';
import { closedPortUrl, fakeEmbedding, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

let fake: FakeOllama;
beforeAll(async () => {
  fake = await startFakeOllama({ models: ['nomic-embed-text', 'mxbai-embed-large', 'all-minilm'] });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => vi.unstubAllEnvs());

const embedder = (options: Partial<OllamaEmbedderOptions> = {}) =>
  createOllamaEmbedder({ baseUrl: fake.url, model: 'nomic-embed-text', maxRetries: 0, timeoutMs: 10_000, ...options });

const inputsOf = (index: number): string[] => (fake.callsTo('embed')[index]?.body as { input: string[] }).input;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('model prefixes', () => {
  it.each([
    ['nomic-embed-text', 'search_document: ', 'search_query: '],
    ['nomic-embed-text:v1.5', 'search_document: ', 'search_query: '],
    ['registry.ollama.ai/library/Nomic-Embed-Text:latest', 'search_document: ', 'search_query: '],
    ['mxbai-embed-large', '', 'Represent this sentence for searching relevant passages: '],
    ['snowflake-arctic-embed:335m', '', 'Represent this sentence for searching relevant passages: '],
    ['snowflake-arctic-embed2', '', 'Represent this sentence for searching relevant passages: '],
    ['bge-m3', '', ''],
    ['all-minilm:22m', '', ''],
    ['some-unknown-model', '', ''],
  ])('%s: document %j, query %j', (model, document, query) => {
    expect(prefixesFor(model)).toEqual({ document, query });
  });

  it('keys the table by base name', () => {
    expect(modelBaseName('hf.co/user/My-Model:Q4_K_M')).toBe('my-model');
  });
});

describe('createOllamaEmbedder', () => {
  it('is identified by its model, with the same id for equivalent names', () => {
    expect(embedder().id).toBe('ollama:nomic-embed-text');
    expect(embedder({ model: 'Nomic-Embed-Text:latest' }).id).toBe('ollama:nomic-embed-text');
    expect(embedder({ model: 'nomic-embed-text:v1.5' }).id).toBe('ollama:nomic-embed-text:v1.5');
  });

  it('sends at most 64 inputs per /api/embed request and keeps the order (150 documents: 3 requests)', async () => {
    const documents = Array.from({ length: 150 }, (_, index) => `note chunk number ${index} about topic ${index % 7}`);
    const progress: number[] = [];
    const vectors = await embedder({ concurrency: 2 }).embedDocuments(documents, { onProgress: (done) => progress.push(done) });

    const calls = fake.callsTo('embed');
    expect(calls).toHaveLength(3);
    expect(calls.map((_, index) => inputsOf(index).length).sort((a, b) => b - a)).toEqual([64, 64, 22]);
    const sent = calls.flatMap((_, index) => inputsOf(index));
    expect(new Set(sent)).toEqual(new Set(documents.map((text) => `search_document: ${text}`)));
    expect(calls.every((call) => (call.body as { truncate?: unknown }).truncate === true)).toBe(true);

    expect(vectors).toHaveLength(150);
    vectors.forEach((vector, index) => {
      expect(vector).toEqual(fakeEmbedding('nomic-embed-text', `search_document: ${documents[index]}`, 768));
    });
    expect(progress.sort((a, b) => a - b).at(-1)).toBe(150);
    expect(progress).toHaveLength(3);
  });

  it('respects a smaller batch size and keeps up to `concurrency` requests in flight', async () => {
    fake.setLatency({ headersMs: 40 });
    const documents = Array.from({ length: 50 }, (_, index) => `doc ${index}`);
    const vectors = await embedder({ batchSize: 10, concurrency: 2 }).embedDocuments(documents);
    expect(fake.callsTo('embed').map((call) => (call.body as { input: string[] }).input.length)).toEqual([10, 10, 10, 10, 10]);
    expect(fake.peakOpenRequests()).toBe(2);
    expect(vectors[49]).toEqual(fakeEmbedding('nomic-embed-text', 'search_document: doc 49', 768));

    await fake.reset();
    fake.setLatency({ headersMs: 20 });
    await embedder({ batchSize: 10, concurrency: 1 }).embedDocuments(documents);
    expect(fake.peakOpenRequests()).toBe(1);
  });

  it('caps the batch size at 64 even when asked for more', async () => {
    await embedder({ batchSize: 500 }).embedDocuments(Array.from({ length: 65 }, (_, index) => `d${index}`));
    expect(fake.callsTo('embed').map((call) => (call.body as { input: string[] }).input.length).sort()).toEqual([1, 64]);
  });

  it('applies the query prefix to questions', async () => {
    const vector = await embedder().embedQuery('how does compose watch work?');
    expect(inputsOf(0)).toEqual(['search_query: how does compose watch work?']);
    expect(vector).toEqual(fakeEmbedding('nomic-embed-text', 'search_query: how does compose watch work?', 768));
  });

  it('uses each model its own prefixes: mxbai instructs queries only, all-minilm has none', async () => {
    const mxbai = embedder({ model: 'mxbai-embed-large' });
    await mxbai.embedDocuments(['a note']);
    await mxbai.embedQuery('a question');
    expect(inputsOf(0)).toEqual(['a note']);
    expect(inputsOf(1)).toEqual(['Represent this sentence for searching relevant passages: a question']);
    const minilm = embedder({ model: 'all-minilm' });
    expect(await minilm.embedQuery('plain')).toHaveLength(384);
    expect(inputsOf(2)).toEqual(['plain']);
  });

  it('makes no request for no documents', async () => {
    expect(await embedder().embedDocuments([])).toEqual([]);
    expect(fake.calls).toHaveLength(0);
  });

  it('uses the given base URL even when OLLAMA_BASE_URL points elsewhere', async () => {
    vi.stubEnv('OLLAMA_BASE_URL', await closedPortUrl());
    expect(await embedder().embedQuery('x')).toHaveLength(768);
    expect(fake.callsTo('embed')).toHaveLength(1);
  });

  it('embeds over-long chunks (truncate:true) instead of failing with 400', async () => {
    const [vector] = await embedder().embedDocuments(['word '.repeat(5_000)]);
    expect(vector).toHaveLength(768);
  });
});

describe('failures', () => {
  it('fails fast on a missing model with the `ollama pull` fix, despite retries configured', async () => {
    const missing = embedder({ model: 'snowflake-arctic-embed', maxRetries: 3 });
    const error = await rejection(missing.embedDocuments(['a', 'b']));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'model_not_found', status: 503 });
    expect((error as Error).message).toContain('ollama pull snowflake-arctic-embed');
    expect(fake.callsTo('embed').length).toBeLessThanOrEqual(2);

    const queryError = await rejection(missing.embedQuery('q'));
    expect(queryError).toMatchObject({ code: 'model_not_found' });
    expect(fake.callsTo('embed').length).toBeLessThanOrEqual(4);
  });

  it('maps a refused connection to llm_unavailable naming the URL, without retrying', { timeout: 5_000 }, async () => {
    // With retries, AsyncCaller would back off 1 s, 2 s, 4 s: the 5 s test timeout catches that.
    const url = await closedPortUrl();
    const error = await rejection(createOllamaEmbedder({ baseUrl: url, model: 'nomic-embed-text', maxRetries: 3 }).embedDocuments(['a']));
    expect(error).toMatchObject({ code: 'llm_unavailable', status: 503 });
    expect((error as Error).message).toContain(url);
  });

  it('maps a hung request to upstream_timeout and closes it', async () => {
    await fake.setFault('embed', { type: 'hang' });
    const error = await rejection(embedder({ timeoutMs: 150 }).embedQuery('q'));
    expect(error).toMatchObject({ code: 'upstream_timeout', status: 504 });
    await fake.whenIdle();
    expect(fake.callsTo('embed')[0]?.clientClosed).toBe(true);
  });

  it('retries a transient 500 and then succeeds', async () => {
    await fake.setFault('embed', { type: 'status', status: 500, times: 1 });
    const vectors = await embedder({ maxRetries: 1 }).embedDocuments(['a', 'b']);
    expect(vectors).toHaveLength(2);
    expect(fake.callsTo('embed').map((call) => call.status)).toEqual([500, 200]);
  });

  it('reports a lasting server error with its message, and starts no further batches', async () => {
    await fake.setFault('embed', { type: 'status', status: 500, error: 'llama runner process has terminated' });
    const error = await rejection(embedder({ batchSize: 2, concurrency: 1 }).embedDocuments(['a', 'b', 'c', 'd', 'e']));
    expect((error as Error).message).toContain('llama runner process has terminated');
    expect(fake.callsTo('embed')).toHaveLength(1);
  });

  it('stops on abort with an AbortError and closes the upstream request', async () => {
    await fake.setFault('embed', { type: 'hang' });
    const controller = new AbortController();
    const pending = embedder().embedDocuments(['a'], { signal: controller.signal });
    await fake.waitFor(() => fake.openRequests() === 1);
    controller.abort();
    expect(isAbortError(await rejection(pending))).toBe(true);
    await fake.whenIdle();
    expect(fake.callsTo('embed')[0]?.clientClosed).toBe(true);
  });

  it('honours the signal in embedQuery too (LangChain takes none)', async () => {
    await fake.setFault('embed', { type: 'hang' });
    const controller = new AbortController();
    const pending = embedder().embedQuery('q', { signal: controller.signal });
    await fake.waitFor(() => fake.openRequests() === 1);
    controller.abort();
    expect(isAbortError(await rejection(pending))).toBe(true);
    await fake.whenIdle();
    expect(fake.callsTo('embed')[0]?.clientClosed).toBe(true);
  });

  it('rejects at once for an already aborted signal, without a request', async () => {
    const error = await rejection(embedder().embedDocuments(['a'], { signal: AbortSignal.abort() }));
    expect(isAbortError(error)).toBe(true);
    expect(fake.calls).toHaveLength(0);
  });
});
