/** PGlite served on 127.0.0.1 for the Postgres tests: the bench's own (`src/cli/bench/pglite-server.ts`). */
export { startPgliteServer, type PgliteServer } from '../../src/cli/bench/pglite-server.ts';
