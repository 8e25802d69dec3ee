/**
 * Runs the compose `models` job script (docker/pull-models.sh) for real, with bash, against the
 * stand-in Ollama (test/support/fake-ollama.ts). The `ollama` command on PATH is a stand-in for the
 * Ollama CLI (test/support/fake-ollama-cli.sh) that talks HTTP to OLLAMA_HOST the way the real one
 * does (HEAD / heartbeat first, then /api/tags, /api/show or a streamed /api/pull, "Error: …" on
 * stderr and exit 1 on failure), so the assertions are made on what the server received: which
 * models were pulled.
 *
 * PATH holds nothing but that command, which proves the script needs only bash builtins and the
 * ollama CLI, as in the ollama/ollama image (no curl, no wget).
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { closedPortUrl, startFakeOllama, type FakeOllama, type FakeOllamaOptions } from './support/fake-ollama.ts';

const script = fileURLToPath(new URL('../docker/pull-models.sh', import.meta.url));
const bash = '/bin/bash';

/** The `ollama` on PATH: list/show/pull over HTTP, like the real CLI (see the file). */
const fakeCli = fileURLToPath(new URL('./support/fake-ollama-cli.sh', import.meta.url));

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let binDir: string;

beforeAll(async () => {
  binDir = await mkdtemp(join(tmpdir(), 'asknotes-pull-models-'));
  const cli = join(binDir, 'ollama');
  await copyFile(fakeCli, cli);
  await chmod(cli, 0o755);
});

afterAll(async () => {
  await rm(binDir, { recursive: true, force: true });
});

/** A stand-in Ollama for one test, closed when the test ends. */
async function standIn(options: FakeOllamaOptions): Promise<FakeOllama> {
  const server = await startFakeOllama(options);
  onTestFinished(() => server.close());
  return server;
}

function runScript(env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      bash,
      [script],
      // Only what the compose job sets, plus a PATH with nothing but `ollama` on it.
      { env: { PATH: binDir, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const pulledModels = (server: FakeOllama) =>
  server.callsTo('pull').map((call) => (call.body as { model?: string } | undefined)?.model);

describe('docker/pull-models.sh (the compose models job)', () => {
  it('pulls nothing when both models are present', async () => {
    const ollama = await standIn({ models: ['llama3.2', 'nomic-embed-text'] });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(pulledModels(ollama)).toEqual([]);
    // Both were checked, each by name.
    expect(ollama.callsTo('show').map((call) => (call.body as { model: string }).model)).toEqual(['llama3.2', 'nomic-embed-text']);
    expect(result.stdout).toContain('llama3.2 is already present');
    expect(result.stdout).toContain('nomic-embed-text is already present');
  });

  it('pulls exactly the missing model and leaves the present one alone', async () => {
    const ollama = await standIn({ models: ['llama3.2'] });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.code).toBe(0);
    expect(pulledModels(ollama)).toEqual(['nomic-embed-text']);
    expect(ollama.models()).toContain('nomic-embed-text:latest');
    expect(result.stdout).toContain('nomic-embed-text is missing; pulling it');
    expect(result.stdout).toContain('(1 pulled)');
  });

  it('pulls the chat model too when it is the one missing', async () => {
    const ollama = await standIn({ models: ['nomic-embed-text'] });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.code).toBe(0);
    expect(pulledModels(ollama)).toEqual(['llama3.2']);
  });

  it('is idempotent: a second run after pulling pulls nothing (the offline restart)', async () => {
    const ollama = await standIn({ models: [] });
    const env = { OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' };
    const first = await runScript(env);
    expect(first.code, first.stderr).toBe(0);
    expect(pulledModels(ollama)).toEqual(['llama3.2', 'nomic-embed-text']);

    // Now the network is gone: any pull would fail, so success proves none was attempted.
    ollama.setRegistry('offline');
    const second = await runScript(env);
    expect(second.code, second.stderr).toBe(0);
    expect(pulledModels(ollama)).toHaveLength(2);
  });

  it('uses the compose defaults (llama3.2, nomic-embed-text) when the variables are unset', async () => {
    const ollama = await standIn({ models: [] });
    const result = await runScript({ OLLAMA_HOST: ollama.url });

    expect(result.code).toBe(0);
    expect(pulledModels(ollama)).toEqual(['llama3.2', 'nomic-embed-text']);
  });

  it('pulls a model once when CHAT_MODEL and EMBED_MODEL name the same one', async () => {
    const ollama = await standIn({ models: [] });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'qwen3', EMBED_MODEL: 'qwen3' });

    expect(result.code).toBe(0);
    expect(pulledModels(ollama)).toEqual(['qwen3']);
  });

  it('fails with a clear message, and pulls nothing, when Ollama is unreachable', async () => {
    const url = await closedPortUrl();
    const result = await runScript({ OLLAMA_HOST: url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`cannot reach Ollama at ${url}`);
    expect(result.stderr).toContain('docker compose logs ollama');
    // The likeliest cause with a GPU: OLLAMA_SERVICE=ollama-gpu set without the gpu profile.
    expect(result.stderr).toContain('COMPOSE_PROFILES=gpu');
    expect(result.stdout).not.toContain('pulling');
  });

  it('fails naming the model when a needed pull cannot reach the registry (offline first run)', async () => {
    const ollama = await standIn({ models: ['llama3.2'], registry: 'offline' });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('could not pull nomic-embed-text');
    expect(result.stderr).toContain('needs internet access');
    // The CLI's own reason is shown too.
    expect(result.stderr).toContain('no such host');
  });

  it('does not pull when `ollama show` fails for another reason than "not found"', async () => {
    const ollama = await standIn({ models: [] });
    await ollama.setFault('show', { type: 'status', status: 500, error: 'something broke' });
    const result = await runScript({ OLLAMA_HOST: ollama.url, CHAT_MODEL: 'llama3.2', EMBED_MODEL: 'nomic-embed-text' });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('could not check llama3.2');
    expect(result.stderr).toContain('something broke');
    expect(pulledModels(ollama)).toEqual([]);
  });

  it('uses no curl or wget (absent from the ollama/ollama image)', async () => {
    const source = await readFile(script, 'utf8');
    const code = source
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    expect(code).not.toMatch(/\b(curl|wget)\b/);
    expect(source.startsWith('#!/usr/bin/env bash\n')).toBe(true);
  });
});
