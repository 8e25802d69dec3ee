/**
 * What a written answer's `notice` says about the reply itself (pure; issue 12): an answer that cites
 * none of the notes, a prompt Ollama evidently cut, a reply with no answer in it.
 */
import type { ModelReply } from './model-reply.ts';

export const UNCITED_NOTICE =
  'This answer cites none of your notes, so it is not grounded in a cited note: check it against the sources listed below.';

/** A reply with no letter or digit in it (empty, whitespace, stray symbols) answered nothing. */
export function isNoAnswer(answer: string): boolean {
  return !/[\p{L}\p{N}]/u.test(answer);
}

/** The answer text when the model's reply had nothing in it (empty, garbage-only, or only reasoning). */
export function noAnswerText(reply: Pick<ModelReply, 'reasoning'>): string {
  return reply.reasoning.trim() === ''
    ? 'The model returned no answer.'
    : 'The model returned only its reasoning and no answer.';
}

/**
 * Ollama cuts an over-long prompt from the start (the system prompt and the first sources go first)
 * and says nothing, except that `prompt_eval_count` comes back smaller than the prompt. Our estimate
 * (3.5 characters a token) is conservative: English prose is about 4 to 4.5 characters a token, code and
 * other scripts fewer, so a count under 60% of it, short by more than 200 tokens, means the model did
 * not read the whole prompt. A missing count (prompt-cache hits) says nothing.
 */
export function promptWasCut(estimatedTokens: number, promptTokens: number | undefined): boolean {
  if (promptTokens === undefined || promptTokens <= 0) return false;
  return promptTokens < estimatedTokens * 0.6 && estimatedTokens - promptTokens > 200;
}

export function promptCutNotice(estimatedTokens: number, promptTokens: number, numCtx: number): string {
  return (
    `Ollama read only ${promptTokens} of about ${estimatedTokens} prompt tokens, so the start of the prompt ` +
    `(the instructions and the best sources) was cut: the model's context is smaller than NUM_CTX=${numCtx} asks for, ` +
    'or the notes take more tokens than estimated. Set NUM_CTX to what the model supports, or ask with fewer sources (k).'
  );
}

/** The notices for a finished written answer, in the order they matter. */
export function replyNotices(input: {
  reply: ModelReply;
  grounded: boolean;
  estimatedPromptTokens: number;
  numCtx: number;
}): { notices: string[]; promptCut: boolean } {
  const { reply } = input;
  const notices: string[] = [];
  const promptCut = promptWasCut(input.estimatedPromptTokens, reply.usage.promptTokens);
  if (promptCut) notices.push(promptCutNotice(input.estimatedPromptTokens, reply.usage.promptTokens ?? 0, input.numCtx));
  if (input.grounded && !isNoAnswer(reply.answer) && !reply.abstained && reply.cited.length === 0) notices.push(UNCITED_NOTICE);
  return { notices, promptCut };
}
