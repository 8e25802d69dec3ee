/**
 * The ranking rule every index backend follows. Weighted score fusion (pure): each retrieval half gives its candidates scores normalised to 0..1,
 * and the fused score is their weighted mean (a convex combination; Bruch et al., "An Analysis of
 * Fusion Functions for Hybrid Retrieval", 2023). Unlike reciprocal-rank fusion, a half with a low
 * weight can only reorder what the other half scores as nearly equal; it cannot lift its own
 * favourite over a clearly better match.
 */

export interface ScoredHit {
  id: string;
  score: number;
}

export interface ScoredList {
  /** Scores normalised to 0..1 (1 = this half's best). Missing ids count as 0. */
  scores: ReadonlyMap<string, number>;
  weight: number;
}

/**
 * Scores divided by the best one. Every listed hit keeps at least LISTED_FLOOR: being found at all
 * is some evidence (a cosine of 0 still ranks the hit among the vector search's candidates).
 */
export function normaliseByMax(hits: readonly ScoredHit[]): Map<string, number> {
  const best = hits.reduce((max, hit) => Math.max(max, hit.score), 0);
  const scores = new Map<string, number>();
  for (const hit of hits) scores.set(hit.id, Math.max(LISTED_FLOOR, best > 0 ? hit.score / best : 0));
  return scores;
}

/** The least normalised score of a hit a search returned. */
export const LISTED_FLOOR = 1e-6;

/** Ids of all lists, best first, with fused = Σ weight·score / Σ weight (0..1); ties by id. */
export function fuseScores(lists: readonly ScoredList[]): { id: string; fused: number }[] {
  const totalWeight = lists.reduce((sum, list) => sum + Math.max(0, list.weight), 0);
  const fused = new Map<string, number>();
  if (totalWeight <= 0) return [];
  for (const list of lists) {
    const weight = Math.max(0, list.weight) / totalWeight;
    for (const [id, score] of list.scores) fused.set(id, (fused.get(id) ?? 0) + weight * score);
  }
  return [...fused.entries()]
    .map(([id, value]) => ({ id, fused: value }))
    .sort((a, b) => b.fused - a.fused || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * How much the whole note's keyword score counts beside the chunk's own (the chunk's counts 1): a
 * chunk of a note that is about the question as a whole beats an equally matching chunk of an
 * unrelated note.
 */
export const NOTE_SCORE_WEIGHT = 0.3;

/** Whole-note scores of one query: the best of them, and each note's (undefined: it shares no term). */
export interface NoteScores {
  readonly best: number;
  get(note: string): number | undefined;
}

/** Note scores held in a map, by note path. */
export function noteScoresOf(scores: ReadonlyMap<string, number>): NoteScores {
  let best = 0;
  for (const score of scores.values()) best = Math.max(best, score);
  return { best, get: (note) => scores.get(note) };
}

/** A chunk's keyword score (normalised) mixed with its note's (normalised), 0..1. */
export function mixNoteScores(
  chunkScores: ReadonlyMap<string, number>,
  noteOf: (id: string) => string | undefined,
  noteScores: Pick<ReadonlyMap<string, number>, 'get'>,
): Map<string, number> {
  const mixed = new Map<string, number>();
  for (const [id, score] of chunkScores) {
    const note = noteOf(id);
    const noteScore = note === undefined ? 0 : (noteScores.get(note) ?? 0);
    mixed.set(id, (score + NOTE_SCORE_WEIGHT * noteScore) / (1 + NOTE_SCORE_WEIGHT));
  }
  return mixed;
}

/** What one query's searches found: raw scores, higher is better, each list only comparable within itself. */
export interface QueryFindings {
  /** The query's weight (a follow-up's contextual query counts double). */
  weight: number;
  /** Cosine similarities of the vector search's candidates (absent when it did not run). */
  vector?: readonly ScoredHit[];
  /** BM25F scores of the keyword search's candidates (absent when it did not run). */
  keyword?: readonly ScoredHit[];
  /** Whole-note BM25 of the notes sharing a term with the query. */
  notes?: NoteScores;
}

/**
 * The hybrid's rule, the same in every backend: each ranking normalised by its best; a chunk's
 * keyword score mixed with its note's; the vector rankings weighted by `vectorWeight` (BM25's
 * counting 1) times the query's weight; fused by the weighted mean. Best first, ties by id.
 */
export function fuseFindings(
  queries: readonly QueryFindings[],
  vectorWeight: number,
  noteOf: (id: string) => string | undefined,
): { id: string; fused: number }[] {
  const lists: ScoredList[] = [];
  for (const query of queries) {
    if (query.vector !== undefined && vectorWeight > 0) lists.push({ scores: normaliseByMax(query.vector), weight: query.weight * vectorWeight });
    if (query.keyword !== undefined) {
      let scores = normaliseByMax(query.keyword);
      if (NOTE_SCORE_WEIGHT > 0 && query.notes !== undefined && scores.size > 0) {
        const notes = query.notes;
        scores = mixNoteScores(scores, noteOf, { get: (note) => (notes.best > 0 ? (notes.get(note) ?? 0) / notes.best : 0) });
      }
      lists.push({ scores, weight: query.weight });
    }
  }
  return fuseScores(lists);
}

/** Cosine distance (0 = same direction, 2 = opposite) as the similarity users read, 0..1. */
export function distanceToSimilarity(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance));
}
