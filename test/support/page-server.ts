/**
 * The real asknotes app (createApp: CSP, bearer auth, SSE) on 127.0.0.1:0 for the browser tests,
 * with whatever fake dependencies the test hands in.
 */
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/server/create-app.ts';
import type { ServerDeps } from '../../src/server/server-deps.ts';

export interface PageServer {
  /** Base URL with a trailing slash: the chat page. */
  url: string;
  close(): Promise<void>;
}

export async function startPageServer(deps: ServerDeps): Promise<PageServer> {
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        // Browsers keep connections alive; end them so close() returns at once.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
