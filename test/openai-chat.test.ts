/**
 * The OpenAI-compatible chat stream (LLM_PROVIDER=openai) against the stand-in server: what goes
 * over the wire, the text pieces that come back, abort, timeouts, and every failure mapped to the
 * AppError the Ollama path raises for the same situation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { streamModelChat } from '../src/answer/chat-stream.ts';
import { streamOpenAIChat, type OpenAIChatSettings } from '../src/answer/openai-chat.ts';
import type { ModelPiece } from '../src/answer/model-reply.ts';
import type { ChatMessage } from '../src/answer/prompt.ts';
import { AppError } from '../src/errors.ts';
import { closedPortUrl } from './support/fake-ollama.ts';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIFault } from './support/fake-openai.ts';

let fake: FakeOpenAI;
let refusedUrl: string;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  refusedUrl = `${await closedPortUrl()}/v1`;
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'Answer only from the sources.' },
  { role: 'user', content: 'What does compose watch do?' },
  { role: 'assistant', content: 'It syncs files [1].' },
  { role: 'user', content: 'And on a package.json change?' },
];

const settings = (overrides: Partial<OpenAIChatSettings> = {}): OpenAIChatSettings => ({
  baseUrl: fake.url,
  apiKey: undefined,
  model: 'Qwen/Qwen2.5-7B-Instruct',
  numCtx: 4096,
  timeoutMs: 5_000,
  ...overrides,
});

async function drain<T>(stream: AsyncGenerator<T>): Promise<T[]> {
  const pieces: T[] = [];
  for await (const piece of stream) pieces.push(piece);
  return pieces;
}

async function failure(stream: AsyncGenerator<unknown>): Promise<AppError> {
  try {
    await drain(stream);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the stream to fail');
}

describe('streamOpenAIChat: what is sent and what comes back', () => {
  it('posts one streaming chat completion with the conversation, and yields the pieces in order', async () => {
    fake.setChatScript(['Compose', ' watch', ' rebuilds', ' [1].']);
    const pieces = await drain(streamOpenAIChat(settings(), MESSAGES, new AbortController().signal));
    expect(pieces).toEqual(['Compose', ' watch', ' rebuilds', ' [1].']);

    expect(fake.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /v1/chat/completions']);
    const [call] = fake.callsTo('chat');
    const body = call?.body as Record<string, unknown>;
    expect(body.model).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(body.stream).toBe(true);
    expect(body.messages).toEqual(MESSAGES);
    // Fields not every compatible server takes are never sent; nor is Ollama's num_ctx.
    expect(body).not.toHaveProperty('stream_options');
    expect(body).not.toHaveProperty('num_ctx');
    expect(JSON.stringify(body)).not.toContain('4096');
    // No key configured: no Authorization header at all.
    expect(call?.headers.authorization).toBeUndefined();
    expect(call?.finished).toBe(true);
  });

  it('yields reasoning_content deltas (DeepSeek, vLLM) as reasoning pieces, apart from the text', async () => {
    fake.setChatScript([{ reasoning: 'The user asks' }, { reasoning: ' about watch.' }, 'Compose', ' watch', ' rebuilds [1].']);
    const pieces = await drain(streamOpenAIChat(settings(), MESSAGES, new AbortController().signal));
    expect(pieces).toEqual([{ reasoning: 'The user asks' }, { reasoning: ' about watch.' }, 'Compose', ' watch', ' rebuilds [1].']);
  });

  it('sends the configured key as a bearer token, and a wrong key is an error naming OPENAI_API_KEY', async () => {
    const guarded = await startFakeOpenAI({ apiKey: 'sk-team-secret' });
    try {
      const pieces = await drain(streamOpenAIChat(settings({ baseUrl: guarded.url, apiKey: 'sk-team-secret' }), MESSAGES, new AbortController().signal));
      expect(pieces.join('')).toContain('[1]');
      expect(guarded.callsTo('chat')[0]?.headers.authorization).toBe('Bearer sk-team-secret');

      const error = await failure(streamOpenAIChat(settings({ baseUrl: guarded.url, apiKey: 'wrong' }), MESSAGES, new AbortController().signal));
      expect(error.code).toBe('llm_unavailable');
      expect(error.message).toContain('OPENAI_API_KEY');
      expect(error.message).not.toContain('wrong');
    } finally {
      await guarded.close();
    }
  });

  it('is the stream the engine gets for mode "openai"; mode "ollama" never calls this server', async () => {
    fake.setChatScript('one two');
    const target = { mode: 'openai', chat: settings() } as const;
    expect(await drain(streamModelChat(target, MESSAGES, new AbortController().signal))).toEqual(['one', ' two']);
    expect(fake.callsTo('chat')).toHaveLength(1);
  });
});

describe('streamOpenAIChat: stopping', () => {
  it('an abort mid-stream ends the stream quietly and closes the request upstream', async () => {
    fake.setChatScript(Array.from({ length: 50 }, (_, index) => ` w${index}`));
    fake.setFault('chat', { type: 'slow', tokenDelayMs: 30 });
    const controller = new AbortController();
    const pieces: ModelPiece[] = [];
    for await (const piece of streamOpenAIChat(settings(), MESSAGES, controller.signal)) {
      pieces.push(piece);
      if (pieces.length === 3) controller.abort();
    }
    expect(pieces).toHaveLength(3);
    await fake.waitFor(() => fake.callsTo('chat')[0]?.clientClosed === true);
    expect(fake.callsTo('chat')[0]?.finished).toBe(false);
  });

  it('a reader that stops early (return) closes the request upstream too', async () => {
    fake.setChatScript(Array.from({ length: 50 }, (_, index) => ` w${index}`));
    fake.setFault('chat', { type: 'slow', tokenDelayMs: 30 });
    const stream = streamOpenAIChat(settings(), MESSAGES, new AbortController().signal);
    expect((await stream.next()).value).toBe(' w0');
    await stream.return(undefined);
    await fake.waitFor(() => fake.callsTo('chat')[0]?.clientClosed === true);
  });

  it('an abort before the headers ends quietly as well', async () => {
    fake.setFault('chat', { type: 'hang' });
    const controller = new AbortController();
    const pending = drain(streamOpenAIChat(settings(), MESSAGES, controller.signal));
    await fake.waitFor(() => fake.callsTo('chat').length === 1);
    controller.abort();
    expect(await pending).toEqual([]);
    await fake.waitFor(() => fake.callsTo('chat')[0]?.clientClosed === true);
  });
});

describe('streamOpenAIChat: failures map to the Ollama path\'s error codes', () => {
  it.each<[string, FakeOpenAIFault | null, Partial<OpenAIChatSettings>, string, RegExp]>([
    ['an unknown model', null, { model: 'no-such-model' }, 'model_not_found', /"no-such-model" is not served .*CHAT_MODEL/],
    ['HTTP 500 before the stream', { type: 'status', status: 500, message: 'engine dead' }, {}, 'llm_unavailable', /HTTP 500.*engine dead/],
    ['HTTP 429', { type: 'status', status: 429, message: 'too many' }, {}, 'llm_unavailable', /HTTP 429/],
    ['no headers within the timeout', { type: 'hang' }, { timeoutMs: 300 }, 'upstream_timeout', /did not answer within 300 ms/],
    ['a stall after the first piece', { type: 'hang-mid-stream', after: 1 }, { timeoutMs: 300 }, 'upstream_timeout', /within 300 ms/],
    ['the connection dropped mid-stream', { type: 'drop-mid-stream', after: 2 }, {}, 'llm_unavailable', /not reachable|connection|ended/i],
    ['an error event mid-stream', { type: 'error-mid-stream', after: 2, message: 'CUDA out of memory' }, {}, 'llm_unavailable', /CUDA out of memory/],
    ['a stream cut without finish_reason or [DONE]', { type: 'end-without-finish', after: 2 }, {}, 'llm_unavailable', /before it finished/],
    ['a line that is not JSON', { type: 'malformed-line', after: 1 }, {}, 'llm_unavailable', /not JSON/],
    ['a connection reset on arrival', { type: 'reset' }, {}, 'llm_unavailable', /not reachable/],
  ])('%s', async (_name, fault, overrides, code, message) => {
    if (fault !== null) fake.setFault('chat', fault);
    const error = await failure(streamOpenAIChat(settings(overrides), MESSAGES, new AbortController().signal));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    // LangChain's pointer to its docs site is dropped: the message is for the person at the page.
    expect(error.message).not.toMatch(/Troubleshooting|langchain\.com/);
  });

  it('nothing listening: llm_unavailable naming the URL, at once (no retries)', async () => {
    const started = Date.now();
    const error = await failure(streamOpenAIChat(settings({ baseUrl: refusedUrl }), MESSAGES, new AbortController().signal));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain(refusedUrl);
    expect(error.message).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a base URL without /v1: a 404 that is not about a model says so', async () => {
    const error = await failure(streamOpenAIChat(settings({ baseUrl: fake.url.replace(/\/v1$/, '') }), MESSAGES, new AbortController().signal));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain('end in /v1');
  });

  it('pieces sent before a failure still arrive first', async () => {
    fake.setChatScript(['a', ' b', ' c', ' d']);
    fake.setFault('chat', { type: 'error-mid-stream', after: 2 });
    const pieces: ModelPiece[] = [];
    const error = await (async () => {
      try {
        for await (const piece of streamOpenAIChat(settings(), MESSAGES, new AbortController().signal)) pieces.push(piece);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(pieces).toEqual(['a', ' b']);
    expect((error as AppError).code).toBe('llm_unavailable');
  });
});
