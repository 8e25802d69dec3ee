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
import { startFakeOllama, type FakeCall, type FakeOllama } from '../../../test/support/fake-ollama.ts';
import { ask, servingQuestions, startServer, type AskTiming, type RunningServer, type StartupFigures } from './bench-server.ts';
import { summarise, type LatencySummary } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

export type { StartupFigures } from './bench-server.ts';

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

    // 5 untimed warm-up questions, then one per request.
    const questions = await servingQuestions(workspace, size, 5 + options.runs.reduce((sum, run) => sum + run.requests, 0));
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
