/**
 * CORS is off unless CORS_ORIGIN is set; then exactly that origin may call the API from a browser
 * (with preflight). Other origins get no CORS headers at all, so the browser blocks them. Runs
 * before auth because a preflight never carries the Authorization header.
 */
import type { RequestHandler } from 'express';

const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function cors(allowedOrigin: string): RequestHandler {
  // Origins compare as the browser sends them: scheme://host[:port], no trailing slash.
  const origin = allowedOrigin.replace(/\/+$/, '');
  return (req, res, next) => {
    res.vary('Origin');
    if (req.headers.origin !== origin) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!isPreflight) return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}
