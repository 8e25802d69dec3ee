/**
 * The hardening tests (issue 8) run against the real composed server: `main()` from src/main.ts
 * with its live index, mode tracker and watcher, temp NOTES_DIR/INDEX_DIR, the built-in embedder,
 * and the stand-in Ollama as OLLAMA_HOST. This file starts one, and gives the tests what they
 * measure: open server sockets, heap after a forced GC, raw SSE clients that abort on cue.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseConfig, type Config } from '../../src/config.ts';
import { main } from '../../src/main.ts';
import { copySampleNotes, writeNote } from './index-fixtures.ts';
import { capturingLogger, parseSse, type CapturingLogger, type SseMessage } from './start-test-server.ts';

export interface ComposedServer {
  url: string;
  port: number;
  config: Config;
  logs: CapturingLogger;
  notesDir: string;
  indexDir: string;
  /** Resolves once GET /readyz is 200 and the first build is finished (`/index/status` idle). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the server and removes the temp folders. */
  close(): Promise<void>;
}

export interface ComposedServerOptions {
  /** Extra or overriding environment variables (strings, as in a real environment). */
  env?: Record<string, string>;
  /** Notes to write, by relative path; the repository's sample notes are always copied in too. */
  notes?: Record<string, string | Uint8Array>;
}

export async function startComposedServer(options: ComposedServerOptions = {}): Promise<ComposedServer> {
  const notesDir = await mkdtemp(join(tmpdir(), 'asknotes-hardening-notes-'));
  const indexDir = await mkdtemp(join(tmpdir(), 'asknotes-hardening-index-'));
  // close() does not wait for a re-index still running in the background (a real process just
  // exits), so its last files may land while the folders are removed: retry until they are gone.
  const temp = {
    cleanup: () => Promise.all([notesDir, indexDir].map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 }))),
  };
  await copySampleNotes(notesDir);
  for (const [path, text] of Object.entries(options.notes ?? {})) await writeNote(notesDir, path, text);
  const config = parseConfig({
    NOTES_DIR: notesDir,
    INDEX_DIR: indexDir,
    // HOST is left to its default (loopback), which the security test relies on.
    PORT: '0',
    EMBEDDINGS: 'local',
    LLM: 'none',
    OLLAMA_TIMEOUT_MS: '500',
    OLLAMA_CONNECT_TIMEOUT_MS: '500',
    // Re-probing Ollama in the middle of a test would only add noise to what the stand-in records.
    OLLAMA_CHECK_INTERVAL_MS: '3600000',
    WATCH_POLL_MS: '0',
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const logs = capturingLogger();
  let running: Awaited<ReturnType<typeof main>>;
  try {
    running = await main(config, logs.log);
  } catch (error) {
    await temp.cleanup();
    throw error;
  }
  const url = running.url;
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    config,
    logs,
    notesDir,
    indexDir,
    async ready(timeoutMs = 30_000) {
      // Tests only ever connect to loopback, even when the server reports a wider bind address.
      const local = url.replace('//0.0.0.0:', '//127.0.0.1:');
      // Own sockets, not fetch's keep-alive pool, so no idle connection outlives the check.
      await until(async () => {
        const [ready, status] = await Promise.all([
          requestOnce(local, 'GET', '/readyz', undefined, { headers: authHeader(config) }),
          requestOnce(local, 'GET', '/index/status', undefined, { headers: authHeader(config) }),
        ]);
        return ready.status === 200 && status.status === 200 && (JSON.parse(status.body) as { state?: string }).state === 'idle';
      }, timeoutMs, 'the composed server did not become ready');
    },
    async close() {
      await running.close();
      await temp.cleanup();
    },
  };
}

function authHeader(config: Config): Record<string, string> {
  return config.apiToken === undefined ? {} : { authorization: `Bearer ${config.apiToken}` };
}

/** Polls `check` every 25 ms until it returns true; rejects with `message` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Sockets the server side of `port` holds open in this process (the server runs in-process, so its
 * accepted sockets are handles here too: their local port is the listening port).
 */
export function openServerSockets(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((handle) => handle instanceof Socket && handle.localPort === port && !handle.destroyed).length;
}

/**
 * Watches every connection the server on `port` accepts from now on, through weak references: after
 * a forced GC, `retained()` says how many of those sockets are still reachable from anywhere. A
 * socket that is closed but still retained is a leak, which counting open handles cannot see.
 */
export function trackServerSockets(port: number): { accepted(): number; retained(): number } {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const server = handles.find((handle): handle is Server => {
    if (!(handle instanceof Server)) return false;
    const address = handle.address();
    return typeof address === 'object' && address !== null && address.port === port;
  });
  if (server === undefined) throw new Error(`no server listens on port ${port} in this process`);
  const sockets: Array<WeakRef<Socket>> = [];
  server.on('connection', (socket: Socket) => void sockets.push(new WeakRef(socket)));
  return {
    accepted: () => sockets.length,
    retained: () => sockets.filter((reference) => reference.deref() !== undefined).length,
  };
}

let collectGarbage: (() => void) | undefined;
/**
 * A full GC, when V8 lets us have one: vitest workers run without --expose-gc, but the flag can be
 * set at run time and `gc` read from a fresh context. Undefined when that is not possible.
 */
export function forceGc(): boolean {
  if (collectGarbage === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collectGarbage = exposed;
    else {
      try {
        setFlagsFromString('--expose-gc');
        collectGarbage = runInNewContext('gc') as () => void;
      } catch {
        return false;
      }
    }
  }
  collectGarbage?.();
  collectGarbage?.();
  return collectGarbage !== undefined;
}

/** Heap and RSS in MiB after a forced GC (when available) and a turn of the event loop for finalisers. */
export async function memoryAfterGc(): Promise<{ heapMiB: number; rssMiB: number; gc: boolean }> {
  const gc = forceGc();
  await new Promise((resolve) => setImmediate(resolve));
  forceGc();
  const usage = process.memoryUsage();
  return { heapMiB: usage.heapUsed / 2 ** 20, rssMiB: usage.rss / 2 ** 20, gc };
}

export interface RawExchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** True when the client gave up (abort) before the response ended. */
  aborted: boolean;
}

/**
 * One POST on its own socket (no keep-alive pool, so an aborted request really closes its
 * connection), optionally destroyed by the client after `abortAfterMs`. Never rejects: an abort or a
 * connection error comes back as `aborted: true` with whatever had arrived.
 */
export function postOnce(
  baseUrl: string,
  path: string,
  body: string,
  options: { headers?: Record<string, string>; abortAfterMs?: number } = {},
): Promise<RawExchange> {
  return requestOnce(baseUrl, 'POST', path, body, { ...options, headers: { 'content-type': 'application/json', ...options.headers } });
}

/** Like `postOnce`, for any method; `body` undefined sends none. */
export function requestOnce(
  baseUrl: string,
  method: string,
  path: string,
  body: string | undefined,
  options: { headers?: Record<string, string>; abortAfterMs?: number } = {},
): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (aborted: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8'), aborted });
    };
    const request = httpRequest(
      {
        host: hostname,
        port,
        method,
        path,
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }), ...options.headers },
      },
      (response) => {
        status = response.statusCode ?? 0;
        headers = response.headers;
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => settle(false));
        response.on('error', () => settle(true));
        response.on('close', () => settle(!response.complete));
      },
    );
    const timer =
      options.abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            request.destroy();
            settle(true);
          }, options.abortAfterMs);
    request.on('error', () => settle(true));
    request.end(body);
  });
}

/** The SSE messages of a (possibly cut) body: only complete messages are parsed. */
export function completeSseMessages(body: string): SseMessage[] {
  const end = body.lastIndexOf('\n\n');
  return end === -1 ? [] : parseSse(body.slice(0, end + 2));
}
