/**
 * Watches NOTES_DIR and reports note changes, debounced, so the index can be updated. Never
 * writes and never reads note contents: it only says which paths changed.
 *
 * Two modes (chokidar 4): native file events, or polling every `pollMs`. Polling is used when
 * `pollMs > 0`, since file events do not cross every Docker file share (SPEC "compose.yaml");
 * with `pollMs = 0` native events are used, and a native watcher that fails (e.g. the inotify
 * limit, ENOSPC) is replaced by a polling one, with one log line.
 */
import { relative, sep } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import { isIgnoredName, isNoteFileName } from './load-notes.ts';

/** Polling interval when native watching fails and no `pollMs` was given. */
const FALLBACK_POLL_MS = 2_000;
const DEFAULT_DEBOUNCE_MS = 300;
/** A folder being copied in keeps producing events; report at least this often anyway. */
const MAX_WAIT_MS = 2_000;

export interface WatchNotesOptions {
  /** > 0: poll at this interval; 0: native events (falling back to polling if they fail). */
  pollMs: number;
  /** Called once per burst of changes, with the changed paths (relative, "/"-separated, sorted). */
  onChange: (paths: string[]) => void | Promise<unknown>;
  /** Quiet time before a burst is reported. */
  debounceMs?: number;
  log?: (message: string) => void;
  /** chokidar's `watch`, replaceable so tests can make native watching fail. */
  createWatcher?: typeof watch;
}

export interface NotesWatcher {
  /** Resolves when the initial scan is done and changes from then on are reported. */
  readonly ready: Promise<void>;
  /** Which kind of watching is active (it changes to "polling" after a native failure). */
  readonly mode: 'native' | 'polling';
  /** Stops watching; pending, not yet reported changes are dropped. */
  close(): Promise<void>;
}

export function watchNotes(notesDir: string, options: WatchNotesOptions): NotesWatcher {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const log = options.log ?? (() => {});
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let firstPendingAt = 0;
  let closed = false;
  let mode: 'native' | 'polling' = options.pollMs > 0 ? 'polling' : 'native';

  const relativePath = (path: string): string => relative(notesDir, path).split(sep).join('/');

  const isIgnored = (path: string, stats?: { isFile(): boolean }): boolean => {
    const rel = relativePath(path);
    if (rel === '' || rel.startsWith('..')) return false;
    if (rel.split('/').some(isIgnoredName)) return true;
    // Without stats chokidar is still deciding whether to descend: never ignore a possible folder.
    return stats?.isFile() === true && !isNoteFileName(rel);
  };

  const flush = (): void => {
    timer = undefined;
    if (closed || pending.size === 0) return;
    const paths = [...pending].sort();
    pending.clear();
    try {
      Promise.resolve(options.onChange(paths)).catch((error: unknown) => log(`notes watcher: change handler failed: ${String(error)}`));
    } catch (error) {
      log(`notes watcher: change handler failed: ${String(error)}`);
    }
  };

  const record = (path: string): void => {
    if (closed) return;
    if (pending.size === 0) firstPendingAt = Date.now();
    pending.add(relativePath(path) || '.');
    if (timer !== undefined) clearTimeout(timer);
    const waited = Date.now() - firstPendingAt;
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, MAX_WAIT_MS - waited)));
  };

  const start = (usePolling: boolean): FSWatcher => {
    const watcher = (options.createWatcher ?? watch)(notesDir, {
      ignoreInitial: true,
      ignored: isIgnored,
      usePolling,
      interval: options.pollMs > 0 ? options.pollMs : FALLBACK_POLL_MS,
      binaryInterval: options.pollMs > 0 ? options.pollMs : FALLBACK_POLL_MS,
      // Like the loader: symlinked folders are never followed (no loops, nothing outside the folder).
      followSymlinks: false,
    });
    const onFile = (path: string): void => {
      if (isNoteFileName(path)) record(path);
    };
    watcher.on('add', onFile).on('change', onFile).on('unlink', onFile);
    // A folder removed or moved away takes its notes with it; chokidar does not always report each file.
    watcher.on('unlinkDir', record);
    return watcher;
  };

  let watcher = start(mode === 'polling');
  let markReady = (): void => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const listenForReadyAndErrors = (current: FSWatcher): void => {
    current.once('ready', () => markReady());
    current.on('error', (error: unknown) => {
      if (closed || current !== watcher) return;
      if (mode === 'native') {
        mode = 'polling';
        log(`notes watcher: native file events failed (${String(error)}); polling every ${options.pollMs > 0 ? options.pollMs : FALLBACK_POLL_MS} ms instead`);
        void current.close();
        watcher = start(true);
        listenForReadyAndErrors(watcher);
        // Anything may have changed while no watcher was working.
        record(notesDir);
      } else {
        log(`notes watcher: ${String(error)}`);
      }
    });
  };
  listenForReadyAndErrors(watcher);

  return {
    ready,
    get mode() {
      return mode;
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      pending.clear();
      await watcher.close();
    },
  };
}
