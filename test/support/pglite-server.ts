/**
 * A real Postgres engine (PGlite: Postgres compiled to WebAssembly, with pgvector) served on the
 * Postgres wire protocol on 127.0.0.1, port 0, so the backend reaches it with the ordinary `pg`
 * client exactly as it reaches a server. Starting one costs seconds of CPU: one per test file.
 *
 * PGlite is one backend session: its socket server multiplexes clients onto it (one transaction at a
 * time; session state such as advisory locks is shared), which the writer lock accounts for.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** A DATABASE_URL for this server. */
  url: string;
  /** Stops listening (connections are refused, as when a database goes down). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  let server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const address = server.getServerConn();
  const port = Number(address.split(':').pop());
  let running = true;
  return {
    url: `postgres://postgres:postgres@${address}/postgres`,
    async stop() {
      if (!running) return;
      running = false;
      await server.stop();
    },
    async restart() {
      if (running) return;
      server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 16 });
      await server.start();
      running = true;
    },
    async close() {
      if (running) await server.stop();
      running = false;
      await db.close();
    },
  };
}
