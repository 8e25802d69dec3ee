import { ChatOllama } from '@langchain/ollama';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeEmbedding, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

/**
 * The stand-in is checked with the real ollama-js client: if ollama-js accepts what it sends
 * (streams, errors, status codes), code tested against it will work against Ollama too.
 */
let fake: FakeOllama;
let client: Ollama;

beforeAll(async () => {
  fake = await startFakeOllama();
  client = new Ollama({ host: fake.url });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const cosine = (a: number[], b: number[]): number => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
const norm = (vector: number[]): number => Math.sqrt(cosine(vector, vector));

/** ollama-js's ResponseError is not exported: catch and return it. */
async function rejection(promise: Promise<unknown>): Promise<Error & { status_code?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { status_code?: number };
  }
  throw new Error('expected a rejection');
}

describe('plain routes', () => {
  it('answers GET / and HEAD / like Ollama', async () => {
    const response = await fetch(`${fake.url}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('Ollama is running');
    expect((await fetch(`${fake.url}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('reports its version through ollama-js, and HEAD /api/version works', async () => {
    expect(await client.version()).toEqual({ version: '0.12.6' });
    expect((await fetch(`${fake.url}/api/version`, { method: 'HEAD' })).status).toBe(200);
  });

  it('lists installed models with full names and details, newest first', async () => {
    fake.setModels(['nomic-embed-text', { name: 'llama3.2:1b' }]);
    const { models } = await client.list();
    expect(models.map((model) => model.name)).toEqual(['llama3.2:1b', 'nomic-embed-text:latest']);
    expect(models[1]?.details).toMatchObject({ family: 'nomic-bert', format: 'gguf' });
    expect(models[1]?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers unknown paths with a text 404 and wrong methods with a 405', async () => {
    const missing = await fetch(`${fake.url}/api/nothing`);
    expect([missing.status, await missing.text()]).toEqual([404, '404 page not found']);
    const wrongMethod = await fetch(`${fake.url}/api/chat`);
    expect([wrongMethod.status, await wrongMethod.text()]).toEqual([405, '405 method not allowed']);
  });

  it('rejects an empty or malformed body with 400 and an error key', async () => {
    const empty = await fetch(`${fake.url}/api/chat`, { method: 'POST' });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: 'missing request body' });
    const malformed = await fetch(`${fake.url}/api/embed`, { method: 'POST', body: '{nope' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toHaveProperty('error');
  });

  it('shows a model with its embedding length and capabilities, and 404s an unknown one', async () => {
    const shown = await client.show({ model: 'nomic-embed-text' });
    expect(shown.capabilities).toEqual(['embedding']);
    expect(shown.model_info).toMatchObject({ 'general.architecture': 'nomic-bert', 'nomic-bert.embedding_length': 768 });
    const error = await rejection(client.show({ model: 'nope' }));
    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe("model 'nope' not found");
  });
});

describe('embeddings', () => {
  it('returns one unit vector of the model size per input, in input order', async () => {
    const texts = ['compose watch rebuilds the service', 'healthchecks gate depends_on', 'the third text'];
    const batch = await client.embed({ model: 'nomic-embed-text', input: texts });
    expect(batch.model).toBe('nomic-embed-text');
    expect(batch.embeddings).toHaveLength(3);
    for (const vector of batch.embeddings) {
      expect(vector).toHaveLength(768);
      expect(norm(vector)).toBeCloseTo(1, 5);
    }
    const single = await client.embed({ model: 'nomic-embed-text', input: texts[1] ?? '' });
    expect(single.embeddings[0]).toEqual(batch.embeddings[1]);
    expect(batch.prompt_eval_count).toBeGreaterThan(0);
  });

  it('makes texts that share words closer than unrelated texts, and differs by model', async () => {
    const [query, related, unrelated] = (
      await client.embed({
        model: 'nomic-embed-text',
        input: ['how does compose watch work', 'compose watch syncs files and rebuilds', 'bananas are yellow fruit'],
      })
    ).embeddings as [number[], number[], number[]];
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
    const other = fakeEmbedding('all-minilm', 'how does compose watch work', 768);
    expect(other).not.toEqual(query);
  });

  it('cuts and renormalises to `dimensions`, and returns no vectors for empty input', async () => {
    const cut = await client.embed({ model: 'nomic-embed-text', input: 'hello world', dimensions: 256 });
    expect(cut.embeddings[0]).toHaveLength(256);
    expect(norm(cut.embeddings[0] ?? [])).toBeCloseTo(1, 5);
    expect((await client.embed({ model: 'nomic-embed-text', input: [] })).embeddings).toEqual([]);
  });

  it('truncates over-long input by default and rejects it with truncate:false', async () => {
    const long = 'word '.repeat(3000);
    const truncated = await client.embed({ model: 'nomic-embed-text', input: long });
    expect(truncated.embeddings).toHaveLength(1);
    const error = await rejection(client.embed({ model: 'nomic-embed-text', input: long, truncate: false }));
    expect(error.status_code).toBe(400);
    expect(error.message).toContain('exceeds');
  });

  it('answers an unknown model with the /api/embed wording and 404', async () => {
    const error = await rejection(client.embed({ model: 'mxbai-embed-large', input: 'x' }));
    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe('model "mxbai-embed-large" not found, try pulling it first');
  });

  it('rejects a non-string input with 400 invalid input type', async () => {
    const response = await fetch(`${fake.url}/api/embed`, {
      method: 'POST',
      body: JSON.stringify({ model: 'nomic-embed-text', input: [1, 2] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid input type' });
  });

  it('serves the legacy /api/embeddings without normalising', async () => {
    const { embedding } = await client.embeddings({ model: 'nomic-embed-text', prompt: 'hello world' });
    expect(embedding).toHaveLength(768);
    expect(norm(embedding)).toBeGreaterThan(1.5);
  });

  it('resolves model names as Ollama does: tag defaults to latest, case-insensitive', async () => {
    const result = await client.embed({ model: 'Nomic-Embed-Text:latest', input: 'x' });
    expect(result.model).toBe('Nomic-Embed-Text:latest');
    expect(result.embeddings[0]).toHaveLength(768);
  });
});

describe('chat', () => {
  it('streams the script token by token through ollama-js, ending with a done line and metrics', async () => {
    fake.setChatScript(['Compose', ' watch', ' rebuilds', ' [1].']);
    const stream = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'what is watch?' }], stream: true });
    const parts: string[] = [];
    let last: Awaited<ReturnType<typeof client.chat>> | undefined;
    for await (const part of stream) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.join('')).toBe('Compose watch rebuilds [1].');
    expect(parts).toHaveLength(5);
    expect(last).toMatchObject({ model: 'llama3.2', done: true, done_reason: 'stop', eval_count: 4 });
    expect(last?.prompt_eval_count).toBeGreaterThan(0);
    expect(last?.total_duration).toBeGreaterThan(0);
    const [call] = fake.callsTo('chat');
    expect(call?.body).toMatchObject({ model: 'llama3.2', stream: true, messages: [{ role: 'user', content: 'what is watch?' }] });
    expect(call).toMatchObject({ status: 200, finished: true, clientClosed: false, linesSent: 5 });
  });

  it('sends NDJSON, one JSON object per line, and streams when `stream` is omitted', async () => {
    const response = await fetch(`${fake.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text()).split('\n');
    expect(lines.pop()).toBe('');
    const parsed = lines.map((line) => JSON.parse(line) as { done: boolean; created_at: string });
    expect(parsed.filter((line) => line.done)).toHaveLength(1);
    expect(parsed.at(-1)?.done).toBe(true);
    expect(Number.isNaN(Date.parse(parsed[0]?.created_at ?? ''))).toBe(false);
  });

  it('answers stream:false with one object, and by default cites [1]', async () => {
    const response = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Why depends_on?' }] });
    expect(response.done).toBe(true);
    expect(response.message.content).toContain('[1]');
    expect(response.message.content).toContain('Why depends_on?');
  });

  it('passes the request to a script function and stops at num_predict with done_reason length', async () => {
    fake.setChatScript((request) => ({ content: `one two three four ${request.messages.length}` }));
    const response = await client.chat({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
      ],
      options: { num_predict: 2 },
    });
    expect(response.message.content).toBe('one two');
    expect(response.done_reason).toBe('length');
    fake.setChatScript((request) => `${request.messages.length} messages`);
    expect((await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'u' }] })).message.content).toBe('1 messages');
  });

  it("serves LangChain's ChatOllama, which always streams, with usage metadata", async () => {
    fake.setChatScript('Use depends_on with a healthcheck [2].');
    const reply = await new ChatOllama({ baseUrl: fake.url, model: 'llama3.2', numCtx: 8192 }).invoke('why?');
    expect(reply.content).toBe('Use depends_on with a healthcheck [2].');
    expect((reply as unknown as { usage_metadata?: { output_tokens: number } }).usage_metadata?.output_tokens).toBe(6);
    expect(fake.callsTo('chat')[0]?.body).toMatchObject({ stream: true, options: { num_ctx: 8192 } });
  });

  it('loads the model on an empty conversation', async () => {
    const response = await client.chat({ model: 'llama3.2', messages: [] });
    expect(response).toMatchObject({ done: true, done_reason: 'load' });
    const ps = await client.ps();
    expect(ps.models.map((model) => model.name)).toEqual(['llama3.2:latest']);
  });

  it('rejects an unknown model with 404 before the stream, and an embedding model with 400', async () => {
    const missing = await rejection(client.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }], stream: true }));
    expect(missing.name).toBe('ResponseError');
    expect(missing.status_code).toBe(404);
    expect(missing.message).toBe("model 'nope' not found");
    const embedOnly = await rejection(client.chat({ model: 'nomic-embed-text', messages: [{ role: 'user', content: 'x' }] }));
    expect(embedOnly.status_code).toBe(400);
    expect(embedOnly.message).toBe('"nomic-embed-text" does not support chat');
  });

  it('streams /api/generate with `response` and a context on the last line', async () => {
    fake.setChatScript('a b');
    const stream = await client.generate({ model: 'llama3.2', prompt: 'hi', stream: true });
    const parts: string[] = [];
    let context: number[] | undefined;
    for await (const part of stream) {
      parts.push(part.response ?? '');
      context = part.context;
    }
    expect(parts.join('')).toBe('a b');
    expect(context).toHaveLength(2);
  });
});

describe('faults', () => {
  const ask = { model: 'llama3.2', messages: [{ role: 'user', content: 'q' }] };

  it('returns an Ollama error body with the status, seen as ResponseError.status_code', async () => {
    await fake.setFault('chat', { type: 'status', status: 500, error: 'llama runner process has terminated' });
    const error = await rejection(client.chat({ ...ask, stream: true }));
    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(500);
    expect(error.message).toBe('llama runner process has terminated');
  });

  it('clears a fault after `times` requests', async () => {
    await fake.setFault('embed', { type: 'status', status: 503, times: 1 });
    expect((await rejection(client.embed({ model: 'nomic-embed-text', input: 'x' }))).status_code).toBe(503);
    expect((await client.embed({ model: 'nomic-embed-text', input: 'x' })).embeddings).toHaveLength(1);
  });

  it('sends an error line mid-stream, which ollama-js throws as a plain Error after the first tokens', async () => {
    fake.setChatScript(['a', 'b', 'c', 'd']);
    await fake.setFault('chat', { type: 'error-mid-stream', after: 2, error: 'runner crashed' });
    const stream = await client.chat({ ...ask, stream: true });
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const part of stream) seen.push(part.message.content);
      })(),
    );
    expect(seen).toEqual(['a', 'b']);
    expect(error.name).toBe('Error');
    expect(error.message).toBe('runner crashed');
    expect(fake.callsTo('chat')[0]?.status).toBe(200);
  });

  it('ends a stream without a done line, which ollama-js reports', async () => {
    await fake.setFault('chat', { type: 'end-without-done', after: 1 });
    const stream = await client.chat({ ...ask, stream: true });
    const error = await rejection((async () => { for await (const _ of stream) void _; })());
    expect(error.message).toBe('Did not receive done or success response in stream.');
  });

  it('drops the connection mid-stream, and does not count that as a client abort', async () => {
    await fake.setFault('chat', { type: 'drop-mid-stream', after: 1 });
    const stream = await client.chat({ ...ask, stream: true });
    await rejection((async () => { for await (const _ of stream) void _; })());
    await fake.whenIdle();
    expect(fake.callsTo('chat')[0]).toMatchObject({ finished: false, clientClosed: false, linesSent: 1 });
  });

  it('inserts a malformed line that ollama-js skips with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      fake.setChatScript(['x', 'y']);
      await fake.setFault('chat', { type: 'malformed-line', after: 1 });
      const stream = await client.chat({ ...ask, stream: true });
      const parts: string[] = [];
      for await (const part of stream) parts.push(part.message.content);
      expect(parts.join('')).toBe('xy');
      expect(warn).toHaveBeenCalledWith('invalid json: ', expect.stringContaining('not json'));
    } finally {
      warn.mockRestore();
    }
  });

  it('hangs before headers until the client gives up, and records the client closing', async () => {
    await fake.setFault('embed', { type: 'hang' });
    const controller = new AbortController();
    const pending = fetch(`${fake.url}/api/embed`, {
      method: 'POST',
      body: JSON.stringify({ model: 'nomic-embed-text', input: 'x' }),
      signal: controller.signal,
    });
    await fake.waitFor(() => fake.openRequests() === 1 && fake.calls[0]?.body !== undefined);
    expect(fake.calls[0]?.status).toBeUndefined();
    controller.abort();
    await expect(pending).rejects.toThrow();
    await fake.whenIdle();
    expect(fake.calls[0]).toMatchObject({ clientClosed: true, finished: false });
  });

  it('hangs mid-stream after the first lines', async () => {
    fake.setChatScript(['a', 'b', 'c']);
    await fake.setFault('chat', { type: 'hang-mid-stream', after: 2 });
    const stream = await client.chat({ ...ask, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.message.content).toBe('a');
    expect((await iterator.next()).value?.message.content).toBe('b');
    await fake.waitFor(() => fake.calls[0]?.linesSent === 2);
    expect(fake.openRequests()).toBe(1);
    stream.abort();
    await fake.whenIdle();
    expect(fake.calls[0]?.clientClosed).toBe(true);
  });

  it('refuses connections on "*" until the fault is cleared', async () => {
    await fake.setFault('*', { type: 'refuse' });
    const error = await rejection(fetch(`${fake.url}/api/version`));
    expect((error.cause as { code?: string } | undefined)?.code).toBe('ECONNREFUSED');
    await fake.setFault('*', null);
    expect(await client.version()).toEqual({ version: '0.12.6' });
  });

  it('resets the connection of one endpoint only', async () => {
    await fake.setFault('tags', { type: 'reset' });
    await expect(client.list()).rejects.toThrow();
    expect(await client.version()).toEqual({ version: '0.12.6' });
  });
});

describe('aborts', () => {
  it('sees an aborted ollama-js stream as closed by the client, with nothing left in flight', async () => {
    fake.setChatScript(Array.from({ length: 200 }, (_, index) => `t${index} `));
    fake.setLatency({ tokenMs: 20 });
    const stream = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'q' }], stream: true });
    let received = 0;
    const error = await rejection(
      (async () => {
        for await (const _ of stream) {
          received++;
          if (received === 3) stream.abort();
        }
      })(),
    );
    expect(error.name).toBe('AbortError');
    await fake.whenIdle();
    const [call] = fake.callsTo('chat');
    expect(call).toMatchObject({ clientClosed: true, finished: false });
    expect(call?.linesSent).toBeLessThan(200);
    expect(fake.openRequests()).toBe(0);
  });
});

describe('pull', () => {
  it('streams progress through ollama-js and installs the model', async () => {
    const stream = await client.pull({ model: 'all-minilm', stream: true });
    const statuses: string[] = [];
    for await (const progress of stream) statuses.push(progress.status);
    expect(statuses[0]).toBe('pulling manifest');
    expect(statuses.some((status) => /^pulling [0-9a-f]{12}$/.test(status))).toBe(true);
    expect(statuses.at(-1)).toBe('success');
    expect(fake.callsTo('pull')[0]?.body).toMatchObject({ name: 'all-minilm' });
    expect(fake.models()).toContain('all-minilm:latest');
  });

  it('fails for a model the registry lacks, in the stream or with 500', async () => {
    const stream = await client.pull({ model: 'no-such-model', stream: true });
    const error = await rejection((async () => { for await (const _ of stream) void _; })());
    expect(error.message).toBe('pull model manifest: file does not exist');
    const plain = await rejection(client.pull({ model: 'no-such-model' }));
    expect(plain.status_code).toBe(500);
    fake.setRegistry('offline');
    expect((await rejection(client.pull({ model: 'llama3.2' }))).message).toContain('no such host');
  });
});
