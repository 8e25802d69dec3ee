/**
 * The k best-scoring documents of a candidate list, without sorting them all: a size-k heap.
 * Ties go to the earlier document, so results are deterministic.
 */

/** Whether `a` ranks before `b`: higher score, then earlier document (deterministic ties). */
function ranksBefore(scores: Float64Array, a: number, b: number): boolean {
  const scoreA = scores[a] ?? 0;
  const scoreB = scores[b] ?? 0;
  return scoreA > scoreB || (scoreA === scoreB && a < b);
}

/** The k-th highest score among `candidates` (at least k of them). */
export function kthBest(candidates: Int32Array, scores: Float64Array, k: number): number {
  const best = selectTop(candidates, scores, k);
  return scores[best[best.length - 1]!]!;
}

/** The k best of `candidates`, best first: a size-k heap whose root is the worst kept. */
export function selectTop(candidates: ArrayLike<number>, scores: Float64Array, k: number): number[] {
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
