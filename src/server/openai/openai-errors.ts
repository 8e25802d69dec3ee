/**
 * Errors on `/v1` in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so OpenAI
 * clients raise their own typed errors (openai-node maps the status: 400 BadRequestError, 401
 * AuthenticationError, 404 NotFoundError, 429 RateLimitError, 5xx InternalServerError). `code` is
 * asknotes's code from the error table; `type` is OpenAI's word for the status class.
 */
import type { ErrorRequestHandler } from 'express';
import { AppError, type ErrorCode } from '../../errors.ts';
import { forClient, toHttpError } from '../error-handler.ts';
import type { Logger } from '../logger.ts';

/** The `type` of each asknotes error code on `/v1` (the README's table is checked against it). */
export const OPENAI_ERROR_TYPES: Record<ErrorCode, string> = {
  invalid_request: 'invalid_request_error',
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  not_found: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  busy: 'rate_limit_error',
  index_not_ready: 'server_error',
  llm_unavailable: 'server_error',
  model_not_found: 'invalid_request_error',
  upstream_timeout: 'server_error',
  internal: 'server_error',
};

/**
 * Where `/v1` departs from the error table's status: OpenAI answers a model that does not exist with
 * `404 model_not_found`, and its clients retry a 503 (openai-node twice) but not a 404.
 */
export const OPENAI_STATUS: Partial<Record<ErrorCode, number>> = { model_not_found: 404 };

/** The status of an error on `/v1`. */
export function openAiStatus(error: { code: ErrorCode; status: number }): number {
  return OPENAI_STATUS[error.code] ?? error.status;
}

/** Bodies on `/v1` may be larger than `/ask`'s: chat clients send the whole conversation each time. */
export const MAX_OPENAI_BODY_BYTES = 1024 * 1024;

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: ErrorCode };
}

export function openAiErrorBody(error: { code: ErrorCode; message: string }): OpenAiErrorBody {
  const safe = forClient(error);
  return { error: { message: safe.message, type: OPENAI_ERROR_TYPES[safe.code], param: null, code: safe.code } };
}

function withOurLimit(error: AppError): AppError {
  // The shared translation names /ask's 64 KiB; /v1 allows more.
  if (error.code !== 'payload_too_large') return error;
  return new AppError('payload_too_large', `The request body is larger than ${MAX_OPENAI_BODY_BYTES / 1024} KiB.`, { cause: error });
}

export function openAiErrorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const failure = withOurLimit(toHttpError(error));
    if (failure.code === 'internal') {
      log.error('request failed', { method: req.method, path: req.originalUrl.split('?')[0] ?? '', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    res.status(openAiStatus(failure)).json(openAiErrorBody(failure));
  };
}
