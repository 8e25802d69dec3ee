/**
 * Listening and stopping. `close(graceMs)` is the SIGTERM path: stop accepting, drop idle
 * keep-alive connections, let in-flight answers finish for up to `graceMs`, then cut what is left
 * (which aborts those answers through their response's `close`).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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

function formatUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startServer(app: RequestListener, options: StartServerOptions): Promise<RunningServer> {
  const server = createServer();
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);

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
