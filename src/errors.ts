/**
 * Every error asknotes reports to a user has a code, an HTTP status and (optionally) a cause.
 * The table below is the single source of truth; the README's error table is checked against it.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, when: 'bad JSON, missing or empty question, wrong types, out-of-range values' },
  unauthorized: { status: 401, when: '`API_TOKEN` set and the bearer token is missing or wrong' },
  forbidden: { status: 403, when: 'a request to `/ask`, `/mcp` or `/v1` naming another host, or from a web page of another origin, while bound to loopback' },
  not_found: { status: 404, when: 'unknown route or note' },
  payload_too_large: { status: 413, when: 'body over 64 KiB' },
  unsupported_media_type: { status: 415, when: '`POST` body that is not JSON' },
  busy: { status: 429, when: 'more answers in flight than the server admits (with `Retry-After`)' },
  index_not_ready: { status: 503, when: 'first index build still running, or the index database (`INDEX_BACKEND=postgres`) cannot be reached' },
  llm_unavailable: { status: 503, when: '`LLM=ollama` or `LLM=openai` (or `rag:false`) and the model server is unreachable or fails' },
  model_not_found: { status: 503, when: 'the model server lacks the model; the message names the fix (`ollama pull <model>`)' },
  upstream_timeout: { status: 504, when: 'the model server did not answer in time' },
  internal: { status: 500, when: 'anything else; the message never leaks internals' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** Raised when Ollama is reachable but lacks a model; the message always names the fix. */
export function modelNotFound(model: string, options?: { cause?: unknown }): AppError {
  return new AppError(
    'model_not_found',
    `The Ollama model "${model}" is not installed. Run: ollama pull ${model}`,
    options,
  );
}

/** An abort is a stop, not a failure: callers check this before reporting an error. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** Maps anything thrown to a user-safe AppError: unknown errors become a generic `internal`. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('internal', 'Something went wrong on the server. The details are in its log.', { cause: error });
}

/** The JSON error body of the HTTP API. */
export function errorBody(error: AppError): { error: { code: ErrorCode; message: string } } {
  return { error: { code: error.code, message: error.message } };
}
