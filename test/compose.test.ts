/**
 * compose.yaml, its override files in docker/ and .env.example, checked without a Docker engine:
 * against the Compose Specification's JSON Schema (draft-07, ../shared/schemas), then for what
 * issue 6 requires of the stack (the offline second run, health-gated start order, read-only
 * notes, loopback-only port), and for every variable they use being one the config knows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
/** CI lays shared/ beside the repo clone, read-only. */
const schemaPath = resolve(root, '../shared/schemas/compose-spec.json');

/**
 * Variables compose files may interpolate that are not asknotes configuration. None: the stack
 * is configured with the app's own variables (PORT publishes the port, NOTES_DIR is the host
 * folder that gets mounted). Add a name here only with a reason next to it.
 */
const COMPOSE_ONLY_VARIABLES: readonly string[] = [];
const known = new Set<string>([...CONFIG_VARIABLES, ...COMPOSE_ONLY_VARIABLES]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Mapping = { [key: string]: Json };

function loadYaml(path: string): { doc: Document; value: Mapping } {
  const doc = parseDocument(read(path));
  expect(doc.errors, `${path} parses as YAML`).toEqual([]);
  // Only Compose's own merge tags are allowed to be unknown to a plain YAML parser.
  const unknownTags = doc.warnings.filter((warning) => !/!(reset|override)\b/.test(warning.message));
  expect(unknownTags, `${path} has no unexpected YAML warnings`).toEqual([]);
  return { doc, value: doc.toJS() as Mapping };
}

function mapping(value: Json | undefined, what: string): Mapping {
  expect(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is a mapping`).toBe(true);
  return value as Mapping;
}

function list(value: Json | undefined, what: string): Json[] {
  expect(Array.isArray(value), `${what} is a list`).toBe(true);
  return value as Json[];
}

const service = (file: Mapping, name: string) => mapping(mapping(file.services, 'services')[name], `service ${name}`);

/** Compose interpolation references in a string: `${NAME}`, `${NAME:-x}`, `$NAME`; `$$` is a literal `$`. */
function referencedVariables(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = match[1] ?? match[2];
    if (name !== undefined) names.push(name);
  }
  return names;
}

function stringsIn(value: Json): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Resolves `${NAME:-default}` / `${NAME-default}` / `${NAME}` as Compose does, from `env`. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name?: string, operator?: string, fallback?: string) => {
    if (name === undefined) return '$';
    const value = env[name];
    if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
    if (operator === '-') return value === undefined ? (fallback ?? '') : value;
    return value ?? '';
  });
}

function environmentOf(svc: Mapping): Record<string, string> {
  const environment = svc.environment;
  if (environment === undefined) return {};
  const entries = Array.isArray(environment)
    ? environment.map((item) => String(item).split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(mapping(environment, 'environment')).map(([key, value]) => [key, value === null ? '' : String(value)] as [string, string]);
  return Object.fromEntries(entries);
}

function compileSchema() {
  expect(existsSync(schemaPath), `${schemaPath} exists (shared/ beside the repo)`).toBe(true);
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // Ajv's built-in meta-schema is draft-07 under its http:// id; the file names the https:// one.
  delete schema.$schema;
  // strict: false tolerates the annotation keyword `deprecated` (a 2019-09 word the file uses).
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

const validate = compileSchema();
const compose = loadYaml('compose.yaml');
const gpu = loadYaml('docker/compose.gpu.yaml');
const hostOllama = loadYaml('docker/compose.host-ollama.yaml');
const envExample = read('.env.example');

describe('compose files validate against the Compose Specification schema', () => {
  it.each([
    ['compose.yaml', compose.value],
    ['docker/compose.gpu.yaml', gpu.value],
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
    expect(environment.OLLAMA_HOST).toBe('http://ollama:11434');
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

  it('starts once ollama is healthy and runs once', () => {
    expect(models.depends_on).toEqual({ ollama: { condition: 'service_healthy' } });
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

  it('waits for a healthy ollama and for the models job to succeed', () => {
    expect(app.depends_on).toEqual({
      ollama: { condition: 'service_healthy' },
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
    expect(environment.OLLAMA_HOST).toBe('http://ollama:11434');
  });

  it('hands every setting from .env to the app, each under its own name', () => {
    const fixed = new Set(['HOST', 'PORT', 'NOTES_DIR', 'INDEX_DIR', 'OLLAMA_HOST']);
    // OLLAMA_BASE_URL is only an alias of OLLAMA_HOST, which is fixed here.
    const expected = CONFIG_VARIABLES.filter((name) => name !== 'OLLAMA_BASE_URL').sort();
    expect(Object.keys(environment).sort()).toEqual(expected);
    for (const [name, value] of Object.entries(environment)) {
      if (fixed.has(name)) expect(referencedVariables(value), name).toEqual([]);
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
    const fromEnv = parseConfig(resolved({ TOP_K: '7', API_TOKEN: 'secret', LLM: 'none' }));
    expect(fromEnv).toMatchObject({ topK: 7, apiToken: 'secret', llm: 'none' });
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

describe('docker/compose.gpu.yaml: NVIDIA GPU for the bundled Ollama', () => {
  it('only adds an NVIDIA device reservation to the ollama service', () => {
    expect(Object.keys(mapping(gpu.value.services, 'services'))).toEqual(['ollama']);
    const ollama = service(gpu.value, 'ollama');
    expect(Object.keys(ollama)).toEqual(['deploy']);
    const devices = list(mapping(mapping(mapping(ollama.deploy, 'deploy').resources, 'resources').reservations, 'reservations').devices, 'devices');
    expect(devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
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
    ['docker/compose.gpu.yaml', () => uses(gpu.value)],
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
