/**
 * Child process for the Postgres crash and lock tests: one indexer run against a database.
 *
 *   node --import tsx test/support/pg-indexer.ts    prints `ready`, then runs the request of the first
 *                                                   stdin line: {"databaseUrl","notesDir","rebuild"?,"leaseMs"?}
 *
 * Output lines: `ready`, `phase scan|embed|write` as the build moves on, then `done <summary JSON>`; a
 * failure prints `error <message>` and exits 1.
 */
import { createInterface } from 'node:readline';
import { createLocalEmbedder } from '../../src/embeddings/local-embedder.ts';
import { createPostgresBackend } from '../../src/vector-index/postgres/postgres-backend.ts';

interface Request {
  databaseUrl: string;
  notesDir: string;
  rebuild?: boolean;
  leaseMs?: number;
}

async function readRequest(): Promise<Request> {
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return JSON.parse(line) as Request;
  }
  throw new Error('stdin closed before the request was sent');
}

const request = await readRequest();
const backend = createPostgresBackend({ databaseUrl: request.databaseUrl, ...(request.leaseMs ? { leaseMs: request.leaseMs } : {}) });
let phase = '';
try {
  const { summary } = await backend.update({
    notesDir: request.notesDir,
    embedder: createLocalEmbedder(),
    ...(request.rebuild ? { rebuild: true } : {}),
    onProgress: (progress) => {
      if (progress.phase === phase) return;
      phase = progress.phase;
      process.stdout.write(`phase ${phase}\n`);
    },
  });
  process.stdout.write(`done ${JSON.stringify(summary)}\n`);
  await backend.close();
} catch (error) {
  process.stdout.write(`error ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
