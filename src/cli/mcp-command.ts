/**
 * `npm run mcp`: the MCP server over stdio, for desktop clients (Claude Desktop, VS Code, Cursor)
 * that start it as a child process. Same configuration, index, engine and tools as `/mcp` on the
 * HTTP server; it opens the existing index at once, updates it in the background and keeps
 * following the notes folder. stdout is the protocol: every log line goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ConfigError, parseConfig } from '../config.ts';
import { composeNotesEngine } from '../library/notes-engine.ts';
import { createMcpServer } from '../server/mcp/create-mcp-server.ts';
import { followNoteList } from '../server/mcp/note-list-changes.ts';
import { isEntryPoint } from './is-entry-point.ts';

/** Runs until stdin closes (the client went away) or a signal; resolves with the exit code. */
export async function runMcpCommand(env: NodeJS.ProcessEnv): Promise<number> {
  const config = parseConfig(env);
  const quiet = config.logLevel === 'silent' || config.logLevel === 'error';
  const line = (message: string): void => {
    if (!quiet) process.stderr.write(`asknotes: ${message}\n`);
  };
  const warn = (message: string, fields?: Record<string, unknown>): void => line(fields === undefined ? message : `${message} ${JSON.stringify(fields)}`);
  const engine = await composeNotesEngine(config, { log: { info: line, warn, error: line } });
  const { library } = engine;
  // An existing index answers at once; until the first build finishes, tools say index_not_ready.
  await engine.start();

  const server = createMcpServer(library);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    // The SDK's stdio transport does not watch for the end of stdin: a client that exits closes it.
    process.stdin.once('end', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.connect(transport);
  // A note added, removed or renamed (or the first build finishing) changes the resource list: say so.
  const noteList = followNoteList(library, () => void Promise.resolve(server.sendResourceListChanged()).catch(() => undefined));
  line(`MCP server ready on stdio (notes: ${config.notesDir})`);
  await closed;
  noteList.close();
  await engine.stop();
  await server.close().catch(() => undefined);
  await engine.backend.close().catch(() => undefined);
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  // stdout carries only protocol messages: anything a library prints goes to stderr instead.
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  runMcpCommand(process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof ConfigError ? error.message : `asknotes mcp could not start: ${error instanceof Error ? error.message : String(error)}`}\n`);
      process.exit(1);
    },
  );
}
