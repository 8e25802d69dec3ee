/**
 * Streams one chat answer from an OpenAI-compatible server (vLLM, llama.cpp server, LM Studio,
 * LocalAI, Ollama's /v1) through LangChain's ChatOpenAICompletions: `POST <base>/chat/completions`
 * with `stream: true`. The same contract as ollama-chat.ts: text and reasoning pieces out, ends quietly on abort,
 * AppError on failure, upstream_timeout when the first or any next piece takes longer than timeoutMs.
 */
import { ChatOpenAICompletions } from '@langchain/openai';
import { AppError } from '../errors.ts';
import { openaiClientOptions } from '../embeddings/openai-client.ts';
import { toOpenAIError, type OpenAIErrorContext } from '../embeddings/openai-errors.ts';
import { answerAbort } from './answer-abort.ts';
import type { ModelPiece } from './model-reply.ts';
import type { ChatMessage } from './prompt.ts';

export interface OpenAIChatSettings {
  /** e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  /** As the server names it (`GET /models`), e.g. `Qwen/Qwen2.5-7B-Instruct`. */
  model: string;
  /** The prompt budget: the prompt is trimmed to fit it. Not sent: the server sets its own context size. */
  numCtx: number;
  /** Longest wait for the first piece, and between pieces. */
  timeoutMs: number;
}

/** What ChatOpenAICompletions' stream chunks carry that we read (AIMessageChunk). */
interface StreamChunk {
  content: unknown;
  additional_kwargs?: { reasoning_content?: unknown };
  response_metadata: { finish_reason?: unknown };
}

/**
 * Yields the answer's pieces: text, and reasoning where the server streams it apart from the answer
 * (`delta.reasoning_content`: DeepSeek's API, vLLM and llama.cpp server with a reasoning parser;
 * LangChain passes it on in `additional_kwargs`), as Ollama's `message.thinking`. One client per answer, with `signal`, an idle timer and the
 * generator's own end bound into its fetch, so that any of them closes the HTTP request at once.
 */
export async function* streamOpenAIChat(
  settings: OpenAIChatSettings,
  messages: ChatMessage[],
  signal: AbortSignal,
): AsyncGenerator<ModelPiece> {
  const abort = answerAbort(signal, settings.timeoutMs);
  const combined = abort.signal;
  const context: OpenAIErrorContext = { ...settings, modelVariable: 'CHAT_MODEL', task: 'answer' };
  const model = new ChatOpenAICompletions({
    model: settings.model,
    // Never usage chunks: `stream_options` is the one streaming field not every compatible server takes.
    streamUsage: false,
    // Our idle timer is the timeout; a retry after the first piece would repeat the answer.
    maxRetries: 0,
    ...openaiClientOptions({ baseUrl: settings.baseUrl, apiKey: settings.apiKey, signal: combined }),
  });
  abort.arm();
  let finished = false;
  try {
    const stream = await model.stream(
      messages.map((message) => [message.role === 'assistant' ? 'ai' : message.role, message.content] as [string, string]),
      { signal: combined },
    );
    for await (const chunk of stream as AsyncIterable<StreamChunk>) {
      abort.arm();
      if (chunk.response_metadata.finish_reason != null) finished = true;
      const reasoning = chunk.additional_kwargs?.reasoning_content;
      if (typeof reasoning === 'string' && reasoning !== '') yield { reasoning };
      const text = typeof chunk.content === 'string' ? chunk.content : '';
      if (text !== '') yield text;
    }
    // LangChain stops quietly once the signal is aborted; the idle timer is a failure all the same.
    if (abort.timedOut()) throw toOpenAIError(new Error('idle'), context, true);
    // The SDK ends quietly on a body that stops without `[DONE]`; a cut answer is a failure, as
    // an Ollama stream without its `done` line is.
    if (!finished && !combined.aborted) {
      throw new AppError('llm_unavailable', `The model server at ${settings.baseUrl} ended the answer stream before it finished (no finish_reason).`);
    }
  } catch (error) {
    if (signal.aborted) return;
    if (abort.released()) return;
    const failure = toOpenAIError(error, context, abort.timedOut());
    if (failure instanceof AppError) throw failure;
    // An abort we did not ask for, or a bug: never a half-silent end.
    throw new AppError('llm_unavailable', `The model server at ${settings.baseUrl} could not answer with ${settings.model}.`, { cause: error });
  } finally {
    abort.release();
  }
}
