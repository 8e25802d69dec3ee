/**
 * The MCP server (SPEC "Additions": tools `search_notes`, `read_note`, `ask_notes`, `list_notes`;
 * resources `notes://<path>`), the same for stdio (`npm run mcp`) and Streamable HTTP (`/mcp`).
 * Each tool is a thin wrapper over one NotesLibrary function (modelcontextprotocol/servers
 * `src/filesystem/index.ts` does the same over `lib.ts`): validate with the tool's schema, call,
 * return the result as structured content and as readable text. A failure is a tool error whose
 * text says what was wrong; `internal` failures never show their details.
 */
import { readFileSync } from 'node:fs';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Source } from '../../answer/answer-types.ts';
import { toAppError } from '../../errors.ts';
import type { NoteSummary, NotesLibrary, SearchHit } from '../../library/notes-library.ts';
import { MAX_K, MAX_QUERY_CHARS } from '../../library/notes-library.ts';
import { filterSchema } from '../ask-body.ts';
import { sourcesMarkdown } from '../../library/sources-markdown.ts';
import { forClient } from '../error-handler.ts';

export const NOTE_URI_PREFIX = 'notes://';

/** The version MCP clients are told: package.json's. */
export const ASKNOTES_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `notes://day1/compose%20tips.md`: each path segment percent-encoded, slashes kept. */
export function noteUri(path: string): string {
  return NOTE_URI_PREFIX + path.split('/').map(encodeURIComponent).join('/');
}

const k = z.number().int().min(1).max(MAX_K).optional().describe(`How many results, 1–${MAX_K} (default: the server's TOP_K).`);
const lineRange = z.tuple([z.number().int(), z.number().int()]).describe('First and last line, 1-based and inclusive.');

const hitSchema = z.object({
  rank: z.number().int(),
  note: z.string().describe('Path relative to the notes folder.'),
  heading: z.string().describe('The heading path of the chunk, e.g. "Day 1 > Compose tips".'),
  lines: lineRange,
  text: z.string(),
  score: z.number().describe('0..1, higher is better.'),
});

const noteSchema = z.object({ path: z.string(), title: z.string(), tags: z.array(z.string()), chunks: z.number().int() });

const sourceSchema = z.object({
  n: z.number().int(),
  id: z.string(),
  note: z.string(),
  heading: z.string(),
  lines: lineRange,
  text: z.string(),
  score: z.number(),
});

function toolError(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: forClient(toAppError(error)).message }] };
}

/** Runs a tool body; any failure becomes a tool error (the client's model reads it and can retry). */
async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return toolError(error);
  }
}

function hitsText(hits: SearchHit[]): string {
  if (hits.length === 0) return 'No matching notes.';
  return hits
    .map((hit) => `[${hit.rank}] ${hit.note}:${hit.lines[0]}-${hit.lines[1]} — ${hit.heading} (score ${hit.score.toFixed(2)})\n${hit.text}`)
    .join('\n\n');
}

function notesText(notes: NoteSummary[]): string {
  if (notes.length === 0) return 'No notes match.';
  return notes.map((note) => `${note.path} — ${note.title}${note.tags.length > 0 ? ` [${note.tags.map((tag) => `#${tag}`).join(' ')}]` : ''}`).join('\n');
}

function structured<T extends object>(value: T): Record<string, unknown> {
  return { ...value } as Record<string, unknown>;
}

export function createMcpServer(library: NotesLibrary): McpServer {
  const server = new McpServer(
    { name: 'asknotes', version: ASKNOTES_VERSION },
    {
      instructions:
        'Tools over the user\'s own notes (Markdown files, indexed locally). Use search_notes to find passages, read_note to read exact lines (cite them as note:from-to), ask_notes for a cited answer, list_notes to see what exists.',
    },
  );
  const readOnly = { readOnlyHint: true, openWorldHint: false } as const;

  server.registerTool(
    'search_notes',
    {
      title: 'Search notes',
      description:
        'Hybrid (semantic + keyword) search over the indexed notes. Returns the best-matching chunks, best first, each with its note path, heading, 1-based line range, text and a 0–1 score. Optionally scoped to notes matching path globs or tags.',
      inputSchema: {
        query: z.string().min(1).max(MAX_QUERY_CHARS).describe('What to look for, in words.'),
        k,
        filter: filterSchema
          .optional()
          .describe('Scope: {"notes": ["day1/**", "ideas.md"], "tags": ["docker"]}. Globs are over paths relative to the notes folder ("projects/" = everything under it); a note must match a glob (if given) and carry one of the tags or a tag nested under it (if given).'),
      },
      outputSchema: { hits: z.array(hitSchema) },
      annotations: readOnly,
    },
    ({ query, k, filter }, extra) =>
      guarded(async () => {
        const hits = await library.search({ query, k, filter }, { signal: extra.signal });
        return { content: [{ type: 'text', text: hitsText(hits) }], structuredContent: { hits } };
      }),
  );

  server.registerTool(
    'read_note',
    {
      title: 'Read note lines',
      description:
        'Reads an indexed note, or the lines from..to of it (1-based, inclusive), numbered. Paths are relative to the notes folder, as search_notes and list_notes return them; anything else is an error.',
      inputSchema: {
        path: z.string().min(1).max(4096).describe('Note path relative to the notes folder, e.g. "day1/compose.md".'),
        from: z.number().int().min(1).optional().describe('First line (1-based, default 1).'),
        to: z.number().int().min(1).optional().describe('Last line, inclusive (default: the end of the note).'),
      },
      outputSchema: {
        path: z.string(),
        title: z.string(),
        totalLines: z.number().int(),
        from: z.number().int(),
        to: z.number().int(),
        text: z.string().describe('The lines as in the file, without numbers.'),
        nextFrom: z.number().int().optional().describe('Set when the range was cut short: call again from here.'),
      },
      annotations: readOnly,
    },
    ({ path, from, to }) =>
      guarded(async () => {
        const excerpt = await library.read({ path, from, to });
        const { numbered, ...rest } = excerpt;
        const more = excerpt.nextFrom === undefined ? '' : `\n… (continues: read_note from ${excerpt.nextFrom})`;
        const header = `${excerpt.path} lines ${excerpt.from}-${excerpt.to} of ${excerpt.totalLines}`;
        return { content: [{ type: 'text', text: `${header}\n${numbered}${more}` }], structuredContent: structured(rest) };
      }),
  );

  server.registerTool(
    'ask_notes',
    {
      title: 'Ask the notes',
      description:
        'Answers a question from the notes only, citing sources as [n]; says so when the notes do not cover it (answerable: false). Written by the configured chat model, or extractive (the most relevant lines) when none is connected.',
      inputSchema: {
        question: z.string().min(1).max(MAX_QUERY_CHARS).describe('The question.'),
        k,
      },
      outputSchema: {
        answer: z.string(),
        answerable: z.boolean(),
        sources: z.array(sourceSchema),
        cited: z.array(z.number().int()),
        mode: z.enum(['ollama', 'openai', 'extractive']).describe('Who wrote the answer: a chat model (through Ollama or an OpenAI-compatible server) or extractive (the most relevant lines).'),
        model: z.string().nullable(),
        notice: z.string().optional(),
      },
      annotations: readOnly,
    },
    ({ question, k }, extra) =>
      guarded(async () => {
        const response = await library.ask({ question, k }, { signal: extra.signal });
        const sources: Source[] = response.sources;
        const text = response.answer + sourcesMarkdown(sources, response.cited);
        return {
          content: [{ type: 'text', text }],
          structuredContent: {
            answer: response.answer,
            answerable: response.answerable,
            sources,
            cited: response.cited,
            mode: response.mode,
            model: response.model,
            ...(response.notice === undefined ? {} : { notice: response.notice }),
          },
        };
      }),
  );

  server.registerTool(
    'list_notes',
    {
      title: 'List notes',
      description: 'Lists the indexed notes (path, title, tags, chunk count), optionally only those in a folder or carrying a tag.',
      inputSchema: {
        folder: z.string().max(500).optional().describe('A folder relative to the notes folder, e.g. "day1" (a glob also works: "projects/*").'),
        tag: z.string().max(200).optional().describe('A tag from the notes\' front matter, with or without "#".'),
      },
      outputSchema: { notes: z.array(noteSchema) },
      annotations: readOnly,
    },
    ({ folder, tag }) =>
      guarded(async () => {
        const notes = await library.list({ folder, tag });
        return { content: [{ type: 'text', text: notesText(notes) }], structuredContent: { notes } };
      }),
  );

  server.registerResource(
    'note',
    new ResourceTemplate(`${NOTE_URI_PREFIX}{+path}`, {
      list: async () => {
        const notes = await library.list();
        return { resources: notes.map((note) => ({ uri: noteUri(note.path), name: note.path, title: note.title, mimeType: 'text/markdown' })) };
      },
    }),
    { title: 'A note', description: 'An indexed note, as the file has it.', mimeType: 'text/markdown' },
    async (uri, variables) => {
      const raw = variables['path'];
      let path: string;
      try {
        path = decodeURIComponent(Array.isArray(raw) ? raw.join(',') : (raw ?? ''));
      } catch {
        throw new McpError(ErrorCode.InvalidParams, `Not a note URI: ${uri.href.slice(0, 200)}`);
      }
      try {
        const note = await library.readWhole(path);
        return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: note.text }] };
      } catch (error) {
        const failure = forClient(toAppError(error));
        // -32002 is MCP's "resource not found".
        throw new McpError(failure.code === 'not_found' ? -32002 : ErrorCode.InternalError, failure.message);
      }
    },
  );
  return server;
}
