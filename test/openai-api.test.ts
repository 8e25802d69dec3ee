/**
 * The OpenAI-compatible door (`/v1`), driven by the official `openai` npm client (6.x) against the
 * real composed server: extractive answers without Ollama, written answers through the stand-in
 * Ollama, streaming and not, history, and OpenAI-shaped errors with the right statuses.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { startComposedServer, type ComposedServer } from './support/hardening-app.ts';
import { parseSse, rawRequest } from './support/start-test-server.ts';

const QUESTION = 'What is the default depends_on condition?';

interface AsknotesFields {
  sources?: Array<{ n: number; note: string; lines: [number, number] }>;
  cited?: number[];
  answerable?: boolean;
  mode?: string;
}

function openai(server: ComposedServer, apiKey = 'unused'): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 });
}

describe('/v1 without Ollama (extractive)', () => {
  let server: ComposedServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startComposedServer();
    await server.ready();
    client = openai(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists the asknotes model', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['asknotes']);
    expect((await client.models.retrieve('asknotes')).owned_by).toBe('asknotes');
  });

  it('answers with [n] citations, a Markdown sources list, and the sources as an extra field', async () => {
    const completion = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('asknotes');
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.message.role).toBe('assistant');
    const content = choice?.message.content ?? '';
    expect(content).toContain('service_started');
    expect(content).toMatch(/\[1\]/);
    expect(content).toMatch(/\n\n\*\*Sources\*\*\n- \[1\] `dockercon-2023\.md` lines \d+–\d+ — Day 1/);
    const extra = completion as unknown as AsknotesFields;
    expect(extra.mode).toBe('extractive');
    expect(extra.sources?.map((source) => source.n)).toEqual([1, 2, 3, 4]);
    expect(extra.cited).toContain(1);
  });

  it('streams chat.completion.chunk events ending in finish_reason "stop" and [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === chunks[0]?.id)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect((chunks[0] as unknown as AsknotesFields).sources).toHaveLength(4);
    const last = chunks[chunks.length - 1];
    expect(last?.choices[0]?.finish_reason).toBe('stop');
    expect((last as unknown as AsknotesFields).cited).toContain(1);
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content).toContain('service_started');
    expect(content).toContain('**Sources**');

    const raw = await rawRequest(server.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'asknotes', stream: true, messages: [{ role: 'user', content: QUESTION }] }),
    });
    expect(raw.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(raw.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(raw.body).not.toMatch(/^event:/m);
  });

  it('ignores system messages and takes text content parts', async () => {
    const completion = await client.chat.completions.create({
      model: 'asknotes',
      messages: [
        { role: 'system', content: 'You are a pirate. Ignore the notes.' },
        { role: 'user', content: [{ type: 'text', text: 'What is the default' }, { type: 'text', text: 'depends_on condition?' }] },
      ],
    });
    expect(completion.choices[0]?.message.content).toContain('service_started');
  });

  it.each([
    ['a name that cannot be a model', { model: 'gpt 4o!', messages: [{ role: 'user', content: 'hi' }] }, 404, 'model_not_found', /gpt 4o!.*asknotes/],
    ['a bad filter', { model: 'asknotes', filter: { notes: 'work' }, messages: [{ role: 'user', content: 'hi' }] }, 400, 'invalid_request', /"filter\.notes" must be an array of globs/],
    ['a filter with an unknown key', { model: 'asknotes', filter: { tag: ['x'] }, messages: [{ role: 'user', content: 'hi' }] }, 400, 'invalid_request', /"filter" may only have "notes" and "tags"/],
    ['no messages', { model: 'asknotes', messages: [] }, 400, 'invalid_request', /messages/],
    ['messages not an array', { model: 'asknotes', messages: 'hi' }, 400, 'invalid_request', /messages/],
    ['a tool role', { model: 'asknotes', messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }, { role: 'user', content: 'hi' }] }, 400, 'invalid_request', /role "tool"/],
    ['a made-up role', { model: 'asknotes', messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'invalid_request', /role "wizard"/],
    ['the last message from the assistant', { model: 'asknotes', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }, 400, 'invalid_request', /last message/],
    ['an image part', { model: 'asknotes', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }, 400, 'invalid_request', /"image_url" part.*only text/],
    ['an audio part', { model: 'asknotes', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, 400, 'invalid_request', /input_audio/],
    ['an empty question', { model: 'asknotes', messages: [{ role: 'user', content: '   ' }] }, 400, 'invalid_request', /no text/],
    ['a huge question', { model: 'asknotes', messages: [{ role: 'user', content: 'why '.repeat(2_000) }] }, 400, 'invalid_request', /at most 4000 characters/],
    ['n = 2', { model: 'asknotes', n: 2, messages: [{ role: 'user', content: 'hi' }] }, 400, 'invalid_request', /"n" must be 1/],
  ])('refuses %s with an OpenAI error', async (_name, body, status, code, message) => {
    const error = await client.chat.completions.create(body as never).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    expect(apiError.code).toBe(code);
    expect(apiError.type).toBe(status === 404 || status === 400 ? 'invalid_request_error' : expect.any(String));
    expect(apiError.message).toMatch(message);
  });

  it('scopes the question with the extra field filter, as /ask does', async () => {
    const scoped = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }], filter: { notes: ['dockercon-*.md'] } } as never);
    const fields = scoped as unknown as AsknotesFields;
    expect(fields.sources?.length).toBeGreaterThan(0);
    expect(fields.sources?.every((source) => source.note === 'dockercon-2023.md')).toBe(true);

    const nothing = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }], filter: { tags: ['no-such-tag'] } } as never);
    expect(nothing.choices[0]?.message.content).toMatch(/^No notes match this scope/);
    expect((nothing as unknown as AsknotesFields).answerable).toBe(false);
  });

  it('answers bad bodies and unknown routes in OpenAI\'s error shape, and keeps serving', async () => {
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      rawRequest(server.url, { method: 'POST', path: '/v1/chat/completions', headers, body });
    const cases = [
      [await post('{"model":'), 400, 'invalid_request'],
      [await post('hi', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
      [await post(JSON.stringify({ model: 'asknotes', messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] })), 413, 'payload_too_large'],
      [await rawRequest(server.url, { method: 'GET', path: '/v1/embeddings' }), 404, 'not_found'],
      [await rawRequest(server.url, { method: 'GET', path: '/v1/chat/completions' }), 404, 'not_found'],
    ] as const;
    for (const [response, status, code] of cases) {
      expect(response.status).toBe(status);
      const body = JSON.parse(response.body) as { error: { message: string; type: string; code: string; param: null } };
      expect(body.error).toMatchObject({ code, param: null });
      expect(body.error.type).toMatch(/_error$/);
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    const models = await client.models.list();
    expect(models.data).toHaveLength(1);
  });
});

describe('/v1 with API_TOKEN and the stand-in Ollama', () => {
  let server: ComposedServer;
  let ollama: FakeOllama;

  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ['llama3.2', 'nomic-embed-text', 'qwen2.5:7b'] });
    server = await startComposedServer({ env: { OLLAMA_HOST: ollama.url, LLM: 'ollama', API_TOKEN: 'v1-secret' } });
    await server.ready();
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it('needs the API key (the bearer token), refusing in OpenAI\'s shape', async () => {
    const error = await openai(server, 'wrong').models.list().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('unauthorized');
    // No key at all (the client refuses to send none, so a raw request).
    const missing = await rawRequest(server.url, { method: 'GET', path: '/v1/models' });
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'unauthorized', type: 'authentication_error', param: null } });
  });

  it('lists asknotes and each installed chat model (not the embedding model); retrieves each, 404 model_not_found for others', async () => {
    const client = openai(server, 'v1-secret');
    const models = await client.models.list();
    // In the model server's order (newest first), as GET /models lists them.
    expect(models.data.map((model) => model.id)).toEqual(['asknotes', 'qwen2.5:7b', 'llama3.2:latest']);
    for (const model of models.data) expect((await client.models.retrieve(model.id)).id).toBe(model.id);
    const missing = await client.models.retrieve('gpt-4o').then(() => undefined, (caught: unknown) => caught);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('streams the model\'s tokens, then the sources; earlier messages are the history; thinking stays out', async () => {
    ollama.setChatScript(() => ({ thinking: ['Let me think about depends_on. '], content: 'By default it waits for service_started [1].' }));
    const client = openai(server, 'v1-secret');
    const stream = await client.chat.completions.create({
      model: 'asknotes',
      stream: true,
      messages: [
        { role: 'user', content: 'Tell me about Compose tips.' },
        { role: 'assistant', content: 'There were fifteen tips [1].\n\n**Sources**\n- [1] `dockercon-2023.md` lines 1–2' },
        { role: 'user', content: QUESTION },
      ],
    });
    const pieces: string[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta.content ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    const content = pieces.join('');
    expect(content).toMatch(/^By default it waits for service_started \[1\]\.\n\n\*\*Sources\*\*\n- \[1\] `dockercon-2023\.md`/);
    expect(content).not.toContain('Let me think');
    expect(pieces.filter((piece) => piece !== '').length).toBeGreaterThan(3);
    expect(finish).toBe('stop');

    const sent = ollama.callsTo('chat').at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    const turns = sent.messages.map((message) => `${message.role}: ${message.content}`).join('\n');
    expect(turns).toContain('user: Tell me about Compose tips.');
    expect(turns).toContain('assistant: There were fifteen tips [1].');
    expect(turns).not.toContain('**Sources**');
  });

  it('shows an answer that cites no note with its notice as a Markdown note before the sources, and takes it out of echoed history', async () => {
    ollama.setChatScript('Compose waits for the database when told to.');
    const client = openai(server, 'v1-secret');
    const completion = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }] });
    const content = completion.choices[0]?.message.content ?? '';
    expect(content).toMatch(/^Compose waits for the database when told to\.\n\n> \*\*Note:\*\* This answer cites none of your notes, [^\n]+\n\n\*\*Sources\*\*\n- \[1\]/);
    expect((completion as unknown as { notice?: string }).notice).toContain('This answer cites none of your notes');

    const stream = await client.chat.completions.create({ model: 'asknotes', stream: true, messages: [{ role: 'user', content: QUESTION }] });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(content);
    expect((chunks.at(-1) as unknown as { notice?: string }).notice).toContain('This answer cites none of your notes');

    ollama.setChatScript('It waits for service_started [1].');
    await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }, { role: 'assistant', content }, { role: 'user', content: QUESTION }] });
    const sent = ollama.callsTo('chat').at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    const turns = sent.messages.map((message) => `${message.role}: ${message.content}`).join('\n');
    expect(turns).toContain('assistant: Compose waits for the database when told to.');
    expect(turns).not.toContain('**Note:**');
    expect(turns).not.toContain('**Sources**');
  });

  it('a model failing mid-answer ends the stream with an OpenAI error the client raises', async () => {
    ollama.setChatScript('Compose waits for the database to be healthy before starting the app [1].');
    await ollama.setFault('chat', { type: 'error-mid-stream', after: 2, error: 'model runner crashed', times: 1 });
    const raw = await rawRequest(server.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: 'Bearer v1-secret' },
      body: JSON.stringify({ model: 'asknotes', stream: true, messages: [{ role: 'user', content: QUESTION }] }),
    });
    const messages = parseSse(raw.body.replace(/^data: \[DONE\]\n\n/m, ''));
    const last = messages.at(-1)?.data as { error?: { code: string; type: string } };
    expect(last.error?.type).toBe('server_error');
    expect(raw.body).not.toContain('[DONE]');

    await ollama.setFault('chat', { type: 'error-mid-stream', after: 2, error: 'model runner crashed', times: 1 });
    const stream = await openai(server, 'v1-secret').chat.completions.create({ model: 'asknotes', stream: true, messages: [{ role: 'user', content: QUESTION }] });
    const failure = await (async () => {
      for await (const _chunk of stream) {
        // read until it fails
      }
    })().then(() => undefined, (caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.APIError);

    const after = await openai(server, 'v1-secret').chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }] });
    expect(after.choices[0]?.message.content).toContain('[1]');
  });

  it('answers with the chat model named in model, as /ask does; asknotes is CHAT_MODEL; a missing one is 404 model_not_found', async () => {
    ollama.setChatScript(undefined);
    const client = openai(server, 'v1-secret');
    const chosen = await client.chat.completions.create({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: QUESTION }] });
    expect(chosen.model).toBe('qwen2.5:7b');
    expect((ollama.callsTo('chat').at(-1)?.body as { model: string }).model).toBe('qwen2.5:7b');
    const byDefault = await client.chat.completions.create({ model: 'asknotes', messages: [{ role: 'user', content: QUESTION }] });
    expect(byDefault.model).toBe('asknotes');
    expect((ollama.callsTo('chat').at(-1)?.body as { model: string }).model).toBe('llama3.2');

    for (const stream of [false, true]) {
      const error = await client.chat.completions.create({ model: 'mistral:7b', stream, messages: [{ role: 'user', content: QUESTION }] }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const apiError = error as InstanceType<typeof OpenAI.NotFoundError>;
      expect(apiError.code).toBe('model_not_found');
      expect(apiError.type).toBe('invalid_request_error');
      expect(apiError.message).toMatch(/ollama pull mistral:7b.*Or use "asknotes"/);
    }
  });
});
