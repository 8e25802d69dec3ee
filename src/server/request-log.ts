/**
 * One log line per request: method, path, status, milliseconds. Never the query string (a client
 * might put secrets there), never headers (the token), never bodies (questions, note text).
 */
import type { RequestHandler } from 'express';
import type { Logger } from './logger.ts';

const MAX_LOGGED_PATH = 200;

/**
 * Health probes: Docker's HEALTHCHECK asks /readyz every 10 s and Kubernetes probes do the same,
 * so at `info` they drown the real requests in `docker compose logs` (issue 17). Logged at `debug`.
 */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/** Whether a request is a health probe (logged at `debug`, not `info`). */
export function isProbe(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && PROBE_PATHS.has(path);
}

export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = (req.originalUrl.split('?')[0] ?? '').slice(0, MAX_LOGGED_PATH);
    // `close` fires for finished and abandoned responses alike; `finish` would miss the latter.
    res.once('close', () => {
      const ms = Number((process.hrtime.bigint() - started) / 1_000n) / 1000;
      const fields = { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      const level = isProbe(req.method, path) ? 'debug' : 'info';
      log[level]('request', res.writableFinished ? fields : { ...fields, aborted: true });
    });
    next();
  };
}
