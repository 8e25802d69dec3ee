/**
 * The keyword index's saved form: its postings as bytes in each generation, because analysing
 * 50,000 chunks again is most of what opening a large index costs. Only postings made by the same
 * analyzer from the same documents are accepted back (checked on a probe text and a sample of the
 * documents); anything else is undefined and the caller builds afresh.
 */
import { tokenize } from '../embeddings/tokenize.ts';
import { scanDocument, type KeywordDocument } from './bm25f.ts';
import { positionOf, type KeywordPostings, type Postings } from './keyword-postings.ts';

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

/**
 * The postings as bytes, to save beside the chunks they were built from. Layout (little-endian):
 * six uint32 (magic, documents, terms, postings, term bytes, probe bytes), then int32 length per
 * document, int32 postings count per term, all postings' documents (int32) and frequencies
 * (float32), the terms (UTF-8, newline-separated), and the analyzer's terms for a probe text.
 */
export function serializePostings({ ids, postings, lengths }: KeywordPostings): Uint8Array {
  const encoder = new TextEncoder();
  const terms = [...postings.keys()];
  const termBytes = encoder.encode(terms.join('\n'));
  const probeBytes = encoder.encode(probeTerms());
  let total = 0;
  for (const list of postings.values()) total += list.documents.length;
  const words = SAVED_HEADER_WORDS + ids.length + terms.length + 2 * total;
  const bytes = new Uint8Array(words * 4 + termBytes.length + probeBytes.length);
  const header = new Uint32Array(bytes.buffer, 0, SAVED_HEADER_WORDS);
  header.set([SAVED_MAGIC, ids.length, terms.length, total, termBytes.length, probeBytes.length]);
  let offset = SAVED_HEADER_WORDS * 4;
  const take = (count: number) => {
    const at = offset;
    offset += count * 4;
    return at;
  };
  new Int32Array(bytes.buffer, take(ids.length), ids.length).set(lengths);
  const counts = new Int32Array(bytes.buffer, take(terms.length), terms.length);
  const documents = new Int32Array(bytes.buffer, take(total), total);
  const frequencies = new Float32Array(bytes.buffer, take(total), total);
  let position = 0;
  terms.forEach((term, index) => {
    const list = postings.get(term)!;
    counts[index] = list.documents.length;
    documents.set(list.documents, position);
    frequencies.set(list.frequencies, position);
    position += list.documents.length;
  });
  bytes.set(termBytes, offset);
  bytes.set(probeBytes, offset + termBytes.length);
  return bytes;
}

/**
 * The postings `serializePostings` saved for these documents (same ids, same order), or undefined
 * when the bytes are not such postings, or were made by an analyzer that now analyses differently.
 */
export function deserializePostings(saved: Uint8Array, documents: readonly KeywordDocument[]): KeywordPostings | undefined {
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
  if (new Set(ids).size !== ids.length) return undefined;
  const loaded = { ids, postings, lengths };
  // Same analyzer, same documents: a sample analysed again must match the saved postings exactly.
  const step = Math.max(1, Math.floor(documents.length / SAVED_SAMPLE));
  for (let number = 0; number < documents.length; number += step) {
    if (!agreesWith(loaded, number, documents[number]!)) return undefined;
  }
  return loaded;
}

/** Whether document `number`'s saved length and term frequencies are what `document` analyses to. */
function agreesWith({ postings, lengths }: KeywordPostings, number: number, document: KeywordDocument): boolean {
  const counts = new Map<string, number>();
  let length = 0;
  scanDocument(document, (term, weight) => {
    length += weight;
    counts.set(term, (counts.get(term) ?? 0) + weight);
  });
  if (length !== lengths[number]) return false;
  for (const [term, count] of counts) {
    const list = postings.get(term);
    const at = list === undefined ? -1 : positionOf(list.documents, number);
    if (at === -1 || list?.frequencies[at] !== count) return false;
  }
  return true;
}
