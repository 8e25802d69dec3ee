/**
 * A real Postgres engine (PGlite: Postgres compiled to WebAssembly, with pgvector) served on the
 * Postgres wire protocol on 127.0.0.1, port 0, so the backend reaches it with the ordinary `pg`
 * client exactly as it reaches a server: the bench's database when no DATABASE_URL is given, and the
 * tests'. Starting one costs seconds of CPU. The PGlite packages are dev dependencies, loaded here
 * only when one is started.
 *
 * PGlite is one backend session: its socket server multiplexes clients onto it (one transaction at a
 * time; session state such as advisory locks is shared), which the writer lock accounts for.
 *
 * The socket server (0.2.17) hands the session to another client between any two protocol
 * messages unless a transaction is open. A parameterised query is several messages (Parse, Bind,
 * Execute, ... Sync) whose implicit transaction shows as none, so a second client's `BEGIN` could
 * land inside the first one's query ("SET TRANSACTION ISOLATION LEVEL must be called before any
 * query"): a fault no real server has. `serialiseSessions` keeps the session with one client from
 * its first extended-protocol message to its Sync, as separate sessions would behave.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** A DATABASE_URL for this server. */
  url: string;
  /** Stops listening (connections are refused, as when a database goes down). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(error: unknown): void;
  onData(data: Uint8Array): void;
}

/** The socket server's query queue (`server.queryQueue`), as far as it is replaced below. */
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue(): Promise<void>;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

/** Message types of the extended query protocol (and COPY from the client) that a Sync or CopyDone/Fail ends. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H', 'd']);

function serialiseSessions(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue: QueryQueue }).queryQueue;
  /** The client in the middle of an extended-protocol exchange: the session is its own until Sync. */
  let holder: number | null = null;
  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = holder ?? (db.isInTransaction() ? this.lastHandlerId : null);
        const at = owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === owner);
        if (at === -1) break;
        const [item] = this.queue.splice(at, 1);
        if (item === undefined) break;
        const type = String.fromCharCode(item.message[0] ?? 0);
        try {
          let bytes = 0;
          await db.runExclusive(() =>
            db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
          item.resolve(bytes);
        } catch (error) {
          item.reject(error);
        }
        this.lastHandlerId = item.handlerId;
        holder = EXTENDED.has(type) ? item.handlerId : null;
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = queue.clearTransactionIfNeeded.bind(queue);
  queue.clearTransactionIfNeeded = async (handlerId: number) => {
    if (holder === handlerId) {
      // The client went away mid-exchange: end it as a Sync would, and give the session back.
      holder = null;
      await db.runExclusive(() => db.execProtocolRaw(new Uint8Array([0x53, 0, 0, 0, 4]))).catch(() => undefined);
    }
    await clear(handlerId);
    await queue.processQueue();
  };
}

export async function startPgliteServer(options: { maintenanceWorkMem?: string } = {}): Promise<PgliteServer> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ extensions: { vector } });
  // One session, shared by every client: a setting made here holds for all of them.
  if (options.maintenanceWorkMem !== undefined) await db.exec(`SET maintenance_work_mem = '${options.maintenanceWorkMem.replace(/'/g, '')}'`);
  const listen = (port: number) => {
    const created = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 16 });
    serialiseSessions(created, db);
    return created;
  };
  let server = listen(0);
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
      server = listen(port);
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
