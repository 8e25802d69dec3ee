/**
 * A stand-in OpenAI-compatible server (what vLLM, llama.cpp server, LM Studio and Ollama's /v1
 * answer) for tests: real HTTP on 127.0.0.1, an ephemeral port, routes under /v1:
 *
 *   GET  /v1/models             {"object":"list","data":[{"id", "object":"model", …}]}
 *   POST /v1/chat/completions   non-streaming JSON, or `stream: true` Server-Sent Events of
 *                               chat.completion.chunk objects ending with a finish_reason chunk
 *                               and `data: [DONE]`
 *   POST /v1/embeddings         float or base64 vectors, deterministic per input text
 *
 * Errors use the OpenAI body `{"error": {"message", "type", "code"}}`: 401 without the configured
 * key, 404 "The model `x` does not exist." for a model it does not serve (vLLM's wording), and
 * FastAPI's `{"detail":"Not Found"}` for unknown paths. It records every call and injects faults
 * per endpoint, so tests can assert what was sent and what came back.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeOpenAIEndpoint = 'models' | 'chat' | 'embeddings';

export type FakeOpenAIFault = (
  /** Destroy the connection as soon as the request arrives. */
  | { type: 'reset' }
  /** Answer with this status and an OpenAI error body. */
  | { type: 'status'; status: number; message?: string }
  /** Never send the response headers. */
  | { type: 'hang' }
  /** Send `after` content chunks (default 1), then nothing, keeping the connection open. */
  | { type: 'hang-mid-stream'; after?: number }
  /** Send `after` content chunks, then destroy the connection. */
  | { type: 'drop-mid-stream'; after?: number }
  /** Send `after` content chunks, then `data: {"error": …}` and end (vLLM reports a failed generation so). */
  | { type: 'error-mid-stream'; after?: number; message?: string }
  /** Send `after` content chunks, then end cleanly with neither a finish_reason nor `[DONE]`. */
  | { type: 'end-without-finish'; after?: number }
  /** Insert one `data:` line that is not JSON after `after` content chunks. */
  | { type: 'malformed-line'; after?: number }
  /** Wait this long before every streamed chunk. */
  | { type: 'slow'; tokenDelayMs: number }
) & { times?: number };

export interface FakeOpenAICall {
  readonly method: string;
  readonly path: string;
  readonly endpoint: FakeOpenAIEndpoint | undefined;
  readonly headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number | undefined;
  /** Content chunks streamed so far. */
  chunksSent: number;
  finished: boolean;
  /** The client hung up before the response ended: what an abort looks like upstream. */
  clientClosed: boolean;
}

export interface FakeOpenAIChatRequest {
  model: string;
  messages: Array<{ role: string; content: unknown }>;
  stream?: boolean;
  [key: string]: unknown;
}

/**
 * One streamed piece: answer text, or reasoning sent apart from the answer as `delta.reasoning_content`
 * with `content: null` (DeepSeek's API; vLLM and llama.cpp server with a reasoning parser).
 */
export type FakeOpenAIPiece = string | { reasoning: string };

/** The answer's pieces, or a function of the request that returns them. A string is split at word boundaries. */
export type FakeOpenAIChatScript = string | FakeOpenAIPiece[] | ((request: FakeOpenAIChatRequest) => string | FakeOpenAIPiece[]);

export interface FakeOpenAIOptions {
  /** Served model ids. Default: `Qwen/Qwen2.5-7B-Instruct` and `nomic-ai/nomic-embed-text-v1.5`. */
  models?: string[];
  /** When set, every request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Vector size of /v1/embeddings. Default 16. */
  embeddingLength?: number;
  chatScript?: FakeOpenAIChatScript;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>/v1`: what OPENAI_BASE_URL is set to. */
  readonly url: string;
  readonly calls: FakeOpenAICall[];
  callsTo(endpoint: FakeOpenAIEndpoint): FakeOpenAICall[];
  setModels(models: string[]): void;
  setFault(endpoint: FakeOpenAIEndpoint, fault: FakeOpenAIFault | null): void;
  setChatScript(script: FakeOpenAIChatScript | undefined): void;
  /** The vector the server returns for `text` (unit length, deterministic). */
  vectorFor(text: string): number[];
  /** Resolves once `predicate()` holds (checked every 10 ms); rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Clears calls, faults and script, and restores the initial models. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_OPENAI_MODELS = ['Qwen/Qwen2.5-7B-Instruct', 'nomic-ai/nomic-embed-text-v1.5'];
const DEFAULT_ANSWER = 'Compose watch rebuilds the app when its source changes [1].';

const ENDPOINTS: Record<string, { method: string; endpoint: FakeOpenAIEndpoint }> = {
  '/v1/models': { method: 'GET', endpoint: 'models' },
  '/v1/chat/completions': { method: 'POST', endpoint: 'chat' },
  '/v1/embeddings': { method: 'POST', endpoint: 'embeddings' },
};

function pieces(script: FakeOpenAIChatScript, request: FakeOpenAIChatRequest): FakeOpenAIPiece[] {
  const value = typeof script === 'function' ? script(request) : script;
  return typeof value === 'string' ? (value.match(/\s*\S+/g) ?? ['']) : value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const initialModels = options.models ?? DEFAULT_OPENAI_MODELS;
  const dimensions = options.embeddingLength ?? 16;
  let models = [...initialModels];
  let script: FakeOpenAIChatScript = options.chatScript ?? DEFAULT_ANSWER;
  const faults = new Map<FakeOpenAIEndpoint, FakeOpenAIFault>();
  const calls: FakeOpenAICall[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const vectorFor = (text: string): number[] => {
    const digest = createHash('sha256').update(text).digest();
    const raw = Array.from({ length: dimensions }, (_, index) => (digest[index % digest.length] ?? 0) - 127.5 + index);
    const norm = Math.hypot(...raw) || 1;
    return raw.map((value) => value / norm);
  };

  /** The fault for this request, counted down when it has `times`. */
  const takeFault = (endpoint: FakeOpenAIEndpoint): FakeOpenAIFault | undefined => {
    const fault = faults.get(endpoint);
    if (fault?.times !== undefined) {
      if (fault.times <= 1) faults.delete(endpoint);
      else faults.set(endpoint, { ...fault, times: fault.times - 1 });
    }
    return fault;
  };

  const sendJson = (call: FakeOpenAICall, res: http.ServerResponse, status: number, body: unknown) => {
    call.status = status;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const sendError = (call: FakeOpenAICall, res: http.ServerResponse, status: number, message: string, type: string) =>
    sendJson(call, res, status, { error: { message, type, param: null, code: status } });

  async function streamChat(call: FakeOpenAICall, res: http.ServerResponse, request: FakeOpenAIChatRequest, fault: FakeOpenAIFault | undefined) {
    const tokens = pieces(script, request);
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model: request.model };
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })}\n\n`;
    call.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(chunk({ role: 'assistant', content: '' }, null));
    const after = fault !== undefined && 'after' in fault ? (fault.after ?? 1) : Number.POSITIVE_INFINITY;
    for (const [index, token] of tokens.entries()) {
      if (res.destroyed) return;
      if (index === after) {
        if (fault?.type === 'hang-mid-stream') return;
        if (fault?.type === 'drop-mid-stream') return void res.destroy();
        if (fault?.type === 'error-mid-stream') {
          res.end(`data: ${JSON.stringify({ error: { message: fault.message ?? 'CUDA out of memory', type: 'InternalServerError', code: 500 } })}\n\n`);
          return;
        }
        if (fault?.type === 'end-without-finish') return void res.end();
        if (fault?.type === 'malformed-line') res.write('data: {"choices": [ not json\n\n');
      }
      if (fault?.type === 'slow') await sleep(fault.tokenDelayMs);
      if (res.destroyed) return;
      res.write(chunk(typeof token === 'string' ? { content: token } : { content: null, reasoning_content: token.reasoning }, null));
      call.chunksSent += 1;
    }
    res.write(chunk({}, 'stop'));
    res.end('data: [DONE]\n\n');
  }

  async function handle(call: FakeOpenAICall, req: http.IncomingMessage, res: http.ServerResponse) {
    const route = ENDPOINTS[call.path];
    if (route === undefined || route.method !== call.method) {
      return sendJson(call, res, 404, { detail: 'Not Found' });
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(call, res, 401, 'Incorrect API key provided.', 'invalid_request_error');
    }
    const fault = takeFault(route.endpoint);
    if (fault?.type === 'reset') return void req.socket.destroy();
    if (fault?.type === 'hang') return;
    if (fault?.type === 'status') return sendError(call, res, fault.status, fault.message ?? `fault ${fault.status}`, 'InternalServerError');

    if (route.endpoint === 'models') {
      return sendJson(call, res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })),
      });
    }
    const body = call.body as { model?: unknown } | undefined;
    if (typeof body?.model !== 'string' || !models.includes(body.model)) {
      return sendError(call, res, 404, `The model \`${String(body?.model)}\` does not exist.`, 'NotFoundError');
    }
    if (route.endpoint === 'embeddings') {
      const { input, encoding_format: format } = call.body as { input: string | string[]; encoding_format?: string };
      const inputs = Array.isArray(input) ? input : [input];
      const data = inputs.map((text, index) => {
        const vector = vectorFor(text);
        const embedding = format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      return sendJson(call, res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } });
    }
    const request = call.body as FakeOpenAIChatRequest;
    if (request.stream === true) return streamChat(call, res, request, fault);
    const all = pieces(script, request);
    const content = all.filter((piece) => typeof piece === 'string').join('');
    const reasoning = all.flatMap((piece) => (typeof piece === 'string' ? [] : [piece.reasoning])).join('');
    return sendJson(call, res, 200, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content, ...(reasoning === '' ? {} : { reasoning_content: reasoning }) }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const call: FakeOpenAICall = {
      method: req.method ?? 'GET',
      path,
      endpoint: ENDPOINTS[path]?.endpoint,
      headers: req.headers,
      body: undefined,
      status: undefined,
      chunksSent: 0,
      finished: false,
      clientClosed: false,
    };
    calls.push(call);
    res.on('finish', () => (call.finished = true));
    res.on('close', () => {
      if (!res.writableFinished) call.clientClosed = true;
    });
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (text: string) => (raw += text));
    req.on('end', () => {
      try {
        call.body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        call.body = undefined;
      }
      handle(call, req, res).catch(() => res.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    callsTo: (endpoint) => calls.filter((call) => call.endpoint === endpoint),
    setModels: (next) => void (models = [...next]),
    setFault: (endpoint, fault) => void (fault === null ? faults.delete(endpoint) : faults.set(endpoint, fault)),
    setChatScript: (next) => void (script = next ?? DEFAULT_ANSWER),
    vectorFor,
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('fake OpenAI server: condition not reached in time');
        await sleep(10);
      }
    },
    reset() {
      calls.length = 0;
      faults.clear();
      script = options.chatScript ?? DEFAULT_ANSWER;
      models = [...initialModels];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
