/**
 * The inverted index's data: each term's postings (typed arrays, document numbers increasing) and
 * each document's weighted length. Built from documents, or from an earlier version's postings
 * when most documents are unchanged. Pure; `KeywordIndex` searches what this builds.
 */
import { scanDocument, type KeywordDocument } from './bm25f.ts';

export interface Postings {
  /** Document numbers in increasing order. */
  documents: Int32Array;
  frequencies: Float32Array;
}

/** A document collection's postings: document ids by number, postings by term, weighted lengths. */
export interface KeywordPostings {
  ids: string[];
  postings: Map<string, Postings>;
  lengths: Int32Array;
}

/** Postings of `documents`, numbered in their order; a repeated id throws. */
export function buildPostings(documents: readonly KeywordDocument[]): KeywordPostings {
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
  return { ids, postings, lengths: Int32Array.from(lengths) };
}

/**
 * What `buildPostings(documents)` returns, made faster from `previous` (the postings of an earlier
 * version of the same collection) when most documents are unchanged: `previousNumbers[i]` is the
 * number in `previous` of a document whose text equals `documents[i].text`, or -1. Those documents
 * keep their postings; only the others are analysed. Undefined when the kept documents are not in
 * the same order as before, or ids repeat: the caller builds afresh.
 */
export function updatePostings(
  previous: KeywordPostings,
  documents: readonly KeywordDocument[],
  previousNumbers: ArrayLike<number>,
): KeywordPostings | undefined {
  const count = documents.length;
  const newNumbers = new Int32Array(previous.ids.length).fill(-1);
  let last = -1;
  for (let number = 0; number < count; number++) {
    const old = previousNumbers[number] ?? -1;
    if (old === -1) continue;
    // Postings stay sorted only if kept documents keep their order (a renamed note may not).
    if (old <= last || old >= previous.ids.length) return undefined;
    newNumbers[old] = number;
    last = old;
  }
  const ids = documents.map((document) => document.id);
  if (new Set(ids).size !== ids.length) return undefined;
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
  return { ids, postings, lengths };
}

/** Position of `number` in an increasing array, or -1. */
export function positionOf(sorted: Int32Array, number: number): number {
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
