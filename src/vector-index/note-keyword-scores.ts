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
import { FIELD_WEIGHTS, type KeywordIndex } from './keyword-index.ts';

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

  constructor(notes: readonly NoteTotals[], k1: number) {
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
    const scorer = new NoteKeywordScores([...totals.values()], keyword.saturation);
    scorer.keyword = keyword;
    scorer.noteOfDocument = new Int32Array(keyword.size).fill(-1);
    for (const chunk of chunks) {
      const document = keyword.numberOfId(chunk.id);
      if (document !== undefined) scorer.noteOfDocument[document] = scorer.numbers.get(chunk.note) ?? -1;
    }
    return scorer;
  }

  private keyword: KeywordIndex | undefined;
  private noteOfDocument: Int32Array | undefined;

  get size(): number {
    return this.paths.length;
  }

  /** BM25 score of every note sharing a term with `query`, by note path (files backend). */
  search(query: string): Map<string, number> {
    const keyword = this.keyword;
    const noteOf = this.noteOfDocument;
    if (keyword === undefined || noteOf === undefined) throw new Error('NoteKeywordScores.search needs a keyword index (fromKeywordIndex)');
    const summed = new Map<string, Map<string, number>>();
    for (const term of keyword.searchTerms(query)) {
      const frequencies = new Map<string, number>();
      keyword.forEachPosting(term, (document, frequency) => {
        const path = this.paths[noteOf[document] ?? -1];
        if (path !== undefined) frequencies.set(path, (frequencies.get(path) ?? 0) + frequency);
      });
      summed.set(term, frequencies);
    }
    return this.score(summed);
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
        const repeats = this.titleTerms[note]?.has(term) ? ((this.chunkCount[note] ?? 1) - 1) * FIELD_WEIGHTS.title : 0;
        const frequency = frequencySum - repeats;
        const gain = (idf * frequency * (this.k1 + 1)) / (frequency + this.k1 * (this.lengthNorms[note] ?? 1));
        scores.set(path, (scores.get(path) ?? 0) + gain);
      }
    }
    return scores;
  }
}
