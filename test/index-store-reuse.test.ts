/**
 * Incremental builds reuse the previous graph (issue 7: an edit costs a few graph updates, not a
 * new graph), yet leave exactly what a fresh build leaves: chunk i is label i in note order, every
 * label holds its chunk's vector, the files load in a fresh process. Also: a loaded generation is
 * kept per embedder, and damage to its files is still noticed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, truncate, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { keywordDocument, openIndex, updateIndex, type LoadedIndex } from '../src/vector-index/index-store.ts';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';
import { generateCorpus, type GeneratedCorpus } from './support/synthetic-corpus.ts';
import { createTempDirs, expectedChunks } from './support/index-fixtures.ts';

const temp = createTempDirs();
afterAll(() => temp.cleanup());

/** Labels of the graph's nodes in node (insertion) order, read from hnswlib's file layout. */
async function nodeLabels(directory: string): Promise<number[]> {
  const bytes = await readFile(join(directory, 'hnswlib.index'));
  const count = Number(bytes.readBigUInt64LE(16));
  const recordBytes = Number(bytes.readBigUInt64LE(24));
  const labelOffset = Number(bytes.readBigUInt64LE(32));
  return Array.from({ length: count }, (_, node) => Number(bytes.readBigUInt64LE(96 + node * recordBytes + labelOffset)));
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index += 1) {
    dot += (a[index] ?? 0) * (b[index] ?? 0);
    normA += (a[index] ?? 0) ** 2;
    normB += (b[index] ?? 0) ** 2;
  }
  return dot / Math.sqrt(normA * normB);
}

/** What a fresh build guarantees, checked on any index. */
async function expectLikeAFreshBuild(index: LoadedIndex, notesDir: string): Promise<void> {
  const expected = await expectedChunks(notesDir);
  expect(index.chunks.map((chunk) => chunk.id)).toEqual(expected.map((chunk) => chunk.id));
  expect(index.store.index.getCurrentCount()).toBe(expected.length);
  const fresh = await createLocalEmbedder().embedDocuments(expected.map((chunk) => chunk.embedText));
  expected.forEach((_, label) => {
    expect(cosine(index.store.index.getPoint(label), fresh[label] ?? [])).toBeGreaterThan(0.9999);
  });
  // The keyword index (updated from the previous one) ranks exactly as one built afresh.
  const freshKeyword = KeywordIndex.build(index.chunks.map(keywordDocument));
  for (const chunk of [expected[0]!, expected[expected.length - 1]!]) {
    const query = chunk.text.split(/\s+/).slice(0, 8).join(' ');
    expect(index.keyword.search(query, 10)).toEqual(freshKeyword.search(query, 10));
  }
  expect(index.keyword.search('zebrafish brine shrimp', 5)).toEqual(freshKeyword.search('zebrafish brine shrimp', 5));
  // Every chunk is its own nearest neighbour in the graph (the labels and the docstore agree).
  for (const label of [0, Math.floor(expected.length / 2), expected.length - 1]) {
    const [hit] = await index.store.similaritySearchVectorWithScore(fresh[label] ?? [], 1);
    expect((hit?.[0].metadata as { id?: string } | undefined)?.id).toBe(expected[label]?.id);
  }
}

describe('incremental builds reuse the graph', () => {
  let corpus: GeneratedCorpus;
  let indexDir: string;
  const embedder = createLocalEmbedder();

  beforeAll(async () => {
    corpus = await generateCorpus({ seed: 11, targetChunks: 240, dir: await temp.make('asknotes-reuse-notes-') });
    indexDir = await temp.make('asknotes-reuse-index-');
  });

  it('adding a section to an early note updates the old graph and relabels it into note order', async () => {
    const { index: first } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder });
    expect(await nodeLabels(first.directory)).toEqual(first.chunks.map((_, label) => label));

    const path = join(corpus.dir, corpus.files[0]!);
    const text = await readFile(path, 'utf8');
    const at = text.indexOf('\n## ');
    const paragraph = (n: number) =>
      `Zebrafish tank ${n}: the fish are fed brine shrimp at seven, measured with the blue scoop, and the water is tested for nitrates, ammonia and temperature before anyone opens the lid.`;
    const section = `\n## Zebrafish feeding\n\n${[1, 2, 3, 4, 5, 6].map(paragraph).join('\n\n')}\n`;
    await writeFile(path, `${text.slice(0, at)}\n${section}${text.slice(at)}`);

    const { index, summary } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder });
    expect(summary.wroteGeneration).toBe(true);
    expect(summary.embedded).toBeGreaterThan(0);
    expect(summary.embedded).toBeLessThanOrEqual(4);
    expect(index.chunks.length).toBeGreaterThan(first.chunks.length);
    // The old nodes come first in the file, the new chunk's node last, under its note-order label:
    // a fresh build would have numbered the nodes 0, 1, 2, ... instead.
    const labels = await nodeLabels(index.directory);
    expect(labels.slice(first.chunks.length).every((label) => label < first.chunks.length)).toBe(true);
    expect([...labels].sort((a, b) => a - b)).toEqual(index.chunks.map((_, label) => label));
    await expectLikeAFreshBuild(index, corpus.dir);

    // A fresh process (a new embedder object) loads the same thing from disk.
    const reopened = await openIndex(indexDir, createLocalEmbedder());
    expect(reopened).not.toBe(index);
    await expectLikeAFreshBuild(reopened!, corpus.dir);
    const top = reopened!.keyword.search('zebrafish brine shrimp', 1)[0];
    expect(reopened!.byId.get(top?.id ?? '')?.text).toContain('Zebrafish tank');
  });

  it('removing a note builds a fresh graph (hnswlib cannot drop nodes)', async () => {
    const { unlink } = await import('node:fs/promises');
    await unlink(join(corpus.dir, corpus.files[1]!));
    const { index, summary } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder });
    expect(summary).toMatchObject({ embedded: 0, wroteGeneration: true });
    expect(summary.removed).toBeGreaterThan(0);
    expect(await nodeLabels(index.directory)).toEqual(index.chunks.map((_, label) => label));
    await expectLikeAFreshBuild(index, corpus.dir);
  });

  it('keeps the loaded generation for its embedder, but never past damage to its files', async () => {
    const { index } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder });
    expect(await openIndex(indexDir, embedder)).toBe(index);
    const { index: again, summary } = await updateIndex({ notesDir: corpus.dir, indexDir, embedder });
    expect(summary.wroteGeneration).toBe(false);
    expect(again).toBe(index);

    const file = join(index.directory, 'docstore.json');
    await truncate(file, (await stat(file)).size - 10);
    const lines: string[] = [];
    expect(await openIndex(indexDir, embedder, { log: (line) => lines.push(line) })).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/docstore\.json has \d+ bytes/);
  });
});
