/**
 * In-process BM25 keyword index over the same analyzer as the local embedder. It catches what
 * embeddings blur (exact names, flags, numbers: `--dry-run`, `service_started`, `10gb`) and gives
 * the answer engine a second, independent ranking to fuse with the vector search.
 *
 * Searches an inverted index with typed-array postings (`keyword-postings.ts` builds them, and
 * `keyword-index-file.ts` saves them in each generation and reads them back); what a field counts
 * and the BM25 parameters are in `bm25f.ts`, shared with the Postgres backend.
 */
import { SAME_WORD_PREFIX, tokenize } from '../embeddings/tokenize.ts';
import { BM25_DEFAULTS, bm25Idf, expandQueryTerms, variantsIn, type KeywordDocument } from './bm25f.ts';
import { deserializePostings, serializePostings } from './keyword-index-file.ts';
import { buildPostings, positionOf, updatePostings, type KeywordPostings, type Postings } from './keyword-postings.ts';
import { kthBest, selectTop } from './select-top.ts';

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

export class KeywordIndex {
  private readonly ids: string[];
  private readonly numberOf: Map<string, number>;
  private readonly postings: Map<string, Postings>;
  /** Terms per document. */
  private readonly lengths: Int32Array;
  /** 1 - b + b * length / averageLength, per document: the length part of BM25's denominator. */
  private readonly lengthNorms: Float32Array;
  private readonly k1: number;
  /** Scratch score per document, reused by `search` (zeroed again after each query; sync, so safe). */
  private readonly scores: Float64Array;
  /** Scratch list of the documents `search` scored, reused likewise (no garbage per query). */
  private readonly touched: Int32Array;
  /** Every term, sorted: where `variants` looks for other forms of a word (built on first use). */
  private sortedTerms: string[] | undefined;

  private constructor({ ids, postings, lengths }: KeywordPostings, options: KeywordIndexOptions) {
    const k1 = options.k1 ?? BM25_DEFAULTS.k1;
    const b = options.b ?? BM25_DEFAULTS.b;
    this.ids = ids;
    this.numberOf = new Map(ids.map((id, number) => [id, number]));
    this.postings = postings;
    this.lengths = lengths;
    this.k1 = k1;
    const totalLength = lengths.reduce((sum, length) => sum + length, 0);
    const averageLength = ids.length > 0 && totalLength > 0 ? totalLength / ids.length : 1;
    this.lengthNorms = Float32Array.from(lengths, (length) => 1 - b + (b * length) / averageLength);
    this.scores = new Float64Array(ids.length);
    this.touched = new Int32Array(ids.length);
  }

  /** The index of `documents`, numbered in their order; a repeated id throws. */
  static build(documents: readonly KeywordDocument[], options: KeywordIndexOptions = {}): KeywordIndex {
    return new KeywordIndex(buildPostings(documents), options);
  }

  /**
   * What `build(documents)` returns, made faster from `previous` (an index of an earlier version of
   * the same collection) when most documents are unchanged: `previousNumbers[i]` is the number in
   * `previous` of a document whose text equals `documents[i].text`, or -1 (see `updatePostings`).
   */
  static update(
    previous: KeywordIndex,
    documents: readonly KeywordDocument[],
    previousNumbers: ArrayLike<number>,
    options: KeywordIndexOptions = {},
  ): KeywordIndex {
    const updated = updatePostings(previous.parts(), documents, previousNumbers);
    return new KeywordIndex(updated ?? buildPostings(documents), options);
  }

  /** The postings as bytes, to save beside the chunks they were built from (`keyword-index-file.ts`). */
  serialize(): Uint8Array {
    return serializePostings(this.parts());
  }

  /**
   * The index `serialize` saved for these documents (same ids, same order), or undefined when the
   * bytes are not such an index, or were made by an analyzer that now analyses differently.
   */
  static deserialize(saved: Uint8Array, documents: readonly KeywordDocument[], options: KeywordIndexOptions = {}): KeywordIndex | undefined {
    const loaded = deserializePostings(saved, documents);
    return loaded === undefined ? undefined : new KeywordIndex(loaded, options);
  }

  private parts(): KeywordPostings {
    return { ids: this.ids, postings: this.postings, lengths: this.lengths };
  }

  /** Number of documents. */
  get size(): number {
    return this.ids.length;
  }

  /** The distinct analyzed terms of a query (stems and compounds, stop words removed). */
  terms(query: string): string[] {
    return [...new Set(tokenize(query))];
  }

  /** The indexed terms that are other forms of `term` (`sameWord`). */
  variants(term: string): string[] {
    if (term.length < SAME_WORD_PREFIX) return [];
    this.sortedTerms ??= [...this.postings.keys()].sort();
    return variantsIn(this.sortedTerms, term);
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
    return bm25Idf(this.ids.length, this.documentFrequency(term));
  }

  /**
   * The indexed terms `query` is searched with: its distinct analysed terms, each one the notes
   * never use in that form replaced by the forms they do use ("rewrite" finds "rewritten"), as the
   * evidence check does.
   */
  searchTerms(query: string): string[] {
    return expandQueryTerms(this.terms(query), (term) => this.postings.has(term), (term) => this.variants(term));
  }

  /** Document number of `id` (its position in the build's documents), or undefined. */
  numberOfId(id: string): number | undefined {
    return this.numberOf.get(id);
  }

  /** Weighted length of document `number` (body terms plus boosted field terms). */
  lengthOf(number: number): number {
    return this.lengths[number] ?? 0;
  }

  /** Calls `visit` with each document containing `term` and the term's weighted frequency there. */
  forEachPosting(term: string, visit: (number: number, frequency: number) => void): void {
    const postings = this.postings.get(term);
    if (postings === undefined) return;
    const { documents, frequencies } = postings;
    for (let index = 0; index < documents.length; index++) visit(documents[index]!, frequencies[index]!);
  }

  /** BM25's term-frequency saturation parameter (k1). */
  get saturation(): number {
    return this.k1;
  }

  /**
   * The `k` best documents for `query`, best first; documents sharing no term are left out, and so
   * are those `allowed` refuses (by document number: position in the documents it was built from).
   */
  search(query: string, k: number, allowed?: (number: number) => boolean): KeywordHit[] {
    if (k <= 0 || this.ids.length === 0) return [];
    const { scores, touched, lengthNorms, k1 } = this;
    // Rarest terms first (MaxScore, Turtle & Flood 1995): a term adds at most idf * (k1 + 1) to a
    // document, so once the terms left cannot lift a document nobody has scored yet above the k-th
    // best so far, the common terms' long postings only need visiting for documents already scored.
    // Exact: the same k documents with the same scores (summed in another order) as a full scan.
    const terms: Array<{ postings: Postings; idf: number }> = [];
    for (const term of this.searchTerms(query)) {
      terms.push({ postings: this.postings.get(term)!, idf: this.idf(term) });
    }
    terms.sort((a, b) => b.idf - a.idf);
    let remaining = 0;
    for (const { idf } of terms) remaining += idf * (k1 + 1);
    let scored = 0;
    let next = 0;
    for (; next < terms.length; next++) {
      // (Checking costs a selection over the scored documents: skipped when they are very many.)
      if (scored >= k && scored <= MAX_SCORE_CHECK && remaining * (1 + 1e-9) < kthBest(touched.subarray(0, scored), scores, k)) break;
      const { postings, idf } = terms[next]!;
      const { documents, frequencies } = postings;
      // The hot loop of a query: plain typed-array reads, in bounds by construction.
      for (let index = 0; index < documents.length; index++) {
        const number = documents[index]!;
        // Out of scope: never scored, so never a candidate (and the early stop stays exact).
        if (allowed !== undefined && !allowed(number)) continue;
        const frequency = frequencies[index]!;
        const gain = (idf * frequency * (k1 + 1)) / (frequency + k1 * lengthNorms[number]!);
        const score = scores[number]!;
        if (score === 0) touched[scored++] = number;
        scores[number] = score + gain;
      }
      remaining -= idf * (k1 + 1);
    }
    for (; next < terms.length; next++) {
      const { postings, idf } = terms[next]!;
      const { documents, frequencies } = postings;
      const add = (index: number, number: number): void => {
        const frequency = frequencies[index]!;
        scores[number] = scores[number]! + (idf * frequency * (k1 + 1)) / (frequency + k1 * lengthNorms[number]!);
      };
      if (scored * 20 < documents.length) {
        for (let candidate = 0; candidate < scored; candidate++) {
          const number = touched[candidate]!;
          const index = positionOf(documents, number);
          if (index !== -1) add(index, number);
        }
      } else {
        for (let index = 0; index < documents.length; index++) {
          const number = documents[index]!;
          if (scores[number] !== 0) add(index, number);
        }
      }
    }
    const candidates = touched.subarray(0, scored);
    const hits = selectTop(candidates, scores, k).map((number) => ({
      id: this.ids[number] ?? '',
      score: scores[number] ?? 0,
    }));
    for (const number of candidates) scores[number] = 0;
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
    return documents !== undefined && positionOf(documents, number) !== -1;
  }
}

/** Above this many scored documents, `search` no longer tries to stop early. */
const MAX_SCORE_CHECK = 8192;
