/**
 * Body handling for the POST routes (SPEC "Error codes"): a body that is not JSON is `415`, one
 * over 64 KiB is `413`, malformed JSON is `400`. The body parser's own errors are translated to
 * the API's codes in error-handler.ts.
 */
import express from 'express';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

function hasNonEmptyBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/** `application/json` or any `application/<something>+json`, with any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  const mediaType = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
}

/**
 * `bodyRequired` (for `/ask`): the request must say it is JSON even when empty. Otherwise (for
 * `/reindex`, which ignores its body) only a non-empty body must be JSON, so `curl -X POST` works.
 */
export function jsonBody(options: { bodyRequired: boolean; limitBytes?: number }): RequestHandler[] {
  const requireJsonType: RequestHandler = (req, _res, next) => {
    const mustBeJson = options.bodyRequired || hasNonEmptyBody(req);
    if (mustBeJson && !isJsonContentType(req.headers['content-type'])) {
      return next(new AppError('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).'));
    }
    next();
  };
  const parse = express.json({
    limit: options.limitBytes ?? MAX_BODY_BYTES,
    type: (req) => isJsonContentType(req.headers['content-type']),
    // Only objects and arrays: a bare string or number is not an API body.
    strict: true,
    // Compressed bodies are refused (415) rather than inflated: no zip bombs, and no client needs it for 64 KiB.
    inflate: false,
  });
  return [requireJsonType, parse];
}
