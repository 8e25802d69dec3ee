/** The benchmark's terminal table: one line per figure, then the targets with their verdicts. */
import type { BenchResults } from '../bench-command.ts';
import type { RetrievalFigures } from './retrieval-bench.ts';
import type { LatencySummary } from './stats.ts';

type Row = [figure: string, value: string];

const number = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const ms = (summary: LatencySummary): string => `p50 ${number(summary.p50, 2)} ms, p95 ${number(summary.p95, 2)} ms`;

export function resultRows(results: BenchResults): Row[] {
  const rows: Row[] = [];
  const { index, retrieval, notes, startup, serving, warmup } = results;
  for (const build of index?.local ?? []) {
    rows.push([
      `local full build, ${number(build.chunks)} chunks`,
      `${number(build.chunksPerSecond)} chunks/s (${number(build.seconds, 2)} s, ${number(build.cpuSeconds, 1)} CPU s), peak RSS ${number(build.peakRssMb)} MB`,
    ]);
  }
  for (const run of index?.incremental ?? []) {
    rows.push([
      `incremental, ${number(run.editedNotes)} notes edited (1%), ${number(run.chunks)} chunks`,
      `${number(run.embedded)} embedded (${number(run.changedChunks)} changed), ${number(run.seconds, 2)} s = ${number(run.shareOfFullBuild * 100, 1)}% of the full build`,
    ]);
  }
  const ollama = index?.ollama;
  if (ollama !== undefined) {
    rows.push([
      `Ollama embedder build, ${number(ollama.chunks)} chunks, ${number(ollama.requestLatencyMs)} ms/request`,
      `${number(ollama.requests)} requests, ${number(ollama.inputsPerRequest, 1)} inputs each, ${number(ollama.peakRequestsInFlight)} in flight, ${number(ollama.seconds, 2)} s (latency floor ${number(ollama.latencyFloorSeconds, 2)} s)`,
    ]);
    rows.push([
      'Ollama embedder, incremental after the 1% edit',
      `${number(ollama.incrementalRequests)} requests, ${number(ollama.incrementalInputs)} inputs`,
    ]);
  }
  for (const figures of retrieval ?? []) rows.push(...retrievalRows(figures, `${number(figures.chunks)} chunks`));
  if (notes !== undefined) {
    rows.push([
      `${notes.name}: local full build, ${number(notes.notes)} notes, ${number(notes.chunks)} chunks`,
      `${number(notes.indexSeconds, 2)} s (${number(notes.indexCpuSeconds, 1)} CPU s), peak RSS ${number(notes.peakRssMb)} MB`,
    ]);
    rows.push(...retrievalRows(notes.retrieval, notes.name));
  }
  if (startup !== undefined) {
    rows.push([
      `startup to ready, ${number(startup.chunks)}-chunk index`,
      `${number(startup.readySeconds, 2)} s (listening after ${number(startup.listeningSeconds, 2)} s)`,
    ]);
  }
  for (const run of serving?.runs ?? []) {
    const label = run.clients === 1 ? '1 client' : `${run.clients} clients (${run.arrivals})`;
    rows.push([
      `POST /ask, ${label}, ${number(run.requests)} answers`,
      `first delta ${ms(run.firstDeltaMs)}; total ${ms(run.totalMs)}; errors ${number(run.errors)}`,
    ]);
    rows.push([`  overhead to first delta, ${label}`, ms(run.firstDeltaOverheadMs)]);
    rows.push([`  overhead in total, ${label}`, ms(run.totalOverheadMs)]);
    rows.push([`  first delta after the stand-in's first token`, ms(run.firstDeltaAfterFirstTokenMs)]);
  }
  for (const build of results.formats?.builds ?? []) {
    rows.push([
      `index ${build.corpus}: ${number(build.notes)} notes, ${number(build.chunks)} chunks`,
      `${number(build.seconds, 2)} s (reading ${number(build.readSeconds, 2)} s, ${number(build.cpuSeconds, 1)} CPU s), peak RSS ${number(build.peakRssMb)} MB`,
    ]);
  }
  for (const name of results.formats?.skipped ?? []) rows.push([`index ${name}`, 'skipped: corpus not found']);
  for (const figures of results.postgres ?? []) {
    const engine = figures.database === 'pglite' ? 'PGlite' : 'server';
    rows.push([
      `postgres (${engine}) full build, ${number(figures.chunks)} chunks`,
      `${number(figures.build.seconds, 1)} s (embedding ${number(figures.build.embedSeconds, 1)} s, writing and indexing ${number(figures.build.writeSeconds, 1)} s)`,
    ]);
    rows.push([`hybrid retrieval (top ${figures.topK}), ${number(figures.chunks)} chunks: files backend`, `${ms(figures.files.hybridMs)}; CPU ${ms(figures.files.cpuMs)}`]);
    rows.push([
      `hybrid retrieval (top ${figures.topK}), ${number(figures.chunks)} chunks: postgres (${engine})`,
      `${ms(figures.postgres.hybridMs)}; CPU ${ms(figures.postgres.cpuMs)}${figures.database === 'server' ? ' (this process only)' : ''}; ${number(figures.agreementAtK * 100, 1)}% of the files backend's sources`,
    ]);
  }
  if (warmup !== undefined) {
    const label = `${number(warmup.loadDelayMs)} ms load per model, ${number(warmup.chunks)}-chunk Ollama index`;
    rows.push([`warm-up after start, ${label}`, `${number(warmup.warmUpSeconds, 2)} s to ready and warm`]);
    rows.push([`  first answer after the warm-up`, `${number(warmup.firstAnswerMs, 1)} ms (warm median ${number(warmup.warmAnswerMs, 1)} ms: +${number(warmup.firstOverWarmMs, 1)} ms)`]);
    rows.push([`  answer after Ollama unloaded both models`, `${number(warmup.coldAnswerMs, 1)} ms`]);
  }
  return rows;
}

function retrievalRows(retrieval: RetrievalFigures, at: string): Row[] {
  const scan =
    retrieval.scanKernel === 'none'
      ? 'no exact scan (index too large): HNSW'
      : `${number(retrieval.exactSearchShare * 100, 1)}% of questions by exact scan (${retrieval.scanKernel}, ${number(retrieval.scanBytesPerChunk)} bytes/chunk), HNSW for the rest`;
  return [
    [`hybrid retrieval (top ${retrieval.topK}), ${at}`, ms(retrieval.hybridMs)],
    [`  of which query embedding`, ms(retrieval.embedQueryMs)],
    [`  vector search top 10`, `${ms(retrieval.vectorMs)}; recall@10 ${number(retrieval.recallAt10, 3)} (${number(retrieval.exactQueries)} queries)`],
    [`  vector search by`, scan],
    [
      `  HNSW alone (M ${retrieval.hnsw.m}, efConstruction ${retrieval.hnsw.efConstruction}, ef ${retrieval.hnsw.efSearch})`,
      `${ms(retrieval.hnswMs)}; recall@10 ${number(retrieval.hnswRecallAt10, 3)}`,
    ],
    [`  reference float64 cosine scan, ${number(retrieval.dimensions)} dims`, ms(retrieval.exactMs)],
  ];
}

export function formatTable(results: BenchResults): string {
  const rows = resultRows(results);
  const width = Math.max(...rows.map(([figure]) => figure.length), 10);
  const lines = rows.map(([figure, value]) => `${figure.padEnd(width)}  ${value}`);
  if (results.targets.length > 0) {
    lines.push('', 'Targets:');
    const targetWidth = Math.max(...results.targets.map((check) => check.name.length));
    for (const check of results.targets) {
      const digits = check.unit === 'ms' || check.unit === 's' || check.unit === '' ? 2 : check.unit === '%' ? 1 : 0;
      const value = `${number(check.value, digits)}${check.unit === '' ? '' : ` ${check.unit}`}`;
      lines.push(`${check.met ? 'met   ' : 'MISSED'}  ${check.name.padEnd(targetWidth)}  ${value} (target ${check.target})`);
    }
  }
  return lines.join('\n');
}
