/**
 * `npm run soak [-- --clients 64 --seconds 60]` (issue 8 "Load"): the whole server (`main()`, live
 * index, watcher) against the stand-in Ollama of the test suite, hammered by many clients at once —
 * JSON and streamed answers, a few clients that hang up mid-answer, health checks — while RSS is
 * sampled. Exits 1 on any 5xx, any failed connection, or RSS that keeps growing.
 *
 * `runLoad` is the load driver itself; `test/hardening-load.test.ts` runs it for a few seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config.ts';
import { main } from '../main.ts';
import { createLogger } from '../server/logger.ts';
import { isEntryPoint } from './is-entry-point.ts';

export interface LoadOptions {
  /** Server base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  clients: number;
  durationMs: number;
  /** Questions the clients ask, round-robin. */
  questions: string[];
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** How often RSS is sampled. Default 250 ms. */
  sampleMs?: number;
}

export interface LoadReport {
  requests: number;
  /** Count per HTTP status; 0 = the connection failed before any status (never expected). */
  statuses: Record<number, number>;
  /** Responses with a 5xx status. */
  serverErrors: number;
  /** Connections that failed (reset, refused) without a client meaning to hang up. */
  connectionErrors: number;
  /** Streams a client closed on purpose mid-answer. */
  clientAborts: number;
  /** SSE answers that ended with an `error` event. */
  errorEvents: number;
  /** Most `/ask` requests outstanding at once, from the clients' side (admitted or about to be refused). */
  peakInFlight: number;
  /** RSS in MiB: first sample, after the first quarter of the run (warm), highest, last. */
  rss: { startMiB: number; warmMiB: number; peakMiB: number; endMiB: number };
  seconds: number;
}

interface Outcome {
  status: number;
  body: string;
  aborted: boolean;
  failed: boolean;
}

function send(
  url: URL,
  agent: Agent,
  options: { method: string; path: string; body?: string; headers: Record<string, string>; abortAfterMs?: number },
): Promise<Outcome> {
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    let settled = false;
    let abortTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: Omit<Outcome, 'status' | 'body'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(abortTimer);
      resolve({ status, body, ...outcome });
    };
    const request = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        agent,
        headers: {
          ...(options.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
      },
      (response) => {
        status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          // Only the tail matters (the terminal SSE event); do not hold whole answers.
          body = (body + chunk).slice(-4096);
        });
        response.on('end', () => settle({ aborted: false, failed: false }));
        response.on('error', () => settle({ aborted: false, failed: true }));
      },
    );
    if (options.abortAfterMs !== undefined) {
      abortTimer = setTimeout(() => {
        request.destroy();
        settle({ aborted: true, failed: false });
      }, options.abortAfterMs);
    }
    request.on('error', () => settle({ aborted: false, failed: true }));
    request.end(options.body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `clients` loops for `durationMs`; each loop sends one request after another: mostly `/ask`
 * (JSON or SSE, every tenth SSE answer dropped by its client mid-way), sometimes `/readyz`. A `429`
 * is an expected answer under load; the client waits a little and carries on.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const url = new URL(options.url);
  const started = performance.now();
  const deadline = started + options.durationMs;
  const report: LoadReport = {
    requests: 0,
    statuses: {},
    serverErrors: 0,
    connectionErrors: 0,
    clientAborts: 0,
    errorEvents: 0,
    peakInFlight: 0,
    rss: { startMiB: 0, warmMiB: 0, peakMiB: 0, endMiB: 0 },
    seconds: 0,
  };
  const rssMiB = (): number => process.memoryUsage.rss() / 2 ** 20;
  report.rss.startMiB = rssMiB();
  report.rss.peakMiB = report.rss.startMiB;
  const sampler = setInterval(() => {
    const now = rssMiB();
    report.rss.peakMiB = Math.max(report.rss.peakMiB, now);
    if (report.rss.warmMiB === 0 && performance.now() - started >= options.durationMs / 4) report.rss.warmMiB = now;
  }, options.sampleMs ?? 250);
  sampler.unref();

  let inFlight = 0;
  const client = async (index: number): Promise<void> => {
    // One keep-alive connection per client, like a browser tab.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let round = 0; performance.now() < deadline; round += 1) {
        const kind = (index + round) % 10;
        const question = options.questions[(index * 7 + round) % options.questions.length] ?? 'What is compose watch?';
        const headers = options.headers ?? {};
        let outcome: Outcome;
        if (kind === 9) {
          outcome = await send(url, agent, { method: 'GET', path: '/readyz', headers });
        } else {
          const stream = kind % 2 === 1;
          // Kind 3 hangs up while its answer is still streaming.
          const abortAfterMs = kind === 3 ? 20 + ((index * 13 + round * 7) % 80) : undefined;
          inFlight += 1;
          report.peakInFlight = Math.max(report.peakInFlight, inFlight);
          outcome = await send(url, agent, {
            method: 'POST',
            path: '/ask',
            body: JSON.stringify({ question, stream }),
            headers,
            ...(abortAfterMs === undefined ? {} : { abortAfterMs }),
          });
          inFlight -= 1;
          if (stream && outcome.status === 200 && !outcome.aborted && outcome.body.includes('event: error')) report.errorEvents += 1;
        }
        report.requests += 1;
        if (outcome.aborted) {
          report.clientAborts += 1;
          continue;
        }
        if (outcome.failed) report.connectionErrors += 1;
        report.statuses[outcome.status] = (report.statuses[outcome.status] ?? 0) + 1;
        if (outcome.status >= 500) report.serverErrors += 1;
        if (outcome.status === 429) await sleep(20 + (round % 5) * 10);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  clearInterval(sampler);
  report.rss.endMiB = rssMiB();
  if (report.rss.warmMiB === 0) report.rss.warmMiB = report.rss.endMiB;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

export function formatLoadReport(report: LoadReport, clients: number): string {
  const statuses = Object.entries(report.statuses)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  return [
    `clients          ${clients} for ${report.seconds.toFixed(1)} s`,
    `requests         ${report.requests} (${(report.requests / report.seconds).toFixed(0)}/s)`,
    `statuses         ${statuses}`,
    `5xx              ${report.serverErrors}`,
    `connection errs  ${report.connectionErrors}`,
    `error events     ${report.errorEvents}`,
    `client aborts    ${report.clientAborts}`,
    `peak outstanding ${report.peakInFlight} /ask requests (client side)`,
    `rss MiB          start ${report.rss.startMiB.toFixed(0)}, warm ${report.rss.warmMiB.toFixed(0)}, peak ${report.rss.peakMiB.toFixed(0)}, end ${report.rss.endMiB.toFixed(0)}`,
  ].join('\n');
}

/** RSS may grow this much from the warm sample to the end before the soak counts it as a leak. */
export const SOAK_RSS_GROWTH_LIMIT_MIB = 150;

export const SOAK_QUESTIONS = [
  'What is the default depends_on condition in compose?',
  'How does compose watch sync files?',
  'What did the keynote say about Docker Scout?',
  'How many years has Docker been an open-source project?',
  'What is Docker Init?',
];

async function runSoakCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { clients: { type: 'string', default: '64' }, seconds: { type: 'string', default: '60' } },
  });
  const clients = Number(values.clients);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(clients) || clients < 1 || !(seconds > 0)) {
    process.stderr.write('usage: npm run soak [-- --clients 64 --seconds 60]\n');
    return 2;
  }
  // The stand-in Ollama is test tooling, loaded only here so the app itself never depends on it.
  const fakeOllamaModule = new URL('../../test/support/fake-ollama.ts', import.meta.url).href;
  const { startFakeOllama } = (await import(fakeOllamaModule)) as typeof import('../../test/support/fake-ollama.ts');
  const ollama = await startFakeOllama({ latency: { headersMs: 20, tokenMs: 5 } });
  const indexDir = await mkdtemp(join(tmpdir(), 'asknotes-soak-index-'));
  const notesDir = new URL('../../notes/', import.meta.url).pathname;
  const config = parseConfig({
    NOTES_DIR: notesDir,
    INDEX_DIR: indexDir,
    PORT: '0',
    EMBEDDINGS: 'local',
    LLM: 'ollama',
    OLLAMA_HOST: ollama.url,
    LOG_LEVEL: 'warn',
    ...(process.env['MAX_CONCURRENT_ANSWERS'] === undefined ? {} : { MAX_CONCURRENT_ANSWERS: process.env['MAX_CONCURRENT_ANSWERS'] }),
  });
  const running = await main(config, createLogger({ level: 'warn', write: (line) => void process.stderr.write(line) }));
  try {
    for (let waited = 0; (await fetch(`${running.url}/readyz`)).status !== 200; waited += 100) {
      if (waited > 60_000) throw new Error('the index was not ready within 60 s');
      await sleep(100);
    }
    process.stdout.write(`soak: ${clients} clients for ${seconds} s against ${running.url} (stand-in Ollama at ${ollama.url}, MAX_CONCURRENT_ANSWERS=${config.maxConcurrentAnswers})\n`);
    // The stand-in shares this process and records every call it answers (bodies included): forget
    // them as the run goes, or its bookkeeping would be counted as the server's RSS growth.
    const forget = setInterval(() => {
      ollama.calls.length = 0;
    }, 1_000);
    const report = await runLoad({ url: running.url, clients, durationMs: seconds * 1000, questions: SOAK_QUESTIONS });
    clearInterval(forget);
    process.stdout.write(`${formatLoadReport(report, clients)}\n`);
    const upstreamLeft = ollama.openRequests();
    process.stdout.write(`upstream open     ${upstreamLeft} (after the run)\n`);
    const growth = report.rss.endMiB - report.rss.warmMiB;
    const problems = [
      ...(report.serverErrors > 0 ? [`${report.serverErrors} responses were 5xx`] : []),
      ...(report.connectionErrors > 0 ? [`${report.connectionErrors} connections failed`] : []),
      ...(report.errorEvents > 0 ? [`${report.errorEvents} answers ended with an error event`] : []),
      ...(growth > SOAK_RSS_GROWTH_LIMIT_MIB ? [`RSS grew ${growth.toFixed(0)} MiB after warm-up`] : []),
    ];
    await ollama.whenIdle(10_000).catch(() => undefined);
    if (ollama.openRequests() > 0) problems.push(`${ollama.openRequests()} upstream requests were left open`);
    process.stdout.write(problems.length === 0 ? 'soak: passed\n' : `soak: FAILED: ${problems.join('; ')}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await running.close();
    await ollama.close();
    await rm(indexDir, { recursive: true, force: true });
  }
}

if (isEntryPoint(import.meta.url)) {
  runSoakCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`soak failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
