/**
 * deploy/compose.yaml (the team deployment, issue 14) checked without a Docker engine: against the
 * Compose Specification's JSON Schema, then for what the issue asks of it (Postgres + pgvector
 * pinned by digest, one indexer running `npm run index -- --watch`, three ROLE=serve replicas
 * behind nginx, vLLM model servers with GPU reservations), and for the references between its
 * parts: URLs that name services and ports that exist, the models the servers load being the ones
 * the app asks for, nginx's upstream, variables the config knows and values it accepts.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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
  stringsIn,
} from './support/compose-files.ts';

const compose = loadYaml('deploy/compose.yaml').value;
const validate = compileSchema();
const nginxConf = read('deploy/nginx.conf');
const envExample = read('deploy/.env.example');
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };

/** Variables of the deployment that are not asknotes configuration, each with its reason. */
const DEPLOY_ONLY_VARIABLES: readonly string[] = [
  // Postgres's own: the asknotes role's password, also spliced into DATABASE_URL.
  'POSTGRES_PASSWORD',
  // vLLM's (Hugging Face) token, for gated models.
  'HF_TOKEN',
];
/**
 * The index backend's variables (issue 14, the Postgres backend). Until src/config.ts has them they
 * are accepted by name; once it does, they are checked like every other variable.
 */
const BACKEND_VARIABLES = ['ROLE', 'INDEX_BACKEND', 'DATABASE_URL'] as const;
const backendLanded = BACKEND_VARIABLES.every((name) => (CONFIG_VARIABLES as readonly string[]).includes(name));
const known = new Set<string>([...CONFIG_VARIABLES, ...DEPLOY_ONLY_VARIABLES, ...(backendLanded ? [] : BACKEND_VARIABLES)]);

/** The values deploy/.env.example sets, as Compose would read them from deploy/.env. */
const exampleEnv: Record<string, string> = Object.fromEntries(
  envExample.split('\n').flatMap((line) => {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return match?.[1] === undefined ? [] : [[match[1], match[2] ?? '']];
  }),
);
/** A filled-in .env: the example plus the two secrets it leaves empty. */
const filledEnv = { ...exampleEnv, POSTGRES_PASSWORD: 'team-db-pass', API_TOKEN: 'team-token' };

/** A service's environment as the container sees it, interpolated from `env`. */
function resolvedEnvironment(name: string, env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(service(compose, name))).map(([key, value]) => [key, interpolate(value, env)]));
}

/** A service's command (exec form), interpolated. */
function commandOf(name: string, env: Record<string, string> = filledEnv): string[] {
  return list(service(compose, name).command, `${name} command`).map((part) => interpolate(String(part), env));
}

/** The value after `flag` in an argument list. */
function argument(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args[at + 1];
}

describe('deploy/compose.yaml validates against the Compose Specification schema', () => {
  it('is valid', () => {
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check is real: a misspelt key fails it', () => {
    const broken = structuredClone(compose);
    service(broken, 'app').replicaz = 3;
    expect(validate(broken)).toBe(false);
  });

  it('has the services the issue names, and nothing else', () => {
    expect(Object.keys(mapping(compose.services, 'services')).sort()).toEqual(['app', 'indexer', 'nginx', 'postgres', 'vllm-chat', 'vllm-embed']);
  });
});

describe('Postgres with pgvector', () => {
  const postgres = service(compose, 'postgres');

  it('is the pgvector image, pinned by digest', () => {
    expect(String(postgres.image)).toMatch(/^pgvector\/pgvector:[\w.-]+@sha256:[0-9a-f]{64}$/);
  });

  it('keeps its data on a named volume and reports health with pg_isready', () => {
    expect(list(postgres.volumes, 'postgres volumes')).toEqual([{ type: 'volume', source: 'pgdata', target: '/var/lib/postgresql/data' }]);
    expect(Object.keys(mapping(compose.volumes, 'volumes'))).toContain('pgdata');
    expect(list(mapping(postgres.healthcheck, 'postgres healthcheck').test, 'test')).toContain('pg_isready');
  });

  it('DATABASE_URL of the indexer and the app names this service, its user, password and database', () => {
    const own = resolvedEnvironment('postgres', filledEnv);
    for (const name of ['indexer', 'app']) {
      const url = new URL(resolvedEnvironment(name, filledEnv).DATABASE_URL ?? '');
      expect(url.protocol, name).toBe('postgres:');
      expect(url.hostname, name).toBe('postgres');
      expect(url.port, name).toBe('5432');
      expect(url.username, name).toBe(own.POSTGRES_USER);
      expect(url.password, name).toBe(own.POSTGRES_PASSWORD);
      expect(url.pathname, name).toBe(`/${own.POSTGRES_DB ?? ''}`);
    }
  });

  it('refuses to start without POSTGRES_PASSWORD (no default password)', () => {
    expect(() => resolvedEnvironment('postgres', { ...filledEnv, POSTGRES_PASSWORD: '' })).toThrow(/POSTGRES_PASSWORD/);
    expect(() => resolvedEnvironment('app', { ...filledEnv, POSTGRES_PASSWORD: '' })).toThrow(/POSTGRES_PASSWORD/);
  });
});

describe('one indexer, the only writer', () => {
  const indexer = service(compose, 'indexer');

  it('runs `npm run index -- --watch`, a script package.json has', () => {
    expect(commandOf('indexer')).toEqual(['npm', 'run', 'index', '--', '--watch']);
    expect(packageJson.scripts.index).toBeDefined();
  });

  it('is one replica, never a server, with no published port and the image health check off', () => {
    expect(mapping(indexer.deploy, 'indexer deploy').replicas).toBe(1);
    expect(indexer.ports).toBeUndefined();
    expect(resolvedEnvironment('indexer', filledEnv).ROLE).toBeUndefined();
    // The Dockerfile's HEALTHCHECK asks /readyz, which only a server answers.
    expect(mapping(indexer.healthcheck, 'indexer healthcheck').disable).toBe(true);
  });

  it('reads the notes read-only and waits for Postgres and the embedding server', () => {
    expect(list(indexer.volumes, 'indexer volumes')).toContainEqual(expect.objectContaining({ type: 'bind', target: '/notes', read_only: true }));
    expect(mapping(indexer.depends_on, 'indexer depends_on')).toMatchObject({
      postgres: { condition: 'service_healthy' },
      'vllm-embed': { condition: 'service_healthy' },
    });
  });
});

describe('the app: three ROLE=serve replicas behind nginx', () => {
  const app = service(compose, 'app');
  const nginx = service(compose, 'nginx');

  it('is three replicas of the same image as the indexer, serving only', () => {
    expect(mapping(app.deploy, 'app deploy').replicas).toBe(3);
    expect(app.image).toBe(service(compose, 'indexer').image);
    expect(mapping(app.build, 'app build').dockerfile).toBe('Dockerfile');
    expect(existsSync(resolve(root, 'deploy', String(mapping(app.build, 'app build').context), 'Dockerfile'))).toBe(true);
    expect(resolvedEnvironment('app', filledEnv).ROLE).toBe('serve');
  });

  it('publishes no port itself (replicas could not share one); nginx does', () => {
    expect(app.ports).toBeUndefined();
    expect(list(nginx.ports, 'nginx ports').map((port) => interpolate(String(port), filledEnv))).toEqual(['8080:8080']);
    expect(mapping(nginx.depends_on, 'nginx depends_on')).toMatchObject({ app: { condition: 'service_healthy' } });
  });

  it("nginx's upstream is the app service on the port the app listens on, re-resolved as replicas change", () => {
    const port = resolvedEnvironment('app', filledEnv).PORT;
    expect(nginxConf).toMatch(new RegExp(`server app:${port} resolve;`));
    expect(nginxConf).toMatch(/resolver 127\.0\.0\.11/);
    expect(nginxConf).toMatch(/proxy_pass http:\/\/asknotes;/);
    expect(nginxConf).toMatch(/upstream asknotes \{/);
    // Server-Sent Events pass through unbuffered.
    expect(nginxConf).toMatch(/proxy_buffering off;/);
    const listen = /listen (\d+);/.exec(nginxConf)?.[1];
    const [, containerPort] = interpolate(String(list(nginx.ports, 'nginx ports')[0]), filledEnv).split(':');
    expect(listen).toBe(containerPort);
    const mount = list(nginx.volumes, 'nginx volumes').map((volume) => mapping(volume, 'volume'));
    expect(mount).toContainEqual(expect.objectContaining({ source: './nginx.conf', target: '/etc/nginx/nginx.conf', read_only: true }));
  });

  it('needs API_TOKEN (it is reachable beyond loopback) and is health-checked on /readyz', () => {
    expect(() => resolvedEnvironment('app', { ...filledEnv, API_TOKEN: '' })).toThrow(/API_TOKEN/);
    expect(list(mapping(app.healthcheck, 'app healthcheck').test, 'test')).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs']);
    expect(existsSync(resolve(root, 'docker/healthcheck.mjs'))).toBe(true);
  });
});

describe('model servers: vLLM on NVIDIA GPUs, one model each', () => {
  it.each(['vllm-chat', 'vllm-embed'])('%s reserves one GPU and keeps the weights on a volume', (name) => {
    const server = service(compose, name);
    expect(devicesOf(server)).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    expect(String(server.image)).toMatch(/^vllm\/vllm-openai:v\d+\.\d+/);
    expect(list(server.volumes, `${name} volumes`)).toContainEqual(expect.objectContaining({ source: 'huggingface' }));
  });

  it('the app and the indexer call them by service name and port, and they load the models asked for', () => {
    const app = resolvedEnvironment('app', filledEnv);
    const indexer = resolvedEnvironment('indexer', filledEnv);
    const chatUrl = new URL(app.OPENAI_BASE_URL ?? '');
    const embedUrl = new URL(app.OPENAI_EMBED_BASE_URL ?? '');
    expect(chatUrl.hostname).toBe('vllm-chat');
    expect(embedUrl.hostname).toBe('vllm-embed');
    expect(chatUrl.port).toBe(argument(commandOf('vllm-chat'), '--port'));
    expect(embedUrl.port).toBe(argument(commandOf('vllm-embed'), '--port'));
    expect(argument(commandOf('vllm-chat'), '--model')).toBe(app.CHAT_MODEL);
    expect(argument(commandOf('vllm-embed'), '--model')).toBe(app.EMBED_MODEL);
    expect(commandOf('vllm-embed')).toEqual(expect.arrayContaining(['--task', 'embed']));
    // Changing the models in .env changes both sides.
    const other = { ...filledEnv, CHAT_MODEL: 'meta-llama/Llama-3.1-8B-Instruct', EMBED_MODEL: 'intfloat/e5-large-v2' };
    expect(argument(commandOf('vllm-chat', other), '--model')).toBe(resolvedEnvironment('app', other).CHAT_MODEL);
    expect(argument(commandOf('vllm-embed', other), '--model')).toBe(resolvedEnvironment('indexer', other).EMBED_MODEL);
    expect(argument(commandOf('vllm-embed', other), '--model')).toBe(resolvedEnvironment('app', other).EMBED_MODEL);
    // The indexer writes what the app reads: same index, same embedder.
    for (const name of ['INDEX_BACKEND', 'DATABASE_URL', 'LLM_PROVIDER', 'OPENAI_EMBED_BASE_URL', 'EMBED_MODEL', 'EMBEDDINGS', 'NOTES_DIR']) {
      expect(indexer[name], name).toBe(app[name]);
    }
  });
});

describe('variables and values', () => {
  it('every variable the file and .env.example use is a config variable or a listed deployment one', () => {
    const names = new Set(stringsIn(compose).flatMap(referencedVariables));
    for (const name of ['postgres', 'indexer', 'app', 'vllm-chat', 'vllm-embed']) {
      for (const key of Object.keys(environmentOf(service(compose, name)))) if (!key.startsWith('POSTGRES_')) names.add(key);
    }
    for (const name of Object.keys(exampleEnv)) names.add(name);
    expect([...names].filter((name) => !known.has(name))).toEqual([]);
  });

  it('the check is real: an unknown variable is reported', () => {
    expect(['NOT_A_SETTING', 'CHAT_MODEL'].filter((name) => !known.has(name))).toEqual(['NOT_A_SETTING']);
  });

  it('.env.example sets only what the file reads', () => {
    const interpolated = new Set(stringsIn(compose).flatMap(referencedVariables));
    for (const name of Object.keys(exampleEnv)) expect(interpolated.has(name), name).toBe(true);
  });

  it.each(['indexer', 'app'])('the %s gets a configuration the config accepts, with the model servers required', (name) => {
    const config = parseConfig(resolvedEnvironment(name, filledEnv));
    expect(config).toMatchObject({
      llmProvider: 'openai',
      openaiBaseUrl: 'http://vllm-chat:8000/v1',
      openaiEmbedBaseUrl: 'http://vllm-embed:8000/v1',
      embeddings: 'openai',
      notesDir: '/notes',
    });
    if (name === 'app') expect(config).toMatchObject({ llm: 'openai', host: '0.0.0.0', port: 3000, apiToken: 'team-token' });
    if (backendLanded) expect(config).toMatchObject({ indexBackend: 'postgres' });
  });
});
