/**
 * The MCP door over Streamable HTTP (`/mcp`), driven by the official SDK Client against the real
 * composed server (main.ts: live index, built-in embedder), extractive and through the stand-in
 * Ollama. Tools, resources, tool errors for bad arguments and traversal, auth and rebinding checks.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.ts';
import { startComposedServer, until, type ComposedServer } from './support/hardening-app.ts';
import { writeNote } from './support/index-fixtures.ts';
import { rawRequest } from './support/start-test-server.ts';

export const TAGGED_NOTE = {
  'projects/garden.md': '---\ntags: [garden, Outdoors]\n---\n# Garden plan\n\nPlant tomatoes in the raised bed by May.\nWater the basil every morning. #plants/herbs\n',
  'projects/reading.md': '# Reading list\n\nThe Pragmatic Programmer, then Designing Data-Intensive Applications.\n',
};

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'asknotes-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }));
  return client;
}

function text(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

describe('MCP over Streamable HTTP, extractive (no Ollama)', () => {
  let server: ComposedServer;
  let client: Client;

  beforeAll(async () => {
    server = await startComposedServer({ notes: TAGGED_NOTE });
    await server.ready();
    client = await connect(server.url);
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('lists the four tools, each with a description and a JSON schema for its input and output', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['ask_notes', 'list_notes', 'read_note', 'search_notes']);
    for (const tool of tools) {
      expect(tool.description?.length ?? 0).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.annotations?.readOnlyHint).toBe(true);
    }
    const search = tools.find((tool) => tool.name === 'search_notes');
    expect(search?.inputSchema.required).toEqual(['query']);
    expect(Object.keys(search?.inputSchema.properties ?? {}).sort()).toEqual(['filter', 'k', 'query']);
  });

  it('search_notes returns ranked chunks with note, heading, lines, text and score, structured and as text', async () => {
    const result = await call(client, 'search_notes', { query: 'What is the default depends_on condition?', k: 3 });
    expect(result.isError).toBeFalsy();
    const { hits } = result.structuredContent as { hits: Array<{ rank: number; note: string; heading: string; lines: [number, number]; text: string; score: number }> };
    expect(hits).toHaveLength(3);
    expect(hits.map((hit) => hit.rank)).toEqual([1, 2, 3]);
    expect(hits[0]?.note).toBe('dockercon-2023.md');
    expect(hits[0]?.text).toContain('service_started');
    expect(hits[0]!.lines[0]).toBeLessThanOrEqual(229);
    expect(hits[0]!.lines[1]).toBeGreaterThanOrEqual(229);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    expect(text(result)).toContain(`[1] dockercon-2023.md:${hits[0]!.lines[0]}-${hits[0]!.lines[1]}`);
  });

  it('search_notes with a filter searches only inside it (globs and tags)', async () => {
    const byGlob = await call(client, 'search_notes', { query: 'depends_on tomatoes', filter: { notes: ['projects/**'] } });
    const globHits = (byGlob.structuredContent as { hits: Array<{ note: string }> }).hits;
    expect(globHits.length).toBeGreaterThan(0);
    expect(globHits.every((hit) => hit.note.startsWith('projects/'))).toBe(true);

    const byTag = await call(client, 'search_notes', { query: 'depends_on tomatoes', filter: { tags: ['#outdoors'] } });
    expect((byTag.structuredContent as { hits: Array<{ note: string }> }).hits.map((hit) => hit.note)).toEqual(['projects/garden.md']);

    const none = await call(client, 'search_notes', { query: 'tomatoes', filter: { notes: ['nothing/**'] } });
    expect(none.isError).toBe(true);
    expect(text(none)).toMatch(/no notes match this scope/i);
  });

  it('read_note returns exactly the asked lines, numbered', async () => {
    const result = await call(client, 'read_note', { path: 'dockercon-2023.md', from: 228, to: 229 });
    expect(result.isError).toBeFalsy();
    const body = result.structuredContent as { from: number; to: number; totalLines: number; text: string };
    expect(body.from).toBe(228);
    expect(body.to).toBe(229);
    expect(body.text.split('\n')).toHaveLength(2);
    expect(body.text.split('\n')[1]).toContain('default is `service_started`');
    expect(text(result)).toMatch(/^229\t.*default is `service_started`/m);
    expect(body.totalLines).toBeGreaterThan(600);
  });

  it.each([
    ['../../etc/passwd'],
    ['/etc/passwd'],
    ['..%2f..%2fetc%2fpasswd'],
    ['projects/../../../etc/hostname'],
    ['C:\\Windows\\win.ini'],
    ['dockercon-2023.md\u0000.txt'],
    ['.hidden/secret.md'],
    ['missing.md'],
  ])('read_note %j is a tool error, never file contents', async (path) => {
    const result = await call(client, 'read_note', { path });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/no note .* in the index/i);
    expect(text(result)).not.toMatch(/root:|localhost/);
  });

  it.each([
    ['search_notes', { query: '' }, /query/],
    ['search_notes', { query: 'x', k: 99 }, /k/],
    ['search_notes', { query: 'x', filter: { notes: 'day1/**' } }, /notes/],
    ['search_notes', { query: 'x', filter: { paths: ['a'] } }, /may only have "notes" and "tags"/],
    ['search_notes', { query: 'x', filter: { notes: ['../**'] } }, /must not contain "\.\."/],
    ['search_notes', { query: 'x', filter: { tags: ['!!'] } }, /must be a tag/],
    ['read_note', { path: 'dockercon-2023.md', from: 0 }, /from/],
    ['read_note', { path: 'dockercon-2023.md', from: 50, to: 10 }, /"to"/],
    ['read_note', { path: 'dockercon-2023.md', from: 100000 }, /has \d+ lines/],
    ['read_note', {}, /path/],
    ['ask_notes', { question: 42 }, /question/],
    ['list_notes', { folder: '../..' }, /folder/],
    ['no_such_tool', {}, /not found/],
  ])('%s %j is a tool error with a message', async (name, args, message) => {
    const result = await call(client, name, args);
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(message);
  });

  it('list_notes lists every note, or those in a folder or with a tag', async () => {
    const all = await call(client, 'list_notes', {});
    const notes = (all.structuredContent as { notes: Array<{ path: string; title: string; tags: string[]; chunks: number }> }).notes;
    expect(notes.map((note) => note.path)).toEqual(['dockercon-2023.md', 'projects/garden.md', 'projects/reading.md']);
    expect(notes[1]).toMatchObject({ title: 'Garden plan', tags: ['garden', 'outdoors', 'plants/herbs'] });
    expect(notes[0]!.chunks).toBeGreaterThan(10);

    const folder = await call(client, 'list_notes', { folder: 'projects/' });
    expect((folder.structuredContent as { notes: Array<{ path: string }> }).notes.map((note) => note.path)).toEqual(['projects/garden.md', 'projects/reading.md']);
    const tag = await call(client, 'list_notes', { tag: 'GARDEN' });
    expect((tag.structuredContent as { notes: Array<{ path: string }> }).notes.map((note) => note.path)).toEqual(['projects/garden.md']);
    expect(text(tag)).toContain('projects/garden.md — Garden plan [#garden #outdoors #plants/herbs]');
    const nested = await call(client, 'list_notes', { tag: '#plants', folder: 'projects' });
    expect((nested.structuredContent as { notes: Array<{ path: string }> }).notes.map((note) => note.path)).toEqual(['projects/garden.md']);
    const otherFolder = await call(client, 'list_notes', { tag: 'plants', folder: 'elsewhere' });
    expect((otherFolder.structuredContent as { notes: unknown[] }).notes).toEqual([]);
  });

  it('ask_notes answers extractively with [n] citations and its sources', async () => {
    const result = await call(client, 'ask_notes', { question: 'What is the default depends_on condition?' });
    expect(result.isError).toBeFalsy();
    const body = result.structuredContent as { answer: string; answerable: boolean; mode: string; cited: number[]; sources: Array<{ n: number; note: string }> };
    expect(body.mode).toBe('extractive');
    expect(body.answerable).toBe(true);
    expect(body.answer).toContain('service_started');
    expect(body.answer).toMatch(/\[1\]/);
    expect(body.cited).toContain(1);
    expect(text(result)).toMatch(/\*\*Sources\*\*\n- \[1\] `dockercon-2023\.md` lines \d+–\d+/);
  });

  it('lists notes as notes:// resources and reads them', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual(['notes://dockercon-2023.md', 'notes://projects/garden.md', 'notes://projects/reading.md']);
    const read = await client.readResource({ uri: 'notes://projects/garden.md' });
    const content = read.contents[0] as { text: string; mimeType: string };
    expect(content.text).toBe(TAGGED_NOTE['projects/garden.md']);
    await expect(client.readResource({ uri: 'notes://../../etc/passwd' })).rejects.toThrow(/no note/i);
    await expect(client.readResource({ uri: 'notes://%2e%2e/%2e%2e/etc/passwd' })).rejects.toThrow(/no note/i);
  });

  it('tells a connected client when the list of notes changes (notifications/resources/list_changed)', async () => {
    const watcher = await connect(server.url);
    let changes = 0;
    watcher.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      changes += 1;
    });
    try {
      // Nothing changed yet: no notification (the first look only records the list).
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(changes).toBe(0);
      await writeNote(server.notesDir, 'projects/pond.md', '# Pond\n\nThe pond pump runs from April.\n');
      await until(async () => changes > 0, 30_000, 'no notifications/resources/list_changed after a note was added');
      const { resources } = await watcher.listResources();
      expect(resources.map((resource) => resource.uri)).toContain('notes://projects/pond.md');
    } finally {
      await watcher.close();
    }
  });

  it('answers protocol errors as JSON-RPC errors and stays up', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const noSession = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(noSession.status).toBe(400);
    expect(JSON.parse(noSession.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    const unknown = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...headers, 'mcp-session-id': 'nope' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' });
    expect(unknown.status).toBe(404);
    const badJson = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers, body: '{"jsonrpc":' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body)).toMatchObject({ error: { code: -32700 } });
    const getWithout = await rawRequest(server.url, { method: 'GET', path: '/mcp', headers: { accept: 'text/event-stream' } });
    expect(getWithout.status).toBe(400);
    const put = await rawRequest(server.url, { method: 'PUT', path: '/mcp', headers, body: '{}' });
    expect(put.status).toBe(405);
    // Still serving.
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(4);
  });

  it('refuses a Host naming another machine, and a foreign web page origin (DNS rebinding)', async () => {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const rebound = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...headers, host: 'attacker.example:3000' }, body: init });
    expect(rebound.status).toBe(403);
    const foreign = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...headers, origin: 'https://attacker.example' }, body: init });
    expect(foreign.status).toBe(403);
    const local = await rawRequest(server.url, { method: 'POST', path: '/mcp', headers: { ...headers, origin: 'http://localhost:6274' }, body: init });
    expect(local.status).toBe(200);
  });
});

describe('MCP over Streamable HTTP with API_TOKEN and the stand-in Ollama', () => {
  let server: ComposedServer;
  let ollama: FakeOllama;

  beforeAll(async () => {
    ollama = await startFakeOllama({ chatScript: 'Compose waits for service_started unless told otherwise [1].' });
    server = await startComposedServer({ env: { OLLAMA_HOST: ollama.url, LLM: 'ollama', API_TOKEN: 'mcp-secret' } });
    await server.ready();
  });
  afterAll(async () => {
    await server?.close();
    await ollama?.close();
  });

  it('needs the bearer token', async () => {
    await expect(connect(server.url)).rejects.toThrow();
    await expect(connect(server.url, { authorization: 'Bearer wrong' })).rejects.toThrow();
  });

  it('ask_notes answers with the chat model and its citations', async () => {
    const client = await connect(server.url, { authorization: 'Bearer mcp-secret' });
    try {
      const result = await call(client, 'ask_notes', { question: 'What is the default depends_on condition?', k: 2 });
      expect(result.isError).toBeFalsy();
      const body = result.structuredContent as { answer: string; mode: string; model: string; cited: number[]; sources: unknown[] };
      expect(body).toMatchObject({ answer: 'Compose waits for service_started unless told otherwise [1].', mode: 'ollama', model: 'llama3.2', cited: [1] });
      expect(body.sources).toHaveLength(2);
      expect(text(result)).toMatch(/otherwise \[1\]\.\n\n\*\*Sources\*\*\n- \[1\] `dockercon-2023\.md`/);
      // The server's warm-up load (issue 12) is a chat call without messages; one question, one chat.
      const questions = ollama.callsTo('chat').filter((call) => ((call.body as { messages?: unknown[] }).messages ?? []).length > 0);
      expect(questions).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
