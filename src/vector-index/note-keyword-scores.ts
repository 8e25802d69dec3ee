/**
 * Whole-note BM25 over chunk postings: a note is scored as if all its chunks were one document, so
 * a question whose words are spread over a note's sections (its title in one place, the flag in
 * another) finds that note even when no single chunk holds them all.
 *
 * Nothing is analysed again: a note's term frequencies are the sums of its chunks' (weighted)
 * frequencies, less the title field that every chunk repeats (it counts once per note), and its
 * length likewise. Both backends feed the same scorer: the files backend from its keyword index's
 * postings (`fromKeywordIndex`), the Postgres backend from per-note sums its query returns.
 */
import { scanTokens } from '../embeddings/tokenize.ts';
import type { NoteScores } from './fuse-scores.ts';
import { FIELD_WEIGHTS } from './bm25f.ts';
import type { KeywordIndex } from './keyword-index.ts';

/** BM25's length normalisation for notes (the usual default). */
const NOTE_B = 0.75;

/** What the scorer knows of one note. */
export interface NoteTotals {
  path: string;
  /** How many chunks it has. */
  chunks: number;
  /** The sum of its chunks' weighted lengths (each chunk's includes the title field). */
  length: number;
  /** The chunk's title field (the same for every chunk of a note), as the keyword index saw it. */
  title: string;
}

export class NoteKeywordScores {
  private readonly paths: string[];
  private readonly numbers = new Map<string, number>();
  private readonly chunkCount: Int32Array;
  /** Title terms per note: each chunk's frequency includes FIELD_WEIGHTS.title for each. */
  private readonly titleTerms: Set<string>[];
  private readonly lengthNorms: Float64Array;
  private readonly k1: number;

  /** The files backend's keyword index, and the note of each of its documents (-1: none), for `search`. */
  private readonly keyword: KeywordIndex | undefined;
  private readonly noteOfDocument: Int32Array | undefined;

  /**
   * `postings`: the keyword index whose postings `search` reads, with the chunks it indexed (files
   * backend). Without it only `score` works (Postgres: the sums come with the query's rows).
   */
  constructor(notes: readonly NoteTotals[], k1: number, postings?: { keyword: KeywordIndex; chunks: readonly { id: string; note: string }[] }) {
    this.k1 = k1;
    this.paths = notes.map((note) => note.path);
    this.paths.forEach((path, number) => this.numbers.set(path, number));
    this.chunkCount = Int32Array.from(notes, (note) => note.chunks);
    this.titleTerms = notes.map((note) => {
      const terms = new Set<string>();
      scanTokens(note.title, (term) => terms.add(term));
      return terms;
    });
    // The title field counted once per note, not once per chunk.
    const lengths = notes.map((note, number) => note.length - (note.chunks - 1) * FIELD_WEIGHTS.title * (this.titleTerms[number]?.size ?? 0));
    const total = lengths.reduce((sum, length) => sum + length, 0);
    const average = lengths.length > 0 && total > 0 ? total / lengths.length : 1;
    this.lengthNorms = Float64Array.from(lengths, (length) => 1 - NOTE_B + (NOTE_B * length) / average);
    if (postings !== undefined) {
      this.keyword = postings.keyword;
      this.noteOfDocument = new Int32Array(postings.keyword.size).fill(-1);
      for (const chunk of postings.chunks) {
        const document = postings.keyword.numberOfId(chunk.id);
        if (document !== undefined) this.noteOfDocument[document] = this.numbers.get(chunk.note) ?? -1;
      }
    }
  }

  /** The scorer of a files-backend generation: note totals from its chunks and keyword index. */
  static fromKeywordIndex(keyword: KeywordIndex, chunks: readonly { id: string; note: string; title: string }[]): NoteKeywordScores {
    const totals = new Map<string, NoteTotals>();
    for (const chunk of chunks) {
      const document = keyword.numberOfId(chunk.id);
      if (document === undefined) continue;
      const note = totals.get(chunk.note) ?? { path: chunk.note, chunks: 0, length: 0, title: chunk.title };
      note.chunks += 1;
      note.length += keyword.lengthOf(document);
      totals.set(chunk.note, note);
    }
    return new NoteKeywordScores([...totals.values()], keyword.saturation, { keyword, chunks });
  }

  get size(): number {
    return this.paths.length;
  }

  /**
   * BM25 of every note sharing a term with `query` (files backend): one pass over the postings of
   * the query's terms, summed per note in typed arrays (a common word's postings cover thousands
   * of chunks).
   */
  search(query: string): NoteScores {
    const keyword = this.keyword;
    const noteOf = this.noteOfDocument;
    if (keyword === undefined || noteOf === undefined) throw new Error('NoteKeywordScores.search needs a keyword index (fromKeywordIndex)');
    const count = this.paths.length;
    const scores = new Float64Array(count);
    const sums = new Float64Array(count);
    const touched = new Int32Array(count);
    for (const term of keyword.searchTerms(query)) {
      let touchedCount = 0;
      keyword.forEachPosting(term, (document, frequency) => {
        const note = noteOf[document] ?? -1;
        if (note < 0) return;
        if (sums[note] === 0) touched[touchedCount++] = note;
        sums[note] = (sums[note] ?? 0) + frequency;
      });
      const idf = Math.log1p((count - touchedCount + 0.5) / (touchedCount + 0.5));
      for (let position = 0; position < touchedCount; position++) {
        const note = touched[position]!;
        scores[note] = (scores[note] ?? 0) + this.gain(note, term, sums[note]!, idf);
        sums[note] = 0;
      }
    }
    let best = 0;
    for (let note = 0; note < count; note++) best = Math.max(best, scores[note]!);
    return {
      best,
      get: (path) => {
        const note = this.numbers.get(path);
        const score = note === undefined ? 0 : (scores[note] ?? 0);
        return score > 0 ? score : undefined;
      },
    };
  }

  /** One term's BM25 gain for a note, from the sum of its chunks' frequencies (the title's repeats taken out). */
  private gain(note: number, term: string, frequencySum: number, idf: number): number {
    const repeats = this.titleTerms[note]?.has(term) ? ((this.chunkCount[note] ?? 1) - 1) * FIELD_WEIGHTS.title : 0;
    const frequency = frequencySum - repeats;
    return (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * (this.lengthNorms[note] ?? 1));
  }

  /**
   * BM25 of each note from its chunks' summed frequencies: term -> note path -> the sum over the
   * note's chunks of the term's weighted frequency. Higher is better.
   */
  score(summed: ReadonlyMap<string, ReadonlyMap<string, number>>): Map<string, number> {
    const scores = new Map<string, number>();
    for (const [term, frequencies] of summed) {
      const idf = Math.log1p((this.paths.length - frequencies.size + 0.5) / (frequencies.size + 0.5));
      for (const [path, frequencySum] of frequencies) {
        const note = this.numbers.get(path);
        if (note === undefined) continue;
        scores.set(path, (scores.get(path) ?? 0) + this.gain(note, term, frequencySum, idf));
      }
    }
    return scores;
  }
}
