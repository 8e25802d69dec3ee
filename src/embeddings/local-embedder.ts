/**
 * The built-in embedder used when Ollama is not available: in-process, no weights, no network,
 * deterministic. A hashed bag of features projected into a fixed-size dense vector:
 *
 * - word stems from the shared analyzer (`tokenize.ts`), so compounds like `depends_on` count
 *   whole and in parts, exactly as the keyword index sees them;
 * - bigrams of neighbouring stems (phrases: "shared cache" is more than "shared" + "cache");
 * - character 3..5-grams of each word with boundary marks (`<ca`, `ache>`), so inflections,
 *   irregular forms and typos ("vulnuerabilities") still overlap.
 *
 * Each feature is hashed to 32 bits; the low bits pick a dimension and the top bit a sign (signed
 * feature hashing: collisions cancel on average instead of piling up). A feature's weight is
 * log(1 + summed weight), sublinear in its frequency, and the vector is L2-normalised, so the
 * inner product is a cosine.
 *
 * Document vectors depend on the document alone: the index caches them by text hash and only
 * re-embeds changed chunks. Corpus statistics (IDF) only ever weight queries: see
 * `useTermStatistics`.
 */
import { scanTokens } from './tokenize.ts';
import type { EmbedOptions, Embedder, TermStatistics } from './embedder.ts';

export interface LocalEmbedderOptions {
  /** Vector size; more dimensions mean fewer hash collisions (measured: 1024 clearly beats 768). */
  dimensions?: number;
  /** Documents per batch between event-loop yields and progress reports. Default 256. */
  batchSize?: number;
  /** Feature settings (for experiments); values other than the defaults are recorded in the id. */
  features?: Partial<FeatureSettings>;
}

export interface FeatureSettings {
  word: number;
  bigram: number;
  /** Shared by the character n-grams of one word: each gets char / sqrt(count). */
  char: number;
  minGram: number;
  maxGram: number;
  /** Varies every hash (measures how much a result owes to particular hash collisions). */
  seed: number;
}

/**
 * General choices, not fitted to a question set: exact words dominate, n-grams and phrases add
 * fuzzy evidence. The measured quality is flat around these values (char 0.3..1.5, bigram
 * 0..0.5 and n-gram ranges 3-4, 4-5, 3-6 all within one question of each other).
 */
export const DEFAULT_FEATURE_SETTINGS: Readonly<FeatureSettings> = {
  word: 1,
  bigram: 0.5,
  char: 0.6,
  minGram: 3,
  maxGram: 5,
  seed: 0,
};

export interface LocalEmbedder extends Embedder {
  readonly dimensions: number;
  /**
   * Weights later queries by the IDF of their terms in the indexed corpus (pass the keyword
   * index after each load). Document vectors are unaffected, so cached vectors stay valid.
   */
  useTermStatistics(statistics: TermStatistics): void;
}

/**
 * Bump when the features, weights or hashing change: it is part of the id, and the id keys the
 * vector cache and names the index folder, so old vectors are never mixed with new ones.
 */
const FEATURE_VERSION = 1;

/**
 * The built-in embedder's weight in hybrid retrieval (BM25 = 1). Its features are BM25's own stems
 * plus bigrams and character n-grams: mostly the same evidence again, whose independent part is
 * tolerance of typos and inflections. So it breaks near-ties between keyword matches and carries
 * questions BM25 cannot match at all, but never outvotes a clear keyword match.
 */
export const LOCAL_FUSION_WEIGHT = 0.1;
const DEFAULT_DIMENSIONS = 1024;
const DEFAULT_BATCH_SIZE = 256;

/** Beyond this, a word is an identifier or a hash; its n-grams would only add noise. */
const MAX_GRAM_WORD_LENGTH = 32;

// Separate seeds keep the feature kinds apart: the word "cache" and the 5-gram "cache" differ.
const WORD_SEED = 0x9e3779b9;
const BIGRAM_SEED = 0x85ebca6b;
const CHAR_SEED = 0xc2b2ae35;
const WORD_START = 0x02;
const WORD_END = 0x03;

/** Murmur3's finaliser: spreads every input bit over the output (FNV alone leaves low bits weak). */
function mix(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function hashString(text: string, seed: number): number {
  let hash = seed ^ 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return mix(hash);
}

/**
 * Feature hash -> summed weight (and, for queries, the largest IDF multiplier seen) for one
 * text: an open-addressing table reused across texts (a Map per text is several times slower,
 * and embedding speed matters at 50,000 chunks).
 */
class FeatureBag {
  private capacity = 4096;
  private keys = new Uint32Array(this.capacity);
  private values = new Float64Array(this.capacity);
  private scales = new Float64Array(this.capacity);
  /** Slot i is in use when stamps[i] === generation: clearing is one increment. */
  private stamps = new Uint32Array(this.capacity);
  private generation = 1;
  /** Slots in insertion order, for iteration. */
  private slots = new Int32Array(this.capacity);
  size = 0;

  clear(): void {
    this.size = 0;
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  add(key: number, weight: number, scale: number): void {
    if (this.size * 2 >= this.capacity) this.grow();
    const mask = this.capacity - 1;
    let slot = key & mask;
    while (this.stamps[slot] === this.generation) {
      if (this.keys[slot] === key) {
        this.values[slot] = (this.values[slot] ?? 0) + weight;
        if (scale > (this.scales[slot] ?? 0)) this.scales[slot] = scale;
        return;
      }
      slot = (slot + 1) & mask;
    }
    this.stamps[slot] = this.generation;
    this.keys[slot] = key;
    this.values[slot] = weight;
    this.scales[slot] = scale;
    this.slots[this.size++] = slot;
  }

  /** Calls `visit` once per distinct feature. */
  forEach(visit: (key: number, weight: number, scale: number) => void): void {
    for (let index = 0; index < this.size; index++) {
      const slot = this.slots[index] ?? 0;
      visit(this.keys[slot] ?? 0, this.values[slot] ?? 0, this.scales[slot] ?? 0);
    }
  }

  private grow(): void {
    const { keys, values, scales } = this;
    const oldSlots = this.slots.subarray(0, this.size);
    const oldSize = this.size;
    this.capacity *= 2;
    this.keys = new Uint32Array(this.capacity);
    this.values = new Float64Array(this.capacity);
    this.scales = new Float64Array(this.capacity);
    this.stamps = new Uint32Array(this.capacity);
    this.slots = new Int32Array(this.capacity);
    this.generation = 1;
    this.size = 0;
    for (let index = 0; index < oldSize; index++) {
      const slot = oldSlots[index] ?? 0;
      this.add(keys[slot] ?? 0, values[slot] ?? 0, scales[slot] ?? 0);
    }
  }
}

function countGrams(length: number, minGram: number, maxGram: number): number {
  let count = 0;
  for (let gram = minGram; gram <= maxGram; gram++) count += Math.max(0, length - gram + 1);
  return count;
}

/** How much each query term counts (from corpus statistics); documents use 1 throughout. */
interface QueryScales {
  /** The weight of a term some document contains; `undefined` when none does. */
  of(term: string): number | undefined;
  /** The weight of the character n-grams of a term no document contains. */
  unseen: number;
}

/** Vocabularies repeat: hashing each distinct word once is most of the embedding speed. */
const CACHE_LIMIT = 100_000;

/** Turns text into hashed features in a bag; one per embedder (settings and seed are fixed). */
class Featurizer {
  readonly bag = new FeatureBag();
  private readonly wordHashes = new Map<string, number>();
  private readonly gramHashes = new Map<string, Uint32Array>();
  private readonly gramWeights: number[] = [];

  constructor(private readonly settings: FeatureSettings) {}

  /** Fills the bag with the features of `text`; `query` is only given for queries. */
  extract(text: string, query?: QueryScales): void {
    const { bag, settings } = this;
    bag.clear();
    let previous = -1;
    let previousKnown = true;
    let previousScale = 1;
    scanTokens(text, (term, surface, compound) => {
      const wordHash = this.wordHash(term);
      const known = query === undefined ? 1 : query.of(term);
      const scale = known ?? query?.unseen ?? 1;
      // A word no document has cannot match: leave it out, it would only collide.
      if (known !== undefined) bag.add(wordHash, settings.word, known);
      // A compound is followed by its parts, which carry the n-grams and the phrase context.
      if (compound) return;
      if (settings.char !== 0 && scale !== 0) {
        const grams = this.gramHashes.get(surface) ?? this.hashGrams(surface);
        const weight = settings.char * (this.gramWeights[grams.length] ?? 0);
        for (const gram of grams) bag.add(gram, weight, scale);
      }
      if (previous !== -1 && settings.bigram !== 0 && known !== undefined && previousKnown) {
        // A phrase is at least as rare as its rarer word.
        const phrase = mix(Math.imul(previous, 31) ^ wordHash ^ BIGRAM_SEED);
        bag.add(phrase, settings.bigram, Math.max(scale, previousScale));
      }
      previous = wordHash;
      previousKnown = known !== undefined;
      previousScale = scale;
    });
  }

  private wordHash(term: string): number {
    let hash = this.wordHashes.get(term);
    if (hash === undefined) {
      hash = hashString(term, WORD_SEED ^ this.settings.seed);
      if (this.wordHashes.size >= CACHE_LIMIT) this.wordHashes.clear();
      this.wordHashes.set(term, hash);
    }
    return hash;
  }

  /** The n-grams of `<word>`, each prefix hashed once (rolling FNV); cached. */
  private hashGrams(word: string): Uint32Array {
    const { minGram, maxGram, seed } = this.settings;
    const length = Math.min(word.length, MAX_GRAM_WORD_LENGTH) + 2;
    const grams = new Uint32Array(countGrams(length, minGram, maxGram));
    const codeAt = (index: number): number =>
      index === 0 ? WORD_START : index === length - 1 ? WORD_END : word.charCodeAt(index - 1);
    let count = 0;
    for (let start = 0; start + minGram <= length; start++) {
      let hash = CHAR_SEED ^ seed ^ 0x811c9dc5;
      const end = Math.min(start + maxGram, length);
      for (let index = start; index < end; index++) {
        hash = Math.imul(hash ^ codeAt(index), 0x01000193);
        const gramLength = index - start + 1;
        if (gramLength >= minGram) grams[count++] = mix(hash + gramLength);
      }
    }
    // The n-grams of one word share its character weight, so long words do not outweigh short ones.
    this.gramWeights[grams.length] ??= grams.length > 0 ? 1 / Math.sqrt(grams.length) : 0;
    if (this.gramHashes.size >= CACHE_LIMIT) this.gramHashes.clear();
    this.gramHashes.set(word, grams);
    return grams;
  }
}

/** log(1 + weight): repeating a term helps less and less (sublinear TF). */
function sublinear(weight: number): number {
  return Math.log1p(weight);
}

function toUnitArray(vector: Float64Array): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  // An empty text stays the zero vector: callers reject empty questions before embedding.
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const result = new Array<number>(vector.length);
  for (let index = 0; index < vector.length; index++) result[index] = (vector[index] ?? 0) * scale;
  return result;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function describeSettings(weights: FeatureSettings): string {
  const changed = (Object.keys(DEFAULT_FEATURE_SETTINGS) as (keyof FeatureSettings)[])
    .filter((key) => weights[key] !== DEFAULT_FEATURE_SETTINGS[key])
    .map((key) => `${key}${weights[key]}`);
  return changed.length === 0 ? '' : `-${changed.join('-')}`;
}

/**
 * Query weight of a term found in `frequency` of `size` documents: BM25's IDF, used once.
 *
 * Documents carry term frequency only, so a query weighted once by IDF makes the dot product
 * Σ idf(t)·tf_q(t)·tf_d(t) / |d|: the shape of BM25 and of most ranking functions, where IDF
 * counts once (sublinear TF stands in for saturation, the document norm for length
 * normalisation). Weighting the query by IDF² would mimic the full TF-IDF cosine instead; it
 * measured clearly worse (see retrieval-quality.ts), because the document norm still includes
 * the common words, so squared weights let one rare query word swamp the rest.
 */
function inverseDocumentFrequency(frequency: number, size: number): number {
  return Math.log1p((size - frequency + 0.5) / (frequency + 0.5));
}

/**
 * A query word no document contains is usually a paraphrase ("rewrite" where the note says
 * "rewritten"), sometimes a typo. Only its character n-grams can match, and they count like a
 * word found in half of the documents (BM25's IDF at df = N/2 is ln 2): enough to break ties,
 * not enough to outvote the words the notes do contain (giving them the weight of the rarest
 * word measured worse: vector hit@1 0.82 instead of 0.85).
 */
const UNSEEN_TERM_WEIGHT = Math.LN2;

export function createLocalEmbedder(options: LocalEmbedderOptions = {}): LocalEmbedder {
  const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const settings: FeatureSettings = { ...DEFAULT_FEATURE_SETTINGS, ...options.features };
  if (!Number.isInteger(dimensions) || dimensions < 16) {
    throw new RangeError(`dimensions must be an integer >= 16, got ${dimensions}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!(settings.minGram >= 1 && settings.maxGram >= settings.minGram)) {
    throw new RangeError(`invalid n-gram range ${settings.minGram}..${settings.maxGram}`);
  }
  const id = `local:hash-v${FEATURE_VERSION}-d${dimensions}${describeSettings(settings)}`;
  // One scratch bag: embedding is synchronous per text, so it is never shared mid-use.
  const featurizer = new Featurizer(settings);
  const bag = featurizer.bag;
  let queryScales: QueryScales | undefined;

  /** Projects the bag into a dense unit vector. */
  const project = (): number[] => {
    const vector = new Float64Array(dimensions);
    bag.forEach((key, weight, scale) => {
      const value = sublinear(weight) * scale;
      if (value === 0) return;
      // Low 31 bits pick the dimension, the top bit the sign.
      const dimension = (key & 0x7fffffff) % dimensions;
      vector[dimension] = (vector[dimension] ?? 0) + (key >>> 31 === 1 ? -value : value);
    });
    return toUnitArray(vector);
  };

  return {
    id,
    fusionWeight: LOCAL_FUSION_WEIGHT,
    dimensions,

    async embedDocuments(documents: string[], embedOptions: EmbedOptions = {}): Promise<number[][]> {
      const { signal, onProgress } = embedOptions;
      const vectors: number[][] = [];
      for (let start = 0; start < documents.length; start += batchSize) {
        if (signal?.aborted) throw abortReason(signal);
        const end = Math.min(start + batchSize, documents.length);
        for (let index = start; index < end; index++) {
          featurizer.extract(documents[index] ?? '');
          vectors.push(project());
        }
        onProgress?.(end);
        // Embedding 50,000 chunks takes seconds: let the server answer requests meanwhile.
        if (end < documents.length) await yieldToEventLoop();
      }
      return vectors;
    },

    async embedQuery(document: string, embedOptions: EmbedOptions = {}): Promise<number[]> {
      if (embedOptions.signal?.aborted) throw abortReason(embedOptions.signal);
      featurizer.extract(document, queryScales);
      const vector = project();
      embedOptions.onProgress?.(1);
      return vector;
    },

    useTermStatistics(statistics: TermStatistics): void {
      const size = statistics.size;
      queryScales =
        size === 0
          ? undefined
          : {
              of(term) {
                const frequency = Math.min(statistics.documentFrequency(term), size);
                return frequency === 0 ? undefined : inverseDocumentFrequency(frequency, size);
              },
              unseen: UNSEEN_TERM_WEIGHT,
            };
    },
  };
}
