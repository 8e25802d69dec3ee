/**
 * Startup and serving figures. The server runs as users run it (`node --import tsx src/main.ts`, in
 * its own process) on an existing index; the stand-in Ollama and the clients run in this process,
 * so both sides of every answer are timed on one clock:
 *
 *   client:   sent t0 ........ first `delta` t1 ........ `done` t2
 *   stand-in:      arrived s0 .... first token s1 .... ended s2
 *
 * The overhead asknotes adds is the client's time minus the stand-in's own time:
 * (t1 - t0) - (s1 - s0) to the first delta, (t2 - t0) - (s2 - s0) in total.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOllama, type FakeCall, type FakeOllama } from '../../../test/support/fake-ollama.ts';
import { spawnTypeScript } from './child.ts';
import { makeQuestions } from './questions.ts';
import { round, summarise, type LatencySummary } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

const MAIN = fileURLToPath(new URL('../../main.ts', import.meta.url));

export interface StartupFigures {
  chunks: number;
  /** From spawning the process to the first `GET /readyz` 200 (index loaded, answering). */
  readySeconds: number;
  /** From spawning the process to its "listening" log line. */
  listeningSeconds: number;
  /** After ready: how long the background incremental check (`building: true`) ran. */
  backgroundUpdateSeconds: number;
}

export interface ServingRun {
  clients: number;
  /**
   * `staggered`: client i sends its first question i/clients of an answer's duration after the
   * first, as users arriving one by one (closed loop from then on); `simultaneous`: all at once,
   * and since every answer takes as long, again at once each round: a burst of `clients` requests.
   */
  arrivals: Arrivals;
  requests: number;
  errors: number;
  /** Answered without a chat call (the notes did not cover the question): not timed. */
  answeredWithoutModel: number;
  /** Client-side time to the first `delta` event. */
  firstDeltaMs: LatencySummary;
  totalMs: LatencySummary;
  /** Time to first delta minus the stand-in's own time to its first token. */
  firstDeltaOverheadMs: LatencySummary;
  /** Total time minus the stand-in's own time for the whole chat response. */
  totalOverheadMs: LatencySummary;
  /** From the stand-in writing its first token to the client reading the first delta. */
  firstDeltaAfterFirstTokenMs: LatencySummary;
}

export type Arrivals = 'staggered' | 'simultaneous';

export interface ServingFigures {
  chunks: number;
  tokenDelayMs: number;
  tokensPerAnswer: number;
  runs: ServingRun[];
}

export interface ServingBenchOptions {
  workspace: BenchWorkspace;
  size: number;
  /** Run the serving part after startup (false: startup only). */
  serve: boolean;
  tokenDelayMs: number;
  runs: Array<{ clients: number; requests: number; arrivals: Arrivals }>;
  log: (line: string) => void;
}

/**
 * A fixed answer of about 60 tokens (one stand-in line per word), the length of a typical
 * two-to-three sentence answer with citations; with TOKEN_DELAY_MS 20 it streams for ~1.3 s, like a
 * small model on a GPU. Shorter answers raise the request rate at 32 clients in proportion.
 */
const ANSWER_TOKENS = (
  'According to your notes [1], the rollout keeps the build cache warm between runs, so image layers ' +
  'are reused instead of rebuilt. The deploy step retries failed pushes with exponential backoff [2], ' +
  'and the health check waits for the service to report ready before traffic is switched over. If the ' +
  'registry cannot be reached, the pipeline stops and the previous release keeps running [1].'
).match(/\s*\S+/g) ?? [];

interface CallTimes {
  arrived: number;
  firstLine?: number;
  ended?: number;
}

/**
 * The stand-in records Date.now() milliseconds; the overhead wants finer. It updates `linesSent`
 * and `endedAt` on its call records as it goes, so accessors on each record timestamp those
 * moments on the performance clock the clients use.
 */
function timeCalls(fake: FakeOllama): WeakMap<FakeCall, CallTimes> {
  const times = new WeakMap<FakeCall, CallTimes>();
  const push = fake.calls.push.bind(fake.calls);
  fake.calls.push = (...calls: FakeCall[]): number => {
    for (const call of calls) {
      const entry: CallTimes = { arrived: performance.now() };
      times.set(call, entry);
      let linesSent = call.linesSent;
      let endedAt = call.endedAt;
      Object.defineProperty(call, 'linesSent', {
        enumerable: true,
        get: () => linesSent,
        set: (value: number) => {
          if (linesSent === 0 && value > 0) entry.firstLine = performance.now();
          linesSent = value;
        },
      });
      Object.defineProperty(call, 'endedAt', {
        enumerable: true,
        get: () => endedAt,
        set: (value: number | undefined) => {
          if (value !== undefined && entry.ended === undefined) entry.ended = performance.now();
          endedAt = value;
        },
      });
    }
    return push(...calls);
  };
  return times;
}

export async function runServingBench(
  options: ServingBenchOptions,
): Promise<{ startup: StartupFigures; serving?: ServingFigures }> {
  const { workspace, size, log } = options;
  await workspace.ensureLocalIndex(size);
  const fake = await startFakeOllama({ latency: { tokenMs: options.tokenDelayMs } });
  fake.setChatScript(ANSWER_TOKENS);
  const times = timeCalls(fake);
  let server: RunningServer | undefined;
  try {
    log(`startup: starting the server on the ${size}-chunk index`);
    server = await startServer(workspace, size, fake.url);
    const startup = server.startup;
    if (!options.serve) return { startup };

    const questions = await servingQuestions(workspace, size, options.runs);
    // Warm-up (untimed): the first answers pay for lazy module loading and JIT.
    for (const question of questions.splice(0, 5)) await ask(server.url, question);
    const runs: ServingRun[] = [];
    // What the stand-in takes per answer: the spacing of staggered arrivals.
    const answerMs = ANSWER_TOKENS.length * options.tokenDelayMs;
    for (const { clients, requests, arrivals } of options.runs) {
      log(`serving: ${requests} answers at ${clients} concurrent client(s) (${arrivals}), ${options.tokenDelayMs} ms per token`);
      const spacingMs = arrivals === 'staggered' ? answerMs / clients : 0;
      runs.push({ ...(await serve(server.url, fake, times, questions.splice(0, requests), clients, spacingMs)), arrivals });
    }
    return {
      startup,
      serving: { chunks: startup.chunks, tokenDelayMs: options.tokenDelayMs, tokensPerAnswer: ANSWER_TOKENS.length, runs },
    };
  } finally {
    await server?.stop();
    await fake.close();
  }
}

async function servingQuestions(
  workspace: BenchWorkspace,
  size: number,
  runs: ReadonlyArray<{ requests: number }>,
): Promise<string[]> {
  const corpus = await workspace.corpus(size);
  const texts = await Promise.all(
    corpus.files.slice(0, 400).map((file) => readFile(join(corpus.dir, file), 'utf8')),
  );
  const paragraphs = texts.flatMap((text) => text.split(/\n\s*\n/));
  const needed = 5 + runs.reduce((sum, run) => sum + run.requests, 0);
  const questions = makeQuestions(paragraphs, needed, workspace.seed + 1);
  if (questions.length < needed) throw new Error(`only ${questions.length} distinct questions for ${needed} requests`);
  return questions;
}

interface RunningServer {
  url: string;
  startup: StartupFigures;
  stop(): Promise<void>;
}

async function startServer(workspace: BenchWorkspace, size: number, ollamaUrl: string): Promise<RunningServer> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    NOTES_DIR: workspace.notesDir(size),
    INDEX_DIR: workspace.indexDir(size),
    EMBEDDINGS: 'local',
    LLM: 'ollama',
    OLLAMA_HOST: ollamaUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
  const spawned = performance.now();
  const child = spawnTypeScript(MAIN, [], { env });
  let output = '';
  const stop = () => stopChild(child);
  try {
    const { url, listeningAt } = await new Promise<{ url: string; listeningAt: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not listen within 120 s: ${output.slice(-1000)}`)), 120_000);
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        output += text;
        const match = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve({ url: match[1], listeningAt: performance.now() });
        }
      });
      child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code}: ${output.slice(-1000)}`));
      });
    });
    const ready = await pollReadiness(url, (body) => body.ready === true, 10, 600_000);
    const readyAt = performance.now();
    await pollReadiness(url, (body) => body.building === false, 100, 600_000);
    const idleAt = performance.now();
    const chunks = Number((ready.index as { chunks?: unknown } | undefined)?.chunks ?? Number.NaN);
    return {
      url,
      startup: {
        chunks,
        readySeconds: round((readyAt - spawned) / 1000, 3),
        listeningSeconds: round((listeningAt - spawned) / 1000, 3),
        backgroundUpdateSeconds: round((idleAt - readyAt) / 1000, 3),
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

type ReadyBody = Record<string, unknown>;

async function pollReadiness(
  url: string,
  until: (body: ReadyBody) => boolean,
  intervalMs: number,
  timeoutMs: number,
): Promise<ReadyBody> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as ReadyBody;
      // 200 exactly when ready; the body says the rest (building or not).
      if (until({ ...body, ready: response.status === 200 })) return body;
    } catch {
      // Not answering yet.
    }
    if (performance.now() > deadline) throw new Error(`${url}/readyz did not reach the wanted state in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface AskTiming {
  sent: number;
  firstDelta?: number;
  finished: number;
  ok: boolean;
  error?: string;
}

/** One streamed `POST /ask`, read event by event. */
async function ask(url: string, question: string): Promise<AskTiming> {
  const sent = performance.now();
  let firstDelta: number | undefined;
  try {
    const response = await fetch(`${url}/ask`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ question, stream: true }),
      signal: AbortSignal.timeout(60_000),
    });
    if (response.status !== 200 || response.body === null) {
      const text = await response.text();
      return { sent, finished: performance.now(), ok: false, error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
    }
    const decoder = new TextDecoder();
    let buffered = '';
    let terminal: string | undefined;
    const reader = response.body.getReader();
    for (let piece = await reader.read(); !piece.done; piece = await reader.read()) {
      buffered += decoder.decode(piece.value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const event = /^event: (\S+)/m.exec(buffered.slice(0, end))?.[1];
        buffered = buffered.slice(end + 2);
        if (event === 'delta' && firstDelta === undefined) firstDelta = performance.now();
        if (event === 'done' || event === 'error') terminal = event;
      }
    }
    const finished = performance.now();
    const base = { sent, finished, ...(firstDelta === undefined ? {} : { firstDelta }) };
    return terminal === 'done' ? { ...base, ok: true } : { ...base, ok: false, error: `stream ended with ${terminal ?? 'no terminal event'}` };
  } catch (error) {
    return { sent, finished: performance.now(), ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

async function serve(
  url: string,
  fake: FakeOllama,
  times: WeakMap<FakeCall, CallTimes>,
  questions: string[],
  clients: number,
  spacingMs: number,
): Promise<Omit<ServingRun, 'arrivals'>> {
  const results = new Map<string, AskTiming>();
  let next = 0;
  const client = async (_: unknown, position: number): Promise<void> => {
    if (spacingMs > 0) await new Promise((resolve) => setTimeout(resolve, position * spacingMs));
    while (next < questions.length) {
      const question = questions[next++] ?? '';
      results.set(question, await ask(url, question));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  await fake.whenIdle(10_000).catch(() => undefined);

  // Which chat request served which question: the grounded prompt quotes the question.
  const chatCalls = fake.callsTo('chat');
  const callFor = (question: string): FakeCall | undefined =>
    chatCalls.find((call) => call.rawBody.includes(JSON.stringify(`Question: ${question}`).slice(1, -1)));

  const firstDelta: number[] = [];
  const total: number[] = [];
  const firstDeltaOverhead: number[] = [];
  const totalOverhead: number[] = [];
  const afterFirstToken: number[] = [];
  let errors = 0;
  let withoutModel = 0;
  const errorSamples: string[] = [];
  for (const [question, timing] of results) {
    if (!timing.ok) {
      errors += 1;
      if (errorSamples.length < 3) errorSamples.push(timing.error ?? 'failed');
      continue;
    }
    const call = callFor(question);
    const upstream = call === undefined ? undefined : times.get(call);
    if (upstream?.firstLine === undefined || upstream.ended === undefined || timing.firstDelta === undefined) {
      withoutModel += 1;
      continue;
    }
    firstDelta.push(timing.firstDelta - timing.sent);
    total.push(timing.finished - timing.sent);
    firstDeltaOverhead.push(timing.firstDelta - timing.sent - (upstream.firstLine - upstream.arrived));
    totalOverhead.push(timing.finished - timing.sent - (upstream.ended - upstream.arrived));
    afterFirstToken.push(timing.firstDelta - upstream.firstLine);
  }
  if (errorSamples.length > 0) process.stderr.write(`serving errors, e.g.: ${errorSamples.join(' | ')}\n`);
  return {
    clients,
    requests: results.size,
    errors,
    answeredWithoutModel: withoutModel,
    firstDeltaMs: summarise(firstDelta),
    totalMs: summarise(total),
    firstDeltaOverheadMs: summarise(firstDeltaOverhead),
    totalOverheadMs: summarise(totalOverhead),
    firstDeltaAfterFirstTokenMs: summarise(afterFirstToken),
  };
}
