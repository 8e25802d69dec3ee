/**
 * A stand-in Ollama server for tests: real HTTP on 127.0.0.1, an ephemeral port, and the wire
 * protocol of /work/shared/reference/ollama.md §2, §3 and §10 (status codes, error bodies,
 * NDJSON streams that send their headers with the first line and end with a `done` line).
 *
 * It records every call (what was sent, and whether the client hung up before the response
 * ended), and injects faults per endpoint, so tests can assert both sides of an integration.
 *
 *   const ollama = await startFakeOllama();
 *   ollama.setChatScript(['Compose', ' watch', ' [1].']);
 *   ollama.setFault('chat', { type: 'error-mid-stream', after: 2 });
 *   ...
 *   await ollama.close();
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeEndpoint =
  | 'root'
  | 'version'
  | 'tags'
  | 'ps'
  | 'show'
  | 'embed'
  | 'embeddings'
  | 'chat'
  | 'generate'
  | 'pull'
  | 'delete'
  | 'copy';

export type ModelCapability = 'completion' | 'embedding' | 'tools' | 'thinking' | 'vision' | 'insert';

export interface FakeModel {
  /** As a user writes it: `llama3.2`, `nomic-embed-text:v1.5`; `:latest` is implied. */
  name: string;
  capabilities?: ModelCapability[];
  /** GGUF architecture, e.g. `llama`, `nomic-bert`. */
  family?: string;
  /** Vector size of /api/embed for this model. */
  embeddingLength?: number;
  /** Tokens; longer embedding inputs are truncated or rejected as Ollama does. */
  contextLength?: number;
  parameterSize?: string;
  size?: number;
}

export type FakeFaultKind =
  /** On '*': stop listening, so connections are refused (ECONNREFUSED) until the fault is cleared.
   *  On one endpoint: destroy the connection as soon as the request arrives (nothing is listening "for it"). */
  | { type: 'refuse' }
  /** Destroy the connection as soon as the request arrives, before any byte of response. */
  | { type: 'reset' }
  /** Answer with this status and an Ollama error body `{"error": ...}` before anything else. */
  | { type: 'status'; status: number; error?: string }
  /** Never send the response headers (a model stuck loading); ends only when the client gives up. */
  | { type: 'hang' }
  /** Send `after` lines (default 1), then nothing more, keeping the connection open. */
  | { type: 'hang-mid-stream'; after?: number }
  /** Send `after` lines, then `{"error": ...}` and end the stream without a `done` line (status stays 200). */
  | { type: 'error-mid-stream'; after?: number; error?: string }
  /** Send `after` lines, then destroy the connection. */
  | { type: 'drop-mid-stream'; after?: number }
  /** Send `after` lines, then end the response cleanly but without a `done` line. */
  | { type: 'end-without-done'; after?: number }
  /** Insert one line that is not JSON after `after` lines, then carry on normally. */
  | { type: 'malformed-line'; after?: number }
  /** Wait this long before every streamed line. */
  | { type: 'slow'; tokenDelayMs: number };

/** `times`: how many requests the fault applies to before it clears itself (default: until cleared). */
export type FakeFault = FakeFaultKind & { times?: number };

export interface FakeChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** What a chat script sees: the /api/chat body, or a /api/generate body turned into messages. */
export interface FakeChatRequest {
  model: string;
  messages: FakeChatMessage[];
  options?: Record<string, unknown>;
  format?: unknown;
  think?: unknown;
  tools?: unknown;
  endpoint: 'chat' | 'generate';
  [key: string]: unknown;
}

export interface FakeChatReply {
  /** The answer text, split into tokens at word boundaries. Ignored when `tokens` is given. */
  content?: string;
  /** The exact pieces to stream, one NDJSON line each. */
  tokens?: string[];
  /** Reasoning pieces streamed as `message.thinking` before the content. */
  thinking?: string[];
  doneReason?: 'stop' | 'length';
}

export type FakeChatScript =
  | string
  | string[]
  | ((request: FakeChatRequest) => string | string[] | FakeChatReply | Promise<string | string[] | FakeChatReply>);

export interface FakeLatency {
  /** Before the headers of every chat/generate/embed/embeddings response. */
  headersMs?: number;
  /** Before every streamed line (tokens and pull progress). */
  tokenMs?: number;
  /**
   * A model load: extra wait before headers when the model is not loaded (first use, or its keep_alive
   * ran out, or keep_alive 0 unloaded it). Requests arriving during a load wait for that same load.
   */
  coldLoadMs?: number;
}

export interface FakeCall {
  /** 1, 2, 3… in arrival order. */
  readonly seq: number;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Undefined for unknown paths. */
  readonly endpoint: FakeEndpoint | undefined;
  readonly headers: http.IncomingHttpHeaders;
  /** The parsed JSON body; undefined when empty or not JSON (see rawBody). */
  body: unknown;
  rawBody: string;
  /** Date.now() at arrival, and when the response ended or the connection closed. */
  readonly startedAt: number;
  endedAt: number | undefined;
  /** The status sent; undefined while (or if) no headers were sent. */
  status: number | undefined;
  /** NDJSON lines written so far (streams only). */
  linesSent: number;
  /** The whole response was written. */
  finished: boolean;
  /** The client closed the connection before the response ended: what an abort looks like upstream. */
  clientClosed: boolean;
}

export interface FakeOllamaOptions {
  /** Installed models. Default: `llama3.2` and `nomic-embed-text` (the asknotes defaults). */
  models?: Array<string | FakeModel>;
  /** Models /api/pull can fetch. Default: every model of the built-in catalog. `'offline'`: every pull fails like a machine without network. */
  registry?: string[] | 'offline';
  /** Reported by /api/version. Default 0.12.6; error wordings follow current servers. */
  version?: string;
  chatScript?: FakeChatScript;
  latency?: FakeLatency;
}

export interface FakeOllama {
  /** `http://127.0.0.1:<port>`, to pass explicitly as host/baseUrl. */
  readonly url: string;
  readonly port: number;
  /** Every request so far, oldest first; entries update live until their response ends. */
  readonly calls: FakeCall[];
  callsTo(endpoint: FakeEndpoint): FakeCall[];
  setModels(models: Array<string | FakeModel>): void;
  /** Names as /api/tags lists them (`llama3.2:latest`). */
  models(): string[];
  setRegistry(registry: string[] | 'offline'): void;
  /** `null` clears. Returns a promise only because `'*'` + `refuse` closes/reopens the listener. */
  setFault(endpoint: FakeEndpoint | '*', fault: FakeFault | null): Promise<void>;
  /** `undefined` restores the default (a short answer citing [1]). */
  setChatScript(script: FakeChatScript | undefined): void;
  /** Replaces all latencies (unset ones become 0). */
  setLatency(latency: FakeLatency): void;
  /** Requests received whose response has not ended yet. */
  openRequests(): number;
  /** The most requests that were in flight at once since start (or the last reset). */
  peakOpenRequests(): number;
  /**
   * The most chat/generate requests (answers and warm-ups; not model checks or embeddings) in flight
   * at once since start (or the last reset).
   */
  peakOpenChats(): number;
  /** Resolves once `predicate()` holds (checked after every request event); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when no request is in flight. */
  whenIdle(timeoutMs?: number): Promise<void>;
  /** Clears calls, faults, script and latency, and restores the initial models. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** A URL on which nothing listens: connections to it are refused. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Model catalog: what the stand-in knows about real models (reference §8).

interface ModelSpec {
  family: string;
  capabilities: ModelCapability[];
  embeddingLength: number;
  contextLength: number;
  parameterSize: string;
  size: number;
  quantization: string;
}

const CATALOG: Record<string, ModelSpec> = {
  'nomic-embed-text': spec('nomic-bert', ['embedding'], 768, 2048, '137M', 274_302_450, 'F16'),
  'mxbai-embed-large': spec('bert', ['embedding'], 1024, 512, '334M', 669_615_493, 'F16'),
  'all-minilm': spec('bert', ['embedding'], 384, 512, '23M', 45_960_996, 'F16'),
  'snowflake-arctic-embed': spec('bert', ['embedding'], 1024, 512, '334M', 669_607_334, 'F16'),
  'snowflake-arctic-embed2': spec('xlm-roberta', ['embedding'], 1024, 8192, '566M', 1_160_000_000, 'F16'),
  'bge-m3': spec('bert', ['embedding'], 1024, 8192, '567M', 1_157_672_605, 'F16'),
  embeddinggemma: spec('gemma3', ['embedding'], 768, 2048, '307M', 621_875_417, 'BF16'),
  'llama3.2': spec('llama', ['completion', 'tools'], 3072, 131_072, '3.2B', 2_019_393_189, 'Q4_K_M'),
  'llama3.1': spec('llama', ['completion', 'tools'], 4096, 131_072, '8.0B', 4_920_753_328, 'Q4_K_M'),
  'qwen2.5': spec('qwen2', ['completion', 'tools'], 3584, 32_768, '7.6B', 4_683_087_332, 'Q4_K_M'),
  qwen3: spec('qwen3', ['completion', 'tools', 'thinking'], 4096, 40_960, '8.2B', 5_225_388_164, 'Q4_K_M'),
  'gemma3': spec('gemma3', ['completion', 'vision'], 2560, 131_072, '4.3B', 3_338_801_804, 'Q4_K_M'),
  phi3: spec('phi3', ['completion'], 3072, 131_072, '3.8B', 2_176_178_913, 'Q4_0'),
  mistral: spec('llama', ['completion', 'tools'], 4096, 32_768, '7.2B', 4_113_301_824, 'Q4_0'),
};

function spec(
  family: string,
  capabilities: ModelCapability[],
  embeddingLength: number,
  contextLength: number,
  parameterSize: string,
  size: number,
  quantization: string,
): ModelSpec {
  return { family, capabilities, embeddingLength, contextLength, parameterSize, size, quantization };
}

interface InstalledModel extends ModelSpec {
  /** `llama3.2:latest`: the shortest display form /api/tags uses. */
  displayName: string;
  canonical: string;
  digest: string;
  modifiedAt: string;
}

/** Ollama's name resolution: `[host/][namespace/]model[:tag]`, defaults filled, case-insensitive. */
function canonicalName(name: string): string {
  const segments = name.trim().toLowerCase().split('/');
  const last = segments.pop() ?? '';
  const colon = last.lastIndexOf(':');
  const base = colon === -1 ? last : last.slice(0, colon);
  const tag = colon === -1 || colon === last.length - 1 ? 'latest' : last.slice(colon + 1);
  const namespace = segments.pop() ?? 'library';
  const host = segments.pop() ?? 'registry.ollama.ai';
  return `${host}/${namespace}/${base}:${tag}`;
}

function displayName(name: string): string {
  return canonicalName(name).replace(/^registry\.ollama\.ai\//, '').replace(/^library\//, '');
}

function baseName(name: string): string {
  return (displayName(name).split('/').pop() ?? '').split(':')[0] ?? '';
}

function specFor(model: string | FakeModel): ModelSpec {
  const name = typeof model === 'string' ? model : model.name;
  const base = baseName(name);
  const looksLikeEmbedder = /embed|minilm|bge/.test(base);
  const known =
    CATALOG[base] ??
    (looksLikeEmbedder
      ? spec('bert', ['embedding'], 768, 512, '110M', 220_000_000, 'F16')
      : spec('llama', ['completion'], 4096, 8192, '7B', 4_000_000_000, 'Q4_0'));
  if (typeof model === 'string') return known;
  return {
    family: model.family ?? known.family,
    capabilities: model.capabilities ?? known.capabilities,
    embeddingLength: model.embeddingLength ?? known.embeddingLength,
    contextLength: model.contextLength ?? known.contextLength,
    parameterSize: model.parameterSize ?? known.parameterSize,
    size: model.size ?? known.size,
    quantization: known.quantization,
  };
}

let modifiedCounter = 0;
function install(model: string | FakeModel): InstalledModel {
  const name = typeof model === 'string' ? model : model.name;
  // Distinct, increasing times so /api/tags' newest-first order is deterministic.
  const modifiedAt = new Date(Date.UTC(2025, 0, 1) + ++modifiedCounter * 1000).toISOString().replace('Z', '+00:00');
  return {
    ...specFor(model),
    displayName: displayName(name),
    canonical: canonicalName(name),
    digest: hexDigest(`digest:${canonicalName(name)}`),
    modifiedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Deterministic embeddings: a signed hashed bag of words and word pairs, L2-normalised, seeded
// by the model, so texts sharing words are close and different models give different vectors.

function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function hexDigest(text: string): string {
  let hex = '';
  for (let round = 0; hex.length < 64; round++) hex += fnv1a(`${round}:${text}`).toString(16).padStart(8, '0');
  return hex.slice(0, 64);
}

function normalise(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => Math.fround(value / norm));
}

export function fakeEmbedding(model: string, text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const seed = fnv1a(baseName(model));
  // Each feature lands in nested ranges (all dims, a quarter, a sixteenth, the first 16), so a
  // vector cut to its first `dimensions` still carries every word, like Matryoshka models.
  const ranges = [dimensions, dimensions >> 2, dimensions >> 4, 16].map((range) => Math.min(dimensions, Math.max(1, range)));
  const add = (feature: string, weight: number): void => {
    ranges.forEach((range, level) => {
      const slot = fnv1a(`${level}|${feature}`, seed) % range;
      const sign = fnv1a(`${level}|${feature}`, seed ^ 0x9e3779b9) & 1 ? 1 : -1;
      vector[slot] = (vector[slot] ?? 0) + sign * weight * (level === 3 ? 0.5 : 1);
    });
  };
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  words.forEach((word, index) => {
    add(word, 1);
    const next = words[index + 1];
    if (next !== undefined) add(`${word} ${next}`, 0.5);
  });
  // Text without words still gets a unit vector (Ollama never returns zeros for a non-empty input).
  if (words.length === 0) add(`\u0000${text}`, 1);
  return normalise(vector);
}

/** Roughly Ollama's token count: about four characters a token, plus BOS/EOS. */
function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 2;
}

// ---------------------------------------------------------------------------------------------

interface RouteSpec {
  endpoint: FakeEndpoint;
  methods: string[];
}

const ROUTES: Record<string, RouteSpec> = {
  '/': { endpoint: 'root', methods: ['GET', 'HEAD'] },
  '/api/version': { endpoint: 'version', methods: ['GET', 'HEAD'] },
  '/api/tags': { endpoint: 'tags', methods: ['GET', 'HEAD'] },
  '/api/ps': { endpoint: 'ps', methods: ['GET'] },
  '/api/show': { endpoint: 'show', methods: ['POST'] },
  '/api/embed': { endpoint: 'embed', methods: ['POST'] },
  '/api/embeddings': { endpoint: 'embeddings', methods: ['POST'] },
  '/api/chat': { endpoint: 'chat', methods: ['POST'] },
  '/api/generate': { endpoint: 'generate', methods: ['POST'] },
  '/api/pull': { endpoint: 'pull', methods: ['POST'] },
  '/api/delete': { endpoint: 'delete', methods: ['DELETE'] },
  '/api/copy': { endpoint: 'copy', methods: ['POST'] },
};

const MODEL_WORK: ReadonlySet<FakeEndpoint> = new Set(['chat', 'generate', 'embed', 'embeddings']);

type Body = Record<string, unknown>;

/** Per request: the record, the response, and a signal that fires when the connection closes. */
interface Exchange {
  call: FakeCall;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  gone: AbortSignal;
  /** Set before the stand-in itself destroys the connection, so that is not taken for a client abort. */
  serverClosed: boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function untilGone(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Seconds of a keep_alive value as Ollama's api.Duration reads it: a number is seconds, a string is a Go
 * duration ("30m", "1h30m", "-1s"); negative means forever. Undefined when Ollama would reject it (a
 * bare-number string such as "300" has no unit).
 */
export function keepAliveSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(value.trim());
  if (value.trim() === '0') return 0;
  if (!match) return undefined;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let seconds = 0;
  for (const part of value.trim().matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    seconds += Number(part[1]) * (unit[part[2] ?? 's'] ?? 1);
  }
  return match[1] === '-' ? -seconds : seconds;
}

function nowIso(): string {
  return new Date().toISOString();
}

/** Splits text into stream pieces the way a tokenizer roughly does: each word with its leading space. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

function defaultChatReply(request: FakeChatRequest): string {
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const asked = (lastUser?.content ?? '').replace(/\s+/g, ' ').trim();
  const shortened = asked.length > 80 ? `${asked.slice(0, 77)}...` : asked;
  return `According to the notes [1], here is the answer to: ${shortened}`;
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const initialModels = options.models ?? ['llama3.2', 'nomic-embed-text'];
  const version = options.version ?? '0.12.6';
  let installed = new Map<string, InstalledModel>();
  let registry: string[] | 'offline' = options.registry ?? Object.keys(CATALOG);
  let chatScript: FakeChatScript | undefined = options.chatScript;
  let latency: Required<FakeLatency> = { headersMs: 0, tokenMs: 0, coldLoadMs: 0, ...options.latency };
  const faults = new Map<FakeEndpoint | '*', FakeFault>();
  const loaded = new Map<string, { name: string; expiresAt: number; model: InstalledModel }>();
  const calls: FakeCall[] = [];
  const open = new Set<Exchange>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let refusing = false;
  let peakOpen = 0;
  let peakChats = 0;
  const isChat = (exchange: Exchange) => exchange.call.endpoint === 'chat' || exchange.call.endpoint === 'generate';

  const setModels = (models: Array<string | FakeModel>): void => {
    installed = new Map(models.map((model) => install(model)).map((model) => [model.canonical, model]));
    loaded.clear();
  };
  setModels(initialModels);

  const findModel = (name: unknown): InstalledModel | undefined =>
    typeof name === 'string' && name !== '' ? installed.get(canonicalName(name)) : undefined;

  const takeFault = (endpoint: FakeEndpoint): FakeFault | undefined => {
    const key = faults.has(endpoint) ? endpoint : faults.has('*') ? '*' : undefined;
    if (key === undefined) return undefined;
    const fault = faults.get(key);
    if (!fault || (key === '*' && fault.type === 'refuse')) return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 1) faults.delete(key);
      else faults.set(key, { ...fault, times: fault.times - 1 });
    }
    return fault;
  };

  // ---- response helpers -----------------------------------------------------------------------

  const sendJson = (exchange: Exchange, status: number, body: unknown): void => {
    const { res, req, call } = exchange;
    if (res.headersSent || res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    call.status = status;
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  const sendError = (exchange: Exchange, status: number, message: string): void =>
    sendJson(exchange, status, { error: message });
  const sendText = (exchange: Exchange, status: number, text: string): void => {
    const { res, call } = exchange;
    call.status = status;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(exchange.req.method === 'HEAD' ? undefined : text);
  };
  const destroy = (exchange: Exchange): void => {
    exchange.serverClosed = true;
    exchange.req.socket.destroy();
  };

  /**
   * A JSON answer that honours the mid-stream faults, for endpoints that do not stream
   * (`stream:false`, /api/embed): they cut or spoil the body instead.
   */
  const sendJsonWithFault = async (exchange: Exchange, body: unknown, fault: FakeFault | undefined): Promise<void> => {
    const text = JSON.stringify(body);
    const { res, call, gone } = exchange;
    const partial = (): void => {
      call.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
    };
    switch (fault?.type) {
      case 'hang-mid-stream':
        partial();
        return untilGone(gone);
      case 'drop-mid-stream':
        partial();
        await new Promise((resolve) => setTimeout(resolve, 10));
        return destroy(exchange);
      case 'end-without-done':
        partial();
        res.end();
        return;
      case 'malformed-line':
        call.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(`{"model":${text}`);
        return;
      case 'error-mid-stream':
        // A non-streamed answer collects the whole stream, so a mid-generation error becomes a 500.
        return sendError(exchange, 500, fault.error ?? 'an error was encountered while running the model');
      default:
        return sendJson(exchange, 200, body);
    }
  };

  /** Streams NDJSON lines: headers go out with the first line, each line is written (and flushed) on its own. */
  const streamLines = async (
    exchange: Exchange,
    lines: Array<{ line: unknown; delayed: boolean }>,
    fault: FakeFault | undefined,
  ): Promise<void> => {
    const { res, call, gone } = exchange;
    const tokenMs = fault?.type === 'slow' ? fault.tokenDelayMs : latency.tokenMs;
    const write = async (text: string): Promise<void> => {
      if (!res.headersSent) {
        call.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      }
      if (!res.write(text)) await Promise.race([new Promise((resolve) => res.once('drain', resolve)), untilGone(gone)]);
    };
    for (const [index, { line, delayed }] of lines.entries()) {
      if (fault && 'after' in fault && index === (fault.after ?? 1)) {
        switch (fault.type) {
          case 'hang-mid-stream':
            return untilGone(gone);
          case 'error-mid-stream':
            await write(`${JSON.stringify({ error: fault.error ?? 'an error was encountered while running the model' })}\n`);
            res.end();
            return;
          case 'drop-mid-stream':
            // Let the lines already written reach the client before the connection goes.
            await new Promise((resolve) => setTimeout(resolve, 10));
            return destroy(exchange);
          case 'end-without-done':
            res.end();
            return;
          case 'malformed-line':
            await write('{"model": this is not json\n');
            break;
        }
      }
      if (delayed) await sleep(tokenMs, gone);
      if (gone.aborted) return;
      await write(`${JSON.stringify(line)}\n`);
      call.linesSent++;
    }
    res.end();
  };

  const readBody = (exchange: Exchange): { body?: Body; rejected: boolean } => {
    const { call } = exchange;
    if (call.rawBody.trim() === '') {
      sendError(exchange, 400, 'missing request body');
      return { rejected: true };
    }
    if (call.body === undefined) {
      // Go's encoding/json wording; tests should match on status and the `error` key only.
      const first = call.rawBody.trim()[0] ?? '';
      sendError(exchange, 400, `invalid character '${first}' looking for beginning of value`);
      return { rejected: true };
    }
    if (typeof call.body !== 'object' || call.body === null || Array.isArray(call.body)) {
      sendError(exchange, 400, `json: cannot unmarshal ${Array.isArray(call.body) ? 'array' : typeof call.body} into Go value of type api.Request`);
      return { rejected: true };
    }
    return { body: call.body as Body, rejected: false };
  };

  /** Loads in progress per model: a request arriving meanwhile waits for the same load, as Ollama's scheduler does. */
  const loading = new Map<string, Promise<void>>();

  const markLoaded = (model: InstalledModel, requestedName: string, keepAlive: unknown): void => {
    const seconds = keepAliveSeconds(keepAlive) ?? 300;
    if (seconds === 0) {
      loaded.delete(model.canonical);
      return;
    }
    const expiresAt = seconds < 0 ? Number.MAX_SAFE_INTEGER : Date.now() + seconds * 1000;
    loaded.set(model.canonical, { name: requestedName, expiresAt, model });
  };

  /** Cold start and header latency: before the first byte, like a model loading. */
  const waitBeforeHeaders = async (exchange: Exchange, model: InstalledModel | undefined): Promise<void> => {
    await sleep(latency.headersMs, exchange.gone);
    if (!model) return;
    const entry = loaded.get(model.canonical);
    if (entry !== undefined && entry.expiresAt > Date.now()) return;
    if (latency.coldLoadMs <= 0) return;
    let load = loading.get(model.canonical);
    if (load === undefined) {
      load = new Promise<void>((resolve) => setTimeout(resolve, latency.coldLoadMs)).then(() => {
        loading.delete(model.canonical);
        // Loaded with the default keep-alive until the request that asked for it says otherwise.
        if (!loaded.has(model.canonical)) markLoaded(model, model.displayName, undefined);
      });
      loading.set(model.canonical, load);
    }
    await Promise.race([load, untilGone(exchange.gone)]);
  };

  /** Ollama answers a keep_alive it cannot parse with 400 before loading anything. */
  const rejectsKeepAlive = (exchange: Exchange, body: Body): boolean => {
    if (body.keep_alive === undefined || keepAliveSeconds(body.keep_alive) !== undefined) return false;
    const value = body.keep_alive;
    sendError(exchange, 400, typeof value === 'string' ? `time: invalid duration "${value}"` : `Unsupported type: '${typeof value}'`);
    return true;
  };

  // ---- endpoints ------------------------------------------------------------------------------

  const handleTags = (exchange: Exchange): void => {
    const models = [...installed.values()]
      .sort((a, b) => b.modifiedAt.localeCompare(a.modifiedAt))
      .map((model) => ({
        name: model.displayName,
        model: model.displayName,
        modified_at: model.modifiedAt,
        size: model.size,
        digest: model.digest,
        details: {
          parent_model: '',
          format: 'gguf',
          family: model.family,
          families: [model.family],
          parameter_size: model.parameterSize,
          quantization_level: model.quantization,
        },
      }));
    sendJson(exchange, 200, { models });
  };

  const handlePs = (exchange: Exchange): void => {
    const now = Date.now();
    for (const [key, entry] of loaded) if (entry.expiresAt <= now) loaded.delete(key);
    const models = [...loaded.values()]
      .sort((a, b) => b.expiresAt - a.expiresAt)
      .map(({ model, expiresAt }) => ({
        name: model.displayName,
        model: model.displayName,
        size: model.size,
        digest: model.digest,
        details: { parent_model: '', format: 'gguf', family: model.family, families: [model.family], parameter_size: model.parameterSize, quantization_level: model.quantization },
        expires_at: new Date(expiresAt).toISOString(),
        size_vram: 0,
        context_length: Math.min(model.contextLength, 4096),
      }));
    sendJson(exchange, 200, { models });
  };

  const handleShow = (exchange: Exchange, body: Body): void => {
    const name = body.model ?? body.name;
    if (typeof name !== 'string' || name === '') return sendError(exchange, 400, 'model is required');
    const model = findModel(name);
    if (!model) return sendError(exchange, 404, `model '${name}' not found`);
    sendJson(exchange, 200, {
      license: 'Stand-in model for tests.',
      modelfile: `# Modelfile generated by "ollama show"\nFROM ${model.displayName}\n`,
      parameters: model.capabilities.includes('embedding') ? `num_ctx ${model.contextLength}` : 'stop "<|eot_id|>"',
      template: '{{ .Prompt }}',
      details: {
        parent_model: '',
        format: 'gguf',
        family: model.family,
        families: [model.family],
        parameter_size: model.parameterSize,
        quantization_level: model.quantization,
      },
      model_info: {
        'general.architecture': model.family,
        'general.parameter_count': Math.round(Number.parseFloat(model.parameterSize) * (model.parameterSize.endsWith('B') ? 1e9 : 1e6)),
        [`${model.family}.context_length`]: model.contextLength,
        [`${model.family}.embedding_length`]: model.embeddingLength,
      },
      capabilities: model.capabilities,
      modified_at: model.modifiedAt,
    });
  };

  const handleEmbed = async (exchange: Exchange, body: Body, fault: FakeFault | undefined): Promise<void> => {
    const name = typeof body.model === 'string' ? body.model : '';
    const model = findModel(name);
    if (name === '') return sendError(exchange, 404, "model '' not found");
    if (!model) return sendError(exchange, 404, `model "${name}" not found, try pulling it first`);
    const input = body.input;
    let inputs: string[];
    if (input === undefined || input === null || input === '') inputs = [];
    else if (typeof input === 'string') inputs = [input];
    else if (Array.isArray(input) && input.every((item) => typeof item === 'string')) inputs = input as string[];
    else return sendError(exchange, 400, 'invalid input type');
    if (rejectsKeepAlive(exchange, body)) return;
    await waitBeforeHeaders(exchange, model);
    markLoaded(model, name, body.keep_alive);
    if (inputs.length === 0) return sendJson(exchange, 200, { model: name, embeddings: [] });
    const truncate = body.truncate !== false;
    const maxChars = (model.contextLength - 2) * 4;
    let promptTokens = 0;
    const embeddings: number[][] = [];
    for (const text of inputs) {
      let used = text;
      if (approximateTokens(text) > model.contextLength) {
        if (!truncate) return sendError(exchange, 400, 'the input length exceeds the context length');
        used = text.slice(0, maxChars);
      }
      promptTokens += approximateTokens(used);
      let vector = fakeEmbedding(model.canonical, used, model.embeddingLength);
      const dimensions = body.dimensions;
      if (typeof dimensions === 'number' && dimensions > 0 && dimensions < vector.length) {
        vector = normalise(vector.slice(0, dimensions));
      }
      embeddings.push(vector);
    }
    await sendJsonWithFault(
      exchange,
      { model: name, embeddings, total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: promptTokens },
      fault,
    );
  };

  const handleLegacyEmbeddings = async (exchange: Exchange, body: Body, fault: FakeFault | undefined): Promise<void> => {
    const name = typeof body.model === 'string' ? body.model : '';
    if (name === '') return sendError(exchange, 400, 'model is required');
    const model = findModel(name);
    if (!model) return sendError(exchange, 404, `model "${name}" not found, try pulling it first`);
    if (rejectsKeepAlive(exchange, body)) return;
    await waitBeforeHeaders(exchange, model);
    markLoaded(model, name, body.keep_alive);
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    if (prompt === '') return sendJson(exchange, 200, { embedding: [] });
    if (approximateTokens(prompt) > model.contextLength) {
      return sendError(exchange, 500, 'the input length exceeds the context length');
    }
    // The legacy endpoint does not normalise: scale the unit vector so clients cannot rely on it.
    const embedding = fakeEmbedding(model.canonical, prompt, model.embeddingLength).map((value) => value * 3.5);
    await sendJsonWithFault(exchange, { embedding }, fault);
  };

  const scriptedReply = async (request: FakeChatRequest): Promise<FakeChatReply> => {
    const script = chatScript ?? defaultChatReply;
    const result = typeof script === 'function' ? await script(request) : script;
    if (typeof result === 'string') return { tokens: splitTokens(result) };
    if (Array.isArray(result)) return { tokens: result };
    return { ...result, tokens: result.tokens ?? splitTokens(result.content ?? '') };
  };

  const handleCompletion = async (
    exchange: Exchange,
    body: Body,
    fault: FakeFault | undefined,
    endpoint: 'chat' | 'generate',
  ): Promise<void> => {
    const name = typeof body.model === 'string' ? body.model : '';
    if (name === '') {
      return endpoint === 'chat' ? sendError(exchange, 400, 'model is required') : sendError(exchange, 404, "model '' not found");
    }
    const model = findModel(name);
    if (!model) return sendError(exchange, 404, `model '${name}' not found`);
    const messages: FakeChatMessage[] =
      endpoint === 'chat'
        ? Array.isArray(body.messages)
          ? (body.messages as FakeChatMessage[])
          : []
        : [
            ...(typeof body.system === 'string' && body.system !== '' ? [{ role: 'system', content: body.system }] : []),
            ...(typeof body.prompt === 'string' && body.prompt !== '' ? [{ role: 'user', content: body.prompt }] : []),
          ];
    const startedAt = process.hrtime.bigint();
    const piece = (content: string, thinking?: string): Record<string, unknown> =>
      endpoint === 'chat'
        ? { message: { role: 'assistant', content, ...(thinking !== undefined ? { thinking } : {}) } }
        : { response: content, ...(thinking !== undefined ? { thinking } : {}) };

    if (rejectsKeepAlive(exchange, body)) return;
    // An empty conversation loads (or, with keep_alive 0, unloads) the model: always one object.
    if (messages.length === 0) {
      await waitBeforeHeaders(exchange, model);
      markLoaded(model, name, body.keep_alive);
      const unload = body.keep_alive === 0 || body.keep_alive === '0';
      return sendJson(exchange, 200, { model: name, created_at: nowIso(), ...piece(''), done: true, done_reason: unload ? 'unload' : 'load' });
    }
    if (!model.capabilities.includes('completion')) {
      return sendError(exchange, 400, `"${name}" does not support ${endpoint}`);
    }
    if (body.think === true && !model.capabilities.includes('thinking')) {
      return sendError(exchange, 400, `"${name}" does not support thinking`);
    }
    const request: FakeChatRequest = { ...body, model: name, messages, endpoint } as FakeChatRequest;
    const reply = await scriptedReply(request);
    let tokens = reply.tokens ?? [];
    let doneReason = reply.doneReason ?? 'stop';
    const numPredict = (body.options as Body | undefined)?.num_predict;
    if (typeof numPredict === 'number' && numPredict > 0 && tokens.length > numPredict) {
      tokens = tokens.slice(0, numPredict);
      doneReason = 'length';
    }
    await waitBeforeHeaders(exchange, model);
    const loadNs = Number(process.hrtime.bigint() - startedAt);
    markLoaded(model, name, body.keep_alive);
    // A prompt longer than the context is cut from the start, silently: prompt_eval_count says how much was read.
    const requestedCtx = (body.options as Body | undefined)?.num_ctx;
    const contextTokens = Math.min(model.contextLength, typeof requestedCtx === 'number' && requestedCtx > 0 ? requestedCtx : 4096);
    const fullPromptTokens = messages.reduce((sum, message) => sum + approximateTokens(String(message.content ?? '')), 0);
    const promptTokens = Math.min(fullPromptTokens, contextTokens);
    const evalDuration = Math.max(1, tokens.length) * 20_000_000;
    const metrics = {
      total_duration: loadNs + 30_000_000 + evalDuration,
      load_duration: Math.max(1, loadNs),
      prompt_eval_count: promptTokens,
      prompt_eval_duration: 30_000_000,
      eval_count: tokens.length,
      eval_duration: evalDuration,
    };
    const finalExtra = endpoint === 'generate' ? { context: tokens.map((_, index) => 128_000 + index) } : {};

    if (body.stream === false) {
      const content = tokens.join('');
      const thinking = reply.thinking?.join('');
      return sendJsonWithFault(
        exchange,
        { model: name, created_at: nowIso(), ...piece(content, thinking), done: true, done_reason: doneReason, ...finalExtra, ...metrics },
        fault,
      );
    }
    const lines = [
      ...(reply.thinking ?? []).map((thought) => ({ line: { model: name, created_at: nowIso(), ...piece('', thought), done: false }, delayed: true })),
      ...tokens.map((token) => ({ line: { model: name, created_at: nowIso(), ...piece(token), done: false }, delayed: true })),
      {
        line: { model: name, created_at: nowIso(), ...piece(''), done: true, done_reason: doneReason, ...finalExtra, ...metrics },
        delayed: false,
      },
    ];
    await streamLines(exchange, lines, fault);
  };

  const handlePull = async (exchange: Exchange, body: Body, fault: FakeFault | undefined): Promise<void> => {
    // ollama-js sends the legacy `name`; the server accepts both.
    const name = typeof body.model === 'string' && body.model !== '' ? body.model : body.name;
    if (typeof name !== 'string' || name === '' || !/^[\w.\-/:]+$/.test(name)) {
      return sendError(exchange, 400, 'invalid model name');
    }
    // A registry entry without a tag stands for every tag of that model.
    const known =
      registry !== 'offline' &&
      registry.some((entry) =>
        entry.includes(':') ? canonicalName(entry) === canonicalName(name) : baseName(entry) === baseName(name),
      );
    const failure =
      registry === 'offline'
        ? `pull model manifest: Get "https://registry.ollama.ai/v2/library/${baseName(name)}/manifests/latest": dial tcp: lookup registry.ollama.ai: no such host`
        : known
          ? undefined
          : 'pull model manifest: file does not exist';
    const model = install(name);
    const stream = body.stream !== false;
    if (!stream) {
      if (failure) return sendError(exchange, 500, failure);
      installed.set(model.canonical, model);
      return sendJson(exchange, 200, { status: 'success' });
    }
    const lines: Array<{ line: unknown; delayed: boolean }> = [{ line: { status: 'pulling manifest' }, delayed: false }];
    if (failure) {
      lines.push({ line: { error: failure }, delayed: true });
      return streamLines(exchange, lines, fault);
    }
    const layers = [
      { digest: `sha256:${model.digest}`, total: model.size },
      { digest: `sha256:${hexDigest(`license:${model.canonical}`)}`, total: 11_357 },
    ];
    for (const layer of layers) {
      const status = `pulling ${layer.digest.slice(7, 19)}`;
      lines.push({ line: { status, digest: layer.digest, total: layer.total }, delayed: true });
      for (const fraction of [0.25, 0.5, 1]) {
        lines.push({ line: { status, digest: layer.digest, total: layer.total, completed: Math.round(layer.total * fraction) }, delayed: true });
      }
    }
    lines.push(
      { line: { status: 'verifying sha256 digest' }, delayed: true },
      { line: { status: 'writing manifest' }, delayed: true },
      { line: { status: 'success' }, delayed: true },
    );
    // Installed once the stream is under way, as the real server writes the manifest before "success".
    installed.set(model.canonical, model);
    await streamLines(exchange, lines, fault);
  };

  const handleDelete = (exchange: Exchange, body: Body): void => {
    const name = body.model ?? body.name;
    const model = findModel(name);
    if (!model) return sendError(exchange, 404, `model '${String(name ?? '')}' not found`);
    installed.delete(model.canonical);
    loaded.delete(model.canonical);
    exchange.call.status = 200;
    exchange.res.writeHead(200, { 'Content-Length': 0 });
    exchange.res.end();
  };

  const handleCopy = (exchange: Exchange, body: Body): void => {
    const source = findModel(body.source);
    if (!source) return sendError(exchange, 404, `model "${String(body.source ?? '')}" not found`);
    if (typeof body.destination !== 'string' || body.destination === '') return sendError(exchange, 400, 'invalid model name');
    const copy = { ...install(body.destination), ...specFor(source.displayName) };
    installed.set(copy.canonical, copy);
    exchange.call.status = 200;
    exchange.res.writeHead(200, { 'Content-Length': 0 });
    exchange.res.end();
  };

  // ---- dispatch -------------------------------------------------------------------------------

  const handle = async (exchange: Exchange, route: RouteSpec): Promise<void> => {
    const { endpoint } = route;
    const fault = takeFault(endpoint);
    if (fault?.type === 'refuse' || fault?.type === 'reset') return destroy(exchange);
    if (fault?.type === 'hang') return untilGone(exchange.gone);
    if (fault?.type === 'status') {
      if (MODEL_WORK.has(endpoint)) await waitBeforeHeaders(exchange, undefined);
      return sendError(exchange, fault.status, fault.error ?? 'llama runner process has terminated: exit status 2');
    }
    switch (endpoint) {
      case 'root':
        return sendText(exchange, 200, 'Ollama is running');
      case 'version':
        return sendJson(exchange, 200, { version });
      case 'tags':
        return handleTags(exchange);
      case 'ps':
        return handlePs(exchange);
      default:
        break;
    }
    const { body, rejected } = readBody(exchange);
    if (rejected || !body) return;
    switch (endpoint) {
      case 'show':
        return handleShow(exchange, body);
      case 'embed':
        return handleEmbed(exchange, body, fault);
      case 'embeddings':
        return handleLegacyEmbeddings(exchange, body, fault);
      case 'chat':
      case 'generate':
        return handleCompletion(exchange, body, fault, endpoint);
      case 'pull':
        return handlePull(exchange, body, fault);
      case 'delete':
        return handleDelete(exchange, body);
      case 'copy':
        return handleCopy(exchange, body);
    }
  };

  let seq = 0;
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 5_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = ROUTES[url.pathname];
    const call: FakeCall = {
      seq: ++seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      endpoint: route?.endpoint,
      headers: req.headers,
      body: undefined,
      rawBody: '',
      startedAt: Date.now(),
      endedAt: undefined,
      status: undefined,
      linesSent: 0,
      finished: false,
      clientClosed: false,
    };
    calls.push(call);
    const connection = new AbortController();
    const exchange: Exchange = { call, req, res, gone: connection.signal, serverClosed: false };
    open.add(exchange);
    peakOpen = Math.max(peakOpen, open.size);
    if (isChat(exchange)) peakChats = Math.max(peakChats, [...open].filter(isChat).length);
    res.on('close', () => {
      call.endedAt = Date.now();
      call.finished = res.writableFinished;
      call.clientClosed = !res.writableFinished && !exchange.serverClosed;
      open.delete(exchange);
      connection.abort();
      events.emit('change');
    });
    events.emit('change');

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      call.rawBody = Buffer.concat(chunks).toString('utf8');
      try {
        call.body = call.rawBody.trim() === '' ? undefined : (JSON.parse(call.rawBody) as unknown);
      } catch {
        call.body = undefined;
      }
      events.emit('change');
      if (!route) return sendText(exchange, 404, '404 page not found');
      if (!route.methods.includes(call.method)) return sendText(exchange, 405, '405 method not allowed');
      handle(exchange, route).catch((error: unknown) => {
        if (!res.headersSent) sendError(exchange, 500, error instanceof Error ? error.message : String(error));
        else destroy(exchange);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const dropAllConnections = (): void => {
    for (const exchange of open) exchange.serverClosed = true;
    server.closeAllConnections();
  };

  const stopListening = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    dropAllConnections();
    await closed;
    // Give clients a moment to notice their pooled keep-alive sockets closed; otherwise the next
    // request may go out on a dead socket and fail as "other side closed" instead of ECONNREFUSED.
    await new Promise((resolve) => setTimeout(resolve, 25));
  };

  const startListening = async (): Promise<void> => {
    if (server.listening) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  };

  const waitFor = (predicate: () => boolean, timeoutMs = 5_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake Ollama: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        events.off('change', check);
      };
      events.on('change', check);
      check();
    });

  const fake: FakeOllama = {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    callsTo: (endpoint) => calls.filter((call) => call.endpoint === endpoint),
    setModels,
    models: () => [...installed.values()].map((model) => model.displayName),
    setRegistry: (next) => {
      registry = next;
    },
    async setFault(endpoint, fault) {
      if (fault === null) faults.delete(endpoint);
      else faults.set(endpoint, fault);
      const shouldRefuse = faults.get('*')?.type === 'refuse';
      if (shouldRefuse && !refusing) {
        refusing = true;
        await stopListening();
      } else if (!shouldRefuse && refusing) {
        refusing = false;
        await startListening();
      }
    },
    setChatScript: (script) => {
      chatScript = script;
    },
    setLatency: (next) => {
      latency = { headersMs: 0, tokenMs: 0, coldLoadMs: 0, ...next };
    },
    openRequests: () => open.size,
    peakOpenRequests: () => peakOpen,
    peakOpenChats: () => peakChats,
    waitFor,
    whenIdle: (timeoutMs) => waitFor(() => open.size === 0, timeoutMs),
    async reset() {
      faults.clear();
      if (refusing) {
        refusing = false;
        await startListening();
      }
      calls.length = 0;
      peakOpen = open.size;
      peakChats = [...open].filter(isChat).length;
      chatScript = options.chatScript;
      latency = { headersMs: 0, tokenMs: 0, coldLoadMs: 0, ...options.latency };
      registry = options.registry ?? Object.keys(CATALOG);
      setModels(initialModels);
    },
    async close() {
      if (server.listening) await stopListening();
      else dropAllConnections();
    },
  };
  return fake;
}
