/**
 * Cut prompts (issue 12): Ollama cuts an over-long prompt from the start and says nothing but a small
 * prompt_eval_count. Table-tested judgement, then the stand-in cutting for real (a model whose context
 * is smaller than NUM_CTX): the answer's notice names NUM_CTX and the server logs a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnswerEngine } from '../src/answer/answer-engine.ts';
import { promptWasCut } from '../src/answer/reply-notices.ts';
import { buildNotesIndex, collectEvents, engineDeps, ollamaMode, type NotesIndex } from './support/answer-fixtures.ts';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';

describe('promptWasCut', () => {
  it.each<[number, number | undefined, boolean]>([
    [3000, 2600, false], // English prose: about 0.85 of the estimate
    [3000, 4200, false], // code or another script: more tokens than estimated
    [3000, 1024, true], // the model read a 1k context's worth
    [3000, 1900, false], // 63%: could be tokenizer variance
    [300, 120, false], // small prompts: a shortfall of under 200 tokens says nothing
    [3000, undefined, false], // no count (a prompt-cache hit)
    [3000, 0, false],
  ])('estimated %i, read %s -> %s', (estimated, read, expected) => {
    expect(promptWasCut(estimated, read)).toBe(expected);
  });
});

describe('a model whose context is smaller than NUM_CTX, through the stand-in', () => {
  let notes: NotesIndex;
  let ollama: FakeOllama;
  beforeAll(async () => {
    [notes, ollama] = await Promise.all([
      buildNotesIndex(),
      startFakeOllama({ models: [{ name: 'llama3.2', contextLength: 1024 }, 'nomic-embed-text'], chatScript: 'It is `service_started` [1].' }),
    ]);
  });
  afterAll(async () => {
    await ollama?.close();
    await notes?.cleanup();
  });

  it('gets a notice naming NUM_CTX and a logged warning; a context that fits gets neither', async () => {
    const warnings: Array<[string, Record<string, unknown>]> = [];
    const ask = async (numCtx: number) => {
      const answer = createAnswerEngine(
        engineDeps(notes, ollamaMode(ollama.url, { numCtx }), { warn: (message, fields) => void warnings.push([message, fields]) }),
      );
      const events = await collectEvents(answer({ question: 'What is the default depends_on condition in compose?', k: 8 }, { signal: new AbortController().signal }));
      return events.at(-1);
    };
    const cut = await ask(8192);
    expect(cut).toMatchObject({ type: 'done', answerable: true, cited: [1] });
    expect((cut as { notice?: string }).notice).toMatch(/read only 1024 of about \d+ prompt tokens.*NUM_CTX=8192/);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.[1]).toMatchObject({ model: 'llama3.2', promptEvalCount: 1024, numCtx: 8192 });

    // With NUM_CTX at what the model has, the prompt is trimmed to fit before it is sent: nothing is cut.
    const fitted = await ask(1024);
    expect((fitted as { notice?: string }).notice).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});
