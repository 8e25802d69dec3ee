/**
 * The shared analyzer (pure): words, compounds and their parts, stop words, Unicode folding and
 * the Porter stemmer, as tables.
 */
import { describe, expect, it } from 'vitest';
import { analyze, scanTokens, STOP_WORDS, stem, tokenize } from '../src/embeddings/tokenize.ts';

describe('tokenize', () => {
  it.each<[string, string, string[]]>([
    ['empty text', '', []],
    ['only stop words and punctuation', 'What is it? -- ... !!', []],
    ['lower-cases and stems', 'Running Containers', ['run', 'contain']],
    ['drops single letters, keeps single digits', 'a b c 9 years', ['9', 'year']],
    ['keeps direction words', 'compose up and down', ['compos', 'up', 'down']],
    ['underscore compound, whole and in parts', 'depends_on', ['depends_on', 'depend']],
    ['flag: leading dashes dropped', 'docker compose up --dry-run', ['docker', 'compos', 'up', 'dry-run', 'dry', 'run']],
    ['file name', 'spin.toml', ['spin.toml', 'spin', 'toml']],
    ['version', 'specs v1.1', ['spec', 'v1.1', 'v1', '1']],
    ['sentence dot is not a joiner', 'It ends here. Next', ['end', 'next']],
    ['trailing slash is not a joiner', 'node_modules/', ['node_modules', 'node', 'modul']],
    ['letters and digits, both runs long', '10GB limit', ['10gb', '10', 'gb', 'limit']],
    ['letters and digits, one short run', 'k3d cluster', ['k3d', 'cluster']],
    [
      'path: whole, compound segments, parts',
      'docker/metadata-action',
      ['docker/metadata-action', 'metadata-action', 'docker', 'metadata', 'action'],
    ],
    ['host and port', 'localhost:4317', ['localhost:4317', 'localhost', '4317']],
    ['possessive', "the model's weights", ['model', 'weight']],
    ['contraction is a stop word', "doesn't start", ['start']],
    ['curly apostrophe', 'hasn’t started', ['start']],
    ['Latin diacritics folded', 'Café naïve', ['cafe', 'naiv']],
    ['compatibility forms (full-width) folded', 'ＤＯＣＫＥＲ', ['docker']],
    ['non-Latin words kept', 'Straße 東京', ['straße', '東京']],
  ])('%s', (_name, text, expected) => {
    expect(tokenize(text)).toEqual(expected);
  });

  it('marks compounds, whose surface is the compound as written', () => {
    expect(analyze('Use spin.toml files')).toEqual([
      { term: 'us', surface: 'use', compound: false },
      { term: 'spin.toml', surface: 'spin.toml', compound: true },
      { term: 'spin', surface: 'spin', compound: false },
      { term: 'toml', surface: 'toml', compound: false },
      { term: 'file', surface: 'files', compound: false },
    ]);
  });

  it('scanTokens visits the same terms as tokenize', () => {
    const text = 'Compose was rewritten from Python to Go; see `docker compose up --dry-run`.';
    const visited: string[] = [];
    scanTokens(text, (term) => visited.push(term));
    expect(visited).toEqual(tokenize(text));
  });

  it('survives arbitrary text: joiners, quotes, marks, emoji, lone surrogates', () => {
    const pool = ["a", "Z", "9", ".", "_", "-", "/", ":", "@", "+", "'", "’", " ", "\n", "é", "\u0301", "क", "ि", "😀", "\ud800", "東", "ß", "٣"];
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 30) }, () => pool[Math.floor(random() * pool.length)]).join('');
      for (const term of tokenize(text)) {
        expect(term.length).toBeGreaterThan(0);
        expect(term).not.toMatch(/\s/);
      }
    }
  });

  it('keeps combining marks inside words of scripts that need them', () => {
    expect(tokenize('किताब हिंदी')).toEqual(['किताब', 'हिंदी']);
  });

  it('is deterministic and case-insensitive', () => {
    expect(tokenize('Docker SCOUT Policies')).toEqual(tokenize('docker scout policies'));
  });

  it('removes the general stop words but no content words', () => {
    for (const word of ['the', 'which', 'how', 'does', 'with', 'on']) expect(STOP_WORDS.has(word)).toBe(true);
    for (const word of ['docker', 'cache', 'build', 'up', 'down']) expect(STOP_WORDS.has(word)).toBe(false);
  });
});

describe('stem (Porter)', () => {
  it.each([
    ['caresses', 'caress'],
    ['ponies', 'poni'],
    ['cats', 'cat'],
    ['agreed', 'agre'],
    ['plastered', 'plaster'],
    ['motoring', 'motor'],
    ['sing', 'sing'],
    ['hopping', 'hop'],
    ['falling', 'fall'],
    ['filing', 'file'],
    ['happy', 'happi'],
    ['relational', 'relat'],
    ['conditional', 'condit'],
    ['generalization', 'gener'],
    ['hopefulness', 'hope'],
    ['electrical', 'electr'],
    ['adjustment', 'adjust'],
    ['adoption', 'adopt'],
    ['effective', 'effect'],
    ['controll', 'control'],
    ['connections', 'connect'],
    ['connected', 'connect'],
    ['quantization', 'quantiz'],
  ])('%s -> %s', (word, expected) => {
    expect(stem(word)).toBe(expected);
  });

  it.each(['go', 'k3d', 'café', 'v1'])('leaves short, non-letter or non-ASCII words alone: %s', (word) => {
    expect(stem(word)).toBe(word);
  });

  it('maps inflections of one word to one stem', () => {
    expect(new Set(['build', 'builds', 'building'].map(stem))).toEqual(new Set(['build']));
    expect(new Set(['quantize', 'quantized', 'quantizing'].map(stem)).size).toBe(1);
  });
});

describe('tokenize beyond the Basic Multilingual Plane', () => {
  it('keeps astral letters inside words and compounds', () => {
    // U+20BB7 is a CJK ideograph outside the BMP (a surrogate pair in UTF-16) that NFKC keeps.
    expect(tokenize('𠮷野家 𠮷野家.toml')).toEqual(['𠮷野家', '𠮷野家.toml', '𠮷野家', 'toml']);
  });
});
