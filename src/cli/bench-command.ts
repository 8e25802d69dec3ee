/**
 * `npm run bench`: indexing and query performance, measured side by side in one run on a seeded
 * synthetic corpus, against the stand-in Ollama where a model would answer.
 *
 *   npm run bench                                   quick run (the default; a few minutes on 2 cores)
 *   npm run bench -- --chunks 2000,15000,50000      corpus sizes (retrieval at each; the largest serves serving)
 *   npm run bench -- --only index,retrieval         parts: index, retrieval, notes, serving, startup, formats
 *   npm run bench -- --only notes --notes DIR       a real folder of notes (default ../shared/corpora/tldr)
 *   npm run bench -- --only formats                 index time of a 200-page PDF and the Foam and tldr corpora
 *   npm run bench -- --only postgres                the Postgres backend beside the files backend at each size
 *                                                   (DATABASE_URL's server, else PGlite on 127.0.0.1)
 *   npm run bench -- --only warmup                  warm models: first answer after start vs warm vs cold (model load 2.5 s)
 *   npm run bench -- --full                         more samples per figure (slower, steadier)
 *   npm run bench -- --queries 50                   questions per retrieval figure (default 200 quick, 1,000 full)
 *   npm run bench -- --out results.json --keep      where to write; keep the generated corpora
 *
 * Prints a table and writes bench-results.json (with the machine it ran on).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { resolve } from 'node:path';
import { runFormatsBench, type FormatFigures } from './bench/formats-bench.ts';
import { runIndexBench, type IndexFigures } from './bench/index-bench.ts';
import { runPostgresBench, type PostgresFigures } from './bench/postgres-bench.ts';
import { DEFAULT_NOTES_DIR, runNotesBench, type NotesFigures } from './bench/notes-bench.ts';
import { runRetrievalBench, type RetrievalFigures } from './bench/retrieval-bench.ts';
import { runServingBench, type ServingFigures, type StartupFigures } from './bench/serving-bench.ts';
import { formatTable } from './bench/table.ts';
import { checkTargets, type TargetCheck } from './bench/targets.ts';
import { runWarmUpBench, type WarmUpFigures } from './bench/warmup-bench.ts';
import { createWorkspace } from './bench/workspace.ts';
import { isEntryPoint } from './is-entry-point.ts';

export const BENCH_PARTS = ['index', 'retrieval', 'notes', 'serving', 'startup', 'formats', 'postgres', 'warmup'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];
/**
 * Only when asked for with `--only`: `formats` indexes whole real corpora and `postgres` builds every
 * size once more in a database (minutes each); `warmup` waits out deliberate model loads on a server
 * of its own.
 */
const DEFAULT_PARTS: BenchPart[] = BENCH_PARTS.filter((part) => part !== 'formats' && part !== 'postgres' && part !== 'warmup');

export interface BenchOptions {
  sizes: number[];
  parts: BenchPart[];
  full: boolean;
  seed: number;
  out: string;
  keep: boolean;
  /** Samples; default by quick/full. */
  retrievalQueries?: number;
  exactQueries?: number;
  servingRequests?: { single: number; concurrent: number };
  /** Where the corpora go (default: a new temporary folder). */
  workDir?: string;
  /** The real folder of notes of the `notes` part. */
  notesDir: string;
  /** `formats`: pages of the generated PDF (default 200) and the real corpora (default ../shared/corpora). */
  pdfPages?: number;
  corpora?: Record<string, string>;
  /** `postgres`: the server to measure (the bench's DATABASE_URL); without it, PGlite on 127.0.0.1. */
  databaseUrl?: string | undefined;
  /** `warmup`: the stand-in's load delay per model (default 2,500 ms, a 3B model from disk). */
  warmUpLoadMs?: number;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1-minute load average at the start and the end: other work on the machine skews wall times. */
  loadAverage: { start: number; end: number };
}

export interface BenchResults {
  startedAt: string;
  seconds: number;
  machine: MachineInfo;
  options: { sizes: number[]; parts: BenchPart[]; mode: 'quick' | 'full'; seed: number };
  index?: IndexFigures;
  /** One per corpus size, smallest first. */
  retrieval?: RetrievalFigures[];
  notes?: NotesFigures;
  startup?: StartupFigures;
  serving?: ServingFigures;
  formats?: FormatFigures;
  /** One per corpus size, smallest first. */
  postgres?: PostgresFigures[];
  warmup?: WarmUpFigures;
  targets: TargetCheck[];
}

export const DEFAULT_SIZES = [2_000, 50_000];
const EDIT_SHARE = 0.01;
const OLLAMA_LATENCY_MS = 50;
const OLLAMA_CHUNKS = 2_000;
const TOKEN_DELAY_MS = 20;
const WARM_UP_LOAD_MS = 2_500;
/** The warm-up part's corpus: its server builds an Ollama-embedded index at start. */
const WARM_UP_CHUNKS = 2_000;

const USAGE = `Usage: npm run bench -- [--chunks 2000,50000] [--only ${BENCH_PARTS.join(',')}] [--notes DIR] [--quick | --full] [--queries N] [--seed N] [--out bench-results.json] [--keep]`;

export class BenchUsageError extends Error {}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    sizes: DEFAULT_SIZES,
    parts: [...DEFAULT_PARTS],
    full: false,
    seed: 1,
    out: 'bench-results.json',
    keep: false,
    notesDir: DEFAULT_NOTES_DIR,
  };
  const value = (index: number, flag: string): string => {
    const next = argv[index + 1];
    if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${flag} needs a value\n${USAGE}`);
    return next;
  };
  for (let index = 0; index < argv.length; index += 1) {
    const [flag, inline] = (argv[index] ?? '').split('=', 2) as [string, string | undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      index += 1;
      return value(index - 1, flag);
    };
    switch (flag) {
      case '--chunks': {
        const sizes = take().split(',').map((part) => Number(part.trim().replace(/_/g, '')));
        if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 10)) {
          throw new BenchUsageError(`--chunks takes whole numbers of at least 10, separated by commas\n${USAGE}`);
        }
        options.sizes = [...new Set(sizes)].sort((a, b) => a - b);
        break;
      }
      case '--only': {
        const parts = take().split(',').map((part) => part.trim());
        const unknown = parts.filter((part) => !(BENCH_PARTS as readonly string[]).includes(part));
        if (unknown.length > 0) throw new BenchUsageError(`unknown part(s) ${unknown.join(', ')}\n${USAGE}`);
        options.parts = BENCH_PARTS.filter((part) => parts.includes(part));
        break;
      }
      case '--quick':
        options.full = false;
        break;
      case '--full':
        options.full = true;
        break;
      case '--queries': {
        const queries = Number(take());
        if (!Number.isInteger(queries) || queries < 1) throw new BenchUsageError(`--queries takes a whole number of at least 1\n${USAGE}`);
        options.retrievalQueries = queries;
        break;
      }
      case '--seed': {
        const seed = Number(take());
        if (!Number.isInteger(seed)) throw new BenchUsageError(`--seed takes a whole number\n${USAGE}`);
        options.seed = seed;
        break;
      }
      case '--out':
        options.out = take();
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--notes':
        options.notesDir = resolve(take());
        break;
      case '--help':
      case '-h':
        throw new BenchUsageError(USAGE);
      default:
        throw new BenchUsageError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}

function machineInfo(loadAtStart: number): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? 0 },
  };
}

export async function runBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<BenchResults> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const workspace = await createWorkspace(options.seed, options.workDir);
  const largest = options.sizes.at(-1) ?? DEFAULT_SIZES[1]!;
  const smallest = options.sizes[0] ?? largest;
  const has = (part: BenchPart) => options.parts.includes(part);
  const results: Omit<BenchResults, 'seconds' | 'machine' | 'targets'> = {
    startedAt,
    options: { sizes: options.sizes, parts: options.parts, mode: options.full ? 'full' : 'quick', seed: options.seed },
  };
  try {
    if (has('index')) {
      results.index = await runIndexBench({
        workspace,
        sizes: options.sizes,
        editShare: EDIT_SHARE,
        ollamaLatencyMs: OLLAMA_LATENCY_MS,
        // The stand-in's latency, batching and concurrency are the point here, not the corpus size.
        ollamaSize: Math.min(smallest, OLLAMA_CHUNKS),
        log,
      });
    }
    const queries = options.retrievalQueries ?? (options.full ? 1_000 : 200);
    const exactQueries = Math.min(queries, options.exactQueries ?? (options.full ? 300 : 40));
    if (has('retrieval')) {
      results.retrieval = [];
      for (const size of options.sizes) results.retrieval.push(await runRetrievalBench({ workspace, size, queries, exactQueries, log }));
    }
    if (has('notes')) {
      const notes = await runNotesBench({ workspace, notesDir: options.notesDir, queries, exactQueries, log });
      if (notes !== undefined) results.notes = notes;
    }
    if (has('serving') || has('startup')) {
      const requests = options.servingRequests ?? (options.full ? { single: 60, concurrent: 320 } : { single: 12, concurrent: 96 });
      const { startup, serving } = await runServingBench({
        workspace,
        size: largest,
        serve: has('serving'),
        tokenDelayMs: TOKEN_DELAY_MS,
        runs: [
          { clients: 1, requests: requests.single, arrivals: 'staggered' },
          { clients: 32, requests: requests.concurrent, arrivals: 'staggered' },
          { clients: 32, requests: requests.concurrent, arrivals: 'simultaneous' },
        ],
        log,
      });
      if (has('startup')) results.startup = startup;
      if (serving !== undefined) results.serving = serving;
    }
    if (has('formats')) {
      results.formats = await runFormatsBench({
        workspace,
        pdfPages: options.pdfPages ?? 200,
        ...(options.corpora === undefined ? {} : { corpora: options.corpora }),
        log,
      });
    }
    if (has('postgres')) {
      results.postgres = [];
      for (const size of options.sizes) {
        results.postgres.push(await runPostgresBench({ workspace, size, queries, databaseUrl: options.databaseUrl, log }));
      }
    }
    if (has('warmup')) {
      results.warmup = await runWarmUpBench({
        workspace,
        size: Math.min(smallest, WARM_UP_CHUNKS),
        loadDelayMs: options.warmUpLoadMs ?? WARM_UP_LOAD_MS,
        tokenDelayMs: TOKEN_DELAY_MS,
        log,
      });
    }
  } finally {
    if (options.keep) log(`corpora and indexes kept in ${workspace.root}`);
    else await workspace.remove();
  }
  const complete: BenchResults = {
    ...results,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    machine: machineInfo(loadAtStart),
    targets: [],
  };
  complete.targets = checkTargets(complete);
  return complete;
}

async function main(argv: readonly string[]): Promise<void> {
  let options: BenchOptions;
  try {
    options = { ...parseBenchArgs(argv), databaseUrl: process.env['DATABASE_URL'] || undefined };
  } catch (error) {
    if (error instanceof BenchUsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(error.message === USAGE ? 0 : 2);
    }
    throw error;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`bench: sizes ${options.sizes.join(', ')}; parts ${options.parts.join(', ')}; ${options.full ? 'full' : 'quick'} run on ${os.cpus().length} cores`);
  const results = await runBench(options, log);
  const out = resolve(options.out);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${formatTable(results)}\n\n`);
  log(`bench: ${results.seconds} s in all (load average ${results.machine.loadAverage.start.toFixed(1)} -> ${results.machine.loadAverage.end.toFixed(1)}); results in ${out}`);
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
