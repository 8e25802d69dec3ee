/**
 * DNS-rebinding protection for the doors that read notes or start answers (`/ask`, `/mcp`, `/v1`): a web page whose
 * host name is re-pointed at 127.0.0.1 reaches a loopback server as "same origin", so a server
 * bound to loopback checks that the request names this machine (`Host`) and, when a browser sent
 * it, comes from a loopback page or CORS_ORIGIN (`Origin`). The MCP SDK's
 * `hostHeaderValidation`/`allowedOrigins` do the same; this is one rule for both doors, each of
 * which answers a refusal in its own error shape. Bound beyond loopback (a container, a LAN) the
 * host names are not knowable, and API_TOKEN is the protection.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import { isLoopbackAddress } from './start-server.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function hostnameOf(value: string, withScheme: boolean): string | undefined {
  try {
    return new URL(withScheme ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function isLoopbackName(hostname: string | undefined): boolean {
  return hostname !== undefined && (LOOPBACK_NAMES.has(hostname) || hostname.endsWith('.localhost') || isLoopbackAddress(hostname));
}

/** Why the request must be refused, or undefined when it may proceed. */
export function rebindingProblem(
  headers: IncomingHttpHeaders,
  options: { listenHost: string | undefined; corsOrigin: string | undefined },
): string | undefined {
  if (options.listenHost === undefined || !isLoopbackAddress(options.listenHost)) return undefined;
  const host = headers.host;
  if (host === undefined || !isLoopbackName(hostnameOf(host, false))) {
    return 'This server only answers requests addressed to localhost (the Host header names another machine).';
  }
  const origin = headers.origin;
  if (origin !== undefined && origin !== options.corsOrigin && !isLoopbackName(hostnameOf(origin, true))) {
    return 'Requests from this web page\'s origin are not allowed (set CORS_ORIGIN to allow one).';
  }
  return undefined;
}

/** The check as middleware: a refusal is `AppError('forbidden')`, answered in the door's own error shape. */
export function rebindingGuard(options: { listenHost: string | undefined; corsOrigin: string | undefined }): RequestHandler {
  return (req, _res, next) => {
    const problem = rebindingProblem(req.headers, options);
    next(problem === undefined ? undefined : new AppError('forbidden', problem));
  };
}
