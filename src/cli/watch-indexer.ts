/**
 * `npm run index -- --watch` after its first build: re-indexes on every change of NOTES_DIR and
 * publishes it, until SIGTERM or SIGINT. An update that fails (the database went away, the
 * embedding server is restarting) is retried on its own, 1 s after the failure and doubling to a
 * minute between tries, each failure logged with its reason; a success resets the delay. Without
 * it a failed update waited for the next note change, which may be hours away, while the replicas
 * kept serving the old version.
 */
import type { Embedder } from '../embeddings/embedder.ts';
import { watchNotes } from '../notes/watch-notes.ts';
import type { IndexBackend } from '../vector-index/index-backend.ts';
import { createLiveIndex } from '../vector-index/live-index.ts';

export const FIRST_RETRY_MS = 1_000;
export const LAST_RETRY_MS = 60_000;

/** The wait before retry number `failures` (1, 2, …): FIRST_RETRY_MS doubling, capped at LAST_RETRY_MS. */
export function retryDelay(failures: number, first = FIRST_RETRY_MS, last = LAST_RETRY_MS): number {
  return Math.min(last, first * 2 ** Math.max(0, failures - 1));
}

export interface WatchIndexerOptions {
  backend: IndexBackend;
  notesDir: string;
  embedder: Embedder;
  watchPollMs: number;
  log: (line: string) => void;
  /** The first build failed (the caller logged why): start by retrying it. */
  retryFirst?: boolean;
  /** Resolves when the indexer should stop (default: SIGTERM or SIGINT, with its name). */
  stopped?: Promise<string>;
  firstRetryMs?: number;
  lastRetryMs?: number;
}

/** Runs until stopped; then lets the running update finish and closes the backend. Returns the exit code (0). */
export async function watchAndIndex(options: WatchIndexerOptions): Promise<number> {
  const { backend, log } = options;
  const live = createLiveIndex({ backend, notesDir: options.notesDir, embedder: options.embedder, log });
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let stopping = false;
  /** Counts a failure and tries again after its delay. */
  const retryLater = (): void => {
    failures += 1;
    const delay = retryDelay(failures, options.firstRetryMs, options.lastRetryMs);
    log(`retrying in ${formatDelay(delay)}`);
    retry = setTimeout(() => void run(), delay);
  };
  const run = async (): Promise<void> => {
    clearTimeout(retry);
    retry = undefined;
    await live.update();
    if (live.state().lastError === undefined) {
      if (failures > 0) log(`indexing works again after ${failures} failed ${failures === 1 ? 'try' : 'tries'}`);
      failures = 0;
      return;
    }
    if (!stopping && retry === undefined) retryLater();
  };
  const watcher = watchNotes(options.notesDir, { pollMs: options.watchPollMs, onChange: () => void run(), log });
  log(`watching ${options.notesDir}; each change is indexed and published`);
  if (options.retryFirst === true) retryLater();
  const signal = await (options.stopped ?? stopSignal());
  stopping = true;
  clearTimeout(retry);
  log(`${signal} received: finishing the running update, then exiting`);
  await watcher.close();
  while (live.state().building) await new Promise((resolve) => setTimeout(resolve, 100));
  await backend.close();
  return 0;
}

const formatDelay = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function stopSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}
