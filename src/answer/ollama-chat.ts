/**
 * Streams one chat answer from Ollama through ChatOllama. One instance per answer: ChatOllama's
 * abort goes through its ollama-js client, whose abort() cancels every stream on that client.
 */
import { ChatOllama } from '@langchain/ollama';
import { AppError, isAbortError, modelNotFound } from '../errors.ts';
import { networkErrorCode } from '../embeddings/ollama-probe.ts';
import { answerAbort } from './answer-abort.ts';
import type { ModelPiece } from './model-reply.ts';
import type { ChatMessage } from './prompt.ts';

export interface ChatSettings {
  baseUrl: string;
  model: string;
  numCtx: number;
  /** Longest wait for the first token, and between tokens, before giving up with upstream_timeout. */
  timeoutMs: number;
  /** Ollama's keep_alive for the model (OLLAMA_KEEP_ALIVE): how long it stays loaded after this answer. */
  keepAlive?: string | number | undefined;
}

function toOllamaError(error: unknown, settings: ChatSettings, timedOut: boolean): AppError {
  if (error instanceof AppError) return error;
  if (timedOut) {
    return new AppError('upstream_timeout', `Ollama did not answer within ${settings.timeoutMs} ms.`, { cause: error });
  }
  const status = (error as { status_code?: unknown }).status_code;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 404 || /model .*not found|not found, try pulling/i.test(message)) {
    return modelNotFound(settings.model, { cause: error });
  }
  const code = networkErrorCode(error);
  // Only fetch's own failures (TypeError "fetch failed" / "terminated") mean the connection is gone;
  // an error text from Ollama itself ("llama runner process has terminated") is not "unreachable".
  if (code !== undefined || (error instanceof TypeError && /fetch failed|terminated|socket|network/i.test(message))) {
    return new AppError(
      'llm_unavailable',
      `Ollama at ${settings.baseUrl} is not reachable (${code ?? 'connection lost'}). Start it with: ollama serve`,
      { cause: error },
    );
  }
  // An error reported by Ollama itself (HTTP 500, or an {"error"} line mid-stream): say what it said.
  const said = message.length > 300 ? `${message.slice(0, 300)}…` : message;
  return new AppError('llm_unavailable', `Ollama could not answer with ${settings.model}: ${said}`, { cause: error });
}

/**
 * Passes an NDJSON response body through line by line, failing it at the first line that is not
 * JSON. ollama-js skips such a line with a `console.warn`, which would silently drop a piece of the
 * answer and write a non-JSON line into our log; a garbled stream is a failed answer instead.
 */
function strictNdjson(response: Response, settings: ChatSettings): Response {
  if (!response.ok || response.body === null) return response;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = '';
  const pass = (line: string, controller: TransformStreamDefaultController<Uint8Array>): boolean => {
    if (line.trim() === '') return true;
    try {
      JSON.parse(line);
    } catch {
      controller.error(new AppError('llm_unavailable', `Ollama sent a stream line that is not JSON while answering with ${settings.model}.`));
      return false;
    }
    controller.enqueue(encoder.encode(`${line}\n`));
    return true;
  };
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const lines = (pending + decoder.decode(chunk, { stream: true })).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (!pass(line, controller)) return;
      },
      flush(controller) {
        pass(pending + decoder.decode(), controller);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** What ChatOllama's stream chunks carry that we read (AIMessageChunk). */
interface StreamChunk {
  content: unknown;
  additional_kwargs?: { reasoning_content?: unknown };
  response_metadata?: { prompt_eval_count?: unknown; done_reason?: unknown };
}

/**
 * Yields the answer's pieces: text, reasoning (Ollama's `message.thinking`, for models whose reasoning
 * the server separates) and, last, the usage Ollama reported. Aborting `signal` closes the HTTP request to Ollama at once (the
 * signal is bound into the fetch ChatOllama uses, since ChatOllama only checks its own signal between
 * chunks). Ends quietly on abort; throws AppError on failure.
 */
export async function* streamChat(
  settings: ChatSettings,
  messages: ChatMessage[],
  signal: AbortSignal,
): AsyncGenerator<ModelPiece> {
  const abort = answerAbort(signal, settings.timeoutMs);
  const combined = abort.signal;
  const boundFetch: typeof fetch = async (input, init) => strictNdjson(await fetch(input, { ...init, signal: combined }), settings);
  const model = new ChatOllama({
    baseUrl: settings.baseUrl,
    model: settings.model,
    numCtx: settings.numCtx,
    ...(settings.keepAlive === undefined ? {} : { keepAlive: settings.keepAlive }),
    fetch: boundFetch,
  });
  abort.arm();
  try {
    const stream = await model.stream(
      messages.map((message) => [message.role === 'assistant' ? 'ai' : message.role, message.content] as [string, string]),
      { signal: combined },
    );
    for await (const chunk of stream as AsyncIterable<StreamChunk>) {
      abort.arm();
      const reasoning = chunk.additional_kwargs?.reasoning_content;
      if (typeof reasoning === 'string' && reasoning !== '') yield { reasoning };
      const text = typeof chunk.content === 'string' ? chunk.content : '';
      if (text !== '') yield text;
      const metadata = chunk.response_metadata;
      if (metadata !== undefined && (metadata.prompt_eval_count !== undefined || metadata.done_reason !== undefined)) {
        yield {
          usage: {
            ...(typeof metadata.prompt_eval_count === 'number' ? { promptTokens: metadata.prompt_eval_count } : {}),
            ...(typeof metadata.done_reason === 'string' ? { doneReason: metadata.done_reason } : {}),
          },
        };
      }
    }
  } catch (error) {
    if (signal.aborted) return;
    if (isAbortError(error) && !abort.timedOut()) return;
    throw toOllamaError(error, settings, abort.timedOut());
  } finally {
    abort.release();
  }
}
