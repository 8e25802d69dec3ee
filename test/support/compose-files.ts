/**
 * Reading Compose files in tests without a Docker engine: YAML (with Compose's anchors and merge
 * keys), the Compose Specification's JSON Schema, interpolation of `${NAME…}` as Compose does it,
 * and small accessors. Used by the tests of compose.yaml and of deploy/compose.yaml.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { expect } from 'vitest';
import { parseDocument, type Document } from 'yaml';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const read = (path: string) => readFileSync(resolve(root, path), 'utf8');
/** CI lays shared/ beside the repo clone, read-only; a clone on its own uses the copy in test/fixtures. */
export const sharedSchemaPath = resolve(root, '../shared/schemas/compose-spec.json');
const bundledSchemaPath = resolve(root, 'test/fixtures/compose-spec.json');
const schemaPath = existsSync(sharedSchemaPath) ? sharedSchemaPath : bundledSchemaPath;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Mapping = { [key: string]: Json };

export function loadYaml(path: string): { doc: Document; value: Mapping } {
  // merge: Compose resolves `<<: *anchor` merge keys, which YAML 1.2 alone does not.
  const doc = parseDocument(read(path), { merge: true });
  expect(doc.errors, `${path} parses as YAML`).toEqual([]);
  // Only Compose's own merge tags are allowed to be unknown to a plain YAML parser.
  const unknownTags = doc.warnings.filter((warning) => !/!(reset|override)\b/.test(warning.message));
  expect(unknownTags, `${path} has no unexpected YAML warnings`).toEqual([]);
  return { doc, value: doc.toJS() as Mapping };
}

export function mapping(value: Json | undefined, what: string): Mapping {
  expect(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is a mapping`).toBe(true);
  return value as Mapping;
}

export function list(value: Json | undefined, what: string): Json[] {
  expect(Array.isArray(value), `${what} is a list`).toBe(true);
  return value as Json[];
}

export const service = (file: Mapping, name: string) => mapping(mapping(file.services, 'services')[name], `service ${name}`);

/** Compose interpolation references in a string: `${NAME}`, `${NAME:-x}`, `$NAME`; `$$` is a literal `$`. */
export function referencedVariables(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = match[1] ?? match[2];
    if (name !== undefined) names.push(name);
  }
  return names;
}

export function stringsIn(value: Json): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/**
 * Resolves `${NAME:-default}` / `${NAME-default}` / `${NAME}` as Compose does, from `env`;
 * `${NAME:?message}` / `${NAME?message}` throw the message when NAME is unset (or empty, with `:`),
 * as `docker compose` refuses to start.
 */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, operator?: string, fallback?: string) => {
    if (name === undefined) return '$';
    const value = env[name];
    const missing = operator?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (operator?.endsWith('?') && missing) throw new Error(`required variable ${name} is missing a value: ${fallback ?? ''}`);
    if (operator?.endsWith('-')) return missing ? (fallback ?? '') : (value ?? '');
    return value ?? '';
  });
}

export function environmentOf(svc: Mapping): Record<string, string> {
  const environment = svc.environment;
  if (environment === undefined) return {};
  const entries = Array.isArray(environment)
    ? environment.map((item) => String(item).split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(mapping(environment, 'environment')).map(([key, value]) => [key, value === null ? '' : String(value)] as [string, string]);
  return Object.fromEntries(entries);
}

/** The NVIDIA device reservation of a service, or [] without one. */
export function devicesOf(svc: Mapping): Json[] {
  const deploy = svc.deploy as Mapping | undefined;
  const reservations = (deploy?.resources as Mapping | undefined)?.reservations as Mapping | undefined;
  return (reservations?.devices as Json[] | undefined) ?? [];
}

/** The Compose Specification's schema, compiled. */
export function compileSchema() {
  expect(existsSync(schemaPath), `${schemaPath} exists`).toBe(true);
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // Ajv's built-in meta-schema is draft-07 under its http:// id; the file names the https:// one.
  delete schema.$schema;
  // strict: false tolerates the annotation keyword `deprecated` (a 2019-09 word the file uses).
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile(schema);
}

