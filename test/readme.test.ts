/**
 * The README's tables stay in step with the code (fastify's test/internals/errors.test.js idea):
 * every configuration variable with its default, every error code with its status, every npm
 * script, and the Compose-only variables compose.yaml uses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configSchema } from '../src/config.ts';
import { ERROR_CODES } from '../src/errors.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createNotesLibrary } from '../src/library/notes-library.ts';
import { createMcpServer } from '../src/server/mcp/create-mcp-server.ts';
import { OPENAI_ERROR_TYPES, OPENAI_STATUS } from '../src/server/openai/openai-errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

/** The rows of the first table under the `## heading` (or `### heading`) section, as cells. */
function tableUnder(heading: string): string[][] {
  const start = readme.search(new RegExp(`^#{2,3} ${heading}\\s*$`, 'm'));
  expect(start, `README has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    // Split on pipes that are not escaped (`auto \| ollama`).
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    if (cells.every((cell) => /^-+$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows.slice(1); // without the header row
}

const code = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1];

describe('README configuration table', () => {
  const rows = tableUnder('Configuration');
  const documented = rows.map(([name = '']) => code(name));

  it('documents every variable the config reads, once, and no other', () => {
    expect(documented.every((name) => name !== undefined), 'each row names one `VARIABLE`').toBe(true);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it.each(CONFIG_VARIABLES)('gives the default of %s as the code does', (name) => {
    const row = rows.find(([cell = '']) => code(cell) === name);
    const defaultCell = row?.[1] ?? '';
    const parsed = configSchema.shape[name].safeParse(undefined);
    const value = parsed.success ? parsed.data : undefined;
    if (name === 'OLLAMA_HOST') expect(defaultCell).toBe('`http://127.0.0.1:11434`');
    else if (value === undefined) expect(defaultCell).toBe('unset');
    else expect(defaultCell).toBe(`\`${String(value)}\``);
    expect(row?.[2] ?? '', `${name} has a meaning`).not.toBe('');
  });
});

describe('README error-code table', () => {
  const rows = tableUnder('Error codes');

  it('lists every error code with its HTTP status, and no other', () => {
    const documented = Object.fromEntries(rows.map(([status = '', name = '']) => [code(name), Number(status)]));
    const expected = Object.fromEntries(Object.entries(ERROR_CODES).map(([name, { status }]) => [name, status]));
    expect(documented).toEqual(expected);
  });

  it('says when each happens in the words the code uses', () => {
    for (const [name = '', , when = ''] of rows.map(([status, cell = '', text]) => [code(cell), status, text])) {
      expect(when).toBe(ERROR_CODES[name as keyof typeof ERROR_CODES].when);
    }
  });
});

describe('README commands', () => {
  it.each(Object.keys(packageJson.scripts))('documents npm script "%s"', (script) => {
    const command = script === 'start' || script === 'test' ? `npm ${script}` : `npm run ${script}`;
    expect(readme).toContain(`\`${command}`);
  });

  it('keeps the set-up to two commands', () => {
    expect(readme).toMatch(/```sh\nnpm ci\nnpm start {2,}# or: npm test\n```/);
  });
});

describe('README Docker section', () => {
  it.each(['COMPOSE_PROFILES', 'OLLAMA_SERVICE'])('explains the Compose-only variable %s', (name) => {
    const docker = readme.slice(readme.indexOf('## Docker'));
    expect(docker).toContain(`\`${name}=`);
  });
});

describe('README OpenAI error-type table', () => {
  it('gives every status the type /v1 sends for it', () => {
    const documented = new Map<number, string>();
    for (const [statuses = '', type = ''] of tableUnder('OpenAI error types')) {
      for (const status of statuses.split(',')) documented.set(Number(status.trim()), code(type) ?? '');
    }
    const expected = new Map<number, string>();
    for (const [name, { status }] of Object.entries(ERROR_CODES)) {
      const code = name as keyof typeof ERROR_CODES;
      expected.set(OPENAI_STATUS[code] ?? status, OPENAI_ERROR_TYPES[code]);
    }
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(expected));
  });
});

describe('README MCP tools table', () => {
  it('lists exactly the tools the MCP server registers, with their arguments', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = createMcpServer(createNotesLibrary({ current: () => undefined, readNote: async () => undefined, answer: () => (async function* () {})(), topK: 4 }));
    await server.connect(serverSide);
    const client = new Client({ name: 'readme-test', version: '1' });
    await client.connect(clientSide);
    const { tools } = await client.listTools();
    await client.close();
    const rows = tableUnder('MCP tools');
    expect(rows.map(([name = '']) => code(name)).sort()).toEqual(tools.map((tool) => tool.name).sort());
    for (const tool of tools) {
      const argumentsCell = rows.find(([name = '']) => code(name) === tool.name)?.[1] ?? '';
      for (const argument of Object.keys(tool.inputSchema.properties ?? {})) expect(argumentsCell, `${tool.name} documents "${argument}"`).toMatch(new RegExp(`\`${argument}\\??\``));
    }
  });
});
