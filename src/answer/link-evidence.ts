/**
 * Links as evidence (issue 16): the notes that the strongest hits link to (`[[wikilinks]]`) are
 * likely about the question too, so their chunks already among the candidates get one more
 * reciprocal-rank contribution, as if the links were another ranking. Pure.
 */
import { linkedNotes, type LinkResolver } from '../notes/resolve-links.ts';

export interface LinkEvidenceOptions {
  /** How many of the best hits count as strong. */
  strongHits: number;
  /** Weight of the links' ranking, relative to one vector or keyword ranking (1). */
  weight: number;
  rrfK: number;
}

// Off (weight 0) until measured on the question sets; see the issue 16 report.
export const LINK_EVIDENCE: LinkEvidenceOptions = { strongHits: 2, weight: 0, rrfK: 60 };

interface Candidate {
  chunk: { id: string; note: string; text: string };
  fused: number;
}

/**
 * `ranked` (best first) re-sorted after adding, to each candidate from a note that one of the
 * `strongHits` best candidates links to, `weight / (rrfK + rank of that linking hit + 1)`.
 */
export function addLinkEvidence<T extends Candidate>(
  ranked: readonly T[],
  resolve: LinkResolver,
  options: LinkEvidenceOptions = LINK_EVIDENCE,
): T[] {
  if (options.weight <= 0) return [...ranked];
  const bonusByNote = new Map<string, number>();
  ranked.slice(0, options.strongHits).forEach(({ chunk }, rank) => {
    if (!chunk.text.includes('[[')) return;
    for (const note of linkedNotes(chunk.text, chunk.note, resolve)) {
      bonusByNote.set(note, Math.max(bonusByNote.get(note) ?? 0, options.weight / (options.rrfK + rank + 1)));
    }
  });
  if (bonusByNote.size === 0) return [...ranked];
  return ranked
    .map((candidate) => {
      const bonus = bonusByNote.get(candidate.chunk.note) ?? 0;
      return bonus === 0 ? candidate : { ...candidate, fused: candidate.fused + bonus };
    })
    .sort((a, b) => b.fused - a.fused || (a.chunk.id < b.chunk.id ? -1 : a.chunk.id > b.chunk.id ? 1 : 0));
}
