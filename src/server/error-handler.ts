/**
 * The one place errors become HTTP responses (SPEC "Error codes"). AppErrors keep their code and
 * status; the body parser's and router's own errors are translated to the API's codes with our
 * own wording (their messages may quote the body); everything else is a generic `500 internal`
 * whose details go to the log only.
 */
import type { ErrorRequestHandler } from 'express';
import { AppError, toAppError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { MAX_BODY_BYTES } from './json-body.ts';
import type { Logger } from './logger.ts';

/** The shape of errors from body-parser / http-errors: a numeric status and, for body-parser, a type. */
interface HttpLibraryError {
  status: number;
  type?: unknown;
}

function isHttpLibraryError(error: unknown): error is HttpLibraryError {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

/** Maps anything thrown while handling a request to the AppError the client sees. */
export function toHttpError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  // The router could not percent-decode a path parameter: for a GET that is simply no such page.
  if (error instanceof URIError) return new AppError('not_found', 'No such route or note.', { cause: error });
  if (isHttpLibraryError(error) && error.status >= 400 && error.status < 500) {
    switch (error.type) {
      case 'entity.too.large':
        return new AppError('payload_too_large', `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`, { cause: error });
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return new AppError('unsupported_media_type', 'The request body must be uncompressed UTF-8 JSON.', { cause: error });
      case 'entity.parse.failed':
        return new AppError('invalid_request', 'The request body is not valid JSON.', { cause: error });
      default:
        break;
    }
    if (error.status === 404) return new AppError('not_found', 'No such route or note.', { cause: error });
    if (error.status === 413) return new AppError('payload_too_large', `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`, { cause: error });
    if (error.status === 415) return new AppError('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).', { cause: error });
    return new AppError('invalid_request', 'The request could not be read.', { cause: error });
  }
  return toAppError(error);
}

/** The generic text of `internal` errors, from errors.ts so there is one wording. */
const INTERNAL_MESSAGE = toAppError(undefined).message;

/**
 * What a client may see of an error: `internal` always carries the generic message, even when the
 * code that threw it wrote something more specific (which may name files or hosts).
 */
export function forClient(error: { code: ErrorCode; message: string }): { code: ErrorCode; message: string } {
  return { code: error.code, message: error.code === 'internal' ? INTERNAL_MESSAGE : error.message };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = toHttpError(error);
    const path = req.originalUrl.split('?')[0] ?? '';
    if (appError.code === 'internal') {
      log.error('request failed', { method: req.method, path, error: describe(error) });
    }
    // Too late for a status line: the route began a response (SSE handles its own errors); cut it short.
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (res.destroyed) return;
    res.status(appError.status).json({ error: forClient(appError) });
  };
}
