/**
 * The answer mode (SPEC `LLM`): auto | ollama | none, decided from probes of the stand-in Ollama,
 * with the fallback to extractive answers when Ollama fails under LLM=auto.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import { createModeTracker, type ModeConfig } from '../src/answer/answer-mode.ts';
import { parseConfig } from '../src/config.ts';
import { AppError } from '../src/errors.ts';
import { buildNotesIndex, collectEvents, engineDeps, type NotesIndex } from './support/answer-fixtures.ts';
import { closedPortUrl, startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

let ollama: FakeOllama;
let refusedUrl: string;

beforeAll(async () => {
  ollama = await startFakeOllama();
  refusedUrl = await closedPortUrl();
});
afterAll(async () => {
  await ollama?.close();
});
afterEach(async () => {
  await ollama.reset();
});

function config(env: Record<string, string>): ModeConfig {
  return parseConfig({ OLLAMA_HOST: ollama.url, OLLAMA_CONNECT_TIMEOUT_MS: '1000', ...env });
}

function tracker(env: Record<string, string>) {
  const lines: string[] = [];
  return { modes: createModeTracker(config(env), (line) => lines.push(line)), lines };
}

const unavailable = new AppError('llm_unavailable', 'Ollama at … is not reachable (ECONNREFUSED).');

describe('LLM=none', () => {
  it('always extractive, with a notice that names the fix and the setting', async () => {
    const { modes } = tracker({ LLM: 'none' });
    for (const state of [modes.mode(), await modes.check()]) {
      expect(state.mode).toBe('extractive');
      if (state.mode !== 'extractive') continue;
      expect(state.notice).toContain('ollama pull llama3.2');
      expect(state.notice).toContain('LLM=none');
    }
    expect(modes.markUnavailable(unavailable)).toBeUndefined();
  });
});

describe('LLM=ollama', () => {
  it('always Ollama with the configured chat settings, even before or without a probe', async () => {
    const { modes } = tracker({ LLM: 'ollama', OLLAMA_HOST: refusedUrl, CHAT_MODEL: 'qwen3:8b', NUM_CTX: '4096', OLLAMA_TIMEOUT_MS: '1234' });
    const expected = { mode: 'ollama', chat: { baseUrl: refusedUrl, model: 'qwen3:8b', numCtx: 4096, timeoutMs: 1234, keepAlive: '30m' } };
    expect(modes.mode()).toEqual(expected);
    expect(await modes.check()).toEqual(expected);
    expect(modes.server()).toMatchObject({ reachable: false, fix: 'ollama serve' });
    // Failures are errors under LLM=ollama: no fallback notice.
    expect(modes.markUnavailable(unavailable)).toBeUndefined();
    expect(modes.mode()).toEqual(expected);
  });
});

describe('LLM=auto', () => {
  it('Ollama once a probe finds it with the chat model', async () => {
    const { modes } = tracker({ LLM: 'auto' });
    expect(modes.mode().mode).toBe('extractive');
    const state = await modes.check();
    expect(state).toMatchObject({ mode: 'ollama', chat: { baseUrl: ollama.url, model: 'llama3.2' } });
    expect(modes.server()).toMatchObject({ url: ollama.url, reachable: true, version: '0.12.6', missingModels: [] });
    expect(modes.server().fix).toBeUndefined();
  });

  it('extractive when the chat model is missing, naming ollama pull', async () => {
    ollama.setModels(['nomic-embed-text']);
    const { modes } = tracker({ LLM: 'auto' });
    const state = await modes.check();
    expect(state.mode).toBe('extractive');
    expect(state.mode === 'extractive' && state.notice).toContain('ollama pull llama3.2');
    expect(modes.server()).toMatchObject({ reachable: true, missingModels: ['llama3.2'], fix: 'ollama pull llama3.2' });
  });

  it('extractive when Ollama is not reachable, saying so', async () => {
    const { modes } = tracker({ LLM: 'auto', OLLAMA_HOST: refusedUrl });
    const state = await modes.check();
    expect(state.mode).toBe('extractive');
    expect(state.mode === 'extractive' && state.notice).toMatch(/not reachable/);
    expect(modes.server()).toMatchObject({ reachable: false, missingModels: [], fix: 'ollama serve' });
  });

  it('a failed answer switches to extractive until the next probe finds Ollama again', async () => {
    const { modes } = tracker({ LLM: 'auto' });
    expect((await modes.check()).mode).toBe('ollama');
    const notice = modes.markUnavailable(unavailable);
    expect(notice).toMatch(/ollama pull llama3.2/);
    expect(modes.mode()).toEqual({ mode: 'extractive', notice });
    expect(modes.server()).toMatchObject({ reachable: false, error: unavailable.message });
    expect((await modes.check()).mode).toBe('ollama');
  });

  it('logs one line per change of mode, not per probe', async () => {
    const { modes, lines } = tracker({ LLM: 'auto' });
    await modes.check();
    await modes.check();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Ollama llama3.2/);
    ollama.setModels(['nomic-embed-text']);
    await modes.check();
    await modes.check();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/extractive/);
  });

  it.each(['llama3.2', 'llama3.2:latest', 'LLAMA3.2'])('CHAT_MODEL=%s matches the installed llama3.2:latest', async (model) => {
    const { modes } = tracker({ LLM: 'auto', CHAT_MODEL: model });
    expect((await modes.check()).mode).toBe('ollama');
  });
});

describe('LLM=auto with the answer engine', () => {
  let notes: NotesIndex;
  beforeAll(async () => {
    notes = await buildNotesIndex();
  });
  afterAll(async () => {
    await notes?.cleanup();
  });

  it('Ollama going away mid-session: that answer and the next are extractive, without errors', async () => {
    const { modes } = tracker({ LLM: 'auto' });
    await modes.check();
    const answer = createAnswerEngine(
      engineDeps(notes, () => modes.mode(), { onOllamaUnavailable: (error) => modes.markUnavailable(error) }),
    );
    const question = { question: 'What is the default depends_on condition in compose?' };
    const first = await collectEvents(answer(question, { signal: new AbortController().signal }));
    expect(first[0]).toMatchObject({ type: 'sources', mode: 'ollama' });

    await ollama.setFault('*', { type: 'refuse' });
    const second = await collectEvents(answer(question, { signal: new AbortController().signal }));
    expect(second[0]).toMatchObject({ type: 'sources', mode: 'extractive', model: null });
    expect(second.at(-1)).toMatchObject({ type: 'done', answerable: true });

    const chatCalls = ollama.callsTo('chat').length;
    const third = await collectEvents(answer(question, { signal: new AbortController().signal }));
    expect(third[0]).toMatchObject({ type: 'sources', mode: 'extractive' });
    // Known to be down: the next answer does not try Ollama again before a probe says it is back.
    expect(ollama.callsTo('chat')).toHaveLength(chatCalls);

    await ollama.setFault('*', null);
    await modes.check();
    const fourth = await collectEvents(answer(question, { signal: new AbortController().signal }));
    expect(fourth[0]).toMatchObject({ type: 'sources', mode: 'ollama' });
  });
});
