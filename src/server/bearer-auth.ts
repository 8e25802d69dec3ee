/**
 * `Authorization: Bearer <API_TOKEN>` for every route mounted after this middleware. Tokens are
 * compared as SHA-256 digests with `timingSafeEqual`: equal-length inputs, so neither the
 * comparison time nor an early length check tells an attacker how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** True when the Authorization header carries exactly `token` (constant time in the token's content). */
export function bearerTokenMatches(authorization: string | undefined, token: string): boolean {
  const expected = digest(token);
  const scheme = /^bearer +/i.exec(authorization ?? '');
  const given = scheme === null ? '' : (authorization ?? '').slice(scheme[0].length).trim();
  // Always compare, even without a token, so a missing header costs the same as a wrong one.
  const equal = timingSafeEqual(digest(given), expected);
  return equal && scheme !== null;
}

export function bearerAuth(token: string): RequestHandler {
  return (req, res, next) => {
    if (bearerTokenMatches(req.headers.authorization, token)) return next();
    const attempted = req.headers.authorization !== undefined;
    // RFC 6750 section 3: say which scheme, and `invalid_token` when a token was given but wrong.
    res.setHeader('WWW-Authenticate', attempted ? 'Bearer realm="asknotes", error="invalid_token"' : 'Bearer realm="asknotes"');
    next(new AppError('unauthorized', 'This server needs an API token: send "Authorization: Bearer <API_TOKEN>".'));
  };
}
