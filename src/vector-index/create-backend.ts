/** The one place a backend is chosen: INDEX_BACKEND=files (INDEX_DIR) or postgres (DATABASE_URL). */
import type { Config } from '../config.ts';
import { createFilesBackend } from './files/files-backend.ts';
import type { IndexBackend } from './index-backend.ts';
import { createPostgresBackend } from './postgres/postgres-backend.ts';

export function createIndexBackend(
  config: Pick<Config, 'indexBackend' | 'indexDir' | 'databaseUrl'>,
  options: { log?: (line: string) => void; waitForWriter?: boolean } = {},
): IndexBackend {
  if (config.indexBackend === 'files') return createFilesBackend({ indexDir: config.indexDir });
  if (config.databaseUrl === undefined) throw new Error('INDEX_BACKEND=postgres needs DATABASE_URL');
  return createPostgresBackend({
    databaseUrl: config.databaseUrl,
    ...(options.log ? { log: options.log } : {}),
    ...(options.waitForWriter ? { waitForWriter: true } : {}),
  });
}
