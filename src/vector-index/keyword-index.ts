/**
 * In-process BM25 keyword index over the same analyzer as the local embedder. It catches what
 * embeddings blur (exact names, flags, numbers: `--dry-run`, `service_started`, `10gb`) and gives
 * the answer engine a second, independent ranking to fuse with the vector search.
 *
 * Built in memory from the chunks (an inverted index with typed-array postings). The index store
 * also saves it in each generation (`serialize`), because analysing 50,000 chunks again is most of
 * what opening a large index costs; `deserialize` only accepts postings made by the same analyzer
 * from the same documents (checked on a probe text and a sample of the documents), else the caller
 * builds afresh.
 */
import { SAME_WORD_PREFIX, sameWord, scanTokens, tokenize } from '../embeddings/tokenize.ts';

export interface KeywordDocument {
  id: string;
  /** The body text. */
  text: string;
  /** What the document is called (a note's title, file name, aliases): a boosted field. */
  title?: string;
  /** Where in its note the document sits (the heading path): a boosted field. */
  heading?: string;
}

/**
 * BM25F-style field boosts (Robertson et al. 2004, simplified to weighted term frequencies with one
 * length normalisation): a term of the title counts as FIELD_WEIGHTS.title occurrences, one of the
 * heading path as FIELD_WEIGHTS.heading. A field's distinct terms count once each: a title that
 * repeats a word, or a heading path that repeats the title, is no stronger evidence.
 */
export const FIELD_WEIGHTS = { title: 3, heading: 2 } as const;

/** Calls `visit` with each analysed term of `document` and the occurrences it counts for. */
export function scanDocument(document: KeywordDocument, visit: (term: string, weight: number) => void): void {
  scanTokens(document.text, (term) => visit(term, 1));
  const field = (text: string | undefined, weight: number): void => {
    if (text === undefined || text === '') return;
    const seen = new Set<string>();
    scanTokens(text, (term) => {
      if (seen.has(term)) return;
      seen.add(term);
      visit(term, weight);
    });
  };
  field(document.title, FIELD_WEIGHTS.title);
  field(document.heading, FIELD_WEIGHTS.heading);
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

/** BM25's default term-frequency saturation (k1) and length normalisation (b). */
export const BM25_DEFAULTS = { k1: 1.2, b: 0.75 } as const;

/** BM25's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)): always positive, highest for a term no document has. */
export function bm25Idf(documents: number, frequency: number): number {
  return Math.log1p((documents - frequency + 0.5) / (frequency + 0.5));
}

/** The terms of `sorted` (every indexed term, sorted) that are other forms of `term` (`sameWord`). */
export function variantsIn(sorted: readonly string[], term: string): string[] {
  if (term.length < SAME_WORD_PREFIX) return [];
  const prefix = term.slice(0, SAME_WORD_PREFIX);
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < prefix) low = middle + 1;
    else high = middle;
  }
  const found: string[] = [];
  for (let at = low; at < sorted.length && sorted[at]!.startsWith(prefix); at++) {
    const candidate = sorted[at]!;
    if (candidate !== term && sameWord(term, candidate)) found.push(candidate);
  }
  return found;
}

/**
 * The indexed terms a query's terms search for: a word the notes never use in this form is looked
 * up in the forms they do use ("rewrite" finds "rewritten"), as the evidence check does. Distinct,
 * in query order.
 */
export function expandQueryTerms(terms: readonly string[], indexed: (term: string) => boolean, variants: (term: string) => string[]): string[] {
  const used = new Set<string>();
  for (const term of terms) {
    if (indexed(term)) used.add(term);
    else for (const variant of variants(term)) used.add(variant);
  }
  return [...used];
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

  private constructor(
    ids: string[],
    postings: Map<string, Postings>,
    lengths: Int32Array,
    options: KeywordIndexOptions,
  ) {
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
      scanDocument(document, (term, weight) => {
        length += weight;
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
        countInDocument[termNumber] = count + weight;
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
    return new KeywordIndex(ids, postings, Int32Array.from(lengths), options);
  }

  /**
   * What `build(documents)` returns, made faster from `previous` (an index of an earlier version of
   * the same collection) when most documents are unchanged: `previousNumbers[i]` is the number in
   * `previous` of a document whose text equals `documents[i].text`, or -1. Those documents keep
   * their postings; only the others are analysed. Falls back to `build` when the kept documents
   * are not in the same order as before.
   */
  static update(
    previous: KeywordIndex,
    documents: readonly KeywordDocument[],
    previousNumbers: ArrayLike<number>,
    options: KeywordIndexOptions = {},
  ): KeywordIndex {
    const count = documents.length;
    const newNumbers = new Int32Array(previous.ids.length).fill(-1);
    let last = -1;
    for (let number = 0; number < count; number++) {
      const old = previousNumbers[number] ?? -1;
      if (old === -1) continue;
      // Postings stay sorted only if kept documents keep their order (a renamed note may not).
      if (old <= last || old >= previous.ids.length) return KeywordIndex.build(documents, options);
      newNumbers[old] = number;
      last = old;
    }
    const ids = documents.map((document) => document.id);
    if (new Set(ids).size !== ids.length) return KeywordIndex.build(documents, options);
    const lengths = new Int32Array(count);
    // Postings of the documents analysed now, by term, in increasing document number.
    const added = new Map<string, { documents: number[]; frequencies: number[] }>();
    for (let number = 0; number < count; number++) {
      const old = previousNumbers[number] ?? -1;
      if (old !== -1) {
        lengths[number] = previous.lengths[old]!;
        continue;
      }
      const counts = new Map<string, number>();
      let length = 0;
      scanDocument(documents[number]!, (term, weight) => {
        length += weight;
        counts.set(term, (counts.get(term) ?? 0) + weight);
      });
      lengths[number] = length;
      for (const [term, frequency] of counts) {
        let list = added.get(term);
        if (list === undefined) added.set(term, (list = { documents: [], frequencies: [] }));
        list.documents.push(number);
        list.frequencies.push(frequency);
      }
    }
    const postings = new Map<string, Postings>();
    for (const [term, before] of previous.postings) {
      const extra = added.get(term);
      added.delete(term);
      let kept = 0;
      for (const old of before.documents) if (newNumbers[old] !== -1) kept++;
      const total = kept + (extra?.documents.length ?? 0);
      if (total === 0) continue;
      const merged: Postings = { documents: new Int32Array(total), frequencies: new Float32Array(total) };
      let from = 0;
      let fromExtra = 0;
      for (let at = 0; at < total; at++) {
        // Skip postings of documents that are gone.
        while (from < before.documents.length && newNumbers[before.documents[from]!] === -1) from++;
        const keptNumber = from < before.documents.length ? newNumbers[before.documents[from]!]! : Infinity;
        const extraNumber = extra !== undefined && fromExtra < extra.documents.length ? extra.documents[fromExtra]! : Infinity;
        if (keptNumber < extraNumber) {
          merged.documents[at] = keptNumber;
          merged.frequencies[at] = before.frequencies[from++]!;
        } else {
          merged.documents[at] = extraNumber;
          merged.frequencies[at] = extra!.frequencies[fromExtra++]!;
        }
      }
      postings.set(term, merged);
    }
    for (const [term, extra] of added) {
      postings.set(term, { documents: Int32Array.from(extra.documents), frequencies: Float32Array.from(extra.frequencies) });
    }
    return new KeywordIndex(ids, postings, lengths, options);
  }

  /**
   * The postings as bytes, to save beside the chunks they were built from. Layout (little-endian):
   * six uint32 (magic, documents, terms, postings, term bytes, probe bytes), then int32 length per
   * document, int32 postings count per term, all postings' documents (int32) and frequencies
   * (float32), the terms (UTF-8, newline-separated), and the analyzer's terms for a probe text.
   */
  serialize(): Uint8Array {
    const encoder = new TextEncoder();
    const terms = [...this.postings.keys()];
    const termBytes = encoder.encode(terms.join('\n'));
    const probeBytes = encoder.encode(probeTerms());
    let total = 0;
    for (const postings of this.postings.values()) total += postings.documents.length;
    const words = SAVED_HEADER_WORDS + this.ids.length + terms.length + 2 * total;
    const bytes = new Uint8Array(words * 4 + termBytes.length + probeBytes.length);
    const header = new Uint32Array(bytes.buffer, 0, SAVED_HEADER_WORDS);
    header.set([SAVED_MAGIC, this.ids.length, terms.length, total, termBytes.length, probeBytes.length]);
    let offset = SAVED_HEADER_WORDS * 4;
    const take = (count: number) => {
      const at = offset;
      offset += count * 4;
      return at;
    };
    new Int32Array(bytes.buffer, take(this.ids.length), this.ids.length).set(this.lengths);
    const counts = new Int32Array(bytes.buffer, take(terms.length), terms.length);
    const documents = new Int32Array(bytes.buffer, take(total), total);
    const frequencies = new Float32Array(bytes.buffer, take(total), total);
    let position = 0;
    terms.forEach((term, index) => {
      const postings = this.postings.get(term)!;
      counts[index] = postings.documents.length;
      documents.set(postings.documents, position);
      frequencies.set(postings.frequencies, position);
      position += postings.documents.length;
    });
    bytes.set(termBytes, offset);
    bytes.set(probeBytes, offset + termBytes.length);
    return bytes;
  }

  /**
   * The index `serialize` saved for these documents (same ids, same order), or undefined when the
   * bytes are not such an index, or were made by an analyzer that now analyses differently.
   */
  static deserialize(
    saved: Uint8Array,
    documents: readonly KeywordDocument[],
    options: KeywordIndexOptions = {},
  ): KeywordIndex | undefined {
    // Typed-array views need 4-byte alignment.
    const bytes = saved.byteOffset % 4 === 0 ? saved : saved.slice();
    if (bytes.byteLength < SAVED_HEADER_WORDS * 4) return undefined;
    const [magic, documentCount, termCount, total, termLength, probeLength] = new Uint32Array(bytes.buffer, bytes.byteOffset, SAVED_HEADER_WORDS);
    if (magic !== SAVED_MAGIC || documentCount !== documents.length) return undefined;
    const words = SAVED_HEADER_WORDS + documentCount + termCount! + 2 * total!;
    if (bytes.byteLength !== words * 4 + termLength! + probeLength!) return undefined;
    let offset = bytes.byteOffset + SAVED_HEADER_WORDS * 4;
    const take = (count: number) => {
      const at = offset;
      offset += count * 4;
      return at;
    };
    const lengths = new Int32Array(bytes.buffer, take(documentCount), documentCount);
    const counts = new Int32Array(bytes.buffer, take(termCount!), termCount!);
    const allDocuments = new Int32Array(bytes.buffer, take(total!), total!);
    const allFrequencies = new Float32Array(bytes.buffer, take(total!), total!);
    const decoder = new TextDecoder();
    const text = (length: number) => {
      const value = decoder.decode(new Uint8Array(bytes.buffer, offset, length));
      offset += length;
      return value;
    };
    const terms = termCount === 0 ? [] : text(termLength!).split('\n');
    if (termCount === 0) offset += termLength!;
    if (terms.length !== termCount || text(probeLength!) !== probeTerms()) return undefined;
    const postings = new Map<string, Postings>();
    let position = 0;
    for (const [index, term] of terms.entries()) {
      const count = counts[index]!;
      if (count < 0 || position + count > total!) return undefined;
      postings.set(term, {
        documents: allDocuments.subarray(position, position + count),
        frequencies: allFrequencies.subarray(position, position + count),
      });
      position += count;
    }
    const ids = documents.map((document) => document.id);
    const index = new KeywordIndex(ids, postings, lengths, options);
    if (index.numberOf.size !== ids.length) return undefined;
    // Same analyzer, same documents: a sample analysed again must match the saved postings exactly.
    const step = Math.max(1, Math.floor(documents.length / SAVED_SAMPLE));
    for (let number = 0; number < documents.length; number += step) {
      if (!index.agreesWith(number, documents[number]!)) return undefined;
    }
    return index;
  }

  /** Whether document `number`'s saved length and term frequencies are what `text` analyses to. */
  private agreesWith(number: number, document: KeywordDocument): boolean {
    const counts = new Map<string, number>();
    let length = 0;
    scanDocument(document, (term, weight) => {
      length += weight;
      counts.set(term, (counts.get(term) ?? 0) + weight);
    });
    if (length !== this.lengths[number]) return false;
    for (const [term, count] of counts) {
      const postings = this.postings.get(term);
      const at = postings === undefined ? -1 : indexOf(postings.documents, number);
      if (at === -1 || postings?.frequencies[at] !== count) return false;
    }
    return true;
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
          const index = indexOf(documents, number);
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
    return documents !== undefined && indexOf(documents, number) !== -1;
  }

}

const SAVED_MAGIC = 0x32574b41; // "AKW2" (weighted fields)
const SAVED_HEADER_WORDS = 6;
/** Documents re-analysed to check a saved index. */
const SAVED_SAMPLE = 32;
/** Compounds, stop words, stems, diacritics, digits: a changed analyzer almost surely changes these terms. */
const ANALYZER_PROBE =
  "Docker Compose's depends_on waits for service_started; run `docker build --dry-run` with spin.toml v1.1 " +
  '(10gb, café, naïve résumé), the vulnerabilities were running and ran, mikesir87 @ docker/metadata-action.';

function probeTerms(): string {
  return tokenize(ANALYZER_PROBE).join('\n');
}

/** Position of `number` in an increasing array, or -1. */
function indexOf(sorted: Int32Array, number: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = sorted[middle] ?? 0;
    if (value === number) return middle;
    if (value < number) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Whether `a` ranks before `b`: higher score, then earlier document (deterministic ties). */
function ranksBefore(scores: Float64Array, a: number, b: number): boolean {
  const scoreA = scores[a] ?? 0;
  const scoreB = scores[b] ?? 0;
  return scoreA > scoreB || (scoreA === scoreB && a < b);
}

/** Above this many scored documents, `search` no longer tries to stop early. */
const MAX_SCORE_CHECK = 8192;

/** The k-th highest score among `candidates` (at least k of them). */
function kthBest(candidates: Int32Array, scores: Float64Array, k: number): number {
  const best = selectTop(candidates, scores, k);
  return scores[best[best.length - 1]!]!;
}

/** The k best of `candidates`, best first: a size-k heap whose root is the worst kept. */
function selectTop(candidates: ArrayLike<number>, scores: Float64Array, k: number): number[] {
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
  for (let position = 0; position < candidates.length; position++) {
    const candidate = candidates[position]!;
    if (heap.length < k) {
      heap.push(candidate);
      let child = heap.length - 1;
      while (child > 0) {
        const parent = (child - 1) >>> 1;
        if (!worse(child, parent)) break;
        swap(child, parent);
        child = parent;
      }
    } else {
      // Most candidates lose to the worst kept one: compare inline before touching the heap.
      const score = scores[candidate]!;
      const worst = heap[0]!;
      const worstScore = scores[worst]!;
      if (score > worstScore || (score === worstScore && candidate < worst)) {
        heap[0] = candidate;
        siftDown(0);
      }
    }
  }
  return heap.sort((a, b) => (ranksBefore(scores, a, b) ? -1 : 1));
}
