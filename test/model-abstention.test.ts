/**
 * "Not in the notes" in the model's own words (issue 12): at least 25 abstaining phrasings from
 * several model families, and 15+ answers that mention missing information but answer with citations.
 */
import { describe, expect, it } from 'vitest';
import { saysNotInSources } from '../src/answer/abstention.ts';
import { normaliseCitations } from '../src/answer/citations.ts';
import { NOT_IN_NOTES } from '../src/answer/prompt.ts';
import { ABSTAINING_REPLIES, ANSWERING_REPLIES } from './fixtures/model-replies.ts';

/** As the reply reader sees it: citations already normalised. */
const judged = (text: string) => saysNotInSources(normaliseCitations(text, [1, 2, 3, 4]).text);

describe('saysNotInSources', () => {
  it('the tables are as large as the issue asks, from at least four families', () => {
    expect(ABSTAINING_REPLIES.length).toBeGreaterThanOrEqual(25);
    expect(ANSWERING_REPLIES.length).toBeGreaterThanOrEqual(15);
    expect(new Set(ABSTAINING_REPLIES.map((reply) => reply.family)).size).toBeGreaterThanOrEqual(4);
  });

  it.each(ABSTAINING_REPLIES.map((reply) => [reply.family, reply.text] as const))('%s abstains: %j', (_family, text) => {
    expect(judged(text)).toBe(true);
  });

  it.each(ANSWERING_REPLIES.map((reply) => [reply.family, reply.text] as const))('%s answers: %j', (_family, text) => {
    expect(judged(text)).toBe(false);
  });

  it.each<[string, boolean]>([
    [NOT_IN_NOTES, true],
    [`"${NOT_IN_NOTES}"`, true],
    ['  The notes do not contain the answer.  \n', true],
    [`${NOT_IN_NOTES} They only mention Compose watch [1].`, true],
    ['The default depends_on condition is service_started [1].', false],
    ['The notes contain the answer: service_started [1].', false],
    [`${'Compose watch syncs files into running containers [1]. '.repeat(5)}${NOT_IN_NOTES}`, false],
    // Claims about the software, not about the sources.
    ['Compose does not wait for readiness unless a healthcheck is set [1].', false],
    ['Compose does not run in the context of Swarm [2].', false],
    ['There is no information loss with this method [1].', false],
    // Uncited prose that says nothing about the sources is an (ungrounded) answer, not an abstention.
    ['Compose watch syncs files into running containers.', false],
    ['The notes do not mention `docker compose alpha` [1].', true],
    ['', false],
  ])('%j -> %s', (answer, expected) => {
    expect(judged(answer)).toBe(expected);
  });
});
