/**
 * The keyword index saved in each generation (issue 7: analysing every chunk again was most of the
 * time to open a large index). A saved index must search exactly like a built one, and is refused
 * (so the caller builds afresh) whenever it may not match the documents or today's analyzer.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readFile, truncate, writeFile, stat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import type { KeywordDocument } from '../src/vector-index/bm25f.ts';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';
import { tokenize } from '../src/embeddings/tokenize.ts';
import { openIndex, updateIndex } from '../src/vector-index/index-store.ts';
import { generateCorpus } from './support/synthetic-corpus.ts';
import { createTempDirs } from './support/index-fixtures.ts';

const temp = createTempDirs();
afterAll(() => temp.cleanup());
afterEach(() => vi.restoreAllMocks());

const documents: KeywordDocument[] = [
  { id: 'a', text: 'Compose depends_on waits for service_started by default.' },
  { id: 'b', text: 'Use condition: service_healthy to wait for a healthcheck; docker compose up --wait.' },
  { id: 'c', text: 'The build cache is shared: docker build --cache-from type=registry. Caching, cached, caches.' },
  { id: 'd', text: 'Café résumé naïve: 10gb of vulnerabilities, scanned by docker scout in v1.1.' },
  { id: 'e', text: '' },
];
const queries = ['depends_on service_started', 'cache caching registry', 'cafe resume vulnerability', 'docker', 'nothing here at all'];

describe('a saved keyword index', () => {
  it('searches, weighs and covers exactly like the index it was saved from', () => {
    const built = KeywordIndex.build(documents);
    const restored = KeywordIndex.deserialize(built.serialize(), documents);
    expect(restored).toBeDefined();
    for (const query of queries) {
      expect(restored!.search(query, 5)).toEqual(built.search(query, 5));
      for (const term of built.terms(query)) {
        expect(restored!.idf(term)).toBe(built.idf(term));
        expect(restored!.documentFrequency(term)).toBe(built.documentFrequency(term));
      }
      for (const { id } of documents) expect(restored!.coverage(query, id)).toBe(built.coverage(query, id));
    }
  });

  it('loads from bytes at any alignment (a slice of a bigger buffer)', () => {
    const bytes = KeywordIndex.build(documents).serialize();
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(KeywordIndex.deserialize(shifted.subarray(3), documents)?.search('docker', 5)).toEqual(KeywordIndex.build(documents).search('docker', 5));
  });

  it.each([
    ['other documents', (bytes: Uint8Array) => ({ bytes, documents: documents.map((document) => ({ ...document, text: `${document.text} extra words` })) })],
    ['fewer documents', (bytes: Uint8Array) => ({ bytes, documents: documents.slice(1) })],
    ['truncated bytes', (bytes: Uint8Array) => ({ bytes: bytes.subarray(0, bytes.length - 5), documents })],
    ['garbage', (bytes: Uint8Array) => ({ bytes: bytes.map((_, index) => (index * 37) % 251), documents })],
    ['empty bytes', () => ({ bytes: new Uint8Array(0), documents })],
  ])('is refused for %s', (_name, damage) => {
    const { bytes, documents: given } = damage(KeywordIndex.build(documents).serialize());
    expect(KeywordIndex.deserialize(bytes, given)).toBeUndefined();
  });
});

describe('updating a keyword index from an earlier one', () => {
  const expectSame = (updated: KeywordIndex, built: KeywordIndex, given: KeywordDocument[]) => {
    expect(updated.size).toBe(built.size);
    for (const query of [...queries, 'extra words', 'brand new words here']) {
      expect(updated.search(query, 10)).toEqual(built.search(query, 10));
      for (const term of built.terms(query)) expect(updated.documentFrequency(term)).toBe(built.documentFrequency(term));
      for (const { id } of given) expect(updated.coverage(query, id)).toBe(built.coverage(query, id));
    }
  };

  it.each([
    ['nothing changed', documents, [0, 1, 2, 3, 4]],
    ['one text changed', documents.map((document, index) => (index === 2 ? { id: 'c2', text: 'Brand new words here about the cache.' } : document)), [0, 1, -1, 3, 4]],
    ['documents removed', [documents[0]!, documents[3]!], [0, 3]],
    ['documents added in between', [documents[0]!, { id: 'x', text: 'extra words about docker' }, ...documents.slice(1)], [0, -1, 1, 2, 3, 4]],
    ['everything new', [{ id: 'y', text: 'brand new words here' }], [-1]],
    ['kept documents in another order (falls back to a build)', [documents[2]!, documents[0]!], [2, 0]],
  ])('gives what a fresh build gives: %s', (_name, given, previousNumbers) => {
    const updated = KeywordIndex.update(KeywordIndex.build(documents), given, previousNumbers);
    const built = KeywordIndex.build(given);
    expectSame(updated, built, given);
    // And it saves and loads like a built one.
    expectSame(KeywordIndex.deserialize(updated.serialize(), given)!, built, given);
  });
});

describe('searching stops early on common words, exactly', () => {
  it('returns the k best documents with their full BM25 scores, as scoring every document does', async () => {
    const corpus = await generateCorpus({ seed: 9, targetChunks: 600, dir: await temp.make('asknotes-kw-maxscore-') });
    const texts = (await Promise.all(corpus.files.map((file) => readFile(join(corpus.dir, file), 'utf8')))).flatMap((text) => text.split(/\n\s*\n/));
    const docs = texts.map((text, index) => ({ id: String(index), text }));
    const index = KeywordIndex.build(docs);
    // The reference: every document scored in full (k1 1.2, b 0.75; the index keeps norms as float32).
    const counts = docs.map((doc) => {
      const terms = tokenize(doc.text);
      const map = new Map<string, number>();
      for (const term of terms) map.set(term, (map.get(term) ?? 0) + 1);
      return { map, length: terms.length };
    });
    const average = counts.reduce((sum, { length }) => sum + length, 0) / counts.length;
    const reference = (query: string): number[] =>
      counts.map(({ map, length }) => {
        const norm = Math.fround(1 - 0.75 + (0.75 * length) / average);
        let score = 0;
        for (const term of index.terms(query)) {
          const frequency = map.get(term) ?? 0;
          if (frequency > 0) score += (index.idf(term) * frequency * 2.2) / (frequency + 1.2 * norm);
        }
        return score;
      });
    let checked = 0;
    for (let position = 0; position < docs.length; position += 37) {
      // A passage's words plus the corpus's most common ones: the case early stopping is for.
      const query = `${docs[position]!.text.split(/\s+/).slice(3, 9).join(' ')} docker container build image`;
      for (const k of [1, 5, 25]) {
        const expected = reference(query);
        const hits = index.search(query, k);
        const best = [...expected].filter((score) => score > 0).sort((a, b) => b - a);
        expect(hits).toHaveLength(Math.min(k, best.length));
        hits.forEach((hit, rank) => {
          expect(hit.score).toBeCloseTo(expected[Number(hit.id)]!, 9);
          expect(hit.score).toBeCloseTo(best[rank]!, 9);
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe('the index store saves the keyword index with each generation', () => {
  it('opens without analysing the chunks again, and falls back to analysing when the file is unusable', async () => {
    const corpus = await generateCorpus({ seed: 5, targetChunks: 120, dir: await temp.make('asknotes-kw-notes-') });
    const indexDir = await temp.make('asknotes-kw-index-');
    const { index: built } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder: createLocalEmbedder() });
    const saved = join(built.directory, 'keyword.bin');
    expect((await stat(saved)).size).toBeGreaterThan(0);
    const query = built.chunks[7]!.text.split(/\s+/).slice(0, 6).join(' ');

    const build = vi.spyOn(KeywordIndex, 'build');
    const opened = await openIndex(indexDir, createLocalEmbedder());
    expect(build).not.toHaveBeenCalled();
    expect(opened!.keyword.search(query, 10)).toEqual(built.keyword.search(query, 10));

    // Same size, other bytes: refused by its own checks, so the chunks are analysed again.
    const bytes = await readFile(saved);
    await writeFile(saved, bytes.map((value) => value ^ 0xff));
    const rebuilt = await openIndex(indexDir, createLocalEmbedder());
    expect(build).toHaveBeenCalledTimes(1);
    expect(rebuilt!.keyword.search(query, 10)).toEqual(built.keyword.search(query, 10));

    // Truncated: damage the manifest's sizes catch, like any other file of the generation.
    await truncate(saved, 10);
    const lines: string[] = [];
    expect(await openIndex(indexDir, createLocalEmbedder(), { log: (line) => lines.push(line) })).toBeUndefined();
    expect(lines[0]).toMatch(/keyword\.bin has 10 bytes/);
  });

  it('still opens a generation written before keyword.bin existed', async () => {
    const corpus = await generateCorpus({ seed: 6, targetChunks: 60, dir: await temp.make('asknotes-kw-notes-') });
    const indexDir = await temp.make('asknotes-kw-index-');
    const { index: built } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder: createLocalEmbedder() });
    const manifestPath = join(built.directory, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { files: Record<string, unknown> };
    delete manifest.files['keyword.bin'];
    await writeFile(manifestPath, JSON.stringify(manifest));
    await rm(join(built.directory, 'keyword.bin'));

    const lines: string[] = [];
    const opened = await openIndex(indexDir, createLocalEmbedder(), { log: (line) => lines.push(line) });
    expect(lines).toEqual([]);
    expect(opened!.keyword.search('docker', 5)).toEqual(built.keyword.search('docker', 5));
  });
});
