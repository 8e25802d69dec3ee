/**
 * Written answers from replies in the styles of several local model families (issue 12), streamed
 * through the stand-in Ollama in odd splits (random cuts, and one character per NDJSON line) and read
 * by the real answer engine: citations normalised, reasoning apart, abstentions recognised, and bad
 * output answered honestly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import type { AnswerEvent, DoneEvent } from '../src/answer/answer-types.ts';
import { USER_TURN_RULES } from '../src/answer/prompt.ts';
import { UNCITED_NOTICE } from '../src/answer/reply-notices.ts';
import { buildNotesIndex, collectEvents, engineDeps, ollamaMode, type NotesIndex } from './support/answer-fixtures.ts';
import { startFakeOllama, type FakeChatReply, type FakeOllama } from './support/fake-ollama.ts';
import { createRandom } from './support/synthetic-corpus.ts';
import { ABSTAINING_REPLIES } from './fixtures/model-replies.ts';

/** A question the notes answer, so the evidence judge lets it through to the model. */
const QUESTION = 'What is the default depends_on condition in compose?';
const MODELS = ['llama3.2', 'qwen3', 'deepseek-r1:8b', 'mistral', 'gemma3', 'nomic-embed-text'];

let notes: NotesIndex;
let ollama: FakeOllama;

beforeAll(async () => {
  [notes, ollama] = await Promise.all([buildNotesIndex(), startFakeOllama({ models: MODELS })]);
});
afterAll(async () => {
  await ollama?.close();
  await notes?.cleanup();
});
afterEach(async () => {
  await ollama.reset();
});

/** Cuts `text` at random places into pieces of 1..7 characters (seeded, so a failure repeats). */
function oddSplits(text: string, seed: number): string[] {
  const random = createRandom(seed);
  const pieces: string[] = [];
  for (let at = 0; at < text.length; ) {
    const size = 1 + Math.floor(random() * 7);
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  return pieces;
}

interface Asked {
  events: AnswerEvent[];
  done: DoneEvent;
  deltas: string;
  reasoning: string;
}

async function ask(model: string, reply: FakeChatReply): Promise<Asked> {
  await ollama.reset();
  ollama.setChatScript(() => reply);
  const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url, { model })));
  const events = await collectEvents(answer({ question: QUESTION }, { signal: new AbortController().signal }));
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error(`expected done, got ${JSON.stringify(done)}`);
  const text = (type: 'delta' | 'reasoning') =>
    events.flatMap((event) => (event.type === type ? [event.text] : [])).join('');
  return { events, done, deltas: text('delta'), reasoning: text('reasoning') };
}

interface FamilyCase {
  family: string;
  model: string;
  /** What the model streams as content. */
  content: string;
  /** Reasoning on Ollama's separate `message.thinking` channel. */
  thinking?: string;
  answer: string;
  cited: number[];
  /** A piece of the reasoning that must arrive as a reasoning event and never in the answer. */
  reasoning?: string;
}

const FAMILIES: FamilyCase[] = [
  {
    family: 'llama3.2: [n] and (Source n)',
    model: 'llama3.2',
    content: 'The default condition is `service_started` [1]. To wait for a healthy service, use `condition: service_healthy` (Source 2).',
    answer: 'The default condition is `service_started` [1]. To wait for a healthy service, use `condition: service_healthy` [2].',
    cited: [1, 2],
  },
  {
    family: 'qwen3: thinking channel, 【n】 and [n, m]',
    model: 'qwen3',
    thinking: 'Okay, the user asks about depends_on. Source 1 says service_started, and [3] is about watch.',
    content: 'By default Compose waits for `service_started`【1】; the notes also list `service_healthy` [1, 2].',
    answer: 'By default Compose waits for `service_started`[1]; the notes also list `service_healthy` [1][2].',
    cited: [1, 2],
    reasoning: 'Source 1 says service_started',
  },
  {
    family: 'qwen3: an empty <think> block in the content',
    model: 'qwen3',
    content: '<think>\n\n</think>\n\nIt is `service_started` [^1].',
    answer: 'It is `service_started` [1].',
    cited: [1],
  },
  {
    family: 'deepseek-r1: a lone </think> (the template opened the block), footnotes',
    model: 'deepseek-r1:8b',
    content:
      'Okay, so the user wants the default depends_on condition. Looking at source 1, it says service_started. Wait, [3] is unrelated.\n</think>\n\n' +
      'The default is `service_started`[^1].\n\n[^1]: Source 1, dockercon-2023.md\n',
    answer: 'The default is `service_started`[1].',
    cited: [1],
    reasoning: 'Looking at source 1, it says service_started',
  },
  {
    family: 'deepseek-r1: an explicit <think> block, "Sources 1 and 2"',
    model: 'deepseek-r1:8b',
    content: '<think>\nThe user asks about depends_on; source #2 mentions healthchecks.\n</think>\nIt defaults to `service_started` (Sources 1 and 2).',
    answer: 'It defaults to `service_started` [1][2].',
    cited: [1, 2],
    reasoning: 'source #2 mentions healthchecks',
  },
  {
    family: 'mistral: [1][2], a leaked [/INST], an out-of-range [7]',
    model: 'mistral',
    content: ' The default `depends_on` condition is `service_started` [1][2]. Some say otherwise [7]. [/INST]',
    answer: 'The default `depends_on` condition is `service_started` [1][2]. Some say otherwise.',
    cited: [1, 2],
  },
  {
    family: 'gemma3: (n) after a claim, a leaked <end_of_turn>',
    model: 'gemma3',
    content: 'The default condition is `service_started` (1). With `service_healthy`, Compose waits for the health check (2).<end_of_turn>',
    answer: 'The default condition is `service_started` [1]. With `service_healthy`, Compose waits for the health check [2].',
    cited: [1, 2],
  },
];

describe('replies in the styles of model families, through the stand-in', () => {
  const splittings: Array<[string, (text: string) => string[]]> = [
    ['random cuts', (text) => oddSplits(text, 12)],
    ['other random cuts', (text) => oddSplits(text, 99)],
    ['one character per line', (text) => [...text]],
  ];
  for (const testCase of FAMILIES) {
    it.each(splittings)(`${testCase.family} (%s)`, async (_name, split) => {
      const reply: FakeChatReply = {
        tokens: split(testCase.content),
        ...(testCase.thinking === undefined ? {} : { thinking: split(testCase.thinking) }),
      };
      const { events, done, deltas, reasoning } = await ask(testCase.model, reply);
      expect(done).toMatchObject({ answer: testCase.answer, answerable: true, cited: testCase.cited });
      expect(done.notice).toBeUndefined();
      // The deltas spell the answer exactly; no reasoning or template token ever reaches them.
      expect(deltas.trimEnd()).toBe(testCase.answer);
      expect(deltas).not.toMatch(/think>|<\||_of_turn|INST\]/);
      if (testCase.reasoning !== undefined) {
        expect(reasoning).toContain(testCase.reasoning);
        expect(done.answer).not.toContain(testCase.reasoning);
        // Reasoning comes before the first answer delta.
        const firstReasoning = events.findIndex((event) => event.type === 'reasoning');
        expect(firstReasoning).toBeGreaterThan(0);
        expect(firstReasoning).toBeLessThan(events.findIndex((event) => event.type === 'delta'));
      } else {
        expect(events.some((event) => event.type === 'reasoning')).toBe(testCase.content.includes('<think>'));
      }
    });
  }

  it.each(ABSTAINING_REPLIES.filter((_reply, index) => index % 4 === 0).map((reply) => [reply.family, reply.text] as const))(
    '%s abstaining, in odd splits: %j',
    async (family, text) => {
      const model = MODELS.find((name) => name.startsWith(family.split(/[.:]/)[0] ?? '')) ?? 'llama3.2';
      const { done } = await ask(model, { tokens: oddSplits(text, text.length) });
      expect(done).toMatchObject({ answerable: false, cited: [] });
      expect(done.notice).toBeUndefined();
    },
  );

  it('deepseek-r1 abstaining after its reasoning: the reasoning is apart, the answer unanswerable', async () => {
    const content = 'The sources talk about compose tips [1] but nothing about pricing.\n</think>\n\nThe provided sources do not mention pricing.';
    const { done, reasoning } = await ask('deepseek-r1:8b', { tokens: oddSplits(content, 5) });
    expect(done).toMatchObject({ answer: 'The provided sources do not mention pricing.', answerable: false, cited: [] });
    expect(reasoning).toContain('nothing about pricing');
  });

  it('a model whose template drops the system prompt still gets the citation rule from the user turn', async () => {
    await ollama.reset();
    // Like a template without a system slot: the model sees only the user turn, and cites only if told to there.
    ollama.setChatScript((request) => {
      const user = request.messages.filter((message) => message.role === 'user').at(-1)?.content ?? '';
      return user.includes(USER_TURN_RULES) ? 'It is `service_started` [1].' : 'It is `service_started`.';
    });
    const answer = createAnswerEngine(engineDeps(notes, ollamaMode(ollama.url)));
    const events = await collectEvents(answer({ question: QUESTION }, { signal: new AbortController().signal }));
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'It is `service_started` [1].', cited: [1] });
  });
});

describe('bad output from the model is answered honestly', () => {
  it.each<[string, FakeChatReply, string]>([
    ['an empty reply', { tokens: [] }, 'The model returned no answer.'],
    ['only whitespace', { tokens: ['\n', '  ', '\n'] }, 'The model returned no answer.'],
    ['only a <think> block', { tokens: oddSplits('<think>Let me look at the sources. Source 1 [1] is about depends_on.</think>\n', 3) }, 'The model returned only its reasoning and no answer.'],
    ['an unclosed <think>', { tokens: oddSplits('<think>I keep thinking and then the stream stops [1]', 4) }, 'The model returned only its reasoning and no answer.'],
    ['only reasoning on the thinking channel', { thinking: ['Hmm, source 1.'], tokens: [] }, 'The model returned only its reasoning and no answer.'],
    ['template tokens and symbols only', { tokens: ['<|im_start|>', 'assistant\n', '<|im_end|>', ' …', ' ***'] }, 'The model returned no answer.'],
  ])('%s: no answer, nothing cited, never a crash', async (_name, reply, text) => {
    const { done, deltas } = await ask('deepseek-r1:8b', reply);
    expect(done).toMatchObject({ answer: text, answerable: false, cited: [] });
    expect(deltas).toContain(text);
  });

  it('fabricated citation numbers are dropped and the uncited answer gets a notice', async () => {
    const { done, deltas } = await ask('llama3.2', { tokens: oddSplits('Compose is great [7][12]. Really (Source 9)!', 2) });
    expect(done).toMatchObject({ answer: 'Compose is great. Really!', answerable: true, cited: [], notice: UNCITED_NOTICE });
    expect(deltas).not.toMatch(/\[\d+\]/);
  });

  it('an answer without any citation is marked as not grounded in a cited note', async () => {
    const { done } = await ask('mistral', { tokens: oddSplits('Compose starts services in dependency order.', 3) });
    expect(done).toMatchObject({ answerable: true, cited: [], notice: UNCITED_NOTICE });
  });
});
