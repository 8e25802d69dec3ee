/**
 * `npm run ask -- "question" [--k N] [--no-rag] [--json]`: one answer in the terminal, streamed,
 * with its sources listed below it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import type { AskResponse, Source } from '../answer/answer-types.ts';
import { collectAnswer } from '../answer/collect-answer.ts';
import { isEntryPoint } from './is-entry-point.ts';
import { openEngine } from './open-engine.ts';

export function formatSources(sources: Source[], cited: number[]): string {
  if (sources.length === 0) return '';
  const lines = sources.map((source) => {
    const mark = cited.includes(source.n) ? '*' : ' ';
    const where = `${source.note}:${source.lines[0]}-${source.lines[1]}`;
    return `${mark}[${source.n}] ${where}  ${source.heading}  (score ${source.score.toFixed(2)})`;
  });
  return ['', 'Sources (* = cited):', ...lines].join('\n');
}

export async function runAskCommand(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      k: { type: 'string' },
      'no-rag': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const question = positionals.join(' ').trim();
  if (question === '') {
    process.stderr.write('usage: npm run ask -- "your question" [--k N] [--no-rag] [--json]\n');
    return 2;
  }
  const k = values.k === undefined ? undefined : Number(values.k);
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 20)) {
    process.stderr.write('--k must be a whole number from 1 to 20\n');
    return 2;
  }
  const config = parseConfig(env);
  const engine = await openEngine(config, { log: (line) => process.stderr.write(`${line}\n`) });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const request = { question, rag: !values['no-rag'], ...(k === undefined ? {} : { k }) };
  let response: AskResponse;
  let shownNotice = '';
  try {
    response = await collectAnswer(engine.answer(request, { signal: controller.signal }), {
    onDelta: values.json ? undefined : (text) => out.write(text),
    onSources: values.json ? undefined : (event) => {
      if (event.notice) process.stderr.write(`${event.notice}\n\n`);
      shownNotice = event.notice ?? '';
    },
    });
  } catch (error) {
    // Ctrl-C is a stop, not a failure.
    if (controller.signal.aborted) {
      out.write('\n(stopped)\n');
      return 130;
    }
    throw error;
  }
  if (values.json) {
    out.write(`${JSON.stringify(response, null, 2)}\n`);
  } else {
    out.write('\n');
    // What the end of the answer added to the notice (it cites nothing, or the prompt was cut).
    const later = (response.notice ?? '').slice(shownNotice.length).trim();
    if (later !== '') process.stderr.write(`\n${later}\n`);
    out.write(`${formatSources(response.sources, response.cited)}\n`);
  }
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  runAskCommand(process.argv.slice(2), process.env, process.stdout).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message = error instanceof ConfigError || error instanceof AppError ? error.message : `ask failed: ${String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}
