/**
 * Child process for the crash-safety test: builds (or updates) the local index of a notes folder,
 * reporting on stdout so the parent can time its SIGKILL.
 *
 *   node --import tsx test/support/crash-indexer.ts <notesDir> <indexDir>   build right away
 *   node --import tsx test/support/crash-indexer.ts                         print `ready`, then build
 *                                                                            the folders named by the
 *                                                                            first stdin line, as JSON
 *                                                                            {"notesDir","indexDir"}
 * The second form lets the parent start (and load the modules of) the next child while the current
 * one builds: loading tsx and LangChain costs more than a small build on a busy two-core machine.
 *
 * Output lines: `ready`, `started` (the build begins now), `phase scan|embed|write`,
 * `done <summary JSON>` (the new index is live).
 */
import { createInterface } from 'node:readline';
import { createLocalEmbedder } from '../../src/embeddings/local-embedder.ts';
import { updateIndex } from '../../src/vector-index/index-store.ts';

async function folders(): Promise<{ notesDir: string; indexDir: string }> {
  const [notesDir, indexDir] = process.argv.slice(2);
  if (notesDir !== undefined && indexDir !== undefined) return { notesDir, indexDir };
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return JSON.parse(line) as { notesDir: string; indexDir: string };
  }
  throw new Error('stdin closed before the folders were sent');
}

const { notesDir, indexDir } = await folders();
let phase = '';
process.stdout.write('started\n');
const { summary } = await updateIndex({
  notesDir,
  indexDir,
  embedder: createLocalEmbedder(),
  log: (line) => process.stderr.write(`${line}\n`),
  onProgress: (progress) => {
    if (progress.phase === phase) return;
    phase = progress.phase;
    process.stdout.write(`phase ${phase}\n`);
  },
});
process.stdout.write(`done ${JSON.stringify(summary)}\n`);
