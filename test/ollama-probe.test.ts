import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalModelName, hasModel, probeOllama } from '../src/embeddings/ollama-probe.ts';
import { closedPortUrl, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

let fake: FakeOllama;
beforeAll(async () => {
  fake = await startFakeOllama({ models: ['llama3.2', 'nomic-embed-text', 'qwen2.5:7b'], version: '0.12.6' });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('probeOllama', () => {
  it('reports the version and the installed models, asking /api/version and /api/tags once each', async () => {
    const probe = await probeOllama({ baseUrl: fake.url, timeoutMs: 2_000 });
    expect(probe).toEqual({
      reachable: true,
      version: '0.12.6',
      models: expect.arrayContaining(['llama3.2:latest', 'nomic-embed-text:latest', 'qwen2.5:7b']) as unknown,
    });
    expect(probe.models).toHaveLength(3);
    expect(fake.calls.map((call) => `${call.method} ${call.path}`).sort()).toEqual(['GET /api/tags', 'GET /api/version']);
  });

  it('accepts a base URL with a trailing slash', async () => {
    expect((await probeOllama({ baseUrl: `${fake.url}/` })).reachable).toBe(true);
  });

  it('says "connection refused" when nothing listens', async () => {
    const probe = await probeOllama({ baseUrl: await closedPortUrl(), timeoutMs: 2_000 });
    expect(probe).toEqual({ reachable: false, models: [], error: 'connection refused' });
  });

  it('gives up after timeoutMs when Ollama hangs, closing its request', async () => {
    await fake.setFault('tags', { type: 'hang' });
    const probe = await probeOllama({ baseUrl: fake.url, timeoutMs: 150 });
    expect(probe.reachable).toBe(false);
    expect(probe.error).toBe('no answer within 150 ms');
    expect(probe.version).toBe('0.12.6');
    await fake.whenIdle();
    expect(fake.callsTo('tags')[0]?.clientClosed).toBe(true);
  });

  it('is not fooled by an HTTP server that is not Ollama', async () => {
    const probe = await probeOllama({ baseUrl: `${fake.url}/elsewhere` });
    expect(probe.reachable).toBe(false);
    expect(probe.error).toMatch(/HTTP 404.*Ollama server/);
  });

  it('reports a server error on /api/tags as unreachable', async () => {
    await fake.setFault('tags', { type: 'status', status: 500 });
    const probe = await probeOllama({ baseUrl: fake.url });
    expect(probe).toMatchObject({ reachable: false, models: [] });
    expect(probe.error).toContain('HTTP 500');
  });

  it("propagates the caller's abort as an AbortError instead of reporting Ollama down", async () => {
    await fake.setFault('*', { type: 'hang' });
    const controller = new AbortController();
    const probing = probeOllama({ baseUrl: fake.url, timeoutMs: 5_000, signal: controller.signal });
    await fake.waitFor(() => fake.openRequests() === 2);
    controller.abort();
    await expect(probing).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('hasModel', () => {
  const installed = ['llama3.2:latest', 'nomic-embed-text:latest', 'qwen2.5:7b', 'hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M'];

  it.each([
    ['llama3.2', true],
    ['llama3.2:latest', true],
    ['Llama3.2', true],
    ['library/llama3.2', true],
    ['registry.ollama.ai/library/llama3.2:latest', true],
    ['llama3.2:1b', false],
    ['llama3', false],
    ['qwen2.5', false],
    ['qwen2.5:7b', true],
    ['QWEN2.5:7B', true],
    ['hf.co/bartowski/llama-3.2-1b-gguf:q4_k_m', true],
    ['hf.co/bartowski/llama-3.2-1b-gguf', false],
    ['mxbai-embed-large', false],
  ])('%s installed: %s', (name, expected) => {
    expect(hasModel(installed, name)).toBe(expected);
  });

  it('canonicalises names with the default host, namespace and tag', () => {
    expect(canonicalModelName('nomic-embed-text')).toBe('registry.ollama.ai/library/nomic-embed-text:latest');
    expect(canonicalModelName('me/model:v2')).toBe('registry.ollama.ai/me/model:v2');
    expect(canonicalModelName('localhost:5000/me/model')).toBe('localhost:5000/me/model:latest');
  });
});
