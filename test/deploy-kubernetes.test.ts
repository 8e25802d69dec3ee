/**
 * deploy/kubernetes/ (issue 14) checked without a cluster: every manifest parses, the kustomization
 * lists them all, and their cross-references hold — Deployment selectors match their pod labels,
 * each Service selects exactly one Deployment and points at a port it names, the autoscaler scales
 * a Deployment that requests CPU, ConfigMaps and Secrets referenced exist (or are created by the
 * CloudNativePG cluster, or named in the docs), env names are config variables, URLs name Services
 * and ports that exist, the model servers load the models the app asks for, and the app and the
 * indexer run one image, the indexer alone and as `npm run index -- --watch`.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.ts';
import { read, root } from './support/compose-files.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface Port {
  name?: string;
  containerPort: number;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Port[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string | number> };
  readinessProbe?: { exec?: { command: string[] }; httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }>;
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: Array<{ name?: string; port: number; targetPort: string | number }> };
}

const folder = resolve(root, 'deploy/kubernetes');
const files = readdirSync(folder).filter((name) => name.endsWith('.yaml'));
const kustomization = parseAllDocuments(read('deploy/kubernetes/kustomization.yaml'))[0]?.toJS() as {
  resources: string[];
  namespace: string;
  images: Array<{ name: string; newName: string; newTag: string }>;
};
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(read(`deploy/kubernetes/${file}`)).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Manifest;
  }),
);

const ofKind = <T extends Manifest>(kind: string) => manifests.filter((manifest): manifest is T => manifest.kind === kind);
const deployments = ofKind<Deployment>('Deployment');
const services = ofKind<Service>('Service');
const deployment = (name: string): Deployment => {
  const found = deployments.find((candidate) => candidate.metadata.name === name);
  if (found === undefined) throw new Error(`no Deployment ${name}`);
  return found;
};
const container = (name: string): Container => {
  const first = deployment(name).spec.template.spec.containers[0];
  if (first === undefined) throw new Error(`Deployment ${name} has no container`);
  return first;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The CloudNativePG cluster's generated Secret (`<cluster>-app`, key `uri` among others). */
const cnpgSecrets = ofKind('Cluster').map((cluster) => `${cluster.metadata.name}-app`);
/** Secrets an operator creates by hand; docs/scaling.md says how. */
const HAND_MADE_SECRETS = ['asknotes-api-token'];
/** The backend's variables (see deploy-compose.test.ts): by name until src/config.ts has them. */
const BACKEND_VARIABLES = ['ROLE', 'INDEX_BACKEND', 'DATABASE_URL'];
const backendLanded = BACKEND_VARIABLES.every((name) => (CONFIG_VARIABLES as readonly string[]).includes(name));
const known = new Set<string>([...CONFIG_VARIABLES, ...(backendLanded ? [] : BACKEND_VARIABLES)]);

/** A container's environment with ConfigMaps expanded and each Secret given a stand-in value. */
function environment(name: string): Record<string, string> {
  const result: Record<string, string> = {};
  const box = container(name);
  for (const source of box.envFrom ?? []) {
    const configMap = ofKind('ConfigMap').find((map) => map.metadata.name === source.configMapRef?.name) as (Manifest & { data: Record<string, string> }) | undefined;
    Object.assign(result, configMap?.data ?? {});
  }
  for (const variable of box.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    result[variable.name] = variable.value ?? (secret?.key === 'uri' ? 'postgresql://asknotes:secret@asknotes-db-rw:5432/asknotes' : `secret-${secret?.name ?? ''}`);
  }
  return result;
}

describe('the manifests', () => {
  it('parse, and the kustomization lists every one of them', () => {
    expect([...kustomization.resources].sort()).toEqual(files.filter((file) => file !== 'kustomization.yaml').sort());
    expect(manifests.length).toBeGreaterThan(0);
    for (const manifest of manifests) {
      expect(typeof manifest.apiVersion, JSON.stringify(manifest.metadata)).toBe('string');
      expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(ofKind('Namespace').map((namespace) => namespace.metadata.name)).toEqual([kustomization.namespace]);
  });

  it('have the parts the issue names', () => {
    expect(deployments.map((item) => item.metadata.name).sort()).toEqual(['asknotes-app', 'asknotes-indexer', 'vllm-chat', 'vllm-embed']);
    expect(ofKind('HorizontalPodAutoscaler')).toHaveLength(1);
    expect(ofKind('Cluster').map((cluster) => cluster.apiVersion)).toEqual(['postgresql.cnpg.io/v1']);
  });
});

describe('cross-references', () => {
  it.each(deployments.map((item) => [item.metadata.name, item] as const))('Deployment %s: its selector matches its pod labels', (_name, item) => {
    expect(Object.keys(item.spec.selector.matchLabels).length).toBeGreaterThan(0);
    expect(matches(item.spec.selector.matchLabels, item.spec.template.metadata.labels)).toBe(true);
  });

  it.each(services.map((item) => [item.metadata.name, item] as const))('Service %s selects exactly one Deployment, on a port it names', (_name, item) => {
    const selected = deployments.filter((candidate) => matches(item.spec.selector, candidate.spec.template.metadata.labels));
    expect(selected.map((candidate) => candidate.metadata.name)).toHaveLength(1);
    const ports = selected[0]?.spec.template.spec.containers.flatMap((box) => box.ports ?? []) ?? [];
    for (const port of item.spec.ports) {
      const target = port.targetPort;
      expect(ports.some((candidate) => (typeof target === 'number' ? candidate.containerPort === target : candidate.name === target)), `${String(target)}`).toBe(true);
    }
  });

  it('the check is real: a Service whose selector matches nothing is caught', () => {
    const stray = { spec: { selector: { 'app.kubernetes.io/name': 'nothing' } } };
    expect(deployments.filter((candidate) => matches(stray.spec.selector, candidate.spec.template.metadata.labels))).toHaveLength(0);
  });

  it('the autoscaler scales the app Deployment, which requests CPU (Utilization needs a request)', () => {
    const [hpa] = ofKind<Manifest & { spec: { scaleTargetRef: { kind: string; name: string; apiVersion: string }; minReplicas: number; maxReplicas: number; metrics: Array<{ resource?: { name: string } }> } }>(
      'HorizontalPodAutoscaler',
    );
    expect(hpa?.apiVersion).toBe('autoscaling/v2');
    expect(hpa?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'asknotes-app' });
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa?.spec.maxReplicas).toBeGreaterThan(hpa?.spec.minReplicas ?? 0);
    expect(hpa?.spec.metrics.map((metric) => metric.resource?.name)).toEqual(['cpu']);
    expect(container('asknotes-app').resources?.requests?.cpu).toBeDefined();
  });

  it('every ConfigMap, Secret and volume claim referenced exists or is made by CloudNativePG or by hand (documented)', () => {
    const configMaps = new Set(ofKind('ConfigMap').map((map) => map.metadata.name));
    const claims = new Set(ofKind('PersistentVolumeClaim').map((claim) => claim.metadata.name));
    const secrets = new Set([...ofKind('Secret').map((secret) => secret.metadata.name), ...cnpgSecrets, ...HAND_MADE_SECRETS]);
    const docs = read('docs/scaling.md');
    for (const name of HAND_MADE_SECRETS) expect(docs, `docs/scaling.md says how to create ${name}`).toContain(`create secret generic ${name} `);
    for (const item of deployments) {
      for (const box of item.spec.template.spec.containers) {
        for (const source of box.envFrom ?? []) if (source.configMapRef) expect(configMaps.has(source.configMapRef.name), source.configMapRef.name).toBe(true);
        for (const variable of box.env ?? []) {
          const secret = variable.valueFrom?.secretKeyRef;
          if (secret) expect(secrets.has(secret.name), secret.name).toBe(true);
        }
        const volumes = new Set((item.spec.template.spec.volumes ?? []).map((volume) => volume.name));
        for (const mount of box.volumeMounts ?? []) expect(volumes.has(mount.name), `${item.metadata.name} mounts ${mount.name}`).toBe(true);
      }
      for (const volume of item.spec.template.spec.volumes ?? []) {
        if (volume.persistentVolumeClaim) expect(claims.has(volume.persistentVolumeClaim.claimName)).toBe(true);
      }
    }
  });

  it('DATABASE_URL comes from the CloudNativePG cluster, which creates the database with pgvector', () => {
    const [cluster] = ofKind<Manifest & { spec: { bootstrap: { initdb: { database: string; owner: string; postInitApplicationSQL: string[] } } } }>('Cluster');
    expect(cluster?.spec.bootstrap.initdb.postInitApplicationSQL.join(';')).toMatch(/CREATE EXTENSION IF NOT EXISTS vector/);
    for (const name of ['asknotes-app', 'asknotes-indexer']) {
      const reference = container(name).env?.find((variable) => variable.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
      expect(reference, name).toEqual({ name: `${cluster?.metadata.name ?? ''}-app`, key: 'uri' });
    }
  });
});

describe('the asknotes workloads', () => {
  it('the app and the indexer run one image, the one the kustomization rewrites', () => {
    expect(container('asknotes-app').image).toBe(container('asknotes-indexer').image);
    expect(kustomization.images.map((image) => image.name)).toEqual([container('asknotes-app').image]);
  });

  it('the indexer is one replica, replaced with Recreate, running `npm run index -- --watch`', () => {
    const indexer = deployment('asknotes-indexer');
    expect(indexer.spec.replicas).toBe(1);
    expect(indexer.spec.strategy?.type).toBe('Recreate');
    expect(container('asknotes-indexer').command).toEqual(['npm', 'run', 'index', '--', '--watch']);
    expect(container('asknotes-indexer').ports).toBeUndefined();
    expect(environment('asknotes-indexer').ROLE).toBeUndefined();
  });

  it('the app serves only (ROLE=serve) on the port its probes and Service use', () => {
    const env = environment('asknotes-app');
    expect(env.ROLE).toBe('serve');
    const port = container('asknotes-app').ports?.find((candidate) => candidate.name === 'http');
    expect(String(port?.containerPort)).toBe(env.PORT);
    expect(container('asknotes-app').livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container('asknotes-app').readinessProbe?.exec?.command).toEqual(['node', '/app/docker/healthcheck.mjs']);
    expect(deployment('asknotes-app').spec.replicas).toBeGreaterThanOrEqual(2);
  });

  it('the notes are mounted read-only everywhere', () => {
    for (const name of ['asknotes-app', 'asknotes-indexer']) {
      const mount = container(name).volumeMounts?.find((candidate) => candidate.mountPath === '/notes');
      expect(mount?.readOnly, name).toBe(true);
    }
  });

  it.each(['asknotes-app', 'asknotes-indexer'])('%s: every env name is a config variable, and the config accepts the values', (name) => {
    const env = environment(name);
    expect(Object.keys(env).filter((key) => !known.has(key))).toEqual([]);
    const config = parseConfig(env);
    expect(config).toMatchObject({ llmProvider: 'openai', embeddings: 'openai', notesDir: '/notes' });
    if (name === 'asknotes-app') expect(config).toMatchObject({ llm: 'openai', host: '0.0.0.0', port: 3000 });
  });

  it('the model-server URLs name Services and ports that exist, and those servers load the models asked for', () => {
    const env = environment('asknotes-app');
    for (const [variable, deploymentName, modelVariable] of [
      ['OPENAI_BASE_URL', 'vllm-chat', 'CHAT_MODEL'],
      ['OPENAI_EMBED_BASE_URL', 'vllm-embed', 'EMBED_MODEL'],
    ] as const) {
      const url = new URL(env[variable] ?? '');
      const target = services.find((item) => item.metadata.name === url.hostname);
      expect(target, `${variable} names a Service`).toBeDefined();
      expect(target?.spec.ports.map((port) => String(port.port))).toContain(url.port);
      expect(matches(target?.spec.selector ?? {}, deployment(deploymentName).spec.template.metadata.labels)).toBe(true);
      const args = container(deploymentName).args ?? [];
      expect(args[args.indexOf('--model') + 1], deploymentName).toBe(env[modelVariable]);
      expect(args[args.indexOf('--port') + 1]).toBe(String(container(deploymentName).ports?.[0]?.containerPort));
      expect(container(deploymentName).resources?.limits?.['nvidia.com/gpu'], `${deploymentName} gets a GPU`).toBe(1);
    }
    expect(container('vllm-embed').args).toEqual(expect.arrayContaining(['--task', 'embed']));
  });
});
