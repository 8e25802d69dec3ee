/**
 * In-process BM25 keyword index over the same analyzer as the local embedder. It catches what
 * embeddings blur (exact names, flags, numbers: `--dry-run`, `service_started`, `10gb`) and gives
 * the answer engine a second, independent ranking to fuse with the vector search.
 *
 * Built in memory from the chunks at load time (it is cheap: an inverted index with typed-array
 * postings); never persisted, so it can never disagree with the chunks it was built from.
 */
import { scanTokens, tokenize } from '../embeddings/tokenize.ts';

export interface KeywordDocument {
  id: string;
  text: string;
}

export interface KeywordHit {
  id: string;
  /** BM25 score: higher is better; only comparable within one query. */
  score: number;
}

export interface KeywordIndexOptions {
  /** Term-frequency saturation. Default 1.2. */
  k1?: number;
  /** Length normalisation, 0 (none) to 1 (full). Default 0.75. */
  b?: number;
}

interface Postings {
  /** Document numbers in increasing order. */
  documents: Int32Array;
  frequencies: Float32Array;
}

export class KeywordIndex {
  private readonly ids: string[];
  private readonly numberOf: Map<string, number>;
  private readonly postings: Map<string, Postings>;
  /** 1 - b + b * length / averageLength, per document: the length part of BM25's denominator. */
  private readonly lengthNorms: Float32Array;
  private readonly k1: number;
  /** Scratch score per document, reused by `search` (zeroed again after each query; sync, so safe). */
  private readonly scores: Float64Array;

  private constructor(
    ids: string[],
    postings: Map<string, Postings>,
    lengths: number[],
    options: KeywordIndexOptions,
  ) {
    const k1 = options.k1 ?? 1.2;
    const b = options.b ?? 0.75;
    this.ids = ids;
    this.numberOf = new Map(ids.map((id, number) => [id, number]));
    this.postings = postings;
    this.k1 = k1;
    const totalLength = lengths.reduce((sum, length) => sum + length, 0);
    const averageLength = ids.length > 0 && totalLength > 0 ? totalLength / ids.length : 1;
    this.lengthNorms = Float32Array.from(lengths, (length) => 1 - b + (b * length) / averageLength);
    this.scores = new Float64Array(ids.length);
  }

  static build(documents: readonly KeywordDocument[], options: KeywordIndexOptions = {}): KeywordIndex {
    const ids: string[] = [];
    const seen = new Set<string>();
    const lengths: number[] = [];
    // Terms get dense numbers so that counting within a document is array work, not Map work.
    const termNumbers = new Map<string, number>();
    const termDocuments: number[][] = [];
    const termFrequencies: number[][] = [];
    const countInDocument: number[] = [];
    const touched: number[] = [];
    for (const document of documents) {
      if (seen.has(document.id)) throw new Error(`duplicate keyword document id: ${document.id}`);
      seen.add(document.id);
      const number = ids.length;
      ids.push(document.id);
      let length = 0;
      scanTokens(document.text, (term) => {
        length++;
        let termNumber = termNumbers.get(term);
        if (termNumber === undefined) {
          termNumber = termDocuments.length;
          termNumbers.set(term, termNumber);
          termDocuments.push([]);
          termFrequencies.push([]);
          countInDocument.push(0);
        }
        const count = countInDocument[termNumber] ?? 0;
        if (count === 0) touched.push(termNumber);
        countInDocument[termNumber] = count + 1;
      });
      lengths.push(length);
      for (const termNumber of touched) {
        termDocuments[termNumber]?.push(number);
        termFrequencies[termNumber]?.push(countInDocument[termNumber] ?? 0);
        countInDocument[termNumber] = 0;
      }
      touched.length = 0;
    }
    const postings = new Map<string, Postings>();
    for (const [term, termNumber] of termNumbers) {
      postings.set(term, {
        documents: Int32Array.from(termDocuments[termNumber] ?? []),
        frequencies: Float32Array.from(termFrequencies[termNumber] ?? []),
      });
    }
    return new KeywordIndex(ids, postings, lengths, options);
  }

  /** Number of documents. */
  get size(): number {
    return this.ids.length;
  }

  /** The distinct analyzed terms of a query (stems and compounds, stop words removed). */
  terms(query: string): string[] {
    return [...new Set(tokenize(query))];
  }

  /** Number of documents containing an analyzed term (as returned by `terms`). */
  documentFrequency(term: string): number {
    return this.postings.get(term)?.documents.length ?? 0;
  }

  /**
   * BM25's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)): always positive, highest for a term no
   * document has.
   */
  idf(term: string): number {
    const frequency = this.documentFrequency(term);
    return Math.log1p((this.ids.length - frequency + 0.5) / (frequency + 0.5));
  }

  /** The `k` best documents for `query`, best first; documents sharing no term are left out. */
  search(query: string, k: number): KeywordHit[] {
    if (k <= 0 || this.ids.length === 0) return [];
    const touched: number[] = [];
    const scores = this.scores;
    for (const term of this.terms(query)) {
      const postings = this.postings.get(term);
      if (postings === undefined) continue;
      const idf = this.idf(term);
      const { documents, frequencies } = postings;
      for (let index = 0; index < documents.length; index++) {
        const number = documents[index] ?? 0;
        const frequency = frequencies[index] ?? 0;
        const norm = this.lengthNorms[number] ?? 1;
        const gain = (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * norm);
        if (scores[number] === 0) touched.push(number);
        scores[number] = (scores[number] ?? 0) + gain;
      }
    }
    const hits = selectTop(touched, scores, k).map((number) => ({
      id: this.ids[number] ?? '',
      score: scores[number] ?? 0,
    }));
    for (const number of touched) scores[number] = 0;
    return hits;
  }

  /**
   * The IDF-weighted share of the query's distinct terms that occur in document `id`, 0..1.
   * Terms absent from every document count fully against it: a question about something the
   * notes never mention gets a low coverage everywhere. 0 for an empty query or unknown id.
   */
  coverage(query: string, id: string): number {
    const number = this.numberOf.get(id);
    const terms = this.terms(query);
    if (number === undefined || terms.length === 0) return 0;
    let present = 0;
    let total = 0;
    for (const term of terms) {
      const idf = this.idf(term);
      total += idf;
      if (this.contains(number, term)) present += idf;
    }
    return total > 0 ? present / total : 0;
  }

  /** Whether document `id` contains an analyzed term. */
  has(id: string, term: string): boolean {
    const number = this.numberOf.get(id);
    return number !== undefined && this.contains(number, term);
  }

  private contains(number: number, term: string): boolean {
    const documents = this.postings.get(term)?.documents;
    if (documents === undefined) return false;
    let low = 0;
    let high = documents.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = documents[middle] ?? 0;
      if (value === number) return true;
      if (value < number) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

}

/** Whether `a` ranks before `b`: higher score, then earlier document (deterministic ties). */
function ranksBefore(scores: Float64Array, a: number, b: number): boolean {
  const scoreA = scores[a] ?? 0;
  const scoreB = scores[b] ?? 0;
  return scoreA > scoreB || (scoreA === scoreB && a < b);
}

/** The k best of `candidates`, best first: a size-k heap whose root is the worst kept. */
function selectTop(candidates: readonly number[], scores: Float64Array, k: number): number[] {
  const heap: number[] = [];
  const worse = (i: number, j: number): boolean =>
    ranksBefore(scores, heap[j] ?? 0, heap[i] ?? 0);
  const swap = (i: number, j: number): void => {
    const value = heap[i] ?? 0;
    heap[i] = heap[j] ?? 0;
    heap[j] = value;
  };
  const siftDown = (start: number): void => {
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let worst = parent;
      if (left < heap.length && worse(left, worst)) worst = left;
      if (right < heap.length && worse(right, worst)) worst = right;
      if (worst === parent) return;
      swap(parent, worst);
      parent = worst;
    }
  };
  for (const candidate of candidates) {
    if (heap.length < k) {
      heap.push(candidate);
      let child = heap.length - 1;
      while (child > 0) {
        const parent = (child - 1) >>> 1;
        if (!worse(child, parent)) break;
        swap(child, parent);
        child = parent;
      }
    } else if (ranksBefore(scores, candidate, heap[0] ?? 0)) {
      heap[0] = candidate;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (ranksBefore(scores, a, b) ? -1 : 1));
}
