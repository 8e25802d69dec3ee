/**
 * The built-in local embedder: its id, determinism, unit vectors, document vectors that never
 * depend on the corpus, query weighting by term statistics, and that related texts are closer
 * than unrelated ones.
 */
import { describe, expect, it } from 'vitest';
import { createLocalEmbedder } from '../src/embeddings/local-embedder.ts';
import { KeywordIndex } from '../src/vector-index/keyword-index.ts';

function cosine(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] ?? 0) * (b[index] ?? 0);
  return sum;
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(cosine(vector, vector));
}

async function similarity(first: string, second: string): Promise<number> {
  const [a = [], b = []] = await createLocalEmbedder().embedDocuments([first, second]);
  return cosine(a, b);
}

describe('createLocalEmbedder', () => {
  it('names its version and dimensions in the id, and changes it with any setting', () => {
    expect(createLocalEmbedder().id).toBe('local:hash-v1-d1024');
    expect(createLocalEmbedder().dimensions).toBe(1024);
    expect(createLocalEmbedder({ dimensions: 512 }).id).toBe('local:hash-v1-d512');
    expect(createLocalEmbedder({ features: { char: 0.3 } }).id).toBe('local:hash-v1-d1024-char0.3');
    // The batch size does not change vectors, so it does not change the id.
    expect(createLocalEmbedder({ batchSize: 7 }).id).toBe('local:hash-v1-d1024');
  });

  it.each([
    [{ dimensions: 0 }],
    [{ dimensions: 10.5 }],
    [{ batchSize: 0 }],
    [{ features: { minGram: 4, maxGram: 3 } }],
  ])('rejects invalid options %j', (options) => {
    expect(() => createLocalEmbedder(options)).toThrow(RangeError);
  });

  it('is deterministic across instances and calls', async () => {
    const text = 'Docker Scout shows CVEs and how to fix them';
    const [first] = await createLocalEmbedder().embedDocuments([text]);
    const [second, third] = await createLocalEmbedder().embedDocuments([text, text]);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
  });

  it('returns unit vectors of the configured size', async () => {
    const embedder = createLocalEmbedder({ dimensions: 256 });
    const vectors = await embedder.embedDocuments(['short', 'a somewhat longer text about compose watch and sync']);
    for (const vector of vectors) {
      expect(vector).toHaveLength(256);
      expect(norm(vector)).toBeCloseTo(1, 10);
    }
    expect(norm(await embedder.embedQuery('compose watch'))).toBeCloseTo(1, 10);
  });

  it('returns the zero vector for a text without content words', async () => {
    const [vector = []] = await createLocalEmbedder().embedDocuments(['', 'the of and ?!']);
    expect(vector.every((value) => value === 0)).toBe(true);
  });

  it('embeds an unweighted query like a document', async () => {
    const embedder = createLocalEmbedder();
    const text = 'How do I debug a container that crashed?';
    const [document] = await embedder.embedDocuments([text]);
    expect(await embedder.embedQuery(text)).toEqual(document);
  });

  it.each([
    ['How do I debug a container that crashed?', 'Docker Debug helps when a container crashed or never started', 'Bake files can be written in HCL, JSON or Compose'],
    ['running containers', 'run a container', 'quantization groups weights into buckets'],
    ['vulnerabilities', 'shows CVEs (vulnuerabilities) and fixes', 'shared cache among team'],
    ['depends_on condition', 'depends_on: db: condition: service_healthy', 'WebGPU ships GPU support in the browser'],
    ['shared build cache', 'the team shares one build cache', 'the team shares one office'],
  ])('%s: closer to the related text than to the unrelated one', async (query, related, unrelated) => {
    expect(await similarity(query, related)).toBeGreaterThan((await similarity(query, unrelated)) + 0.05);
  });

  it('sees word order through bigrams', async () => {
    const phrase = await similarity('build cache', 'the build cache is shared');
    const reversed = await similarity('build cache', 'the cache build is shared');
    expect(phrase).toBeGreaterThan(reversed);
  });

  it('reports progress per batch and stops when aborted', async () => {
    const embedder = createLocalEmbedder({ batchSize: 2 });
    const progress: number[] = [];
    const vectors = await embedder.embedDocuments(['a1', 'b2', 'c3', 'd4', 'e5'], {
      onProgress: (done) => progress.push(done),
    });
    expect(vectors).toHaveLength(5);
    expect(progress).toEqual([2, 4, 5]);

    const controller = new AbortController();
    const aborted = embedder.embedDocuments(['a1', 'b2', 'c3', 'd4', 'e5'], {
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 2) controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await expect(embedder.embedQuery('x', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('query weighting by term statistics', () => {
  const corpus = [
    'Docker Desktop, Docker Scout and Docker Build: docker everywhere, docker again.',
    'New partnership between Docker and Udemy for courses.',
    'Docker compose watch syncs files into the container.',
    'Docker init generates a Dockerfile and a compose file.',
    'Docker Hub hosts images; docker pull fetches them.',
  ];

  it('never changes document vectors', async () => {
    const embedder = createLocalEmbedder();
    const text = 'New partnership between Docker and Udemy for courses.';
    const [before] = await embedder.embedDocuments([text]);
    embedder.useTermStatistics(KeywordIndex.build(corpus.map((text, index) => ({ id: String(index), text }))));
    const [after] = await embedder.embedDocuments([text]);
    expect(after).toEqual(before);
    embedder.useTermStatistics(KeywordIndex.build([{ id: 'other', text: 'a different corpus entirely' }]));
    const [again] = await embedder.embedDocuments([text]);
    expect(again).toEqual(before);
  });

  it('lets a rare query term outweigh a common one', async () => {
    const embedder = createLocalEmbedder();
    const [common = [], rare = []] = await embedder.embedDocuments([corpus[0] ?? '', corpus[1] ?? '']);
    const query = 'docker udemy';
    const unweighted = await embedder.embedQuery(query);
    embedder.useTermStatistics(KeywordIndex.build(corpus.map((text, index) => ({ id: String(index), text }))));
    const weighted = await embedder.embedQuery(query);
    expect(weighted).not.toEqual(unweighted);
    const margin = (vector: number[]): number => cosine(vector, rare) - cosine(vector, common);
    expect(margin(weighted)).toBeGreaterThan(margin(unweighted));
    expect(margin(weighted)).toBeGreaterThan(0);
  });

  it('still matches a misspelt query word through its character n-grams', async () => {
    const embedder = createLocalEmbedder();
    const documents = ['Scout shows vulnerabilities and how to fix them', 'Compose watch syncs files'];
    const [scout = [], watch = []] = await embedder.embedDocuments(documents);
    embedder.useTermStatistics(KeywordIndex.build(documents.map((text, index) => ({ id: String(index), text }))));
    const query = await embedder.embedQuery('vulnerabilites');
    expect(cosine(query, scout)).toBeGreaterThan(cosine(query, watch) + 0.1);
  });

  it('goes back to unweighted queries for an empty corpus', async () => {
    const embedder = createLocalEmbedder();
    const text = 'docker udemy';
    const [document] = await embedder.embedDocuments([text]);
    embedder.useTermStatistics(KeywordIndex.build(corpus.map((text, index) => ({ id: String(index), text }))));
    embedder.useTermStatistics(KeywordIndex.build([]));
    expect(await embedder.embedQuery(text)).toEqual(document);
  });
});
