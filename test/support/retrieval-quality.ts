/**
 * Measures retrieval quality of the built-in local embedder and the BM25 keyword index on the
 * shared question set (not a test: run it by hand).
 *
 *   npx tsx test/support/retrieval-quality.ts [--dims 1024] [--weighting term|none] [--seeds 20]
 *     [--word 1] [--bigram 0.5] [--char 0.6] [--min-gram 3] [--max-gram 5] [--chunker auto|headings]
 *     [--verbose] [--bench]
 *
 * `--weighting term` gives the embedder the keyword index's term statistics (query IDF), as the
 * index does after loading; `none` leaves queries unweighted. `--seeds n` repeats the vector runs
 * with n different hash seeds and averages: on a few dozen questions, which features happen to
 * collide moves single results by a question or two, so design choices are judged on averages.
 *
 * Chunks come from the real chunker (`chunkMarkdown`) when it exists, else from a simple
 * heading splitter below. A source is relevant when its normalised text contains an evidence
 * string (shared/eval/README.md). Prints hit@1, hit@3, hit@4 and MRR for exact-cosine vector
 * search, BM25, and their reciprocal-rank fusion (k = 60).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createLocalEmbedder, type FeatureSettings } from '../../src/embeddings/local-embedder.ts';
import { KeywordIndex } from '../../src/vector-index/keyword-index.ts';
import type { Note } from '../../src/notes/load-notes.ts';
import type { Chunk } from '../../src/notes/chunk-markdown.ts';

const NOTES_DIR = new URL('../../notes/', import.meta.url);
const QUESTIONS = process.env['EVAL_QUESTIONS'] ?? '/work/shared/eval/questions.jsonl';
const RRF_K = 60;

const { values: args } = parseArgs({
  options: {
    note: { type: 'string', default: 'dockercon-2023.md' },
    dims: { type: 'string', default: '1024' },
    weighting: { type: 'string', default: 'term' },
    word: { type: 'string' },
    bigram: { type: 'string' },
    char: { type: 'string' },
    'min-gram': { type: 'string' },
    'max-gram': { type: 'string' },
    chunker: { type: 'string', default: 'auto' },
    seeds: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    bench: { type: 'boolean', default: false },
  },
});

interface EvalChunk {
  id: string;
  heading: string;
  text: string;
  /** What is embedded (the chunker's `embedText`). */
  embedText: string;
  /** What the keyword index sees: title + heading path + text, as the index store builds it. */
  keywordText: string;
}

interface Question {
  id: string;
  question: string;
  evidence?: string[];
  unanswerable?: boolean;
}

function normaliseForMatch(text: string): string {
  return text.toLowerCase().replace(/[*_#>`"]/g, '').replace(/\s+/g, ' ').trim();
}

/**
 * Stand-in until `chunkMarkdown` lands: split at headings (also `- #### x` inside lists), then
 * cut long sections at line boundaries into pieces of at most ~900 characters, preferring a cut
 * before a top-level list item once a piece has 400 characters, never inside a code fence.
 */
function splitAtHeadings(note: Note): EvalChunk[] {
  const lines = note.text.split('\n');
  const chunks: EvalChunk[] = [];
  const path: string[] = [];
  let heading = '';
  let piece: string[] = [];
  let inFence = false;
  const flush = (): void => {
    const text = piece.join('\n').trim();
    piece = [];
    if (text === '') return;
    const id = createHash('sha256').update(`${note.path}\n${text}`).digest('hex').slice(0, 16);
    const indexText = `${note.title}\n${heading}\n${text}`;
    chunks.push({ id, heading, text, embedText: indexText, keywordText: indexText });
  };
  for (const line of lines) {
    if (/^\s*(?:[-*+]\s+)?(```|~~~)/.test(line)) inFence = !inFence;
    const match = inFence ? null : /^\s*(?:[-*+]\s+)?(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (match !== null) {
      flush();
      const level = match[1]?.length ?? 1;
      path.length = Math.max(0, level - 1);
      path[level - 1] = match[2] ?? '';
      heading = path.filter((part) => part !== undefined && part !== '').join(' > ');
      continue;
    }
    const size = piece.reduce((sum, text) => sum + text.length + 1, 0);
    const topLevelItem = /^[-*+]\s|^\d+\.\s/.test(line);
    if (!inFence && ((size >= 400 && topLevelItem) || size + line.length > 900)) flush();
    piece.push(line);
  }
  flush();
  return chunks;
}

async function loadChunks(): Promise<{ chunks: EvalChunk[]; chunker: string }> {
  const path = args.note ?? 'dockercon-2023.md';
  const text = readFileSync(new URL(path, NOTES_DIR), 'utf8');
  const title = /^#\s+(.+)$/m.exec(text)?.[1]?.trim() ?? path.replace(/\.md$/, '');
  const note: Note = { path, title, tags: [], text, hash: createHash('sha256').update(text).digest('hex') };
  if (args.chunker !== 'headings') {
    // The real chunker may not exist yet; its module currently exports only types.
    const module = (await import('../../src/notes/chunk-markdown.ts')) as {
      chunkMarkdown?: (note: Note) => Chunk[];
    };
    if (typeof module.chunkMarkdown === 'function') {
      const chunks = module.chunkMarkdown(note).map((chunk) => ({
        id: chunk.id,
        heading: chunk.heading,
        text: chunk.text,
        embedText: chunk.embedText,
        keywordText: `${note.title}\n${chunk.heading}\n${chunk.text}`,
      }));
      return { chunks, chunker: 'chunkMarkdown' };
    }
  }
  return { chunks: splitAtHeadings(note), chunker: 'heading splitter (stand-in)' };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] ?? 0) * (b[index] ?? 0);
  return sum;
}

function fuse(rankings: string[][]): string[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((id, rank) => scores.set(id, (scores.get(id) ?? 0) + 1 / (RRF_K + rank + 1)));
  }
  return [...scores.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
}

interface Metrics {
  hit1: number;
  hit3: number;
  hit4: number;
  mrr: number;
}

function score(ranks: (number | undefined)[]): Metrics {
  const count = ranks.length;
  const share = (limit: number): number => ranks.filter((rank) => rank !== undefined && rank <= limit).length / count;
  const mrr = ranks.reduce<number>((sum, rank) => sum + (rank === undefined ? 0 : 1 / rank), 0) / count;
  return { hit1: share(1), hit3: share(3), hit4: share(4), mrr };
}

function format(name: string, metrics: Metrics): string {
  const cell = (value: number): string => value.toFixed(3);
  return `| ${name} | ${cell(metrics.hit1)} | ${cell(metrics.hit3)} | ${cell(metrics.hit4)} | ${cell(metrics.mrr)} |`;
}

function featureOptions(): Partial<FeatureSettings> {
  const features: Partial<FeatureSettings> = {};
  if (args.word !== undefined) features.word = Number(args.word);
  if (args.bigram !== undefined) features.bigram = Number(args.bigram);
  if (args.char !== undefined) features.char = Number(args.char);
  if (args['min-gram'] !== undefined) features.minGram = Number(args['min-gram']);
  if (args['max-gram'] !== undefined) features.maxGram = Number(args['max-gram']);
  return features;
}

interface Run {
  vector: Metrics;
  bm25: Metrics;
  rrf: Metrics;
  cosineBest: number;
  cosineRelevant: number;
}

async function evaluate(chunks: EvalChunk[], answerable: Question[], seed: number): Promise<Run> {
  const embedder = createLocalEmbedder({ dimensions: Number(args.dims), features: { ...featureOptions(), seed } });
  const vectors = await embedder.embedDocuments(chunks.map((chunk) => chunk.embedText));
  const keyword = KeywordIndex.build(chunks.map((chunk) => ({ id: chunk.id, text: chunk.keywordText })));
  if (args.weighting === 'term') embedder.useTermStatistics(keyword);

  const normalised = new Map(chunks.map((chunk) => [chunk.id, normaliseForMatch(chunk.text)]));
  const ranks = { vector: [] as (number | undefined)[], bm25: [] as (number | undefined)[], rrf: [] as (number | undefined)[] };
  const best: number[] = [];
  const firstRelevant: number[] = [];
  for (const question of answerable) {
    const evidence = (question.evidence ?? []).map(normaliseForMatch);
    const relevant = (id: string): boolean => evidence.some((text) => normalised.get(id)?.includes(text) ?? false);
    const queryVector = await embedder.embedQuery(question.question);
    const cosine = chunks
      .map((chunk, index) => ({ id: chunk.id, score: dot(queryVector, vectors[index] ?? []) }))
      .sort((a, b) => b.score - a.score);
    const vectorRanking = cosine.map((hit) => hit.id);
    const bm25Ranking = keyword.search(question.question, chunks.length).map((hit) => hit.id);
    const fused = fuse([vectorRanking.slice(0, 25), bm25Ranking.slice(0, 25)]);
    const rankOf = (ranking: string[]): number | undefined => {
      const position = ranking.findIndex(relevant);
      return position < 0 ? undefined : position + 1;
    };
    ranks.vector.push(rankOf(vectorRanking));
    ranks.bm25.push(rankOf(bm25Ranking));
    ranks.rrf.push(rankOf(fused));
    best.push(cosine[0]?.score ?? 0);
    const relevantHit = cosine.find((hit) => relevant(hit.id));
    if (relevantHit !== undefined) firstRelevant.push(relevantHit.score);
    if (args.verbose) {
      const top = chunks.find((chunk) => chunk.id === fused[0]);
      console.log(
        `${question.id} vector=${rankOf(vectorRanking) ?? '-'} bm25=${rankOf(bm25Ranking) ?? '-'} rrf=${rankOf(fused) ?? '-'}  ${question.question}  [top: ${top?.heading ?? '?'}]`,
      );
    }
  }
  return {
    vector: score(ranks.vector),
    bm25: score(ranks.bm25),
    rrf: score(ranks.rrf),
    cosineBest: mean(best),
    cosineRelevant: mean(firstRelevant),
  };
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

function averageMetrics(list: Metrics[]): Metrics {
  return {
    hit1: mean(list.map((metrics) => metrics.hit1)),
    hit3: mean(list.map((metrics) => metrics.hit3)),
    hit4: mean(list.map((metrics) => metrics.hit4)),
    mrr: mean(list.map((metrics) => metrics.mrr)),
  };
}

async function main(): Promise<void> {
  const { chunks, chunker } = await loadChunks();
  const questions = readFileSync(QUESTIONS, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Question);
  const answerable = questions.filter((question) => !question.unanswerable && question.evidence !== undefined);
  const unreachable = answerable.filter((question) => {
    const evidence = (question.evidence ?? []).map(normaliseForMatch);
    return !chunks.some((chunk) => evidence.some((text) => normaliseForMatch(chunk.text).includes(text)));
  }).length;

  // Hash collisions make single runs a lottery on a small set: average over hash seeds.
  const seedCount = Math.max(1, Number(args.seeds));
  const runs: Run[] = [];
  for (let seed = 0; seed < seedCount; seed++) runs.push(await evaluate(chunks, answerable, seed));

  const embedder = createLocalEmbedder({ dimensions: Number(args.dims), features: featureOptions() });
  const lengths = chunks.map((chunk) => chunk.text.length).sort((a, b) => a - b);
  console.log(`embedder ${embedder.id}, query weighting: ${args.weighting}; chunker: ${chunker}; hash seeds: ${seedCount}`);
  console.log(
    `${chunks.length} chunks (text length median ${lengths[lengths.length >> 1]}, max ${lengths[lengths.length - 1]}); ` +
      `${answerable.length} answerable questions, ${unreachable} with no chunk containing the evidence`,
  );
  console.log('| ranking | hit@1 | hit@3 | hit@4 | MRR |\n|---|---|---|---|---|');
  console.log(format('vector (exact cosine)', averageMetrics(runs.map((run) => run.vector))));
  console.log(format('BM25', averageMetrics(runs.map((run) => run.bm25))));
  console.log(format('RRF (k=60)', averageMetrics(runs.map((run) => run.rrf))));
  if (seedCount > 1) {
    const spread = (pick: (run: Run) => number): string => {
      const values = runs.map(pick);
      return `${Math.min(...values).toFixed(3)}..${Math.max(...values).toFixed(3)}`;
    };
    console.log(`range over seeds: vector hit@1 ${spread((run) => run.vector.hit1)}, RRF hit@1 ${spread((run) => run.rrf.hit1)}, RRF hit@3 ${spread((run) => run.rrf.hit3)}`);
  }
  console.log(
    `cosine: best hit mean ${mean(runs.map((run) => run.cosineBest)).toFixed(3)}, first relevant mean ${mean(runs.map((run) => run.cosineRelevant)).toFixed(3)}`,
  );
  if (args.bench) await bench(chunks, questions.map((question) => question.question), embedder.dimensions);
}

/** Wall and CPU time of `work` (the machine may be shared: CPU time is the fairer number). */
async function timed<T>(work: () => T | Promise<T>): Promise<{ result: T; wall: number; cpu: number }> {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const result = await work();
  const wall = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  return { result, wall, cpu: (cpu.user + cpu.system) / 1000 };
}

/** Speed at scale: the note's chunks repeated (with a distinguishing word) up to 50,000. */
async function bench(chunks: EvalChunk[], queries: string[], dimensions: number): Promise<void> {
  const target = 50_000;
  const texts: string[] = [];
  for (let index = 0; texts.length < target; index++) {
    const chunk = chunks[index % chunks.length];
    texts.push(`${chunk?.embedText ?? ''}\ncopy${Math.floor(index / chunks.length)}`);
  }
  const averageLength = Math.round(texts.reduce((sum, text) => sum + text.length, 0) / texts.length);
  const embedder = createLocalEmbedder({ dimensions });
  await embedder.embedDocuments(texts.slice(0, 500)); // warm up the JIT
  const sample = texts.slice(0, 10_000);
  const embedding = await timed(() => embedder.embedDocuments(sample));
  console.log(
    `embedDocuments: ${sample.length} chunks (avg ${averageLength} chars): ${embedding.wall.toFixed(0)} ms wall, ` +
      `${embedding.cpu.toFixed(0)} ms CPU = ${Math.round((sample.length / embedding.cpu) * 1000)} chunks/s of CPU`,
  );
  const building = await timed(() => KeywordIndex.build(texts.map((text, number) => ({ id: String(number), text }))));
  const index = building.result;
  console.log(
    `KeywordIndex.build: ${texts.length} chunks: ${building.wall.toFixed(0)} ms wall, ${building.cpu.toFixed(0)} ms CPU`,
  );
  embedder.useTermStatistics(index);
  const querying = await timed(async () => {
    for (const query of queries) await embedder.embedQuery(query);
  });
  console.log(`embedQuery with term statistics: ${(querying.cpu / queries.length).toFixed(3)} ms CPU each`);

  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const query of queries) {
      const started = performance.now();
      index.search(query, 25);
      times.push(performance.now() - started);
    }
  }
  times.sort((a, b) => a - b);
  const percentile = (share: number): string => (times[Math.floor(share * (times.length - 1))] ?? 0).toFixed(3);
  console.log(`KeywordIndex.search (k=25) at ${texts.length} chunks: p50 ${percentile(0.5)} ms, p95 ${percentile(0.95)} ms (wall)`);
}

await main();
