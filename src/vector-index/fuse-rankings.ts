/** Reciprocal-rank fusion (Cormack et al. 2009): the ranking rule every index backend follows. */

/** The RRF constant from the original paper; it damps the influence of any single ranking's top. */
export const RRF_K = 60;

export type Ranking = string[];
export interface WeightedRanking {
  ids: Ranking;
  weight: number;
}

/**
 * Reciprocal-rank fusion of several rankings of ids; returns ids best first with their fused score
 * (ties by id). A ranking may carry a weight (default 1): its contributions are multiplied by it.
 */
export function fuseRankings(rankings: (Ranking | WeightedRanking)[], k = RRF_K): { id: string; fused: number }[] {
  const scores = new Map<string, number>();
  for (const entry of rankings) {
    const { ids, weight } = Array.isArray(entry) ? { ids: entry, weight: 1 } : entry;
    ids.forEach((id, rank) => scores.set(id, (scores.get(id) ?? 0) + weight / (k + rank + 1)));
  }
  return [...scores.entries()]
    .map(([id, fused]) => ({ id, fused }))
    .sort((a, b) => b.fused - a.fused || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Cosine distance (0 = same direction, 2 = opposite) as the similarity users read, 0..1. */
export function distanceToSimilarity(distance: number): number {
  return Math.min(1, Math.max(0, 1 - distance));
}
