/**
 * `npm run bench -- --only postgres`: the Postgres backend beside the files backend (issue 14), on
 * the same corpus and questions — the hybrid retrieval an answer makes (TOP_K sources, query
 * embedding included), p50/p95 on each, asked in alternation so both see the same machine load —
 * and the Postgres full build. Against DATABASE_URL when it is set (a real server with pgvector),
 * else against PGlite (Postgres compiled to WebAssembly, with pgvector) served on 127.0.0.1 from
 * this process: one single-threaded engine, so its figures bound a real server's from above.
 */
import { parseConfig } from '../../config.ts';
import { retrieve, type Retrieved } from '../../answer/retrieve.ts';
import type { Embedder } from '../../embeddings/embedder.ts';
import { createLocalEmbedder } from '../../embeddings/local-embedder.ts';
import type { BuildProgress, SearchableIndex } from '../../vector-index/index-backend.ts';
import { openIndex } from '../../vector-index/files/read-generation.ts';
import { createPostgresBackend } from '../../vector-index/postgres/postgres-backend.ts';
import { startPgliteServer } from './pglite-server.ts';
import { makeQuestions } from './questions.ts';
import { cpuSecondsSince, round, summarise, type LatencySummary } from './stats.ts';
import type { BenchWorkspace } from './workspace.ts';

export interface PostgresFigures {
  chunks: number;
  queries: number;
  /** Sources per answer (TOP_K's default), as both retrievals are timed. */
  topK: number;
  /** `server` (DATABASE_URL) or `pglite` (WebAssembly, single-threaded, in this process). */
  database: 'server' | 'pglite';
  /** Full Postgres build from the notes, seconds: in all, embedding, and writing (rows and postings, the postings B-tree and HNSW indexes, swap). */
  build: { seconds: number; embedSeconds: number; writeSeconds: number };
  /**
   * Wall time per question, and the CPU time this process spent on it: on a busy machine the wall
   * time is mostly waiting for a core, the CPU time is not. With PGlite the database runs in this
   * process, so its CPU time counts; a server's (DATABASE_URL) does not.
   */
  files: { hybridMs: LatencySummary; cpuMs: LatencySummary };
  postgres: { hybridMs: LatencySummary; cpuMs: LatencySummary };
  /** Mean share of the files backend's top-K sources that Postgres also returned (same ranking rules; HNSW differs). */
  agreementAtK: number;
}

export interface PostgresBenchOptions {
  workspace: BenchWorkspace;
  size: number;
  queries: number;
  /** A server to measure; without it PGlite is started here. */
  databaseUrl: string | undefined;
  log: (line: string) => void;
}

/**
 * What the PGlite run gives index builds, as pgvector advises for a server: an HNSW build is far
 * faster when its graph fits in memory (50,000 vectors of 1,024 dimensions need about 250 MB).
 * A server's setting is its operator's.
 */
export const MAINTENANCE_WORK_MEM = '512MB';

interface Samples {
  wall: number[];
  cpu: number[];
}

async function timed<T>(samples: Samples, work: () => Promise<T>): Promise<T> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  samples.wall.push(performance.now() - started);
  samples.cpu.push(cpuSecondsSince(cpu) * 1000);
  return result;
}

export async function runPostgresBench(options: PostgresBenchOptions): Promise<PostgresFigures> {
  const { workspace, size, log } = options;
  await workspace.ensureLocalIndex(size);
  const filesEmbedder = createLocalEmbedder();
  const files = await openIndex(workspace.indexDir(size), filesEmbedder, { log });
  if (files === undefined) throw new Error(`no usable index in ${workspace.indexDir(size)}`);
  const pglite = options.databaseUrl === undefined ? await startPgliteServer({ maintenanceWorkMem: MAINTENANCE_WORK_MEM }) : undefined;
  const database = pglite === undefined ? 'server' : 'pglite';
  const backend = createPostgresBackend({ databaseUrl: options.databaseUrl ?? pglite!.url, log });
  try {
    const pgEmbedder = createLocalEmbedder();
    log(`postgres: building ${files.manifest.chunkCount} chunks in ${database === 'server' ? 'the database at DATABASE_URL' : 'PGlite'}`);
    const phases = new Map<BuildProgress['phase'], number>();
    const started = performance.now();
    const { index: postgres } = await backend.update({
      notesDir: workspace.notesDir(size),
      embedder: pgEmbedder,
      rebuild: true,
      onProgress: (progress) => {
        if (!phases.has(progress.phase)) phases.set(progress.phase, performance.now());
      },
    });
    const finished = performance.now();
    const embedStarted = phases.get('embed') ?? phases.get('scan') ?? started;
    const writeStarted = phases.get('write') ?? finished;
    log(`postgres: built in ${((finished - started) / 1000).toFixed(1)} s (writing and indexing ${((finished - writeStarted) / 1000).toFixed(1)} s)`);

    const topK = parseConfig({}).topK;
    const asked = makeQuestions(
      files.chunks.map((chunk) => chunk.text),
      options.queries,
      workspace.seed,
    );
    log(`postgres: ${asked.length} questions on each backend`);
    const ask = (index: SearchableIndex, embedder: Embedder, question: string) => retrieve(index, embedder, question, { k: topK });
    // Warm up (JIT, caches, the database's buffers), untimed.
    for (const question of asked.slice(0, 10)) {
      await ask(files, filesEmbedder, question);
      await ask(postgres, pgEmbedder, question);
    }
    const filesMs: Samples = { wall: [], cpu: [] };
    const postgresMs: Samples = { wall: [], cpu: [] };
    let agreement = 0;
    for (const [position, question] of asked.entries()) {
      // Alternating which goes first, so neither always runs right after the other's garbage.
      const fromFiles = () => timed(filesMs, () => ask(files, filesEmbedder, question));
      const fromPostgres = () => timed(postgresMs, () => ask(postgres, pgEmbedder, question));
      let fileHits: Retrieved[];
      let postgresHits: Retrieved[];
      if (position % 2 === 0) {
        fileHits = await fromFiles();
        postgresHits = await fromPostgres();
      } else {
        postgresHits = await fromPostgres();
        fileHits = await fromFiles();
      }
      const expected = new Set(fileHits.map((hit) => hit.chunk.id));
      const shared = postgresHits.filter((hit) => expected.has(hit.chunk.id)).length;
      agreement += expected.size === 0 ? 1 : shared / expected.size;
      if ((position + 1) % 50 === 0) log(`postgres: ${position + 1} of ${asked.length} questions asked`);
    }
    return {
      chunks: postgres.manifest.chunkCount,
      queries: asked.length,
      topK,
      database,
      build: {
        seconds: round((finished - started) / 1000, 1),
        embedSeconds: round((writeStarted - embedStarted) / 1000, 1),
        writeSeconds: round((finished - writeStarted) / 1000, 1),
      },
      files: { hybridMs: summarise(filesMs.wall), cpuMs: summarise(filesMs.cpu) },
      postgres: { hybridMs: summarise(postgresMs.wall), cpuMs: summarise(postgresMs.cpu) },
      agreementAtK: round(agreement / Math.max(1, asked.length), 3),
    };
  } finally {
    await backend.close();
    await pglite?.close();
  }
}
