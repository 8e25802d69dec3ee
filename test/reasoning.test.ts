/**
 * Reasoning blocks and leaked template tokens never reach the answer (issue 12), however the stream
 * is split: every split point of each reply is tried.
 */
import { describe, expect, it } from 'vitest';
import { ReasoningSplitter, mayOpenInReasoning, type ReplyPart } from '../src/answer/reasoning.ts';

/** Feeds the pieces and folds the parts into { answer, reasoning }, honouring restarts. */
function split(pieces: string[], holdLeading: boolean): { answer: string; reasoning: string; parts: ReplyPart[] } {
  const splitter = new ReasoningSplitter(holdLeading);
  const parts = [...pieces.flatMap((piece) => splitter.push(piece)), ...splitter.end()];
  let answer = '';
  let reasoning = '';
  for (const part of parts) {
    if (part.kind === 'answer') answer += part.text;
    else if (part.kind === 'reasoning') reasoning += part.text;
    else {
      reasoning += answer;
      answer = '';
    }
  }
  return { answer, reasoning, parts };
}

const CASES: Array<{ name: string; reply: string; hold: boolean; answer: string; reasoning: string }> = [
  { name: 'no reasoning', reply: 'Watch syncs files [1].', hold: false, answer: 'Watch syncs files [1].', reasoning: '' },
  { name: '<think> block', reply: '<think>\nThe user asks about watch. Source 1 says so.\n</think>\n\nWatch syncs files [1].', hold: false, answer: 'Watch syncs files [1].', reasoning: '\nThe user asks about watch. Source 1 says so.\n' },
  { name: 'empty block (qwen3 without thinking)', reply: '<think>\n\n</think>\n\nWatch syncs files [1].', hold: false, answer: 'Watch syncs files [1].', reasoning: '\n\n' },
  { name: 'upper-case tags', reply: '<THINK>hmm</THINK>Yes [2].', hold: false, answer: 'Yes [2].', reasoning: 'hmm' },
  { name: '<thinking> tags', reply: '<thinking>let me see</thinking>\nYes [2].', hold: false, answer: 'Yes [2].', reasoning: 'let me see' },
  { name: 'lone </think>, held', reply: 'Okay, the user wants [3]. Let me check.\n</think>\n\nIt is service_started [1].', hold: true, answer: 'It is service_started [1].', reasoning: 'Okay, the user wants [3]. Let me check.\n' },
  { name: 'lone </think>, not held (late)', reply: 'Okay, let me check.\n</think>\n\nIt is service_started [1].', hold: false, answer: 'It is service_started [1].', reasoning: 'Okay, let me check.\n' },
  { name: 'held, but no tag at all', reply: 'It is service_started [1].', hold: true, answer: 'It is service_started [1].', reasoning: '' },
  { name: 'held, explicit <think> after text', reply: 'Sure. <think>x</think> It is [1].', hold: true, answer: 'Sure.  It is [1].', reasoning: 'x' },
  { name: 'only <think>, never closed', reply: '<think>I am thinking about it and then the stream stops', hold: false, answer: '', reasoning: 'I am thinking about it and then the stream stops' },
  { name: 'only a closed <think>', reply: '<think>nothing to say</think>   \n', hold: true, answer: '', reasoning: 'nothing to say' },
  { name: 'leaked template tokens', reply: 'Yes [1].<|im_end|>\n<|eot_id|><end_of_turn></s>[/INST]', hold: false, answer: 'Yes [1].\n', reasoning: '' },
  { name: 'leaked turn headers with their roles', reply: '<|im_start|>assistant\nYes [1].<|im_end|><start_of_turn>model\n', hold: false, answer: 'Yes [1].', reasoning: '' },
  { name: 'llama3 header', reply: '<|start_header_id|>assistant<|end_header_id|>\n\nYes [1].<|eot_id|>', hold: false, answer: 'Yes [1].', reasoning: '' },
  { name: 'a comparison is not a tag', reply: 'Use a < b and x<y [1].', hold: false, answer: 'Use a < b and x<y [1].', reasoning: '' },
  { name: 'a trailing "<" is text', reply: 'It is less than <', hold: false, answer: 'It is less than <', reasoning: '' },
];

describe('ReasoningSplitter', () => {
  it.each(CASES)('$name, whole', ({ reply, hold, answer, reasoning }) => {
    expect(split([reply], hold)).toMatchObject({ answer, reasoning });
  });

  it.each(CASES)('$name, split at every character', ({ reply, hold, answer, reasoning }) => {
    for (let cut = 0; cut <= reply.length; cut++) {
      expect(split([reply.slice(0, cut), reply.slice(cut)], hold), `cut at ${cut}`).toMatchObject({ answer, reasoning });
    }
  });

  it.each(CASES)('$name, one character per piece', ({ reply, hold, answer, reasoning }) => {
    expect(split([...reply], hold)).toMatchObject({ answer, reasoning });
  });

  it('held text never goes out as answer before the lone </think> arrives', () => {
    const { parts } = split(['Let me think. ', 'Source 1 says ', 'yes.', '</think>', 'Yes [1].'], true);
    expect(parts.filter((part) => part.kind === 'answer').map((part) => (part as { text: string }).text).join('')).toBe('Yes [1].');
    expect(parts.some((part) => part.kind === 'restart')).toBe(false);
  });

  it('a late lone </think> restarts the answer', () => {
    const { parts } = split(['Let me think.', '</think>', 'Yes [1].'], false);
    expect(parts.map((part) => part.kind)).toEqual(['answer', 'reasoning', 'restart', 'answer'].filter((kind) => kind !== 'reasoning'));
  });

  it('a separate reasoning channel releases held text at once', () => {
    const splitter = new ReasoningSplitter(true);
    expect(splitter.push('Yes ')).toEqual([]);
    expect(splitter.separateChannel()).toEqual([{ kind: 'answer', text: 'Yes ' }]);
    expect(splitter.push('[1].')).toEqual([{ kind: 'answer', text: '[1].' }]);
  });

  it.each<[string, boolean]>([
    ['deepseek-r1:8b', true],
    ['qwen3:4b', true],
    ['qwq', true],
    ['hf.co/bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF', true],
    ['gpt-oss:20b', true],
    ['llama3.2', false],
    ['mistral', false],
    ['gemma3:4b', false],
  ])('%s may open inside a reasoning block: %s', (model, expected) => {
    expect(mayOpenInReasoning(model)).toBe(expected);
  });
});
