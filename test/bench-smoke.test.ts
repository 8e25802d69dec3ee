/**
 * `npm run bench` in miniature: every part runs for real (child index builds, the stand-in Ollama,
 * the server started as `node --import tsx src/main.ts`) on a tiny corpus, and every figure comes
 * out as a finite number. Timings are never asserted here; `npm run bench` is for those.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchUsageError, parseBenchArgs, runBench, type BenchResults } from '../src/cli/bench-command.ts';
import { formatTable } from '../src/cli/bench/table.ts';
import { percentile } from '../src/cli/bench/stats.ts';

/** Every number anywhere in `value`, with its path, e.g. `retrieval.hybridMs.p50`. */
function numbersIn(value: unknown, path = ''): Array<[string, number]> {
  if (typeof value === 'number') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => numbersIn(item, `${path}[${index}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => numbersIn(item, path === '' ? key : `${path}.${key}`));
  }
  return [];
}

describe('bench arguments', () => {
  it('defaults to the quick run of every part at 2,000 and 50,000 chunks', () => {
    const options = parseBenchArgs([]);
    expect(options.sizes).toEqual([2_000, 50_000]);
    expect(options.parts).toEqual(['index', 'retrieval', 'notes', 'serving', 'startup']);
    expect(options.notesDir).toMatch(/shared[\\/]corpora[\\/]tldr$/);
    expect(options.full).toBe(false);
  });

  it.each([
    [['--chunks', '50_000,2000'], { sizes: [2_000, 50_000] }],
    [['--chunks=500'], { sizes: [500] }],
    [['--only', 'serving,index'], { parts: ['index', 'serving'] }],
    [['--only', 'warmup'], { parts: ['warmup'] }],
    [['--full'], { full: true }],
    [['--quick'], { full: false }],
    [['--out', 'x.json', '--keep', '--seed', '7'], { out: 'x.json', keep: true, seed: 7 }],
    [['--notes', '/tmp/vault'], { notesDir: '/tmp/vault' }],
    [['--only', 'postgres', '--queries', '50'], { parts: ['postgres'], retrievalQueries: 50 }],
  ])('parses %j', (argv, expected) => {
    expect(parseBenchArgs(argv)).toMatchObject(expected);
  });

  it.each([[['--only', 'speed']], [['--chunks', 'many']], [['--chunks', '5']], [['--bogus']], [['--out']], [['--queries', '0']]])(
    'rejects %j with the usage',
    (argv) => {
      expect(() => parseBenchArgs(argv)).toThrow(BenchUsageError);
    },
  );

  it('takes percentiles by interpolating between ranks', () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 95)).toBeCloseTo(4.8);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('npm run bench, tiny', () => {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('measures every part and produces every figure as a finite number', { timeout: 180_000 }, async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'asknotes-bench-smoke-'));
    made.push(workDir);
    const results: BenchResults = await runBench({
      ...parseBenchArgs(['--chunks', '60', '--notes', fileURLToPath(new URL('../notes', import.meta.url))]),
      workDir,
      retrievalQueries: 25,
      exactQueries: 10,
      servingRequests: { single: 3, concurrent: 8 },
    });

    expect(results.index?.local).toHaveLength(1);
    expect(results.index?.incremental).toHaveLength(1);
    expect(results.index?.ollama?.requests).toBeGreaterThan(0);
    expect(results.retrieval).toHaveLength(1);
    expect(results.retrieval?.[0]?.queries).toBeGreaterThan(0);
    // A tiny index is scanned exactly, so the product's vector search finds the reference top 10.
    expect(results.retrieval?.[0]?.exactSearchShare).toBe(1);
    expect(results.retrieval?.[0]?.recallAt10).toBeGreaterThanOrEqual(0.99);
    expect(results.notes?.name).toBe('notes');
    expect(results.notes?.chunks).toBeGreaterThan(0);
    expect(results.targets.map((check) => check.name)).toContain('notes: hybrid retrieval p95');
    expect(results.startup?.chunks).toBe(results.index?.incremental[0]?.chunks);
    expect(results.serving?.runs.map((run) => `${run.clients} ${run.arrivals}`)).toEqual(['1 staggered', '32 staggered', '32 simultaneous']);
    // Every answer went through the stand-in's chat model, so every overhead was measured.
    for (const run of results.serving?.runs ?? []) {
      expect(run.errors).toBe(0);
      expect(run.answeredWithoutModel).toBe(0);
    }

    const numbers = numbersIn(results);
    expect(numbers.length).toBeGreaterThan(60);
    const notFinite = numbers.filter(([, value]) => !Number.isFinite(value)).map(([path]) => path);
    expect(notFinite).toEqual([]);

    // The incremental run re-embedded exactly what the edit changed, and the table shows each part.
    const incremental = results.index?.incremental[0];
    expect(incremental?.embedded).toBe(incremental?.changedChunks);
    const table = formatTable(results);
    for (const label of ['local full build', 'incremental', 'Ollama embedder', 'hybrid retrieval', 'reference float64 cosine scan', 'notes: local full build', 'startup to ready', 'POST /ask, 32 clients (staggered)', 'POST /ask, 32 clients (simultaneous)']) {
      expect(table).toContain(label);
    }
    // The workspace is removed unless --keep.
    expect(await readdir(workDir).catch(() => [])).toEqual([]);
  });

  it('warmup: a server with a model load delay, the first answer after the warm-up, warm and cold answers', { timeout: 180_000 }, async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'asknotes-bench-warmup-'));
    made.push(workDir);
    const results: BenchResults = await runBench({ ...parseBenchArgs(['--only', 'warmup', '--chunks', '60']), workDir, warmUpLoadMs: 300 });
    expect(results.warmup).toMatchObject({ loadDelayMs: 300 });
    expect(results.warmup?.chunks).toBeGreaterThan(0);
    const notFinite = numbersIn(results.warmup).filter(([, value]) => !Number.isFinite(value));
    expect(notFinite).toEqual([]);
    // An answer after the models were unloaded waits for a load: never faster than the load itself.
    expect(results.warmup?.coldAnswerMs).toBeGreaterThanOrEqual(300);
    expect(results.targets.map((check) => check.name)).toContain('first answer after the warm-up, over a warm answer');
    expect(formatTable(results)).toMatch(/first answer after the warm-up/);
  });

  it('formats: indexes a generated PDF and the corpora it is given, and skips missing ones', { timeout: 180_000 }, async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'asknotes-bench-formats-'));
    made.push(workDir);
    const results = await runBench({
      ...parseBenchArgs(['--only', 'formats']),
      workDir,
      pdfPages: 3,
      corpora: { missing: join(workDir, 'nowhere') },
    });
    expect(results.formats?.builds.map((build) => [build.corpus, build.notes])).toEqual([['3-page PDF', 1]]);
    expect(results.formats?.builds[0]?.chunks).toBeGreaterThanOrEqual(3);
    expect(results.formats?.skipped).toEqual(['missing']);
    const notFinite = numbersIn(results.formats).filter(([, value]) => !Number.isFinite(value));
    expect(notFinite).toEqual([]);
    expect(formatTable(results)).toContain('index 3-page PDF: 1 notes');
  });

  it('postgres: builds the corpus in PGlite and times both backends on the same questions', { timeout: 180_000 }, async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'asknotes-bench-postgres-'));
    made.push(workDir);
    const results = await runBench({ ...parseBenchArgs(['--only', 'postgres', '--chunks', '60', '--queries', '12']), workDir });
    expect(results.postgres).toHaveLength(1);
    const figures = results.postgres![0]!;
    expect(figures.database).toBe('pglite');
    // The same corpus in both: every chunk of the files index was written to Postgres.
    expect(figures.chunks).toBeGreaterThanOrEqual(60);
    expect(figures.files.hybridMs.samples).toBe(12);
    expect(figures.postgres.hybridMs.samples).toBe(12);
    expect(figures.build.writeSeconds).toBeGreaterThan(0);
    // Same ranking rules on a tiny index (exact vector search in both): the same sources come back.
    expect(figures.agreementAtK).toBeGreaterThanOrEqual(0.9);
    const notFinite = numbersIn(results.postgres).filter(([, value]) => !Number.isFinite(value));
    expect(notFinite).toEqual([]);
    const table = formatTable(results);
    expect(table).toContain('postgres (PGlite) full build');
    expect(table).toMatch(/hybrid retrieval \(top \d+\), \d+ chunks: postgres \(PGlite\)/);
  });
});
