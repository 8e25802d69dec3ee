/**
 * Child process of `npm run bench`: one index build with the built-in local embedder, as
 * `npm run index` runs it, in a fresh process so that its peak RSS belongs to this build alone.
 *
 *   node --import tsx src/cli/bench/index-worker.ts '{"notesDir":"…","indexDir":"…","rebuild":true}'
 *
 * Prints one JSON line (`IndexWorkerResult`) on stdout.
 */
import { createLocalEmbedder } from '../../embeddings/local-embedder.ts';
import { updateIndex } from '../../vector-index/files/update-generation.ts';
import { isEntryPoint } from '../is-entry-point.ts';

export interface IndexWorkerRequest {
  notesDir: string;
  indexDir: string;
  rebuild: boolean;
}

export interface IndexWorkerResult {
  seconds: number;
  cpuSeconds: number;
  chunks: number;
  notes: number;
  embedded: number;
  reused: number;
  /** Peak resident set size of this process (kernel's ru_maxrss), in bytes. */
  peakRssBytes: number;
  /** Resident set size before the build started (Node, tsx and the modules), in bytes. */
  baselineRssBytes: number;
  /**
   * Seconds per build phase: `read` (load the notes), `prepare` (chunk, hash, open the previous
   * generation), `embed`, `write` (build the graph, write and load the new generation).
   */
  phases: Record<string, number>;
}

async function run(request: IndexWorkerRequest): Promise<IndexWorkerResult> {
  const baselineRssBytes = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const phases: Record<string, number> = {};
  // Each progress event marks the end of the phase before it.
  const phaseAfter: Record<string, string> = { scan: 'prepare', embed: 'embed', write: 'write' };
  let phase = 'read';
  let phaseStarted = performance.now();
  const started = phaseStarted;
  const { summary } = await updateIndex({
    notesDir: request.notesDir,
    indexDir: request.indexDir,
    embedder: createLocalEmbedder(),
    rebuild: request.rebuild,
    log: (line) => process.stderr.write(`${line}\n`),
    onProgress: (progress) => {
      const next = phaseAfter[progress.phase] ?? progress.phase;
      if (next === phase) return;
      const now = performance.now();
      phases[phase] = (now - phaseStarted) / 1000;
      phase = next;
      phaseStarted = now;
    },
  });
  const finished = performance.now();
  phases[phase] = (finished - phaseStarted) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    seconds: (finished - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    chunks: summary.chunks,
    notes: summary.notes,
    embedded: summary.embedded,
    reused: summary.reused,
    // Node reports ru_maxrss in kilobytes.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    baselineRssBytes,
    phases,
  };
}

if (isEntryPoint(import.meta.url)) {
  const request = JSON.parse(process.argv[2] ?? '{}') as IndexWorkerRequest;
  run(request).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`index worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
