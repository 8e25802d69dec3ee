/**
 * Child process for the live re-index crash test: the real server (`main()` from src/main.ts), so
 * the parent can SIGKILL it while its watcher-triggered re-index runs.
 *
 *   node --import tsx test/support/hardening-server-child.ts
 *
 * Loads every module first and prints `loaded`, then waits for one stdin line: a JSON object of
 * environment variables (NOTES_DIR, INDEX_DIR, …). Loading tsx, LangChain and hnswlib costs seconds
 * on a busy two-core machine, so the parent starts the next child while the current one runs.
 * Afterwards every log line of the server goes to stdout as it is (one JSON object per line).
 */
import { createInterface } from 'node:readline';
import { parseConfig } from '../../src/config.ts';
import { main } from '../../src/main.ts';
import { createLogger } from '../../src/server/logger.ts';

async function environment(): Promise<Record<string, string>> {
  process.stdout.write('loaded\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return JSON.parse(line) as Record<string, string>;
  }
  throw new Error('stdin closed before the environment was sent');
}

const env = await environment();
await main(parseConfig(env), createLogger({ level: 'info', write: (line) => void process.stdout.write(line) }));
