/**
 * `npm run eval [-- file.jsonl] [--notes DIR] [--method hybrid|vector|keyword|all] [--k N] [--json]`:
 * retrieval and answer quality on a question set, through the same answer function the server uses.
 * Each set can run on its own notes folder (`--notes`, else NOTES_DIR); several methods are compared
 * over one index.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { collectAnswer } from '../answer/collect-answer.ts';
import type { RetrievalMethod } from '../answer/retrieve.ts';
import { parseQuestionSet, scoreOutcomes, type EvalMetrics, type EvalOutcome } from './eval-metrics.ts';
import { isEntryPoint } from './is-entry-point.ts';
import { openEngine } from './open-engine.ts';

const SHARED_SET = fileURLToPath(new URL('../../../shared/eval/questions.jsonl', import.meta.url));
const BUNDLED_SET = fileURLToPath(new URL('../../test/fixtures/eval-questions.jsonl', import.meta.url));
const EVAL_INDEXES = fileURLToPath(new URL('../../index/eval/', import.meta.url));

const METHODS: readonly RetrievalMethod[] = ['hybrid', 'vector', 'keyword'];

/** The question set used when none is named: the shared one when present, else the copy in test/. */
export function defaultQuestionSet(): string {
  return existsSync(SHARED_SET) ? SHARED_SET : BUNDLED_SET;
}

/**
 * Where the index of a notes folder named by `--notes` lives when INDEX_DIR is not set: a folder of
 * its own under `index/eval/`, so evaluating another corpus never replaces the index of NOTES_DIR.
 */
export function evalIndexDir(notesDir: string): string {
  const absolute = resolve(notesDir);
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 8);
  return resolve(EVAL_INDEXES, `${basename(absolute) || 'notes'}-${hash}`);
}

/** `hybrid`, `all` or a comma-separated list of methods; undefined when a name is not a method. */
export function parseMethods(value: string): RetrievalMethod[] | undefined {
  const names = value === 'all' ? [...METHODS] : value.split(',').map((name) => name.trim());
  if (names.length === 0 || !names.every((name): name is RetrievalMethod => (METHODS as string[]).includes(name))) return undefined;
  return [...new Set(names)];
}

const row = (name: string, value: number) => `${name.padEnd(14)} ${value.toFixed(3)}`;

export function formatMetrics(metrics: EvalMetrics, k: number): string {
  return [
    `questions      ${metrics.questions} (${metrics.answerable} answerable, ${metrics.unanswerable} unanswerable), k=${k}`,
    row('hit@1', metrics['hit@1']),
    row('hit@3', metrics['hit@3']),
    row(`hit@k`, metrics['hit@k']),
    row('MRR', metrics.MRR),
    row('answer', metrics.answer),
    row('abstain', metrics.abstain),
    row('false_abstain', metrics.false_abstain),
    row('wrong_chunk', metrics.wrong_chunk),
    `source chars   ${Math.round(metrics.mean_source_chars)} (mean)`,
  ].join('\n');
}

const COLUMNS = ['hit@1', 'hit@3', 'hit@k', 'MRR', 'answer', 'abstain', 'false_abstain', 'wrong_chunk'] as const;

/** One row per method: the comparison the README's quality tables are made from. */
export function formatComparison(results: readonly { method: RetrievalMethod; metrics: EvalMetrics }[]): string {
  const header = ['method'.padEnd(8), ...COLUMNS.map((name) => name.padStart(13))].join(' ');
  const lines = results.map(({ method, metrics }) =>
    [method.padEnd(8), ...COLUMNS.map((name) => metrics[name].toFixed(3).padStart(13))].join(' '),
  );
  return [header, ...lines].join('\n');
}

export interface EvalRun {
  method: RetrievalMethod;
  metrics: EvalMetrics;
  missed: { id: string; why: string }[];
  outcomes: EvalOutcome[];
  k: number;
}

/**
 * Runs a question set once per method over one index. `notes` overrides NOTES_DIR (and, unless
 * INDEX_DIR is set, gets an index folder of its own).
 */
export async function runEvalMethods(options: {
  file: string;
  env: NodeJS.ProcessEnv;
  methods: readonly RetrievalMethod[];
  notes?: string;
  k?: number;
}): Promise<EvalRun[]> {
  const questions = parseQuestionSet(await readFile(options.file, 'utf8'));
  const env = { ...options.env };
  if (options.notes !== undefined) {
    env['NOTES_DIR'] = options.notes;
    if (env['INDEX_DIR'] === undefined || env['INDEX_DIR'].trim() === '') env['INDEX_DIR'] = evalIndexDir(options.notes);
  }
  const config = parseConfig(env);
  const engine = await openEngine(config);
  const k = options.k ?? config.topK;
  const runs: EvalRun[] = [];
  for (const method of options.methods) {
    const answer = engine.answerWith(method);
    const outcomes: EvalOutcome[] = [];
    for (const question of questions) {
      const response = await collectAnswer(answer({ question: question.question, k }, { signal: new AbortController().signal }));
      outcomes.push({
        question,
        sources: response.sources.map((source) => ({ note: source.note, text: source.text })),
        answer: response.answer,
        answerable: response.answerable,
      });
    }
    runs.push({ method, ...scoreOutcomes(outcomes), outcomes, k });
  }
  return runs;
}

/** One method's run (see `runEvalMethods`). */
export async function runEval(options: {
  file: string;
  env: NodeJS.ProcessEnv;
  method?: RetrievalMethod;
  notes?: string;
  k?: number;
}): Promise<EvalRun> {
  const { method, ...rest } = options;
  const [run] = await runEvalMethods({ ...rest, methods: [method ?? 'hybrid'] });
  if (run === undefined) throw new Error('eval ran no method');
  return run;
}

export async function runEvalCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      method: { type: 'string', default: 'hybrid' },
      notes: { type: 'string' },
      k: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const methods = parseMethods(values.method);
  if (methods === undefined) {
    process.stderr.write('--method must be hybrid, vector, keyword, a comma-separated list of them, or all\n');
    return 2;
  }
  // Checked like `ask --k`: a NaN k would slip past the engine's clamp and return every chunk.
  const k = values.k === undefined ? undefined : Number(values.k);
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 20)) {
    process.stderr.write('--k must be a whole number from 1 to 20\n');
    return 2;
  }
  if (values.notes !== undefined && !existsSync(values.notes)) {
    process.stderr.write(`--notes: no such folder: ${values.notes}\n`);
    return 2;
  }
  const file = positionals[0] ?? defaultQuestionSet();
  const runs = await runEvalMethods({
    file,
    env,
    methods,
    ...(values.notes === undefined ? {} : { notes: values.notes }),
    ...(k === undefined ? {} : { k }),
  });
  if (values.json) {
    const results = runs.map((run) => ({ method: run.method, metrics: run.metrics, missed: run.missed }));
    const first = runs[0];
    const body = results.length === 1 && first ? { file, k: first.k, ...results[0] } : { file, k: first?.k, results };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  for (const run of runs) {
    process.stdout.write(`${file} (${run.method})\n${formatMetrics(run.metrics, run.k)}\n`);
    if (run.missed.length === 0) continue;
    process.stdout.write('\nmissed:\n');
    for (const miss of run.missed) {
      const outcome = run.outcomes.find((item) => item.question.id === miss.id);
      process.stdout.write(`  ${miss.id}  ${miss.why}  — ${outcome?.question.question ?? ''}\n`);
      if (values.verbose && outcome) {
        process.stdout.write(`      sources: ${outcome.sources.map((source) => source.note).join(', ')}\n`);
        process.stdout.write(`      answer: ${outcome.answer.replace(/\n/g, ' | ')}\n`);
      }
    }
    process.stdout.write('\n');
  }
  if (runs.length > 1) process.stdout.write(`${formatComparison(runs)}\n`);
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  runEvalCommand(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof ConfigError || error instanceof AppError ? error.message : `eval failed: ${String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}
