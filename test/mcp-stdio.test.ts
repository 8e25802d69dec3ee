/**
 * `npm run mcp`: the MCP server over stdio, started as a desktop client starts it (a child process,
 * spoken to by the official SDK Client), against temp notes with the built-in embedder. stdout must
 * carry nothing but protocol messages.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl } from './support/fake-ollama.ts';
import { REPO_ROOT, copySampleNotes, writeNote } from './support/index-fixtures.ts';
import { until } from './support/hardening-app.ts';

let notesDir: string;
let indexDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  notesDir = await mkdtemp(join(tmpdir(), 'asknotes-mcp-notes-'));
  indexDir = await mkdtemp(join(tmpdir(), 'asknotes-mcp-index-'));
  await copySampleNotes(notesDir);
  await writeNote(notesDir, 'ideas/garden.md', '---\ntags: garden\n---\n# Garden\n\nPlant tomatoes by May.\n');
  env = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? tmpdir(),
    NOTES_DIR: notesDir,
    INDEX_DIR: indexDir,
    OLLAMA_HOST: await closedPortUrl(),
    OLLAMA_CONNECT_TIMEOUT_MS: '300',
    EMBEDDINGS: 'local',
    LLM: 'none',
  };
});

afterAll(async () => {
  await rm(notesDir, { recursive: true, force: true });
  await rm(indexDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
});

// Each test starts `npm run mcp` (npm, tsx, then the server): tens of seconds on a loaded 2-core machine;
// the first also waits for the index build and for the note-list notification after a note is added.
const CHILD_TIMEOUT_MS = 180_000;

describe('npm run mcp (stdio)', () => {
  it('serves the tools and resources to the SDK Client, with logs on stderr only', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({ command: 'npm', args: ['run', '--silent', 'mcp'], cwd: REPO_ROOT, env, stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const protocolErrors: Error[] = [];
    transport.onerror = (error) => protocolErrors.push(error);
    const client = new Client({ name: 'asknotes-test', version: '1.0.0' });
    let listChanges = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      listChanges += 1;
    });
    await client.connect(transport, { timeout: 90_000 });
    try {
      expect(client.getServerVersion()?.name).toBe('asknotes');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(['ask_notes', 'list_notes', 'read_note', 'search_notes']);

      // The index is built in the background; tools say so until it is ready.
      let listed: CallToolResult | undefined;
      await until(async () => {
        listed = (await client.callTool({ name: 'list_notes', arguments: {} })) as CallToolResult;
        return listed.isError !== true;
      }, 90_000, 'the stdio server never finished its first index build');
      expect((listed?.structuredContent as { notes: Array<{ path: string }> }).notes.map((note) => note.path)).toEqual(['dockercon-2023.md', 'ideas/garden.md']);

      const search = (await client.callTool({ name: 'search_notes', arguments: { query: 'default depends_on condition', k: 2 } })) as CallToolResult;
      expect((search.structuredContent as { hits: Array<{ note: string; text: string }> }).hits[0]?.text).toContain('service_started');

      const answer = (await client.callTool({ name: 'ask_notes', arguments: { question: 'When should I plant tomatoes?' } })) as CallToolResult;
      expect(answer.structuredContent).toMatchObject({ mode: 'extractive', answerable: true });
      expect((answer.structuredContent as { answer: string }).answer).toContain('May');

      const traversal = (await client.callTool({ name: 'read_note', arguments: { path: '../../../../etc/passwd' } })) as CallToolResult;
      expect(traversal.isError).toBe(true);

      const resource = await client.readResource({ uri: 'notes://ideas/garden.md' });
      expect((resource.contents[0] as { text: string }).text).toContain('Plant tomatoes by May.');

      // A note added while the client is connected: the client hears that the resource list changed.
      const before = listChanges;
      await writeNote(notesDir, 'ideas/pond.md', '# Pond\n\nThe pond pump runs from April.\n');
      await until(() => listChanges > before, 60_000, 'no notifications/resources/list_changed after a note was added');
      expect((await client.listResources()).resources.map((listed) => listed.uri)).toContain('notes://ideas/pond.md');
      expect(protocolErrors).toEqual([]);
    } finally {
      await client.close();
    }
    expect(stderr.join('')).toMatch(/MCP server ready on stdio/);
  }, CHILD_TIMEOUT_MS);

  it('writes only JSON-RPC lines to stdout and exits when stdin closes', async () => {
    const child = spawn('npm', ['run', '--silent', 'mcp'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`);
    await until(() => stdout.includes('\n'), 90_000, 'no initialize response');
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } })}\n`);
    child.stdin.write('this is not json\n');
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })}\n`);
    await until(() => stdout.split('\n').filter(Boolean).length >= 3, 60_000, 'no tools/list response');
    child.stdin.end();
    expect(await exited).toBe(0);

    const lines = stdout.split('\n').filter((line) => line !== '');
    const messages = lines.map((line) => JSON.parse(line) as { jsonrpc: string; id?: number; result?: { isError?: boolean; tools?: unknown[] } });
    expect(messages.every((message) => message.jsonrpc === '2.0')).toBe(true);
    expect(messages.find((message) => message.id === 2)?.result?.isError).toBe(true);
    expect(messages.find((message) => message.id === 3)?.result?.tools).toHaveLength(4);
  }, CHILD_TIMEOUT_MS);
});
