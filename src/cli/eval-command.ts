/**
 * `npm run eval [-- file.jsonl] [--json] [--method hybrid|vector|keyword] [--k N]`: retrieval and answer
 * quality on a question set, through the same answer function the server uses.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

/** The question set used when none is named: the shared one when present, else the copy in test/. */
export function defaultQuestionSet(): string {
  return existsSync(SHARED_SET) ? SHARED_SET : BUNDLED_SET;
}

export function formatMetrics(metrics: EvalMetrics, k: number): string {
  const row = (name: string, value: number) => `${name.padEnd(14)} ${value.toFixed(3)}`;
  return [
    `questions      ${metrics.questions} (${metrics.answerable} answerable, ${metrics.unanswerable} unanswerable), k=${k}`,
    row('hit@1', metrics['hit@1']),
    row('hit@3', metrics['hit@3']),
    row(`hit@k`, metrics['hit@k']),
    row('MRR', metrics.MRR),
    row('answer', metrics.answer),
    row('abstain', metrics.abstain),
    row('false_abstain', metrics.false_abstain),
    `source chars   ${Math.round(metrics.mean_source_chars)} (mean)`,
  ].join('\n');
}

export async function runEval(options: {
  file: string;
  env: NodeJS.ProcessEnv;
  method?: RetrievalMethod;
  k?: number;
}): Promise<{ metrics: EvalMetrics; missed: { id: string; why: string }[]; outcomes: EvalOutcome[]; k: number }> {
  const questions = parseQuestionSet(await readFile(options.file, 'utf8'));
  const config = parseConfig(options.env);
  const engine = await openEngine(config, options.method ? { retrievalMethod: options.method } : {});
  const k = options.k ?? config.topK;
  const outcomes: EvalOutcome[] = [];
  for (const question of questions) {
    const response = await collectAnswer(
      engine.answer({ question: question.question, k }, { signal: new AbortController().signal }),
    );
    outcomes.push({
      question,
      sources: response.sources.map((source) => source.text),
      answer: response.answer,
      answerable: response.answerable,
    });
  }
  return { ...scoreOutcomes(outcomes), outcomes, k };
}

export async function runEvalCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      method: { type: 'string', default: 'hybrid' },
      k: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const method = values.method as RetrievalMethod;
  if (!['hybrid', 'vector', 'keyword'].includes(method)) {
    process.stderr.write('--method must be hybrid, vector or keyword\n');
    return 2;
  }
  // Checked like `ask --k`: a NaN k would slip past the engine's clamp and return every chunk.
  const k = values.k === undefined ? undefined : Number(values.k);
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 20)) {
    process.stderr.write('--k must be a whole number from 1 to 20\n');
    return 2;
  }
  const file = positionals[0] ?? defaultQuestionSet();
  const result = await runEval({ file, env, method, ...(k === undefined ? {} : { k }) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ file, method, k: result.k, metrics: result.metrics, missed: result.missed }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${file} (${method})\n${formatMetrics(result.metrics, result.k)}\n`);
  if (result.missed.length > 0) {
    process.stdout.write('\nmissed:\n');
    for (const miss of result.missed) {
      const outcome = result.outcomes.find((item) => item.question.id === miss.id);
      process.stdout.write(`  ${miss.id}  ${miss.why}  — ${outcome?.question.question ?? ''}\n`);
      if (values.verbose && outcome) process.stdout.write(`      answer: ${outcome.answer.replace(/\n/g, ' | ')}\n`);
    }
  }
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
