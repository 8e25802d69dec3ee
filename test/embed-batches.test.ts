/**
 * remoteEmbedCalls: the embed calls both remote embedders (Ollama, OpenAI-compatible) share —
 * prefixes, batches in input order, one checked vector per input, the caller's abort as an
 * AbortError and every other failure through the embedder's own error mapping.
 */
import { describe, expect, it } from 'vitest';
import { remoteEmbedCalls, type RemoteEmbedding } from '../src/embeddings/embed-batches.ts';
import { isAbortError } from '../src/errors.ts';

const vectorOf = (text: string): number[] => [text.length, text.charCodeAt(text.length - 1)];

function remote(overrides: Partial<RemoteEmbedding> = {}) {
  const batches: string[][] = [];
  const queries: string[] = [];
  const calls = remoteEmbedCalls({
    prefixes: { document: 'doc: ', query: 'q: ' },
    batchSize: 2,
    concurrency: 2,
    describe: 'Stand-in with "m"',
    embedBatch: async (batch) => {
      batches.push(batch);
      return batch.map(vectorOf);
    },
    embedOne: async (text) => {
      queries.push(text);
      return vectorOf(text);
    },
    toError: (error) => new Error(`mapped: ${error instanceof Error ? error.message : String(error)}`),
    ...overrides,
  });
  return { calls, batches, queries };
}

describe('remoteEmbedCalls', () => {
  it('prefixes documents, sends them in batches and returns the vectors in input order', async () => {
    const { calls, batches } = remote();
    const progress: number[] = [];
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await calls.embedDocuments(texts, { onProgress: (done) => progress.push(done) });
    expect(vectors).toEqual(texts.map((text) => vectorOf(`doc: ${text}`)));
    expect(batches.map((batch) => batch.length).sort()).toEqual([1, 2, 2]);
    expect(batches.flat().every((text) => text.startsWith('doc: '))).toBe(true);
    expect(progress.at(-1)).toBe(5);
  });

  it('asks nothing for no documents', async () => {
    const { calls, batches } = remote();
    expect(await calls.embedDocuments([])).toEqual([]);
    expect(batches).toEqual([]);
  });

  it('prefixes a query with the query prefix', async () => {
    const { calls, queries } = remote();
    expect(await calls.embedQuery('what')).toEqual(vectorOf('q: what'));
    expect(queries).toEqual(['q: what']);
  });

  it.each([
    ['too few vectors', async (batch: string[]) => batch.slice(1).map(vectorOf)],
    ['an empty vector', async (batch: string[]) => batch.map(() => [])],
  ])('%s for a batch is a failure naming the server, through toError', async (_name, embedBatch) => {
    const { calls } = remote({ embedBatch });
    await expect(calls.embedDocuments(['a', 'b'])).rejects.toThrow('mapped: Stand-in with "m" returned');
  });

  it('an empty query vector is a failure too', async () => {
    const { calls } = remote({ embedOne: async () => [] });
    await expect(calls.embedQuery('x')).rejects.toThrow(/mapped: .* returned 1 embeddings for 1 inputs/);
  });

  it('a server failure goes through toError', async () => {
    const { calls } = remote({
      embedBatch: async () => {
        throw new Error('HTTP 500');
      },
    });
    await expect(calls.embedDocuments(['a'])).rejects.toThrow('mapped: HTTP 500');
  });

  it("the caller's abort is an AbortError, before or during a call, never a mapped failure", async () => {
    const aborted = new AbortController();
    aborted.abort();
    const { calls, batches } = remote();
    const before = await calls.embedDocuments(['a'], { signal: aborted.signal }).catch((error: unknown) => error);
    expect(isAbortError(before)).toBe(true);
    expect(batches).toEqual([]);

    const during = new AbortController();
    const hanging = remote({ embedOne: () => new Promise<number[]>(() => undefined) });
    const pending = hanging.calls.embedQuery('x', { signal: during.signal }).catch((error: unknown) => error);
    during.abort();
    expect(isAbortError(await pending)).toBe(true);
  });
});
