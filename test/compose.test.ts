/**
 * compose.yaml, its host-Ollama override in docker/ and .env.example, checked without a Docker
 * engine: against the Compose Specification's JSON Schema (draft-07, ../shared/schemas), then for
 * what issue 6 requires of the stack (the offline second run, health-gated start order, read-only
 * notes, loopback-only port, the `gpu` profile and its wiring), and for every variable they use
 * being one the config knows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq } from 'yaml';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.ts';
import {
  compileSchema,
  devicesOf,
  environmentOf,
  interpolate,
  list,
  loadYaml,
  mapping,
  read,
  referencedVariables,
  root,
  service,
  sharedSchemaPath,
  stringsIn,
  type Json,
  type Mapping,
} from './support/compose-files.ts';

/**
 * Variables compose files and .env.example may use that are not asknotes configuration. Otherwise
 * the stack is configured with the app's own variables (PORT publishes the port, NOTES_DIR is the
 * host folder that gets mounted). Add a name here only with a reason next to it.
 */
const COMPOSE_ONLY_VARIABLES: readonly string[] = [
  // Which Ollama service the app and the models job call: `ollama` or `ollama-gpu`. Not OLLAMA_HOST,
  // which a shell may export for the Ollama CLI and which Compose would then prefer to .env.
  'OLLAMA_SERVICE',
  // Read by Compose itself (the active profiles); .env.example shows `gpu` in a comment.
  'COMPOSE_PROFILES',
];
const known = new Set<string>([...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES]);

/**
 * A service with its same-file `extends` resolved. A shallow merge is exact here because the test
 * of the gpu profile checks the extending service adds only keys its base does not have.
 */
function resolvedService(file: Mapping, name: string): Mapping {
  const svc = service(file, name);
  if (svc.extends === undefined) return svc;
  const base = mapping(svc.extends, `${name} extends`);
  expect(base.file, `${name} extends a service of the same file`).toBeUndefined();
  const { extends: _extends, ...own } = svc;
  return { ...resolvedService(file, String(base.service)), ...own };
}

/**
 * What `docker compose up` starts with these profiles active: the services without profiles plus
 * those in an active one, and what each waits for. Compose rejects the project when an enabled
 * service depends on a disabled one, unless that dependency says `required: false`, in which case
 * it is dropped (compose-go's consistency check and dependency graph); the same is asserted here.
 */
function activeProject(profiles: readonly string[]): { enabled: Set<string>; waitsFor: Map<string, Mapping> } {
  const names = Object.keys(mapping(compose.value.services, 'services'));
  const enabled = new Set(
    names.filter((name) => {
      const own = (service(compose.value, name).profiles as Json[] | undefined) ?? [];
      return own.length === 0 || own.some((profile) => profiles.includes(String(profile)));
    }),
  );
  const waitsFor = new Map<string, Mapping>();
  for (const name of enabled) {
    const dependencies: Mapping = {};
    for (const [dependency, value] of Object.entries((service(compose.value, name).depends_on as Mapping | undefined) ?? {})) {
      const condition = mapping(value, `${name} depends_on ${dependency}`);
      if (enabled.has(dependency)) dependencies[dependency] = condition;
      else expect(condition.required, `${name} depends on ${dependency}, disabled without profiles ${profiles.join(',')}`).toBe(false);
    }
    waitsFor.set(name, dependencies);
  }
  return { enabled, waitsFor };
}

/** The host name in a client's OLLAMA_HOST, as Compose interpolates it from `env`. */
const ollamaServiceOf = (name: string, env: Record<string, string>) =>
  new URL(interpolate(environmentOf(service(compose.value, name)).OLLAMA_HOST ?? '', env)).hostname;

const validate = compileSchema();
const compose = loadYaml('compose.yaml');
const hostOllama = loadYaml('docker/compose.host-ollama.yaml');
const envExample = read('.env.example');

describe('compose files validate against the Compose Specification schema', () => {
  it.each([
    ['compose.yaml', compose.value],
    ['docker/compose.host-ollama.yaml', hostOllama.value],
  ])('%s', (_path, value) => {
    const valid = validate(value);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check is real: a misspelt key fails it', () => {
    const broken = structuredClone(compose.value);
    service(broken, 'app').depends_onn = service(broken, 'app').depends_on ?? null;
    expect(validate(broken)).toBe(false);
  });

  it.skipIf(!existsSync(sharedSchemaPath))('the bundled copy of the schema is the shared one', () => {
    expect(read('test/fixtures/compose-spec.json')).toBe(readFileSync(sharedSchemaPath, 'utf8'));
  });
});

describe('compose.yaml: the ollama service', () => {
  const ollama = service(compose.value, 'ollama');

  it('runs a pinned official ollama/ollama image', () => {
    expect(ollama.image).toMatch(/^ollama\/ollama:\d+\.\d+\.\d+$/);
  });

  it('keeps models in a named volume at /root/.ollama', () => {
    const volumes = list(ollama.volumes, 'ollama volumes').map((entry) => mapping(entry, 'volume'));
    const models = volumes.find((entry) => entry.target === '/root/.ollama');
    expect(models).toMatchObject({ type: 'volume', source: 'ollama-models' });
    expect(Object.keys(mapping(compose.value.volumes, 'volumes'))).toContain('ollama-models');
  });

  it('has a healthcheck that works in an image without curl or wget', () => {
    const healthcheck = mapping(ollama.healthcheck, 'ollama healthcheck');
    // `ollama list` fails unless the server answers; `ollama --version` would not.
    expect(healthcheck.test).toEqual(['CMD', 'ollama', 'list']);
    expect(stringsIn(compose.value).join('\n')).not.toMatch(/\b(curl|wget)\b/);
  });

  it('publishes no port: only the app and the models job talk to it', () => {
    expect(ollama.ports).toBeUndefined();
  });
});

describe('compose.yaml: the models job', () => {
  const models = service(compose.value, 'models');
  const environment = environmentOf(models);

  it('uses the same image as the ollama service, as a client of it', () => {
    expect(models.image).toBe(service(compose.value, 'ollama').image);
    expect(interpolate(environment.OLLAMA_HOST ?? '', {})).toBe('http://ollama:11434');
  });

  it('runs the pull-only-when-missing script for both models, with the config defaults', () => {
    const entrypoint = list(models.entrypoint, 'models entrypoint');
    expect(entrypoint[0]).toBe('bash');
    const scriptInContainer = entrypoint[1];
    const mount = list(models.volumes, 'models volumes')
      .map((entry) => mapping(entry, 'volume'))
      .find((entry) => entry.target === scriptInContainer);
    expect(mount).toMatchObject({ type: 'bind', source: './docker/pull-models.sh', read_only: true });
    expect(existsSync(resolve(root, 'docker/pull-models.sh'))).toBe(true);

    const defaults = parseConfig({});
    expect(interpolate(environment.CHAT_MODEL ?? '', {})).toBe(defaults.chatModel);
    expect(interpolate(environment.EMBED_MODEL ?? '', {})).toBe(defaults.embedModel);
    expect(interpolate(environment.CHAT_MODEL ?? '', { CHAT_MODEL: 'qwen3' })).toBe('qwen3');
    expect(interpolate(environment.EMBED_MODEL ?? '', { EMBED_MODEL: 'all-minilm' })).toBe('all-minilm');

    // The script guards every pull with `ollama show` (its behaviour is run in pull-models.test.ts).
    const script = read('docker/pull-models.sh');
    expect(script).toMatch(/ollama show "\$model"/);
    expect(script).toMatch(/\$\{CHAT_MODEL/);
    expect(script).toMatch(/\$\{EMBED_MODEL/);
  });

  it('starts once ollama (and ollama-gpu, with the gpu profile) is healthy and runs once', () => {
    expect(models.depends_on).toEqual({
      ollama: { condition: 'service_healthy' },
      'ollama-gpu': { condition: 'service_healthy', required: false },
    });
    expect(models.restart).toBe('no');
  });
});

describe('compose.yaml: the app service', () => {
  const app = service(compose.value, 'app');
  const environment = environmentOf(app);
  const volumes = list(app.volumes, 'app volumes').map((entry) => mapping(entry, 'volume'));

  it('is built from the repo Dockerfile', () => {
    expect(app.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(existsSync(resolve(root, 'Dockerfile'))).toBe(true);
  });

  it('waits for a healthy ollama (and ollama-gpu, with the gpu profile) and for the models job to succeed', () => {
    expect(app.depends_on).toEqual({
      ollama: { condition: 'service_healthy' },
      'ollama-gpu': { condition: 'service_healthy', required: false },
      models: { condition: 'service_completed_successfully' },
    });
  });

  it('mounts the notes read-only at NOTES_DIR, from the host NOTES_DIR', () => {
    const notes = volumes.find((entry) => entry.target === environment.NOTES_DIR);
    expect(notes).toMatchObject({ type: 'bind', target: '/notes', read_only: true });
    expect(interpolate(String(notes?.source), {})).toBe(parseConfig({}).notesDir);
    expect(interpolate(String(notes?.source), { NOTES_DIR: '/home/me/notes' })).toBe('/home/me/notes');
  });

  it('keeps the index in a named volume at INDEX_DIR', () => {
    const index = volumes.find((entry) => entry.target === environment.INDEX_DIR);
    expect(index).toMatchObject({ type: 'volume', source: 'index', target: '/data/index' });
    expect(Object.keys(mapping(compose.value.volumes, 'volumes'))).toContain('index');
  });

  it('publishes its port on loopback only, PORT on the host and the container port inside', () => {
    const ports = list(app.ports, 'app ports');
    expect(ports).toEqual(['127.0.0.1:${PORT:-3000}:3000']);
    expect(environment.PORT).toBe('3000');
    expect(interpolate(String(ports[0]), {})).toBe(`127.0.0.1:${parseConfig({}).port}:3000`);
    expect(interpolate(String(ports[0]), { PORT: '8080' })).toBe('127.0.0.1:8080:3000');
  });

  it('listens on all interfaces inside the container and reaches Ollama by service name', () => {
    expect(environment.HOST).toBe('0.0.0.0');
    expect(environment.OLLAMA_HOST).toBe('http://${OLLAMA_SERVICE:-ollama}:11434');
    expect(interpolate(environment.OLLAMA_HOST ?? '', {})).toBe('http://ollama:11434');
    expect(interpolate(environment.OLLAMA_HOST ?? '', { OLLAMA_SERVICE: 'ollama-gpu' })).toBe('http://ollama-gpu:11434');
    // A shell's OLLAMA_HOST (set for the Ollama CLI) must not reach the container.
    expect(interpolate(environment.OLLAMA_HOST ?? '', { OLLAMA_HOST: '0.0.0.0' })).toBe('http://ollama:11434');
  });

  it('hands every setting from .env to the app, each under its own name', () => {
    const fixed = new Set(['HOST', 'PORT', 'NOTES_DIR', 'INDEX_DIR']);
    // OLLAMA_BASE_URL is only an alias of OLLAMA_HOST, which is fixed here.
    const expected = CONFIG_VARIABLES.filter((name) => name !== 'OLLAMA_BASE_URL').sort();
    expect(Object.keys(environment).sort()).toEqual(expected);
    for (const [name, value] of Object.entries(environment)) {
      if (fixed.has(name)) expect(referencedVariables(value), name).toEqual([]);
      // Set by service name (see the gpu profile tests), never from a variable of that name.
      else if (name === 'OLLAMA_HOST') expect(referencedVariables(value), name).toEqual(['OLLAMA_SERVICE']);
      else expect(value, name).toMatch(new RegExp(`^\\$\\{${name}(:-[^}]*)?\\}$`));
    }
  });

  it('gives the app a valid configuration, with or without a .env', () => {
    const resolved = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, interpolate(value, env)]));
    const config = parseConfig(resolved({}));
    expect(config).toMatchObject({ host: '0.0.0.0', port: 3000, notesDir: '/notes', indexDir: '/data/index', ollamaHost: 'http://ollama:11434' });
    expect(config.chatModel).toBe('llama3.2');
    expect(config.embedModel).toBe('nomic-embed-text');
    expect(parseConfig(resolved({ OLLAMA_SERVICE: 'ollama-gpu' })).ollamaHost).toBe('http://ollama-gpu:11434');
    const fromEnv = parseConfig(resolved({ TOP_K: '7', API_TOKEN: 'secret', LLM: 'none' }));
    expect(fromEnv).toMatchObject({ topK: 7, apiToken: 'secret', llm: 'none' });
  });

  it('polls the notes every 2 s unless WATCH_POLL_MS says otherwise (file events may not cross the bind mount)', () => {
    const watchPollMs = (env: Record<string, string>) =>
      parseConfig({ WATCH_POLL_MS: interpolate(environment.WATCH_POLL_MS ?? '', env) }).watchPollMs;
    // The app alone defaults to native events; inside compose the notes are a bind mount.
    expect(parseConfig({}).watchPollMs).toBe(0);
    expect(watchPollMs({})).toBe(2000);
    expect(watchPollMs({ WATCH_POLL_MS: '' })).toBe(2000);
    expect(watchPollMs({ WATCH_POLL_MS: '0' })).toBe(0);
    expect(watchPollMs({ WATCH_POLL_MS: '500' })).toBe(500);
  });

  it('is healthy only when /readyz answers, checked without curl', () => {
    const healthcheck = mapping(app.healthcheck, 'app healthcheck');
    expect(healthcheck.test).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs']);
    expect(read('docker/healthcheck.mjs')).toContain('/readyz');
  });

  it('rebuilds under `docker compose watch` when src/ or package.json change', () => {
    const watch = list(mapping(app.develop, 'develop').watch, 'develop.watch').map((entry) => mapping(entry, 'watch rule'));
    const rebuilds = watch.filter((rule) => rule.action === 'rebuild').map((rule) => String(rule.path).replace(/^\.\//, ''));
    expect(rebuilds).toEqual(expect.arrayContaining(['src', 'package.json']));
    for (const path of rebuilds) expect(existsSync(resolve(root, path)), path).toBe(true);
  });
});

describe('compose.yaml: the gpu profile', () => {
  const gpuService = service(compose.value, 'ollama-gpu');
  const gpuResolved = resolvedService(compose.value, 'ollama-gpu');
  const cpuOllama = service(compose.value, 'ollama');
  const nvidia = [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }];
  /** The GPU settings .env.example shows, commented out, as they read once uncommented. */
  const gpuEnv = Object.fromEntries(
    envExample.split('\n').flatMap((line) => {
      const match = /^#\s*(COMPOSE_PROFILES|OLLAMA_SERVICE)=(.*)$/.exec(line);
      return match?.[1] === undefined ? [] : [[match[1], match[2] ?? '']];
    }),
  ) as Record<string, string>;

  it('ollama-gpu is the ollama service plus an NVIDIA reservation, only in the gpu profile', () => {
    expect(gpuService.profiles).toEqual(['gpu']);
    expect(gpuService.extends).toEqual({ service: 'ollama' });
    // Adds only what ollama does not set, so image, volume, healthcheck and restart are ollama's.
    const added = Object.keys(gpuService).filter((key) => key !== 'extends');
    expect(added.sort()).toEqual(['deploy', 'profiles']);
    for (const key of added) expect(cpuOllama[key], key).toBeUndefined();
    expect(devicesOf(gpuResolved)).toEqual(nvidia);
    // The default server stays on the CPU, so `docker compose up` needs no NVIDIA runtime.
    expect(devicesOf(cpuOllama)).toEqual([]);
    expect(cpuOllama.profiles).toBeUndefined();
  });

  it('shares the model volume, healthcheck and image with ollama and publishes no port', () => {
    const volumes = list(gpuResolved.volumes, 'ollama-gpu volumes').map((entry) => mapping(entry, 'volume'));
    expect(volumes).toEqual([{ type: 'volume', source: 'ollama-models', target: '/root/.ollama' }]);
    expect(gpuResolved.volumes).toEqual(cpuOllama.volumes);
    expect(mapping(gpuResolved.healthcheck, 'ollama-gpu healthcheck').test).toEqual(['CMD', 'ollama', 'list']);
    expect(gpuResolved.image).toBe(cpuOllama.image);
    expect(gpuResolved.ports).toBeUndefined();
  });

  it('.env.example shows the two GPU lines, commented out', () => {
    expect(gpuEnv).toEqual({ COMPOSE_PROFILES: 'gpu', OLLAMA_SERVICE: 'ollama-gpu' });
  });

  it('without a .env: a valid project on the CPU server, the GPU one not started', () => {
    const { enabled, waitsFor } = activeProject([]);
    expect([...enabled].sort()).toEqual(['app', 'models', 'ollama']);
    for (const client of ['app', 'models']) {
      expect(ollamaServiceOf(client, {}), client).toBe('ollama');
      expect(Object.keys(waitsFor.get(client) ?? {}), client).toContain('ollama');
    }
  });

  it('with the GPU lines: the app and the models job call ollama-gpu and wait for it to be healthy', () => {
    const { enabled, waitsFor } = activeProject((gpuEnv.COMPOSE_PROFILES ?? '').split(','));
    expect(enabled.has('ollama-gpu')).toBe(true);
    for (const client of ['app', 'models']) {
      const server = ollamaServiceOf(client, gpuEnv);
      expect(server, client).toBe('ollama-gpu');
      expect(enabled.has(server), `${client} calls a started service`).toBe(true);
      expect(devicesOf(resolvedService(compose.value, server)), client).toEqual(nvidia);
      expect(waitsFor.get(client)?.[server], client).toEqual({ condition: 'service_healthy', required: false });
    }
  });

  it('the app and the models job always call the same server', () => {
    for (const env of [{}, gpuEnv, { OLLAMA_SERVICE: 'ollama' }]) {
      expect(ollamaServiceOf('app', env)).toBe(ollamaServiceOf('models', env));
    }
  });

  it('the project check is real: a required dependency on a disabled service fails it', () => {
    const app = service(compose.value, 'app');
    const saved = app.depends_on;
    app.depends_on = { ...mapping(saved, 'app depends_on'), 'ollama-gpu': { condition: 'service_healthy' } };
    try {
      expect(() => activeProject([])).toThrow();
      expect(() => activeProject(['gpu'])).not.toThrow();
    } finally {
      app.depends_on = saved ?? null;
    }
  });
});

describe('docker/compose.host-ollama.yaml: an Ollama already running on the host', () => {
  /** The services `up` starts once the override is merged, with no profile enabled. */
  function activeServices(): Map<string, { dependsOn: string[]; environment: Record<string, string>; extraHosts: Json[] }> {
    const base = mapping(compose.value.services, 'services');
    const override = mapping(hostOllama.value.services, 'services');
    const result = new Map<string, { dependsOn: string[]; environment: Record<string, string>; extraHosts: Json[] }>();
    for (const name of Object.keys(base)) {
      const merged = { ...service(compose.value, name), ...(override[name] === undefined ? {} : service(hostOllama.value, name)) };
      const profiles = [...((service(compose.value, name).profiles as Json[] | undefined) ?? []), ...((merged.profiles as Json[] | undefined) ?? [])];
      if (profiles.length > 0) continue;
      // `!reset` empties the attribute instead of merging into it.
      const dependsOnNode = hostOllama.doc.getIn(['services', name, 'depends_on'], true);
      const reset = (isMap(dependsOnNode) || isSeq(dependsOnNode)) && dependsOnNode.tag === '!reset';
      const dependsOn = reset ? [] : Object.keys((service(compose.value, name).depends_on as Mapping | undefined) ?? {});
      const environment = { ...environmentOf(service(compose.value, name)), ...(override[name] === undefined ? {} : environmentOf(service(hostOllama.value, name))) };
      result.set(name, { dependsOn, environment, extraHosts: (merged.extra_hosts as Json[] | undefined) ?? [] });
    }
    return result;
  }

  it('starts the app alone, with no dependency on the services it leaves out', () => {
    const active = activeServices();
    expect([...active.keys()]).toEqual(['app']);
    for (const [name, svc] of active) {
      for (const dependency of svc.dependsOn) expect(active.has(dependency), `${name} depends on ${dependency}`).toBe(true);
    }
  });

  it('points the app at the host, reachable on Linux engines too', () => {
    const app = activeServices().get('app');
    expect(app?.environment.OLLAMA_HOST).toBe('http://host.docker.internal:11434');
    expect(app?.extraHosts).toContain('host.docker.internal:host-gateway');
    const resolved = Object.fromEntries(Object.entries(app?.environment ?? {}).map(([name, value]) => [name, interpolate(value, {})]));
    expect(parseConfig(resolved).ollamaHost).toBe('http://host.docker.internal:11434');
  });
});

describe('.env.example', () => {
  const lines = envExample.split('\n');
  const assignments = lines.filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const entries = assignments.map((line) => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    expect(match, `"${line}" is NAME=value`).not.toBeNull();
    return [match?.[1] ?? '', match?.[2] ?? ''] as const;
  });

  it('has plain values: no inline comments, quotes or stray spaces', () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const [name, value] of entries) {
      expect(value, name).not.toMatch(/#|["']|^\s|\s$/);
    }
    expect(new Set(entries.map(([name]) => name)).size).toBe(entries.length);
  });

  it('only sets variables compose.yaml reads, with values the config accepts', () => {
    const interpolated = new Set(stringsIn(compose.value).flatMap(referencedVariables));
    for (const [name] of entries) expect(interpolated.has(name), `${name} is used by compose.yaml`).toBe(true);
    expect(() => parseConfig(Object.fromEntries(entries))).not.toThrow();
  });
});

describe('variables: compose files and .env.example use only what the config knows', () => {
  const uses = (file: Mapping) => {
    const names = new Set(stringsIn(file).flatMap(referencedVariables));
    for (const svc of Object.values(mapping(file.services, 'services'))) {
      for (const name of Object.keys(environmentOf(mapping(svc, 'service')))) names.add(name);
    }
    return [...names];
  };

  it.each([
    ['compose.yaml', () => uses(compose.value)],
    ['docker/compose.host-ollama.yaml', () => uses(hostOllama.value)],
    [
      '.env.example',
      () => envExample.split('\n').flatMap((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []),
    ],
  ])('%s', (_path, collect) => {
    const unknown = collect().filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
  });

  it('the check is real: an unknown variable is reported', () => {
    expect(referencedVariables('${NOT_A_SETTING:-x} $$LITERAL $ALSO_NOT').filter((name) => !known.has(name))).toEqual([
      'NOT_A_SETTING',
      'ALSO_NOT',
    ]);
  });
});
