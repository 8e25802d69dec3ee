/**
 * Indexing figures: full builds with the local embedder (each in a fresh child process, for its own
 * peak RSS), an incremental run after a 1% edit, and a build through the Ollama embedder against the
 * stand-in server with a fixed latency per embed request.
 */
import { join } from 'node:path';
import { parseConfig } from '../../config.ts';
import { createOllamaEmbedder } from '../../embeddings/ollama-embedder.ts';
import { updateIndex } from '../../vector-index/files/update-generation.ts';
import { startFakeOllama } from '../../../test/support/fake-ollama.ts';
import { editNotes } from './corpus.ts';
import type { IndexWorkerResult } from './index-worker.ts';
import { round } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

export interface LocalBuildFigures {
  targetChunks: number;
  notes: number;
  chunks: number;
  seconds: number;
  cpuSeconds: number;
  chunksPerSecond: number;
  peakRssMb: number;
  baselineRssMb: number;
  phases: Record<string, number>;
}

export interface IncrementalFigures {
  targetChunks: number;
  editedNotes: number;
  /** Chunks whose embedded text the edit changed: exactly what the run should embed. */
  changedChunks: number;
  chunks: number;
  embedded: number;
  reused: number;
  seconds: number;
  cpuSeconds: number;
  /** Wall time as a share of the full build of the same size (0.1 = 10%). */
  shareOfFullBuild: number;
  peakRssMb: number;
  phases: Record<string, number>;
}

export interface OllamaIndexFigures {
  chunks: number;
  /** The stand-in's fixed wait before answering each /api/embed request. */
  requestLatencyMs: number;
  batchSize: number;
  concurrency: number;
  requests: number;
  inputsPerRequest: number;
  maxInputsPerRequest: number;
  peakRequestsInFlight: number;
  seconds: number;
  chunksPerSecond: number;
  /** What the latency alone costs: ceil(requests / concurrency) x latency. */
  latencyFloorSeconds: number;
  /** After the 1% edit: embed requests and inputs sent by the incremental run. */
  incrementalRequests: number;
  incrementalInputs: number;
}

export interface IndexFigures {
  local: LocalBuildFigures[];
  incremental: IncrementalFigures[];
  ollama?: OllamaIndexFigures;
}

export interface IndexBenchOptions {
  workspace: BenchWorkspace;
  sizes: number[];
  /** Share of notes edited before the incremental run. */
  editShare: number;
  ollamaLatencyMs: number;
  /** Corpus size for the Ollama build (its own corpus unless it is one of `sizes`); undefined skips it. */
  ollamaSize: number | undefined;
  log: (line: string) => void;
}

const MB = 1024 * 1024;

function localFigures(size: number, result: IndexWorkerResult): LocalBuildFigures {
  return {
    targetChunks: size,
    notes: result.notes,
    chunks: result.chunks,
    seconds: round(result.seconds, 3),
    cpuSeconds: round(result.cpuSeconds, 3),
    chunksPerSecond: round(result.chunks / result.seconds, 0),
    peakRssMb: round(result.peakRssBytes / MB, 0),
    baselineRssMb: round(result.baselineRssBytes / MB, 0),
    phases: roundAll(result.phases),
  };
}

function roundAll(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, round(value, 3)]));
}

export async function runIndexBench(options: IndexBenchOptions): Promise<IndexFigures> {
  const { workspace, log } = options;
  const figures: IndexFigures = { local: [], incremental: [] };
  for (const size of options.sizes) {
    const corpus = await workspace.corpus(size);
    log(`index: full local build of ${corpus.chunks} chunks (${corpus.notes} notes)`);
    const full = localFigures(size, await workspace.buildLocal(size, true));
    figures.local.push(full);

    const edit = await editNotes(corpus, options.editShare, 1);
    log(`index: incremental local build after editing ${edit.notes} notes`);
    const result = await workspace.buildLocal(size, false);
    figures.incremental.push({
      targetChunks: size,
      editedNotes: edit.notes,
      changedChunks: edit.changedChunks,
      chunks: result.chunks,
      embedded: result.embedded,
      reused: result.reused,
      seconds: round(result.seconds, 3),
      cpuSeconds: round(result.cpuSeconds, 3),
      shareOfFullBuild: round(result.seconds / full.seconds, 3),
      peakRssMb: round(result.peakRssBytes / MB, 0),
      phases: roundAll(result.phases),
    });
  }
  if (options.ollamaSize !== undefined) {
    const corpus = await workspace.corpus(options.ollamaSize);
    log(`index: Ollama embedder build of ${corpus.chunks} chunks, stand-in latency ${options.ollamaLatencyMs} ms per request`);
    const ollama = await startOllamaRun(workspace, options.ollamaSize, options.ollamaLatencyMs);
    try {
      // A second round of edits when the local run already edited this corpus: new text either way.
      await editNotes(corpus, options.editShare, 2);
      figures.ollama = await ollama.incremental();
    } finally {
      await ollama.close();
    }
  }
  return figures;
}

interface OllamaRun {
  incremental(): Promise<OllamaIndexFigures>;
  close(): Promise<void>;
}

/** Builds the index through the Ollama embedder; `incremental()` then re-runs it after the edit. */
async function startOllamaRun(workspace: BenchWorkspace, size: number, latencyMs: number): Promise<OllamaRun> {
  // The defaults a user gets (EMBED_BATCH_SIZE, EMBED_CONCURRENCY), against the stand-in.
  const config = parseConfig({});
  const fake = await startFakeOllama({ latency: { headersMs: latencyMs } });
  try {
    const embedder = createOllamaEmbedder({
      baseUrl: fake.url,
      model: config.embedModel,
      batchSize: config.embedBatchSize,
      concurrency: config.embedConcurrency,
      maxRetries: config.ollamaMaxRetries,
      timeoutMs: config.ollamaTimeoutMs,
    });
    const indexDir = join(workspace.root, `chunks-${size}`, 'index-ollama');
    const build = (rebuild: boolean) =>
      updateIndex({ notesDir: workspace.notesDir(size), indexDir, embedder, rebuild });
    const started = performance.now();
    const { summary } = await build(true);
    const seconds = (performance.now() - started) / 1000;
    const inputs = fake.callsTo('embed').map((call) => inputCount(call.body));
    const requests = inputs.length;
    const peak = fake.peakOpenRequests();
    const figures = {
      chunks: summary.chunks,
      requestLatencyMs: latencyMs,
      batchSize: config.embedBatchSize,
      concurrency: config.embedConcurrency,
      requests,
      inputsPerRequest: round(inputs.reduce((sum, count) => sum + count, 0) / Math.max(1, requests), 1),
      maxInputsPerRequest: Math.max(0, ...inputs),
      peakRequestsInFlight: peak,
      seconds: round(seconds, 3),
      chunksPerSecond: round(summary.chunks / seconds, 0),
      latencyFloorSeconds: round((Math.ceil(requests / config.embedConcurrency) * latencyMs) / 1000, 3),
    };
    return {
      async incremental() {
        const before = fake.callsTo('embed').length;
        await build(false);
        const after = fake.callsTo('embed').slice(before);
        return {
          ...figures,
          incrementalRequests: after.length,
          incrementalInputs: after.reduce((sum, call) => sum + inputCount(call.body), 0),
        };
      },
      close: () => fake.close(),
    };
  } catch (error) {
    await fake.close();
    throw error;
  }
}

function inputCount(body: unknown): number {
  const input = (body as { input?: unknown } | undefined)?.input;
  return Array.isArray(input) ? input.length : typeof input === 'string' ? 1 : 0;
}
