/**
 * Question-set scoring as `../shared/eval/README.md` defines it (pure).
 */
import { z } from 'zod';

export const evalQuestionSchema = z.union([
  z.object({
    id: z.string(),
    question: z.string().min(1),
    unanswerable: z.literal(true),
  }),
  z.object({
    id: z.string(),
    question: z.string().min(1),
    /** The note the evidence must come from: its path relative to the notes folder. */
    note: z.string().min(1).optional(),
    evidence: z.array(z.string()).min(1),
    answer: z.array(z.string()).min(1),
  }),
]);

export type EvalQuestion = z.infer<typeof evalQuestionSchema>;

/** Lower-case, drop the characters * _ # > ` ", collapse white space, trim. */
export function normaliseForEval(text: string): string {
  return text.toLowerCase().replace(/[*_#>`"]/g, '').replace(/\s+/g, ' ').trim();
}

export function parseQuestionSet(text: string): EvalQuestion[] {
  return text
    .split('\n')
    .map((line, position) => ({ line: line.trim(), position }))
    .filter(({ line }) => line !== '')
    .map(({ line, position }) => {
      const parsed = evalQuestionSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`line ${position + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return parsed.data;
    });
}

/** A retrieved source as scoring sees it: the note it comes from and its text. */
export interface EvalSource {
  note: string;
  text: string;
}

export interface EvalOutcome {
  question: EvalQuestion;
  /** The sources, in rank order. */
  sources: EvalSource[];
  answer: string;
  answerable: boolean;
}

export interface EvalMetrics {
  questions: number;
  answerable: number;
  unanswerable: number;
  'hit@1': number;
  'hit@3': number;
  'hit@k': number;
  MRR: number;
  answer: number;
  abstain: number;
  false_abstain: number;
  /**
   * Share of answerable questions with a `note` where no source is relevant but one comes from that
   * note: the right note, the wrong chunk of it.
   */
  wrong_chunk: number;
  /** Mean length in characters of the sources returned for answerable questions. */
  mean_source_chars: number;
}

/**
 * 1-based rank of the first relevant source, or 0 when none is relevant. A source is relevant when
 * its text contains an evidence string and, when the question names a `note`, it comes from that note.
 */
export function firstRelevantRank(
  wanted: { evidence: readonly string[]; note?: string | undefined },
  sources: readonly EvalSource[],
): number {
  const pieces = wanted.evidence.map(normaliseForEval);
  const index = sources.findIndex((source) => {
    if (wanted.note !== undefined && source.note !== wanted.note) return false;
    const text = normaliseForEval(source.text);
    return pieces.some((piece) => text.includes(piece));
  });
  return index + 1;
}

export function containsAnswer(expected: readonly string[], answer: string): boolean {
  const text = normaliseForEval(answer);
  return expected.some((piece) => text.includes(normaliseForEval(piece)));
}

const share = (count: number, total: number) => (total === 0 ? 0 : count / total);

export function scoreOutcomes(outcomes: readonly EvalOutcome[]): { metrics: EvalMetrics; missed: { id: string; why: string }[] } {
  let hit1 = 0;
  let hit3 = 0;
  let hitK = 0;
  let reciprocal = 0;
  let answered = 0;
  let abstained = 0;
  let falseAbstained = 0;
  let answerable = 0;
  let sourceChars = 0;
  let sourceCount = 0;
  let wrongChunk = 0;
  const missed: { id: string; why: string }[] = [];
  for (const outcome of outcomes) {
    const { question } = outcome;
    if ('unanswerable' in question) {
      if (!outcome.answerable) abstained += 1;
      else missed.push({ id: question.id, why: 'answered an unanswerable question' });
      continue;
    }
    answerable += 1;
    for (const source of outcome.sources) {
      sourceChars += source.text.length;
      sourceCount += 1;
    }
    const rank = firstRelevantRank(question, outcome.sources);
    if (rank === 1) hit1 += 1;
    if (rank >= 1 && rank <= 3) hit3 += 1;
    if (rank >= 1) {
      hitK += 1;
      reciprocal += 1 / rank;
    }
    const sameNote = rank === 0 && question.note !== undefined && outcome.sources.some((source) => source.note === question.note);
    if (sameNote) wrongChunk += 1;
    const gotAnswer = outcome.answerable && containsAnswer(question.answer, outcome.answer);
    if (gotAnswer) answered += 1;
    if (!outcome.answerable) falseAbstained += 1;
    const reasons = [
      sameNote ? 'right note, wrong chunk' : rank === 0 ? 'no relevant source' : rank > 1 ? `first relevant source at rank ${rank}` : '',
      !outcome.answerable ? 'abstained' : !gotAnswer ? 'answer lacks the expected text' : '',
    ].filter((reason) => reason !== '');
    if (reasons.length > 0) missed.push({ id: question.id, why: reasons.join('; ') });
  }
  const unanswerable = outcomes.length - answerable;
  return {
    metrics: {
      questions: outcomes.length,
      answerable,
      unanswerable,
      'hit@1': share(hit1, answerable),
      'hit@3': share(hit3, answerable),
      'hit@k': share(hitK, answerable),
      MRR: share(reciprocal, answerable),
      answer: share(answered, answerable),
      abstain: share(abstained, unanswerable),
      false_abstain: share(falseAbstained, answerable),
      wrong_chunk: share(wrongChunk, answerable),
      mean_source_chars: share(sourceChars, sourceCount),
    },
    missed,
  };
}
