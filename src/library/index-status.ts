/**
 * The body of `GET /index/status` from the live index's state: per note its chunks, content hash and
 * whether it is indexed or failed, the build's progress and the last build's summary. `only` names
 * the notes wanted (the page asks for the hashes of the notes an answer cited, issue 15): the rest of
 * a 7,424-note folder's lines (about 1 MB of JSON) are then neither built nor sent.
 */
import type { IndexStatusReport } from '../server/server-deps.ts';
import type { BuildProgress } from '../vector-index/index-backend.ts';
import type { LiveIndex } from '../vector-index/live-index.ts';

type NoteLine = IndexStatusReport['notes'][number];

function byPath(a: NoteLine, b: NoteLine): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * The index build running now, if any: a warm start's quick (built-in) index first — answers wait for
 * it — else the build of the configured embedder's index (first, re-index or a switch).
 */
export function runningBuild(live: Pick<LiveIndex, 'state' | 'embedder'>): { embedder: string; progress: BuildProgress | undefined } | undefined {
  const state = live.state();
  if (state.quickBuild !== undefined) return state.quickBuild;
  return state.building ? { embedder: live.embedder().id, progress: state.progress } : undefined;
}

/** Chunks embedded of those to embed, while a build is embedding. */
export function embedProgress(build: ReturnType<typeof runningBuild>): { done: number; total: number } | undefined {
  const progress = build?.progress;
  return progress?.phase === 'embed' ? { done: progress.done, total: progress.total } : undefined;
}

export function indexStatusReport(live: Pick<LiveIndex, 'state' | 'embedder'>, only?: readonly string[]): IndexStatusReport {
  const state = live.state();
  const manifest = state.current?.index.manifest;
  const indexed = manifest?.notes ?? {};
  const wanted = only === undefined ? undefined : new Set(only);
  const paths = wanted === undefined ? Object.keys(indexed) : [...wanted].filter((path) => Object.hasOwn(indexed, path));
  const notes: NoteLine[] = paths.map((path) => {
    const entry = indexed[path]!;
    return { path, chunks: entry.chunkIds.length, hash: entry.hash, status: 'indexed' };
  });
  for (const failure of state.failures) {
    if (wanted !== undefined && !wanted.has(failure.path)) continue;
    notes.push({ path: failure.path, chunks: 0, hash: null, status: 'failed', reason: failure.reason });
  }
  notes.sort(byPath);
  const summary = state.lastSummary;
  const build = runningBuild(live);
  const progress = embedProgress(build);
  return {
    state: build === undefined ? 'idle' : 'building',
    embedder: state.current?.embedder.id ?? null,
    ...(state.current?.index.version === undefined ? {} : { version: state.current.index.version }),
    notes,
    ...(build === undefined ? {} : { build: { embedder: build.embedder, phase: build.progress?.phase ?? 'scan' } }),
    ...(progress === undefined ? {} : { progress }),
    ...(summary === undefined || manifest === undefined
      ? {}
      : {
          lastBuild: {
            startedAt: new Date(Date.parse(manifest.builtAt) - summary.seconds * 1000).toISOString(),
            finishedAt: manifest.builtAt,
            outcome: state.lastError === undefined ? 'succeeded' : 'failed',
            notes: summary.notes,
            chunks: summary.chunks,
            embedded: summary.embedded,
            reused: summary.reused,
            removed: summary.removed,
            failed: summary.failed.length,
            ...(state.lastError === undefined ? {} : { error: state.lastError }),
          },
        }),
  };
}
