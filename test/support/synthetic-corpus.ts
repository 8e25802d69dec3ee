/**
 * A deterministic, seeded generator of Markdown notes for index tests and benchmarks.
 *
 * Notes look like real technical notes: a `# Title`, sometimes YAML front matter, `##`/`###`
 * sections with paragraphs, bullet and numbered lists (some nested), fenced code blocks, inline
 * code and links. Words come from a Zipf-distributed vocabulary of real technical terms plus
 * pronounceable invented words, so both the embedder and the keyword index see a realistic mix
 * of frequent and rare terms. The same seed always writes byte-identical files.
 *
 * The corpus is sized by chunk count, not bytes: each note is chunked with the real chunker as it
 * is generated, and generation stops once `targetChunks` is reached (so it overshoots by at most
 * one note, i.e. a few dozen chunks).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chunkMarkdown } from '../../src/notes/chunk-markdown.ts';

export interface CorpusOptions {
  seed: number;
  /** Stop once the notes written hold at least this many chunks. */
  targetChunks: number;
  /** Folder to write into (created if needed). Existing files with other names are left alone. */
  dir: string;
  /** Sub-folder of `dir` for every note, e.g. to add a second corpus beside a first. Default: none. */
  subfolder?: string;
}

export interface GeneratedCorpus {
  dir: string;
  /** Paths relative to `dir`, with forward slashes, in generation order. */
  files: string[];
  notes: number;
  /** Chunks as `chunkMarkdown` counts them with its defaults. */
  chunks: number;
  bytes: number;
}

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TECH_WORDS = (
  'docker compose container image layer build cache registry volume network service deploy ' +
  'kubernetes cluster pod node namespace helm chart ingress secret config environment variable ' +
  'port host proxy gateway latency throughput memory cpu thread process signal socket stream ' +
  'buffer queue topic event message broker database index query schema migration replica shard ' +
  'backup restore snapshot checksum hash token session cookie header request response status ' +
  'error retry timeout backoff circuit breaker health check probe readiness liveness metric ' +
  'trace span log alert dashboard pipeline workflow runner artifact release version tag branch ' +
  'commit merge rebase review test fixture mock coverage benchmark profile flame graph heap ' +
  'garbage collector allocation pointer struct interface module package dependency lockfile ' +
  'vendor plugin extension hook middleware router handler controller template render component ' +
  'state store reducer effect promise async await callback closure generator iterator compiler ' +
  'linker binary wasm runtime sandbox isolation seccomp capability permission role policy audit ' +
  'vulnerability scanner sbom provenance attestation signature certificate tls encryption key ' +
  'rotation vault mount bind tmpfs overlay filesystem inode quota cgroup scheduler affinity ' +
  'embedding vector similarity cosine model inference prompt context window token chunk retrieval'
).split(/\s+/);

const SYLLABLES = [
  'ka', 'ro', 'mi', 'tan', 'vel', 'xo', 'qui', 'dra', 'len', 'sor', 'bu', 'zet', 'fa', 'nor', 'pli',
  'gem', 'thu', 'wix', 'ost', 'ery', 'lum', 'cad', 'nis', 'por', 'tev', 'ix', 'ur', 'sal', 'mon', 'bri',
];

const LANGUAGES = ['bash', 'yaml', 'json', 'typescript', 'dockerfile', 'python', ''];

/** Builds a vocabulary and a sampler that picks word rank r with probability ∝ 1/(r+1). */
function createVocabulary(random: () => number): () => string {
  const invented = new Set<string>();
  while (invented.size < 3500) {
    const parts = 2 + Math.floor(random() * 3);
    let word = '';
    for (let part = 0; part < parts; part += 1) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    invented.add(word);
  }
  // Real terms first, so they are the frequent ones; invented words form the long tail.
  const words = [...TECH_WORDS, ...invented];
  const cumulative = new Float64Array(words.length);
  let total = 0;
  words.forEach((_, rank) => {
    total += 1 / (rank + 1);
    cumulative[rank] = total;
  });
  return () => {
    const target = random() * total;
    let low = 0;
    let high = words.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] ?? 0) < target) low = middle + 1;
      else high = middle;
    }
    return words[low] ?? 'docker';
  };
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function createWriter(random: () => number) {
  const word = createVocabulary(random);
  const between = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const words = (count: number): string[] => Array.from({ length: count }, word);

  const sentence = (): string => {
    const parts = words(between(7, 18));
    const decorated = parts.map((part, position) => {
      const roll = random();
      if (position > 0 && roll < 0.04) return `\`${part}\``;
      if (position > 0 && roll < 0.06) return `[${part}](https://example.com/${part})`;
      if (position > 0 && roll < 0.08) return `**${part}**`;
      return part;
    });
    decorated[0] = capitalise(decorated[0] ?? 'Docker');
    const end = random() < 0.1 ? '?' : '.';
    return `${decorated.join(' ')}${end}`;
  };
  const paragraph = (): string => Array.from({ length: between(2, 5) }, sentence).join(' ');
  const title = (count: number): string => words(count).map(capitalise).join(' ');

  const list = (): string => {
    const numbered = random() < 0.25;
    const lines: string[] = [];
    const items = between(3, 7);
    for (let item = 1; item <= items; item += 1) {
      const marker = numbered ? `${item}.` : '-';
      lines.push(`${marker} ${random() < 0.5 ? sentence() : words(between(2, 6)).join(' ')}`);
      if (random() < 0.2) {
        for (let nested = between(1, 3); nested > 0; nested -= 1) lines.push(`  - ${words(between(2, 8)).join(' ')}`);
      }
    }
    return lines.join('\n');
  };

  const code = (): string => {
    const language = LANGUAGES[Math.floor(random() * LANGUAGES.length)] ?? '';
    const lines = Array.from({ length: between(2, 10) }, () => {
      const [first = 'run', second = 'build', third = 'cache'] = words(3);
      switch (language) {
        case 'yaml':
          return `${first}:\n  ${second}: ${third}`;
        case 'json':
          return `{ "${first}": "${second}", "${third}": ${between(1, 999)} }`;
        case 'typescript':
          return `const ${first}${capitalise(second)} = await ${third}(${between(1, 99)});`;
        case 'dockerfile':
          return `RUN ${first} --${second} ${third}`;
        case 'python':
          return `${first} = ${second}(${third}=${between(1, 99)})`;
        default:
          return `$ ${first} ${second} --${third}`;
      }
    });
    return [`\`\`\`${language}`, ...lines, '```'].join('\n');
  };

  /** One `##` section with `###` subsections, each about one chunk long. */
  const section = (): string => {
    const blocks: string[] = [`## ${title(between(2, 5))}`];
    for (let subsection = between(1, 4); subsection > 0; subsection -= 1) {
      blocks.push(`### ${title(between(1, 4))}`);
      for (let block = between(2, 4); block > 0; block -= 1) {
        const roll = random();
        blocks.push(roll < 0.5 ? paragraph() : roll < 0.8 ? list() : code());
      }
    }
    return blocks.join('\n\n');
  };

  const note = (): { title: string; text: string } => {
    const noteTitle = title(between(2, 6));
    const parts: string[] = [];
    if (random() < 0.3) {
      parts.push(`---\ntitle: ${noteTitle}\ntags: [${words(between(1, 3)).join(', ')}]\n---\n`);
    }
    parts.push(`# ${noteTitle}`, paragraph());
    for (let count = between(2, 6); count > 0; count -= 1) parts.push(section());
    return { title: noteTitle, text: `${parts.join('\n\n')}\n` };
  };

  return { note, word, between };
}

/** Writes notes into `dir` until they hold at least `targetChunks` chunks. Deterministic per seed. */
export async function generateCorpus(options: CorpusOptions): Promise<GeneratedCorpus> {
  const random = createRandom(options.seed);
  const writer = createWriter(random);
  const files: string[] = [];
  let chunks = 0;
  let bytes = 0;
  while (chunks < options.targetChunks) {
    const { title, text } = writer.note();
    // A few folders, some nested, so the loader's recursion is exercised too.
    const folder = `${writer.word()}${files.length % 3 === 0 ? `/${writer.word()}` : ''}`;
    const name = `${folder}/note-${String(files.length).padStart(5, '0')}.md`;
    const path = options.subfolder === undefined ? name : `${options.subfolder}/${name}`;
    const target = join(options.dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    files.push(path);
    bytes += Buffer.byteLength(text);
    chunks += chunkMarkdown({ path, title, text }).length;
  }
  return { dir: options.dir, files, notes: files.length, chunks, bytes };
}
