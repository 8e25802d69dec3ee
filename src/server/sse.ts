/**
 * Server-Sent Events for `/ask` (SPEC "Streaming"): `sources`, any number of `delta`, then exactly
 * one `done` or `error`. The caller enforces the order; this file formats events, sets the headers
 * that stop proxies from buffering, and waits for `drain` whenever the socket buffer is full so a
 * slow reader never makes the server buffer a whole answer in memory.
 */
import type { ServerResponse } from 'node:http';
import type { AnswerEvent } from '../answer/answer-types.ts';

/** The part of a writable stream the event writer uses (a ServerResponse, or a plain Writable in tests). */
export interface SseSink {
  write(chunk: string): boolean;
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableNeedDrain: boolean;
}

/** One event on the wire: `event: <type>` and one `data:` line of JSON without the `type` field. */
export function formatSseEvent(event: AnswerEvent): string {
  const { type, ...data } = event;
  // JSON.stringify escapes every newline, so the payload is always exactly one `data:` line.
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface SseWriter {
  /** Writes one event; resolves false once the client is gone. */
  send(event: AnswerEvent): Promise<boolean>;
  /** A bare `data:` message (OpenAI-style streams have no event names); `payload` must be one line. */
  data(payload: string): Promise<boolean>;
  /** A comment line (ignored by clients) that keeps idle proxies from closing the stream. */
  comment(text: string): Promise<boolean>;
  /** How often a write had to wait for the socket to drain (logged at debug; tests read it). */
  readonly drainWaits: number;
  /** Stops the heartbeat and ends the response. */
  end(): void;
}

/**
 * Resolves true when the chunk is accepted, after waiting for `drain` if `write` said the buffer
 * is full; false when the sink closed first (the client left), so the caller stops producing.
 */
async function writeChunk(sink: SseSink, chunk: string, onWait: () => void): Promise<boolean> {
  if (sink.destroyed || sink.writableEnded) return false;
  if (sink.write(chunk)) return true;
  onWait();
  await new Promise<void>((resolve) => {
    const settle = (): void => {
      sink.off('drain', settle);
      sink.off('close', settle);
      sink.off('error', settle);
      resolve();
    };
    sink.once('drain', settle);
    sink.once('close', settle);
    sink.once('error', settle);
  });
  return !sink.destroyed;
}

/** Event writer over any sink; `startSse` is the HTTP entry point. */
export function createSseWriter(sink: SseSink & { end(): unknown }, options: { heartbeatMs?: number } = {}): SseWriter {
  let drainWaits = 0;
  const onWait = (): void => {
    drainWaits += 1;
  };
  const write = (chunk: string): Promise<boolean> => writeChunk(sink, chunk, onWait);
  let heartbeat: NodeJS.Timeout | undefined;
  if (options.heartbeatMs !== undefined && options.heartbeatMs > 0) {
    heartbeat = setInterval(() => {
      // Skip a beat rather than queue bytes behind a reader that is already behind.
      if (!sink.writableNeedDrain) void write(': keep-alive\n\n');
    }, options.heartbeatMs);
    heartbeat.unref();
  }
  return {
    send: (event) => write(formatSseEvent(event)),
    data: (payload) => write(`data: ${payload.replace(/[\r\n]+/g, ' ')}\n\n`),
    comment: (text) => write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`),
    get drainWaits() {
      return drainWaits;
    },
    end() {
      if (heartbeat !== undefined) clearInterval(heartbeat);
      if (!sink.destroyed && !sink.writableEnded) sink.end();
    },
  };
}

/** Sends the SSE response headers at once (so clients and proxies see the stream start) and returns the writer. */
export function startSse(res: ServerResponse, options: { heartbeatMs?: number } = {}): SseWriter {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  // no-transform: compression proxies must not buffer the stream to gzip it.
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  // nginx buffers proxied responses unless told otherwise.
  res.setHeader('X-Accel-Buffering', 'no');
  res.setHeader('Connection', 'keep-alive');
  res.flushHeaders();
  return createSseWriter(res, options);
}
