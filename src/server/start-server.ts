/**
 * Listening and stopping. `close(graceMs)` is the SIGTERM path: stop accepting, drop idle
 * keep-alive connections, let in-flight answers finish for up to `graceMs`, then cut what is left
 * (which aborts those answers through their response's `close`).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestListener } from 'node:http';
import type { Logger } from './logger.ts';

export interface StartServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** Whether API_TOKEN is set; without one, binding beyond loopback earns a warning. */
  hasApiToken: boolean;
  /** Bound on receiving a whole request (headers and body), against slow-body clients. Default 30 s. */
  requestTimeoutMs?: number;
}

export interface RunningServer {
  /** e.g. "http://127.0.0.1:3000" (the real port when 0 was asked for). */
  url: string;
  server: Server;
  /** Resolves once every connection is closed. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

/** 127.0.0.0/8, ::1 and the IPv4-mapped loopback: addresses only this machine can reach. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

/** The warning to log for a server bound to `address`, if any (issue 8: default loopback, warn otherwise). */
export function exposureWarning(address: string, hasApiToken: boolean): string | undefined {
  if (isLoopbackAddress(address) || hasApiToken) return undefined;
  return 'listening beyond this machine without API_TOKEN: anyone who can reach this address can read the notes and ask questions';
}

/**
 * Requests Node rejects before Express sees them (malformed HTTP, oversized headers, a body that
 * trickles in slower than `requestTimeoutMs`) get the API's JSON error shape too, instead of
 * Node's bare 400/408/431, so clients only ever see the SPEC's codes.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way cannot get a second status line.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent === true) {
    socket.destroy();
    return;
  }
  const message =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'The request arrived too slowly.' : 'The request is not valid HTTP/1.1.';
  const body = JSON.stringify({ error: { code: 'invalid_request', message } });
  socket.end(
    'HTTP/1.1 400 Bad Request\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function formatUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startServer(app: RequestListener, options: StartServerOptions): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  // Node checks request timeouts only every `connectionsCheckingInterval` (30 s by default).
  const server = createServer({ connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeout / 4))) });
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(requestTimeout, 10_000);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));

  // Requests in progress per socket, so that stopping can end idle sockets at once and busy ones
  // right after their response. Node's closeIdleConnections() misses a socket that connected but
  // never sent a request (clients open spare ones), which would hold close() for the whole grace.
  const activeRequests = new Map<Socket, number>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    activeRequests.set(socket, 0);
    socket.once('close', () => activeRequests.delete(socket));
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    activeRequests.set(socket, (activeRequests.get(socket) ?? 0) + 1);
    response.once('close', () => {
      // A client that hangs up closes the socket before its response: the socket is already
      // forgotten then, and setting it again would keep every aborted exchange in memory for good.
      if (!activeRequests.has(socket)) return;
      const left = Math.max(0, (activeRequests.get(socket) ?? 1) - 1);
      activeRequests.set(socket, left);
      if (stopping && left === 0) socket.end();
    });
  });
  // After the bookkeeping listener, so a response finished synchronously is still counted.
  server.on('request', app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = formatUrl(address);
  options.log.info('listening', { url });
  const warning = exposureWarning(address.address, options.hasApiToken);
  if (warning !== undefined) options.log.warn(warning, { host: address.address });

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      stopping = true;
      const timer = setTimeout(() => {
        options.log.warn('closing connections still open after the grace period', { graceMs, connections: activeRequests.size });
        // Destroying the socket closes its response, which aborts that answer's signal.
        for (const socket of activeRequests.keys()) socket.destroy();
      }, graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const [socket, requests] of activeRequests) if (requests === 0) socket.end();
    });
    return closing;
  };
  return { url, server, close };
}
