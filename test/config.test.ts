/**
 * Configuration parsing for OLLAMA_KEEP_ALIVE (issue 12): Ollama's keep_alive forms are accepted,
 * seconds become a number (Ollama rejects a bare-number string), anything else stops start-up with a
 * message naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.ts';

describe('OLLAMA_KEEP_ALIVE', () => {
  it.each<[string | undefined, string | number]>([
    [undefined, '30m'],
    ['', '30m'],
    ['30m', '30m'],
    ['1h30m', '1h30m'],
    ['90s', '90s'],
    ['1.5h', '1.5h'],
    ['-1m', '-1m'],
    ['3600', 3600],
    ['-1', -1],
    ['0', 0],
    [' 24h ', '24h'],
  ])('%j -> %j', (value, expected) => {
    expect(parseConfig(value === undefined ? {} : { OLLAMA_KEEP_ALIVE: value }).ollamaKeepAlive).toEqual(expected);
  });

  it.each(['forever', '30 m', '5x', 'm', '1.2.3s', 'true'])('%j is refused with a message naming the variable', (value) => {
    expect(() => parseConfig({ OLLAMA_KEEP_ALIVE: value })).toThrow(ConfigError);
    expect(() => parseConfig({ OLLAMA_KEEP_ALIVE: value })).toThrow(/OLLAMA_KEEP_ALIVE must be a duration such as 30m/);
  });
});
