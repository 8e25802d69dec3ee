/**
 * Failures of an OpenAI-compatible server (through the `openai` SDK and LangChain's wrapper of its
 * errors) as the AppErrors the Ollama path raises, so the HTTP contract does not depend on the provider.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { AppError, isAbortError } from '../errors.ts';
import { networkErrorCode } from './ollama-probe.ts';

export interface OpenAIErrorContext {
  baseUrl: string;
  model: string;
  /** The variable that names the model, for the fix in the message. */
  modelVariable: 'CHAT_MODEL' | 'EMBED_MODEL';
  timeoutMs: number;
  /** "answer" or "return embeddings": what the server failed to do, in words. */
  task: string;
}

/** The server does not serve the model; the message names the two ways out. */
export function openaiModelNotFound(context: OpenAIErrorContext, options?: { cause?: unknown }): AppError {
  const { baseUrl, model, modelVariable } = context;
  return new AppError(
    'model_not_found',
    `The model "${model}" is not served by the OpenAI-compatible server at ${baseUrl}. Serve it there (vLLM: vllm serve ${model}), or set ${modelVariable} to a name that ${baseUrl}/models lists.`,
    options,
  );
}

function said(error: unknown): string {
  // LangChain appends a line pointing at its docs site to some errors; it is no help to a user here.
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s*Troubleshooting URL:.*$/s, '');
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/**
 * `timedOut`: the caller's own timer fired (an AbortError then means "too slow", not "stopped").
 * Returns an AppError for every failure the server or the network can cause, the AbortError of a
 * caller's stop unchanged, and anything else (a bug on our side) unchanged too.
 */
export function toOpenAIError(error: unknown, context: OpenAIErrorContext, timedOut = false): unknown {
  const { baseUrl, model, timeoutMs, task } = context;
  if (error instanceof AppError) return error;
  // LangChain turns the SDK's APIConnectionTimeoutError into an Error named TimeoutError.
  if (timedOut || error instanceof APIConnectionTimeoutError || (error instanceof Error && error.name === 'TimeoutError')) {
    return new AppError('upstream_timeout', `The model server at ${baseUrl} did not ${task} within ${timeoutMs} ms.`, { cause: error });
  }
  if (isAbortError(error) || error instanceof APIUserAbortError) return error;
  if (error instanceof APIConnectionError || networkErrorCode(error) !== undefined || (error instanceof TypeError && /fetch failed|terminated|socket/i.test(error.message))) {
    const code = networkErrorCode(error);
    return new AppError('llm_unavailable', `The model server at ${baseUrl} is not reachable (${code ?? 'connection lost'}).`, { cause: error });
  }
  if (error instanceof APIError) {
    const status = error.status;
    if (status === 404) {
      // vLLM, Ollama and LM Studio answer a missing model with an OpenAI error body that says
      // "model"; a bare 404 (FastAPI's {"detail":"Not Found"}) is an unknown path.
      const body = (error as { error?: { message?: unknown } }).error;
      if (typeof body?.message === 'string' && /model/i.test(body.message)) return openaiModelNotFound(context, { cause: error });
      return new AppError(
        'llm_unavailable',
        `The server at ${baseUrl} answered 404 Not Found; does OPENAI_BASE_URL end in /v1, and does the server serve ${model}?`,
        { cause: error },
      );
    }
    if (status === 401 || status === 403) {
      return new AppError('llm_unavailable', `The model server at ${baseUrl} refused the request (HTTP ${status}); check OPENAI_API_KEY.`, { cause: error });
    }
    // With a status: an HTTP error; without: an {"error"} event in the middle of a stream.
    const http = status === undefined ? '' : ` (HTTP ${status})`;
    return new AppError('llm_unavailable', `The model server at ${baseUrl} could not ${task} with ${model}${http}: ${said(error)}`, { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new AppError('llm_unavailable', `The model server at ${baseUrl} sent a line that is not JSON while trying to ${task} with ${model}.`, { cause: error });
  }
  return error;
}
