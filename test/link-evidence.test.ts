import { describe, expect, it } from 'vitest';
import { addLinkEvidence } from '../src/answer/link-evidence.ts';
import { createLinkResolver } from '../src/notes/resolve-links.ts';

const CHUNKS: Record<string, { note: string; text: string }> = {
  a: { note: 'hub.md', text: 'See [[Details]] and [[Other|the other one]].' },
  b: { note: 'plain.md', text: 'No links here.' },
  c: { note: 'notes/Details.md', text: 'The details.' },
  d: { note: 'Other.md', text: 'Something else.' },
  e: { note: 'far.md', text: 'Links to [[Details]], but ranks too low to count.' },
};
const resolve = createLinkResolver(Object.values(CHUNKS).map((chunk) => chunk.note));
const hit = (id: string, fused: number) => ({ chunk: { id, ...CHUNKS[id]! }, fused });
const options = { strongHits: 2, weight: 1, rrfK: 60 };

describe('addLinkEvidence', () => {
  it('lifts candidates from notes that a strong hit links to, by the linking hit\'s rank', () => {
    const ranked = [
      hit('a', 0.03),
      hit('b', 0.029),
      hit('e', 0.02),
      hit('d', 0.012),
      hit('c', 0.01),
    ];
    const lifted = addLinkEvidence(ranked, resolve, options);
    expect(lifted.map((lift) => lift.chunk.id)).toEqual(['a', 'b', 'd', 'c', 'e']);
    expect(lifted.find((lift) => lift.chunk.id === 'c')?.fused).toBeCloseTo(0.01 + 1 / 61, 10);
    // Ranks stay ordered by score.
    for (let index = 1; index < lifted.length; index += 1) expect(lifted[index]!.fused).toBeLessThanOrEqual(lifted[index - 1]!.fused);
  });

  it.each([
    ['weight 0', { ...options, weight: 0 }],
    ['the linking hit is not strong', { ...options, strongHits: 0 }],
  ])('changes nothing with %s', (_what, settings) => {
    const ranked = [
      hit('a', 0.03),
      hit('b', 0.02),
      hit('c', 0.01),
    ];
    expect(addLinkEvidence(ranked, resolve, settings)).toEqual(ranked);
  });
});
