/**
 * Child processes for the benchmark: TypeScript entry points run exactly as the Dockerfile and
 * `npm start` run them (`node --import tsx …`), so a measurement includes what a user's process pays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (where `src/` lives): children run from there, like `npm start`. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `--import` wants a URL; resolving from here works whatever the current directory is. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export function spawnTypeScript(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', tsxLoader(), script, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a script to the end and returns its last stdout line parsed as JSON; rejects with its stderr on failure. */
export function runJsonScript<T>(script: string, args: readonly string[], signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawnTypeScript(script, args);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const abort = (): void => void child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', reject);
    child.once('close', (code) => {
      signal?.removeEventListener('abort', abort);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code}: ${stderr.trim().slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${stdout.slice(-500)} ${stderr.slice(-500)}`));
      }
    });
  });
}
