/**
 * A real asknotes HTTP server on 127.0.0.1:0 with fake dependencies, and the small clients the
 * server tests need: an SSE reader, and a raw HTTP client that sends paths byte for byte (fetch
 * normalises `..` and `%2e%2e` away, which would hide traversal attempts from the server).
 */
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AnswerEvent, AnswerFn, AskRequest, DoneEvent, Source, SourcesEvent } from '../../src/answer/answer-types.ts';
import { createApp } from '../../src/server/create-app.ts';
import { createLogger } from '../../src/server/logger.ts';
import type { Logger } from '../../src/server/logger.ts';
import type { IndexStatusReport, ModelsReport, NotesListing, Readiness, ServerDeps } from '../../src/server/server-deps.ts';
import { startServer } from '../../src/server/start-server.ts';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface CapturingLogger {
  log: Logger;
  lines: LogLine[];
  /** Everything logged, as written (for "never contains" assertions). */
  text(): string;
}

export function capturingLogger(): CapturingLogger {
  const raw: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => void raw.push(line) });
  return {
    log,
    get lines() {
      return raw.map((line) => JSON.parse(line) as LogLine);
    },
    text: () => raw.join(''),
  };
}

export const SAMPLE_SOURCES: Source[] = [
  {
    n: 1,
    id: 'dockercon-2023.md#12',
    note: 'dockercon-2023.md',
    heading: 'Day 1 > 15 Tips and Tricks > depends_on',
    lines: [40, 52],
    text: 'depends_on waits for service_started by default.',
    score: 0.91,
  },
  {
    n: 2,
    id: 'dockercon-2023.md#13',
    note: 'dockercon-2023.md',
    heading: 'Day 1 > 15 Tips and Tricks > healthchecks',
    lines: [53, 60],
    text: 'Use condition: service_healthy to wait for a healthcheck.',
    score: 0.74,
  },
];

export const SAMPLE_SOURCES_EVENT: SourcesEvent = {
  type: 'sources',
  sources: SAMPLE_SOURCES,
  mode: 'ollama',
  model: 'llama3.2',
  embedder: 'ollama:nomic-embed-text',
};

export const SAMPLE_DONE_EVENT: DoneEvent = {
  type: 'done',
  answer: 'By default depends_on waits for service_started [1].',
  answerable: true,
  cited: [1],
  timings: { retrieval_ms: 3, generation_ms: 20, total_ms: 23 },
};

/** sources, three deltas that spell the answer, done. */
export function sampleEvents(): AnswerEvent[] {
  return [
    SAMPLE_SOURCES_EVENT,
    { type: 'delta', text: 'By default depends_on ' },
    { type: 'delta', text: 'waits for service_started ' },
    { type: 'delta', text: '[1].' },
    SAMPLE_DONE_EVENT,
  ];
}

export interface AnswerCall {
  request: AskRequest;
  signal: AbortSignal;
  /** Events the consumer has pulled so far. */
  yielded: number;
  /** Resolves when the generator has stopped, by finishing, throwing or being closed early. */
  finished: Promise<void>;
  /** True when the generator's signal was aborted by the time it stopped. */
  sawAbort: boolean;
}

export interface ScriptedAnswer {
  answer: AnswerFn;
  calls: AnswerCall[];
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * An AnswerFn that plays `script`: events are yielded, Errors are thrown, numbers are pauses in
 * ms. Like the real engine it stops quietly when its signal aborts.
 */
export function scriptedAnswer(script: Array<AnswerEvent | Error | number> | (() => Array<AnswerEvent | Error | number>)): ScriptedAnswer {
  const calls: AnswerCall[] = [];
  const answer: AnswerFn = (request, { signal }) => {
    let markFinished = (): void => {};
    const call: AnswerCall = {
      request,
      signal,
      yielded: 0,
      sawAbort: false,
      finished: new Promise<void>((resolve) => {
        markFinished = resolve;
      }),
    };
    calls.push(call);
    const steps = typeof script === 'function' ? script() : script;
    return (async function* () {
      try {
        for (const step of steps) {
          if (signal.aborted) return;
          if (typeof step === 'number') await sleep(step, signal);
          else if (step instanceof Error) throw step;
          else {
            call.yielded += 1;
            yield step;
          }
        }
      } finally {
        call.sawAbort = signal.aborted;
        markFinished();
      }
    })();
  };
  return { answer, calls };
}

export function readyReadiness(overrides: Partial<Readiness> = {}): Readiness {
  return {
    ready: true,
    building: false,
    mode: 'ollama',
    chatModel: 'llama3.2',
    provider: 'ollama',
    index: { notes: 1, chunks: 42, embedder: 'ollama:nomic-embed-text', builtAt: '2024-01-01T00:00:00.000Z' },
    ollama: { url: 'http://127.0.0.1:11434', reachable: true, version: '0.5.7', missingModels: [] },
    ...overrides,
  };
}

export function sampleIndexStatus(): IndexStatusReport {
  return {
    state: 'idle',
    embedder: 'ollama:nomic-embed-text',
    notes: [
      { path: 'dockercon-2023.md', chunks: 42, hash: 'a'.repeat(64), status: 'indexed' },
      { path: 'broken.md', chunks: 0, hash: null, status: 'failed', reason: 'not valid UTF-8' },
    ],
  };
}

export function sampleListing(): NotesListing {
  return {
    notes: [{ path: 'dockercon-2023.md', title: 'DockerCon 2023', tags: ['docker'], chunks: 42 }],
    folders: [],
    tags: [{ tag: 'docker', notes: 1 }],
  };
}

export function sampleModels(): ModelsReport {
  return {
    default: 'llama3.2',
    reachable: true,
    models: [
      { name: 'qwen2.5:latest', default: false, family: 'qwen2', parameterSize: '7.6B' },
      { name: 'llama3.2:latest', default: true, family: 'llama', parameterSize: '3.2B' },
    ],
  };
}

export interface TestServer {
  url: string;
  server: Server;
  deps: ServerDeps;
  logs: CapturingLogger;
  close(graceMs?: number): Promise<void>;
}

/** Starts the real app on port 0; every dependency can be replaced. */
export async function startTestServer(overrides: Partial<ServerDeps> = {}): Promise<TestServer> {
  const logs = capturingLogger();
  const deps: ServerDeps = {
    answer: scriptedAnswer(sampleEvents()).answer,
    readiness: () => readyReadiness(),
    indexStatus: () => sampleIndexStatus(),
    listNotes: () => sampleListing(),
    listModels: async () => sampleModels(),
    reindex: () => {},
    readNote: async (relativePath) => (relativePath === 'dockercon-2023.md' ? '# DockerCon 2023\n' : undefined),
    topK: 4,
    maxConcurrentAnswers: 8,
    log: logs.log,
    ...overrides,
  };
  const running = await startServer(createApp(deps), { host: '127.0.0.1', port: 0, log: logs.log, hasApiToken: deps.apiToken !== undefined });
  return { url: running.url, server: running.server, deps, logs, close: (graceMs = 1_000) => running.close(graceMs) };
}

export interface SseMessage {
  event: string;
  data: unknown;
}

/** Parses a whole SSE body (event + one data line per message; comments skipped). */
export function parseSse(body: string): SseMessage[] {
  const messages: SseMessage[] = [];
  for (const block of body.split('\n\n')) {
    if (block.trim() === '') continue;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event: ')) event = line.slice('event: '.length);
      else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
    }
    if (data.length > 0) messages.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return messages;
}

/** Reads an SSE response until `stop` returns true for a message (or the stream ends). */
export async function readSseUntil(response: Response, stop: (message: SseMessage) => boolean): Promise<SseMessage[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const seen: SseMessage[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return seen;
    buffer += value;
    const end = buffer.lastIndexOf('\n\n');
    if (end === -1) continue;
    const complete = parseSse(buffer.slice(0, end + 2));
    buffer = buffer.slice(end + 2);
    for (const message of complete) {
      seen.push(message);
      if (stop(message)) {
        await reader.cancel();
        return seen;
      }
    }
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with the path sent exactly as given (no URL normalisation). */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** POST /ask with a JSON body. */
export function ask(url: string, body: unknown, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${url}/ask`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
}

export { sleep };
