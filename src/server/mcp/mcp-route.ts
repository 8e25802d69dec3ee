/**
 * MCP over Streamable HTTP at `/mcp` (POST for requests, GET for the server's event stream,
 * DELETE to end a session), behind the same bearer auth as every API route. Each client session
 * gets its own McpServer and transport (the SDK's stateful pattern); sessions are bounded in
 * number and closed when idle, so clients that never say goodbye cannot grow memory. Each is told
 * when the list of notes changes (`notifications/resources/list_changed`, note-list-changes.ts). Errors here,
 * before the SDK takes over, are JSON-RPC error bodies, as MCP clients expect.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { NotesLibrary } from '../../library/notes-library.ts';
import { forClient, toHttpError } from '../error-handler.ts';
import { jsonBody } from '../json-body.ts';
import type { Logger } from '../logger.ts';
import { rebindingProblem } from '../rebinding-guard.ts';
import { createMcpServer } from './create-mcp-server.ts';
import { followNoteList, type NoteListFollower } from './note-list-changes.ts';

export const MAX_MCP_SESSIONS = 64;
export const MCP_SESSION_IDLE_MS = 30 * 60_000;

export interface McpRouteOptions {
  library: NotesLibrary;
  log: Logger;
  listenHost?: string | undefined;
  corsOrigin?: string | undefined;
  maxSessions?: number;
  idleMs?: number;
  /** How often the note list is compared for `notifications/resources/list_changed` (default NOTE_LIST_POLL_MS). */
  noteListPollMs?: number;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsed: number;
}

/** JSON-RPC's "server error" range; -32001 is what the SDK's examples use for an unknown session. */
const SERVER_ERROR = -32000;
const UNKNOWN_SESSION = -32001;

function rpcError(res: Response, status: number, code: number, message: string): void {
  if (res.headersSent) return;
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

export function mcpRoute(options: McpRouteOptions): { router: express.Router; close(): Promise<void>; readonly sessions: number } {
  const sessions = new Map<string, Session>();
  const maxSessions = options.maxSessions ?? MAX_MCP_SESSIONS;
  const idleMs = options.idleMs ?? MCP_SESSION_IDLE_MS;

  const closeSession = async (id: string): Promise<void> => {
    const session = sessions.get(id);
    if (session === undefined) return;
    sessions.delete(id);
    followWhileOpen();
    await session.server.close().catch(() => undefined);
  };

  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const [id, session] of sessions) if (session.lastUsed < cutoff) void closeSession(id);
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  // Every open session hears when the list of notes changes (notifications/resources/list_changed,
  // on its GET event stream). The list is followed only while a session is open, from the first one's
  // start, so a client is never told of a change it did not live through.
  let noteList: NoteListFollower | undefined;
  const announce = () => {
    for (const session of sessions.values()) void Promise.resolve(session.server.sendResourceListChanged()).catch(() => undefined);
  };
  const followWhileOpen = () => {
    if (sessions.size > 0) noteList ??= followNoteList(options.library, announce, options.noteListPollMs);
    else {
      noteList?.close();
      noteList = undefined;
    }
  };

  const guard: RequestHandler = (req, res, next) => {
    const problem = rebindingProblem(req.headers, { listenHost: options.listenHost, corsOrigin: options.corsOrigin });
    if (problem === undefined) return next();
    rpcError(res, 403, SERVER_ERROR, problem);
  };

  const existing = (req: Request, res: Response): Session | undefined => {
    const id = req.headers['mcp-session-id'];
    if (typeof id !== 'string') {
      rpcError(res, 400, SERVER_ERROR, 'Missing Mcp-Session-Id header: start a session with an initialize request.');
      return undefined;
    }
    const session = sessions.get(id);
    if (session === undefined) {
      rpcError(res, 404, UNKNOWN_SESSION, 'Session not found: it ended or expired; start a new one with an initialize request.');
      return undefined;
    }
    session.lastUsed = Date.now();
    return session;
  };

  const startSession = async (req: Request, res: Response): Promise<void> => {
    if (sessions.size >= maxSessions) {
      // The least recently used session makes room: a client that vanished never sends DELETE.
      const oldest = [...sessions.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (oldest !== undefined) await closeSession(oldest[0]);
    }
    const server = createMcpServer(options.library);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, lastUsed: Date.now() });
        followWhileOpen();
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      followWhileOpen();
    };
    transport.onerror = (error) => options.log.debug('mcp transport error', { error: error.message });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
    // An initialize that failed validation never created a session: nothing to keep.
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId)) await server.close().catch(() => undefined);
  };

  const router = express.Router();
  router.use(guard);
  router.post('/', ...jsonBody({ bodyRequired: true }), async (req, res) => {
    if (req.headers['mcp-session-id'] === undefined) {
      if (!isInitializeRequest(req.body)) {
        rpcError(res, 400, SERVER_ERROR, 'No session: the first request must be "initialize" (without an Mcp-Session-Id header).');
        return;
      }
      await startSession(req, res);
      return;
    }
    const session = existing(req, res);
    if (session !== undefined) await session.transport.handleRequest(req, res, req.body);
  });
  router.get('/', async (req, res) => {
    const session = existing(req, res);
    if (session !== undefined) await session.transport.handleRequest(req, res);
  });
  router.delete('/', async (req, res) => {
    const session = existing(req, res);
    if (session !== undefined) await session.transport.handleRequest(req, res);
  });
  router.all('/', (req, res) => {
    res.setHeader('Allow', 'GET, POST, DELETE');
    rpcError(res, 405, SERVER_ERROR, `Method ${req.method.slice(0, 20)} is not allowed on /mcp.`);
  });
  const errors: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    const failure = toHttpError(error);
    if (failure.code === 'internal') options.log.error('mcp request failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    if (res.headersSent) {
      if (!res.writableEnded) res.destroy();
      return;
    }
    const code = failure.code === 'invalid_request' && /JSON/.test(failure.message) ? -32700 : SERVER_ERROR;
    rpcError(res, failure.status, code, forClient(failure).message);
  };
  router.use(errors);

  return {
    router,
    get sessions() {
      return sessions.size;
    },
    async close() {
      clearInterval(sweep);
      noteList?.close();
      await Promise.all([...sessions.keys()].map(closeSession));
    },
  };
}
