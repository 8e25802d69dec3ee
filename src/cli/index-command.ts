/**
 * `npm run index [-- --rebuild] [--wait]`: build or update the index and exit.
 * A progress bar on a TTY, plain lines otherwise; then a summary. Exit 0 on success.
 * `npm run index -- --watch`: the indexer of a team deployment: build, then keep watching NOTES_DIR
 * and publish each change (serving replicas, ROLE=serve, follow) until SIGTERM/SIGINT.
 * With INDEX_BACKEND=postgres only one indexer writes at a time: a second one exits with a message
 * naming the first, unless `--wait` (implied by `--watch`) makes it wait its turn. A watching indexer
 * retries what fails, the first build included when the database is unreachable (watch-indexer.ts).
 */
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { chooseEmbedder } from '../embeddings/create-embedder.ts';
import { isEntryPoint } from './is-entry-point.ts';
import { FolderProblem } from '../notes/folder-problem.ts';
import { checkNotesFolder } from '../notes/load-notes.ts';
import { createIndexBackend } from '../vector-index/create-backend.ts';
import { isDatabaseUnreachable } from '../vector-index/postgres/database-errors.ts';
import { watchAndIndex } from './watch-indexer.ts';
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
  const { values } = parseArgs({
    args: argv,
    options: {
      rebuild: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
    },
  });
  const config = parseConfig(env);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { embedder, reason } = await chooseEmbedder(config);
  log(`embedder ${embedder.id} (${reason})`);
  // A notes folder that cannot be read fails here at once, in plain words (issue 17); the backend
  // checks its own storage (the files backend: INDEX_DIR).
  await checkNotesFolder(config.notesDir);
  const backend = createIndexBackend(config, { log, waitForWriter: values.wait || values.watch });
  let retryFirst = false;
  try {
    const { summary } = await backend.update({
      notesDir: config.notesDir,
      embedder,
      rebuild: values.rebuild,
      onProgress: progressPrinter(process.stderr),
      log,
    });
    process.stdout.write(`${formatSummary(summary, embedder.id)}\n`);
  } catch (error) {
    // A watching indexer outlives a database that is down at its start (it is restarting, or
    // starts after the indexer in a deployment): it says why and tries again rather than exiting
    // into a restart loop. Anything else (and a one-off run) exits with the message.
    if (!values.watch || !isDatabaseUnreachable(error)) {
      await backend.close();
      throw error;
    }
    log(`index failed: ${error instanceof Error ? error.message : String(error)}`);
    retryFirst = true;
  }
  if (!values.watch) {
    await backend.close();
    return 0;
  }
  return watchAndIndex({ backend, notesDir: config.notesDir, embedder, watchPollMs: config.watchPollMs, log, retryFirst });
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
