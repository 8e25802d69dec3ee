/** The index-backend settings (issue 14): INDEX_BACKEND, DATABASE_URL, ROLE, INDEX_FOLLOW_MS. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';

describe('index backend configuration', () => {
  it('defaults to the files backend serving and building in one process', () => {
    expect(parseConfig({})).toMatchObject({ indexBackend: 'files', databaseUrl: undefined, role: 'all', indexFollowMs: 2000 });
  });

  it.each([
    [{ INDEX_BACKEND: 'postgres', DATABASE_URL: 'postgres://u:p@db:5432/notes' }, { indexBackend: 'postgres', databaseUrl: 'postgres://u:p@db:5432/notes' }],
    [{ INDEX_BACKEND: 'postgres', DATABASE_URL: 'postgresql://db/notes', ROLE: 'serve' }, { role: 'serve' }],
    [{ ROLE: 'serve', INDEX_FOLLOW_MS: '250' }, { indexBackend: 'files', role: 'serve', indexFollowMs: 250 }],
  ])('%j parses', (env, expected) => {
    expect(parseConfig(env)).toMatchObject(expected);
  });

  it.each([
    [{ INDEX_BACKEND: 'postgres' }, 'DATABASE_URL', /required when INDEX_BACKEND=postgres/],
    [{ INDEX_BACKEND: 'postgres', DATABASE_URL: 'mysql://u:secret@db/notes' }, 'DATABASE_URL', /postgres:\/\/ or postgresql:\/\/ URL/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /postgres:\/\//],
    [{ INDEX_BACKEND: 'sqlite' }, 'INDEX_BACKEND', /INDEX_BACKEND/],
    [{ ROLE: 'indexer' }, 'ROLE', /ROLE/],
    [{ INDEX_FOLLOW_MS: '0' }, 'INDEX_FOLLOW_MS', /INDEX_FOLLOW_MS/],
  ])('%j is refused, naming %s', (env, variable, message) => {
    let error: unknown;
    try {
      parseConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(message);
    // A DATABASE_URL may hold a password: it is never echoed.
    expect((error as ConfigError).message).not.toContain('secret');
  });
});
