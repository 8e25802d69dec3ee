/**
 * The Dockerfile, read statically (no Docker engine here): a pinned official Node base,
 * multi-stage with the native-addon toolchain in the build stage only, production dependencies
 * only in the runtime stage, a non-root user, a HEALTHCHECK without curl, and only variables the
 * config knows. Then the parts that can run without Docker are run: the HEALTHCHECK script
 * against a local server, and the image's CMD started from the repo with the container's
 * environment, until that HEALTHCHECK reports it healthy.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { closedPortUrl } from './support/fake-ollama.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

/**
 * Variables the Dockerfile may set that are not asknotes configuration, each with its reason.
 * NODE_ENV=production: Express's own fallback error pages then never include stack traces.
 */
/**
 * npm_config_nodedir=/usr/local (build stage): node-gyp compiles against the image's own headers
 * instead of downloading them, so a rebuild works offline (issue 17).
 */
const RUNTIME_ONLY_VARIABLES = ['NODE_ENV', 'npm_config_nodedir'];

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, as BuildKit reads them. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (buffer !== '' && line.trimStart().startsWith('#')) return;
    if (buffer === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(buffer);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2].replace(/\s+/g, ' ').trim(), line: startLine });
    }
    buffer = '';
  });
  return instructions;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = instruction.args.split(' ');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** ENV's names, in both the `A=b C=d` and the legacy `A b` forms. */
function envNames(args: string): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) return [args.split(' ')[0] ?? ''];
  return [...args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((match) => match[1] ?? '');
}

function envValues(stage: Stage): Record<string, string> {
  const values: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((item) => item.keyword === 'ENV')) {
    for (const match of instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
      values[match[1] ?? ''] = (match[2] ?? '').replace(/^"|"$/g, '');
    }
  }
  return values;
}

/** The exec-form array of CMD/HEALTHCHECK CMD. */
function execForm(args: string): string[] {
  const json = /\[.*\]$/.exec(args)?.[0];
  expect(json, `"${args}" uses the exec (JSON array) form`).toBeDefined();
  return JSON.parse(json ?? '[]') as string[];
}

/** A minimal .dockerignore matcher: `*` within a segment, `**` across, a match on any leading part. */
function ignoredBy(patterns: string[], path: string): boolean {
  const parts = path.split('/');
  return patterns.some((pattern) => {
    const regex = new RegExp(
      `^${pattern
        .replace(/^\.?\//, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\u0000/g, '.*')}$`,
    );
    return parts.some((_part, index) => regex.test(parts.slice(0, index + 1).join('/')));
  });
}

const dockerfile = read('Dockerfile');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const final = stages.at(-1);
const runtime: Stage = final ?? { from: '', name: undefined, instructions: [] };
const stageNames = new Set(stages.map((stage) => stage.name).filter((name) => name !== undefined));
const of = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword);

describe('Dockerfile: base image and stages', () => {
  it('is multi-stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
  });

  it('pins an official Node 22 or 24 image by exact version (never latest), in every stage', () => {
    const external = stages.map((stage) => stage.from).filter((from) => !stageNames.has(from));
    expect(external.length).toBeGreaterThan(0);
    for (const from of external) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(?:-slim)?(@sha256:[0-9a-f]{64})?$/.exec(from);
      expect(match, `${from} is node:<major.minor.patch>-<variant>[@sha256:…]`).not.toBeNull();
      expect(['22', '24']).toContain(match?.[1]);
      expect(from).not.toMatch(/latest|lts|current/);
    }
    // One Node for building the native addon and for running it: the addon's ABI must match.
    expect(new Set(external).size).toBe(1);
  });
});

describe('Dockerfile: dependencies', () => {
  const copyFrom = of(runtime, 'COPY').filter((copy) => /--from=/.test(copy.args));
  const nodeModulesCopy = copyFrom.find((copy) => /node_modules/.test(copy.args));
  const depsStageName = /--from=(\S+)/.exec(nodeModulesCopy?.args ?? '')?.[1];
  const depsStage = stages.find((stage) => stage.name === depsStageName);

  it('installs with `npm ci` from the lock file, production dependencies only', () => {
    expect(depsStage, 'the runtime copies node_modules from a build stage').toBeDefined();
    const install = depsStage?.instructions.find((item) => item.keyword === 'RUN' && /\bnpm ci\b/.test(item.args));
    expect(install, 'the build stage runs npm ci').toBeDefined();
    const prunes = depsStage?.instructions.some((item) => item.keyword === 'RUN' && /npm prune\b.*--omit=dev/.test(item.args));
    expect(/--omit=dev\b/.test(install?.args ?? '') || prunes, 'dev dependencies are left out').toBe(true);
    // npm ci needs the lock file and .npmrc (legacy-peer-deps) before it runs.
    const copiedBefore = depsStage?.instructions
      .slice(0, depsStage.instructions.indexOf(install ?? ({} as Instruction)))
      .filter((item) => item.keyword === 'COPY')
      .map((item) => item.args)
      .join(' ');
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) expect(copiedBefore).toContain(file);
  });

  it('compiles native addons against the image\'s own Node headers, so a rebuild needs no download from nodejs.org', () => {
    const install = depsStage?.instructions.find((item) => item.keyword === 'RUN' && /\bnpm ci\b/.test(item.args));
    const before = depsStage?.instructions.slice(0, depsStage.instructions.indexOf(install ?? ({} as Instruction))) ?? [];
    const nodedirs = [
      ...before.filter((item) => item.keyword === 'ENV').flatMap((item) => [...item.args.matchAll(/\bnpm_config_nodedir[= ](\S+)/g)]),
      ...[...(install?.args ?? '').matchAll(/(?:\bnpm_config_nodedir=|--nodedir[= ])(\S+)/g)],
    ].map((match) => match[1]);
    // The official node images install Node under /usr/local, headers in /usr/local/include/node.
    expect(depsStage?.from).toMatch(/^node:/);
    expect(nodedirs).toEqual(['/usr/local']);
  });

  it('has the toolchain hnswlib-node compiles with in the build stage only', () => {
    const buildInstalls = depsStage?.instructions.filter((item) => item.keyword === 'RUN' && /apt-get install/.test(item.args)) ?? [];
    const packages = buildInstalls.map((item) => item.args).join(' ');
    for (const tool of ['python3', 'make', 'g++']) expect(packages).toContain(tool);

    const runtimeRuns = of(runtime, 'RUN').map((item) => item.args).join('\n');
    expect(runtimeRuns).not.toMatch(/apt-get|apk add|\bnpm (ci|install|i)\b|\bg\+\+|\bmake\b|python3/);
    // The runtime stage starts from the base image, not from the build stage with its tools.
    expect(stageNames.has(runtime.from)).toBe(false);
  });

  it('ships no devDependency in the runtime stage', () => {
    // Runtime only gets node_modules from the --omit=dev stage, and installs nothing itself.
    const nodeModulesSources = of(runtime, 'COPY').filter((copy) => /node_modules/.test(copy.args));
    expect(nodeModulesSources).toHaveLength(1);
    expect(nodeModulesSources[0]?.args).toMatch(new RegExp(`--from=${depsStageName ?? '?'}\\b`));
    // tsx, which runs the app, must then be a production dependency.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.dependencies).toHaveProperty('tsx');
    expect(pkg.devDependencies).not.toHaveProperty('tsx');
  });
});

describe('Dockerfile: runtime stage', () => {
  it('runs as a non-root user', () => {
    const users = of(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)?.args).not.toMatch(/^(root|0)(:|$)/);
    // USER comes before what the container runs.
    const cmd = of(runtime, 'CMD').at(-1);
    expect((users.at(-1)?.line ?? 0) < (cmd?.line ?? 0)).toBe(true);
  });

  it('has a HEALTHCHECK that uses node against /readyz, not curl or wget', () => {
    const healthchecks = of(runtime, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    const args = healthchecks[0]?.args ?? '';
    expect(args).toMatch(/^(--[a-z-]+=\S+ )*CMD \[/);
    expect(execForm(args)).toEqual(['node', '/app/docker/healthcheck.mjs']);
    expect(read('docker/healthcheck.mjs')).toContain('/readyz');
    expect(dockerfile.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n')).not.toMatch(/\b(curl|wget)\b/);
  });

  it('listens on all interfaces, with the paths and port compose.yaml mounts and publishes', () => {
    const env = envValues(runtime);
    expect(env).toMatchObject({ HOST: '0.0.0.0', PORT: '3000', NOTES_DIR: '/notes', INDEX_DIR: '/data/index' });
    const compose = read('compose.yaml');
    expect(compose).toContain(`target: ${env.NOTES_DIR}`);
    expect(compose).toContain(`target: ${env.INDEX_DIR}`);
    expect(compose).toContain(`:${env.PORT}"`);
    // The index directory exists and belongs to the app's user, so a fresh volume is writable.
    expect(of(runtime, 'RUN').map((item) => item.args).join('\n')).toMatch(/chown node:node \/data\/index/);
    expect(of(runtime, 'USER').at(-1)?.args).toBe('node');
  });

  it('runs src/main.ts through tsx, the entry `npm start` runs', () => {
    const cmd = execForm(of(runtime, 'CMD').at(-1)?.args ?? '');
    expect(cmd).toEqual(['node', '--import', 'tsx', 'src/main.ts']);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('tsx src/main.ts');
  });

  it('copies what the app needs to run, none of it excluded by .dockerignore', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const sources = stages
      .flatMap((stage) => of(stage, 'COPY'))
      .filter((copy) => !/--from=/.test(copy.args))
      .flatMap((copy) => copy.args.split(' ').filter((word) => !word.startsWith('--')).slice(0, -1));
    for (const needed of ['package.json', 'package-lock.json', '.npmrc', 'src', 'docker/healthcheck.mjs']) {
      expect(sources).toContain(needed);
    }
    for (const source of sources) {
      expect(existsSync(resolve(root, source)), `${source} exists`).toBe(true);
      expect(ignoredBy(ignore, source), `${source} is not in .dockerignore`).toBe(false);
    }
    // ...while local state stays out of the build context.
    for (const local of ['node_modules', 'index', '.git', '.env', 'node_modules/hnswlib-node/build']) {
      expect(ignoredBy(ignore, local), `${local} is ignored`).toBe(true);
    }
  });
});

describe('Dockerfile: variables', () => {
  it('sets only variables the config knows (plus the documented runtime-only ones)', () => {
    const known = new Set<string>([...CONFIG_VARIABLES, ...RUNTIME_ONLY_VARIABLES]);
    const names = new Set<string>();
    for (const instruction of instructions) {
      if (instruction.keyword === 'ENV') envNames(instruction.args).forEach((name) => names.add(name));
      if (instruction.keyword === 'ARG') names.add(instruction.args.split(/[= ]/)[0] ?? '');
      for (const match of instruction.args.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(match[1] ?? '');
    }
    expect(names.size).toBeGreaterThan(0);
    expect([...names].filter((name) => !known.has(name))).toEqual([]);
  });
});

// ---- what runs without Docker -----------------------------------------------------------------

interface Exit {
  code: number;
  stderr: string;
}

const healthcheckScript = resolve(root, 'docker/healthcheck.mjs');

function runHealthcheck(env: Record<string, string>): Promise<Exit> {
  return new Promise((done) => {
    execFile(process.execPath, [healthcheckScript], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }, (error, _stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
    });
  });
}

async function serve(handler: http.RequestListener): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('docker/healthcheck.mjs (the HEALTHCHECK command)', () => {
  it('exits 0 when /readyz answers 200', async () => {
    const paths: string[] = [];
    const server = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ready":true}');
    });
    cleanups.push(server.close);
    const exit = await runHealthcheck({ PORT: String(server.port) });
    expect(exit.code).toBe(0);
    expect(paths).toEqual(['/readyz']);
  });

  it('exits 1 while /readyz answers 503, saying why', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"ready":false,"reason":"The first index build is still running."}');
    });
    cleanups.push(server.close);
    const exit = await runHealthcheck({ PORT: String(server.port) });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('503');
    expect(exit.stderr).toContain('first index build');
  });

  it('sends the bearer token when API_TOKEN is set', async () => {
    const seen: Array<string | undefined> = [];
    const server = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization === 'Bearer s3cret' ? 200 : 401).end();
    });
    cleanups.push(server.close);
    expect((await runHealthcheck({ PORT: String(server.port), API_TOKEN: 's3cret' })).code).toBe(0);
    expect((await runHealthcheck({ PORT: String(server.port) })).code).toBe(1);
    expect(seen).toEqual(['Bearer s3cret', undefined]);
  });

  it('exits 1 when nothing listens', async () => {
    const port = new URL(await closedPortUrl()).port;
    const exit = await runHealthcheck({ PORT: port });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('/readyz did not answer');
  });
});

describe("the image's CMD, run from the repo with the container's environment", () => {
  it('serves, and the HEALTHCHECK turns healthy once the index is loaded', async () => {
    const cmd = execForm(of(runtime, 'CMD').at(-1)?.args ?? '');
    const indexDir = await mkdtemp(join(tmpdir(), 'asknotes-image-cmd-'));
    cleanups.push(() => rm(indexDir, { recursive: true, force: true }));
    const port = new URL(await closedPortUrl()).port;
    const env = {
      PATH: process.env.PATH ?? '',
      ...envValues(runtime),
      // What differs from the container: loopback, a free port, local folders, and no Ollama
      // (nothing listens there), so the built-in embedder and extractive answers serve.
      HOST: '127.0.0.1',
      PORT: port,
      NOTES_DIR: resolve(root, 'test/fixtures/notes'),
      INDEX_DIR: indexDir,
      OLLAMA_HOST: await closedPortUrl(),
      LOG_LEVEL: 'warn',
    };
    const [command, ...args] = cmd;
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    });

    // Poll like Docker does: the healthcheck fails until the app is ready, then passes.
    const deadline = Date.now() + 45_000;
    let last: Exit = { code: -1, stderr: '' };
    while (Date.now() < deadline && child.exitCode === null) {
      last = await runHealthcheck({ PORT: port });
      if (last.code === 0) break;
      await new Promise((wait) => setTimeout(wait, 250));
    }
    expect(child.exitCode, `the app exited early: ${stderr}`).toBeNull();
    expect(last.code, `healthcheck: ${last.stderr}`).toBe(0);

    // SIGTERM (what `docker stop` sends to PID 1's child under init) stops it cleanly.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
