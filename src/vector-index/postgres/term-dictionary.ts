/**
 * The keyword statistics of a Postgres index version, held in memory by each reader: document
 * frequency per term (from the `terms` table), the chunk count and the average chunk length. They
 * weigh the question's terms (IDF) exactly as the files backend's keyword index does, pick the forms
 * of a word the notes use, and serve the answer engine and the local embedder (`TermStatistics`).
 */
import { tokenize } from '../../embeddings/tokenize.ts';
import type { KeywordStatistics } from '../index-backend.ts';
import { bm25Idf, expandQueryTerms, variantsIn } from '../bm25f.ts';
import type { WeightedTerm } from './hybrid-query.ts';

export class TermDictionary implements KeywordStatistics {
  readonly size: number;
  readonly averageLength: number;
  private readonly frequencies: ReadonlyMap<string, number>;
  private sorted: string[] | undefined;

  constructor(frequencies: ReadonlyMap<string, number>, size: number, termTotal: number) {
    this.frequencies = frequencies;
    this.size = size;
    this.averageLength = size > 0 && termTotal > 0 ? termTotal / size : 1;
  }

  documentFrequency(term: string): number {
    return this.frequencies.get(term) ?? 0;
  }

  idf(term: string): number {
    return bm25Idf(this.size, this.documentFrequency(term));
  }

  /** The indexed terms a query searches for (a form the notes lack is looked up in the forms they use), with their IDF. */
  queryTerms(query: string): WeightedTerm[] {
    const terms = expandQueryTerms(
      [...new Set(tokenize(query))],
      (term) => this.frequencies.has(term),
      (term) => variantsIn((this.sorted ??= [...this.frequencies.keys()].sort()), term),
    );
    return terms.map((term) => ({ term, idf: this.idf(term) }));
  }
}
