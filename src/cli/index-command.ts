/**
 * `npm run index [-- --rebuild]`: build or update the index and exit.
 * A progress bar on a TTY, plain lines otherwise; then a summary. Exit 0 on success.
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { chooseEmbedder } from '../embeddings/create-embedder.ts';
import { isEntryPoint } from './is-entry-point.ts';
import { FolderProblem } from '../notes/folder-problem.ts';
import { checkNotesFolder } from '../notes/load-notes.ts';
import { prepareIndexFolder } from '../vector-index/index-folder.ts';
import { updateIndex } from '../vector-index/files/update-generation.ts';
import type { BuildProgress, BuildSummary } from '../vector-index/index-backend.ts';

export function formatSummary(summary: BuildSummary, embedderId: string): string {
  const lines = [
    `embedder  ${embedderId}`,
    `notes     ${summary.notes}`,
    `chunks    ${summary.chunks}`,
    `embedded  ${summary.embedded}`,
    `reused    ${summary.reused}`,
    `removed   ${summary.removed}`,
    `failed    ${summary.failed.length}`,
    ...summary.failed.map((failure) => `  ${failure.path}: ${failure.reason}`),
    `seconds   ${summary.seconds.toFixed(2)}`,
  ];
  return lines.join('\n');
}

function progressPrinter(stream: NodeJS.WriteStream): (progress: BuildProgress) => void {
  let lastPlain = -1;
  return (progress) => {
    if (progress.phase !== 'embed') {
      const line = progress.phase === 'scan' ? `scanned ${progress.notes} notes` : `writing ${progress.chunks} chunks`;
      if (stream.isTTY) stream.write(`\r\x1b[K${line}\n`);
      else stream.write(`${line}\n`);
      return;
    }
    const { done, total } = progress;
    if (total === 0) return;
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      stream.write(`\r\x1b[Kembedding [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      if (done === total) stream.write('\n');
      return;
    }
    // Plain output: a line at every 10% so logs stay short.
    const decile = Math.floor((done / total) * 10);
    if (decile !== lastPlain) {
      lastPlain = decile;
      stream.write(`embedding ${done}/${total}\n`);
    }
  };
}

export async function runIndexCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { rebuild: { type: 'boolean', default: false } } });
  const config = parseConfig(env);
  const { embedder, reason } = await chooseEmbedder(config);
  process.stderr.write(`embedder ${embedder.id} (${reason})\n`);
  await checkNotesFolder(config.notesDir);
  await prepareIndexFolder(config.indexDir);
  const { summary } = await updateIndex({
    notesDir: config.notesDir,
    indexDir: config.indexDir,
    embedder,
    rebuild: values.rebuild,
    onProgress: progressPrinter(process.stderr),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatSummary(summary, embedder.id)}\n`);
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  runIndexCommand(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const message =
        error instanceof ConfigError || error instanceof AppError || error instanceof FolderProblem
          ? error.message
          : `index failed: ${error instanceof Error ? error.message : String(error)}`;
      process.stderr.write(`${message}\n`);
      process.exit(1);
    },
  );
}
