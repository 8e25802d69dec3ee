/**
 * The answer engine against the stand-in Ollama (real HTTP on port 0) and a real index of the
 * repository's notes: the event stream contract, what is sent to /api/chat, per-answer aborts,
 * fault mapping, the LLM=auto fallback, and follow-up questions with history.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import type { AnswerEvent, DoneEvent, ErrorEvent, SourcesEvent } from '../src/answer/answer-types.ts';
import { NOT_IN_NOTES, SYSTEM_PROMPT } from '../src/answer/prompt.ts';
import { retrieve } from '../src/answer/retrieve.ts';
import { AppError } from '../src/errors.ts';
import {
  EXTRACTIVE_MODE,
  buildNotesIndex,
  collectEvents,
  engineDeps,
  eventTypes,
  ollamaMode,
  type NotesIndex,
} from './support/answer-fixtures.ts';
import { closedPortUrl, startFakeOllama, type FakeCall, type FakeChatMessage, type FakeOllama } from './support/fake-ollama.ts';

/** Questions the notes answer (the evidence judge lets them through, so Ollama is asked). */
const DEPENDS_ON = 'What is the default depends_on condition in compose?';
const OPEN_SOURCE = 'How many years has Docker been an open-source project?';

let notes: NotesIndex;
let ollama: FakeOllama;

beforeAll(async () => {
  [notes, ollama] = await Promise.all([buildNotesIndex(), startFakeOllama()]);
});
afterAll(async () => {
  await ollama?.close();
  await notes?.cleanup();
});
afterEach(async () => {
  await ollama.reset();
});

function signal(): AbortSignal {
  return new AbortController().signal;
}

function sourcesOf(events: readonly AnswerEvent[]): SourcesEvent {
  const first = events[0];
  if (first?.type !== 'sources') throw new Error(`expected a sources event first, got ${first?.type}`);
  return first;
}

function terminal(events: readonly AnswerEvent[]): DoneEvent | ErrorEvent {
  const last = events.at(-1);
  if (last?.type !== 'done' && last?.type !== 'error') throw new Error(`expected a terminal event, got ${last?.type}`);
  return last;
}

/** sources, delta…, then exactly one terminal event, and nothing after it. */
function expectWellFormed(events: readonly AnswerEvent[]): void {
  const types = eventTypes(events);
  expect(types[0]).toBe('sources');
  expect(types.filter((type) => type === 'sources')).toHaveLength(1);
  expect(types.filter((type) => type === 'done' || type === 'error')).toHaveLength(1);
  expect(['done', 'error']).toContain(types.at(-1));
  expect(types.slice(1, -1).every((type) => type === 'delta')).toBe(true);
}

function chatMessages(call: FakeCall | undefined): FakeChatMessage[] {
  return ((call?.body as { messages?: FakeChatMessage[] } | undefined)?.messages ?? []) as FakeChatMessage[];
}

function lastUserMessage(call: FakeCall | undefined): string {
  return [...chatMessages(call)].reverse().find((message) => message.role === 'user')?.content ?? '';
}

async function expectThrownBeforeFirstEvent(events: AsyncIterable<AnswerEvent>): Promise<AppError> {
  const iterator = events[Symbol.asyncIterator]();
  const error = await iterator.next().then(
    (step) => {
      throw new Error(`expected the answer to throw before its first event, got ${JSON.stringify(step.value)}`);
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('grounded answers from the stand-in Ollama', () => {
  it('streams sources, deltas and one done event; cited names only existing sources', async () => {
    ollama.setChatScript(['The default', ' is `service_started`', ' [1]', ', see also [9].']);
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));

    expectWellFormed(events);
    expect(eventTypes(events)).toEqual(['sources', 'delta', 'delta', 'delta', 'done']);
    const sources = sourcesOf(events);
    expect(sources).toMatchObject({ mode: 'ollama', model: 'llama3.2', embedder: notes.embedder.id });
    expect(sources.sources.map((source) => source.n)).toEqual([1, 2, 3, 4]);
    const done = terminal(events) as DoneEvent;
    // The deltas are the model's tokens as they came, except that a marker is held until it is complete
    // (` [1]` could still become a link) and [9], naming no source among 4, is dropped (issue 12).
    const deltas = events.flatMap((event) => (event.type === 'delta' ? [event.text] : []));
    expect(deltas).toEqual(['The default', ' is `service_started`', ' [1], see also.']);
    expect(done.answer).toBe(deltas.join(''));
    expect(done.answerable).toBe(true);
    expect(done.cited).toEqual([1]);
    expect(done.notice).toBeUndefined();
    expect(done.timings.total_ms).toBeGreaterThanOrEqual(done.timings.generation_ms);
  });

  it('sends the numbered, fenced sources, the question and num_ctx to /api/chat', async () => {
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { numCtx: 6144 })));
    const events = await collectEvents(answer({ question: DEPENDS_ON, k: 3 }, { signal: signal() }));
    const { sources } = sourcesOf(events);
    expect(sources).toHaveLength(3);

    const calls = ollama.callsTo('chat');
    expect(calls).toHaveLength(1);
    const body = calls[0]?.body as { model: string; stream: boolean; options: Record<string, unknown> };
    expect(body.model).toBe('llama3.2');
    expect(body.stream).toBe(true);
    expect(body.options.num_ctx).toBe(6144);
    const messages = chatMessages(calls[0]);
    expect(messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    const prompt = lastUserMessage(calls[0]);
    for (const source of sources) {
      // Every source the user is shown is in the prompt, under its number, with where it came from.
      expect(prompt).toContain(`<source n="${source.n}" from="${source.note}, lines ${source.lines[0]}-${source.lines[1]}`);
      expect(prompt).toContain(source.text);
    }
    expect(prompt.indexOf('<source n="1"')).toBeLessThan(prompt.indexOf('<source n="2"'));
    expect(prompt).not.toContain('<source n="4"');
    expect(prompt.trimEnd().endsWith(`Question: ${DEPENDS_ON}`)).toBe(true);
  });

  it('sends the earlier turns as chat messages before the question', async () => {
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const history = [
      { role: 'user' as const, content: 'What does compose watch do?' },
      { role: 'assistant' as const, content: 'It syncs files into running containers [1].' },
    ];
    await collectEvents(answer({ question: DEPENDS_ON, history }, { signal: signal() }));
    const messages = chatMessages(ollama.callsTo('chat')[0]);
    expect(messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages.slice(1, 3).map((message) => message.content)).toEqual(history.map((turn) => turn.content));
  });

  it('a model answer saying the notes lack the answer gives answerable:false and cites nothing', async () => {
    ollama.setChatScript(NOT_IN_NOTES);
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expectWellFormed(events);
    expect(terminal(events)).toMatchObject({ type: 'done', answer: NOT_IN_NOTES, answerable: false, cited: [] });
  });

  it('abstains without asking Ollama when the notes do not cover the question', async () => {
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: 'What is the capital of France?' }, { signal: signal() }));
    expectWellFormed(events);
    const done = terminal(events) as DoneEvent;
    expect(done).toMatchObject({ answerable: false, cited: [] });
    expect(done.answer).toMatch(/do not (seem to )?cover/);
    expect(done.answer).toContain('dockercon-2023.md');
    expect(ollama.callsTo('chat')).toHaveLength(0);
  });

  it('with a model, only clearly absent evidence stops the question before it; extractive answers need more', async () => {
    // One of the two words is in the notes: coverage about 0.17, between the two gates.
    const small = await buildNotesIndex({ 'alpha.md': '# Alpha\n\nThe zebra grazes near the river bank every morning.\n' });
    try {
      const question = 'zebra lantern?';
      ollama.setChatScript('The notes only mention a zebra [1].');
      const withModel = terminal(await collectEvents(createAnswerEngine(engineDeps(small, ollamaMode(ollama.url)))({ question }, { signal: signal() })));
      expect(withModel).toMatchObject({ answerable: true, answer: 'The notes only mention a zebra [1].' });
      expect(ollama.callsTo('chat')).toHaveLength(1);
      const extractive = terminal(await collectEvents(createAnswerEngine(engineDeps(small, EXTRACTIVE_MODE))({ question }, { signal: signal() })));
      expect(extractive).toMatchObject({ answerable: false });
      // Nothing of the question in the notes: no model call either.
      const absent = terminal(await collectEvents(createAnswerEngine(engineDeps(small, ollamaMode(ollama.url)))({ question: 'lantern harbour?' }, { signal: signal() })));
      expect(absent).toMatchObject({ answerable: false });
      expect(ollama.callsTo('chat')).toHaveLength(1);
    } finally {
      await small.cleanup();
    }
  });

  it('rag:false asks the model directly: no sources, no notes in the prompt', async () => {
    ollama.setChatScript('Paris.');
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: 'What is the capital of France?', rag: false }, { signal: signal() }));
    expectWellFormed(events);
    expect(sourcesOf(events)).toMatchObject({ sources: [], mode: 'ollama', model: 'llama3.2' });
    expect(terminal(events)).toMatchObject({ type: 'done', answer: 'Paris.', cited: [] });
    const messages = chatMessages(ollama.callsTo('chat')[0]);
    expect(messages).toEqual([{ role: 'user', content: 'What is the capital of France?' }]);
  });

  it('rag:false without a chat model is llm_unavailable, thrown before any event', async () => {
    const answer = createAnswerEngine(engineDeps(notes, EXTRACTIVE_MODE));
    const error = await expectThrownBeforeFirstEvent(answer({ question: 'hello', rag: false }, { signal: signal() }));
    expect(error.code).toBe('llm_unavailable');
  });
});

describe('aborts', () => {
  it('aborting one of two concurrent answers closes only its upstream request', async () => {
    // Slow enough that both answers are mid-stream together.
    ollama.setLatency({ tokenMs: 25 });
    ollama.setChatScript((request) => {
      const question = String(request.messages.at(-1)?.content ?? '');
      const word = question.includes(`Question: ${OPEN_SOURCE}`) ? 'ten' : 'started';
      return Array.from({ length: 20 }, (_, position) => `${word}${position} `).concat('[1]');
    });
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const first = new AbortController();
    const second = new AbortController();

    const firstEvents: AnswerEvent[] = [];
    const firstRun = (async () => {
      for await (const event of answer({ question: DEPENDS_ON }, { signal: first.signal })) {
        firstEvents.push(event);
        if (event.type === 'delta') first.abort();
      }
    })();
    const secondRun = collectEvents(answer({ question: OPEN_SOURCE }, { signal: second.signal }));
    await firstRun;

    const callFor = (question: string) =>
      ollama.callsTo('chat').find((call) => lastUserMessage(call).includes(`Question: ${question}`));
    // The aborted answer's HTTP request is closed by the client, while the other one is still open.
    await ollama.waitFor(() => callFor(DEPENDS_ON)?.clientClosed === true);
    const secondEvents = await secondRun;

    expect(ollama.callsTo('chat')).toHaveLength(2);
    expect(ollama.peakOpenRequests()).toBeGreaterThanOrEqual(2);
    const aborted = callFor(DEPENDS_ON);
    const completed = callFor(OPEN_SOURCE);
    expect(aborted).toMatchObject({ clientClosed: true, finished: false });
    expect(completed).toMatchObject({ clientClosed: false, finished: true });
    expect(aborted!.linesSent).toBeLessThan(completed!.linesSent);

    // An abort is a stop, not a failure: the aborted stream ends quietly, without a terminal event.
    expect(eventTypes(firstEvents).slice(0, 2)).toEqual(['sources', 'delta']);
    expect(firstEvents.some((event) => event.type === 'error' || event.type === 'done')).toBe(false);
    expectWellFormed(secondEvents);
    expect(terminal(secondEvents)).toMatchObject({ type: 'done', cited: [1] });
    expect((terminal(secondEvents) as DoneEvent).answer).toContain('ten19');
  });

  it('an answer aborted before Ollama sends its first token ends quietly and closes the request', async () => {
    await ollama.setFault('chat', { type: 'hang' });
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const controller = new AbortController();
    const run = collectEvents(answer({ question: DEPENDS_ON }, { signal: controller.signal }));
    await ollama.waitFor(() => ollama.callsTo('chat').length === 1);
    controller.abort();
    const events = await run;
    expect(events.some((event) => event.type === 'error')).toBe(false);
    await ollama.waitFor(() => ollama.callsTo('chat')[0]?.clientClosed === true);
  });

  it('a consumer that stops reading early releases the upstream request', async () => {
    ollama.setLatency({ tokenMs: 25 });
    ollama.setChatScript(Array.from({ length: 40 }, (_, position) => `word${position} `));
    // A long idle timeout: the request must be closed because the reader left, not because Ollama was slow.
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { timeoutMs: 30_000 })));
    for await (const event of answer({ question: DEPENDS_ON }, { signal: signal() })) {
      if (event.type === 'delta') break;
    }
    await ollama.waitFor(() => ollama.callsTo('chat')[0]?.clientClosed === true, 3_000);
  });
});

describe('Ollama failures', () => {
  it('connection refused: llm_unavailable, thrown before the first event', async () => {
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(await closedPortUrl())));
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('llm_unavailable');
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/not reachable/);
  });

  it('a missing model: model_not_found naming ollama pull', async () => {
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { model: 'qwen3:8b' })));
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('model_not_found');
    expect(error.message).toContain('ollama pull qwen3:8b');
    expect(ollama.callsTo('chat')[0]?.status).toBe(404);
  });

  it('Ollama failing with its own error (HTTP 500) says what Ollama said, not "unreachable"', async () => {
    await ollama.setFault('chat', { type: 'status', status: 500, error: 'llama runner process has terminated: exit status 2' });
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toContain('llama runner process has terminated');
    expect(error.message).not.toMatch(/not reachable/);
  });

  it('no first token within the timeout: upstream_timeout, and the request is closed', async () => {
    await ollama.setFault('chat', { type: 'hang' });
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { timeoutMs: 300 })));
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('upstream_timeout');
    expect(error.status).toBe(504);
    expect(error.message).toContain('300 ms');
    await ollama.waitFor(() => ollama.callsTo('chat')[0]?.clientClosed === true);
  });

  it('silence after some tokens: an upstream_timeout error event ends the stream', async () => {
    await ollama.setFault('chat', { type: 'hang-mid-stream', after: 2 });
    ollama.setChatScript(['one', ' two', ' three']);
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { timeoutMs: 300 })));
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expectWellFormed(events);
    expect(eventTypes(events)).toEqual(['sources', 'delta', 'delta', 'error']);
    expect(terminal(events)).toMatchObject({ type: 'error', code: 'upstream_timeout' });
  });

  it.each([
    ['an error line mid-stream', { type: 'error-mid-stream', after: 2, error: 'model runner crashed' } as const, /model runner crashed/],
    ['a dropped connection', { type: 'drop-mid-stream', after: 2 } as const, /not reachable/],
    ['a stream that ends without done', { type: 'end-without-done', after: 2 } as const, /done/],
  ])('%s after the first tokens becomes an error event, not a done event', async (_name, fault, message) => {
    await ollama.setFault('chat', fault);
    ollama.setChatScript(['one', ' two', ' three', ' four']);
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expectWellFormed(events);
    expect(eventTypes(events)).toEqual(['sources', 'delta', 'delta', 'error']);
    const error = terminal(events) as ErrorEvent;
    expect(error.code).toBe('llm_unavailable');
    expect(error.message).toMatch(message);
  });

  it('LLM=auto: Ollama refusing the connection gives an extractive answer with the notice', async () => {
    const failures: AppError[] = [];
    const notice = 'Extractive answer: Ollama is not reachable (test notice).';
    const answer = createAnswerEngine(
      engineDeps(notes, ollamaMode(await closedPortUrl()), {
        onOllamaUnavailable: (error) => {
          failures.push(error);
          return notice;
        },
      }),
    );
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expectWellFormed(events);
    expect(sourcesOf(events)).toMatchObject({ mode: 'extractive', model: null, notice });
    const done = terminal(events) as DoneEvent;
    expect(done.answerable).toBe(true);
    expect(done.answer).toContain('service_started');
    expect(done.answer).toMatch(/\[1\]/);
    expect(done.cited).toContain(1);
    expect(failures.map((failure) => failure.code)).toEqual(['llm_unavailable']);
  });

  it('LLM=auto does not hide a missing model: model_not_found is still thrown', async () => {
    let asked = 0;
    const answer = createAnswerEngine(
      engineDeps(notes, ollamaMode(ollama.url, { model: 'mistral' }), {
        onOllamaUnavailable: () => {
          asked += 1;
          return 'extractive';
        },
      }),
    );
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('model_not_found');
    expect(asked).toBe(0);
  });
});

describe('extractive answers on the real notes', () => {
  it('shows the line that answers, with its [n] marker and the notice', async () => {
    const answer = createAnswerEngine(engineDeps(notes, EXTRACTIVE_MODE));
    const events = await collectEvents(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expectWellFormed(events);
    expect(sourcesOf(events)).toMatchObject({ mode: 'extractive', model: null, notice: EXTRACTIVE_MODE.notice });
    const done = terminal(events) as DoneEvent;
    const line = done.answer.split('\n').find((text) => text.includes('default is `service_started`'));
    expect(line).toBeDefined();
    expect(line).toMatch(/\[\d+\]$/);
    expect(done.cited.length).toBeGreaterThan(0);
    const cited = new Set(done.cited);
    for (const marker of done.answer.matchAll(/\[(\d+)\]/g)) expect(cited.has(Number(marker[1]))).toBe(true);
  });

  it('throws index_not_ready while there is no index', async () => {
    const answer = createAnswerEngine({ current: () => undefined, mode: () => EXTRACTIVE_MODE, topK: 4 });
    const error = await expectThrownBeforeFirstEvent(answer({ question: DEPENDS_ON }, { signal: signal() }));
    expect(error.code).toBe('index_not_ready');
  });
});

describe('follow-up questions with history', () => {
  const FIRST_TURN = 'What is the default depends_on condition in compose?';
  const FOLLOW_UP = 'and how do I make it optional?';
  const EARLIER_TOPIC = '15 Tips and Tricks to Improve Your Compose Experience';

  it('retrieves the notes of the earlier topic, which the bare follow-up does not find', async () => {
    const earlier = await retrieve(notes.index, notes.embedder, FIRST_TURN, { k: 4 });
    const earlierArea = new Set(earlier.map((hit) => hit.chunk.heading));
    expect([...earlierArea].some((heading) => heading.includes(EARLIER_TOPIC))).toBe(true);

    const bare = await retrieve(notes.index, notes.embedder, FOLLOW_UP, { k: 4 });
    const withHistory = await retrieve(notes.index, notes.embedder, FOLLOW_UP, { k: 4, context: [FIRST_TURN] });
    const inEarlierArea = (hits: typeof bare) => hits.filter((hit) => earlierArea.has(hit.chunk.heading));
    expect(inEarlierArea(withHistory).length).toBeGreaterThan(inEarlierArea(bare).length);
  });

  it('the engine searches with the earlier user turns (assistant turns are not search text)', async () => {
    ollama.setChatScript('Set `required: false` [1].');
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const history = [
      { role: 'user' as const, content: FIRST_TURN },
      { role: 'assistant' as const, content: 'The default is `service_started` [1].' },
    ];
    const withHistory = sourcesOf(await collectEvents(answer({ question: FOLLOW_UP, history }, { signal: signal() })));
    const bare = sourcesOf(await collectEvents(answer({ question: FOLLOW_UP }, { signal: signal() })));
    const fromTopic = (event: SourcesEvent) => event.sources.filter((source) => source.heading.includes(EARLIER_TOPIC));
    expect(fromTopic(withHistory).length).toBeGreaterThan(fromTopic(bare).length);
  });
});
