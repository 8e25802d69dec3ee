/**
 * Did the model say, in its own words, that the sources do not contain the answer? (pure; issue 12)
 *
 * Models rarely use the exact sentence the prompt asks for: "I couldn't find any information about
 * that in the provided sources", "The notes do not mention this", "None of the sources cover…". And
 * many good answers also mention what is missing: "Use depends_on [1]. The notes don't say which
 * version added it." So an answer abstains when one of its sentences says the sources lack the
 * answer and no part of it makes a cited claim. A cited part counts as a claim unless it is itself
 * the statement of absence ("The notes do not mention this [1]") or only says what the sources are
 * about ("Source 1 only covers Compose tips [1]", "[1][2] discuss caching, but neither mentions…").
 */
import { proseAndCode } from './citations.ts';

const SOURCE = String.raw`(?:notes?|sources?|context(?!\s+of\b)|documents?|docs|passages?|excerpts?|snippets?|materials?|references?|knowledge\s+base|texts?)`;
const WHOSE = String.raw`(?:the\s+|your\s+|these\s+|those\s+|my\s+|any\s+(?:of\s+the\s+)?|this\s+)?(?:provided\s+|given\s+|supplied\s+|available\s+|above\s+|shared\s+|attached\s+|retrieved\s+)?`;
const NEGATION = String.raw`(?:do(?:es)?\s*n['’]?o?t|did\s*n['’]?o?t|never|fail\s+to|appear\s+not\s+to|seem\s+not\s+to|make\s+no|contain\s+no|have\s+no|has\s+no|provide\s+no|offer\s+no|include\s+no|give\s+no|lack)`;
const COVER = String.raw`(?:mention|contain|cover|include|provide|say|specify|state|address|discuss|describe|answer|talk|give|offer|explain|detail|list|have|reference|touch|indicate|show|clarify|tell|reveal|appear|seem|identify|name|deal|go\s+into|spell|elaborate|information|details?|data|answer)`;

/** Sentence-level statements that the sources lack the answer. */
const ABSENCE = [
  // "The notes do not mention…", "the sources you shared don't say…", "the context lacks…"
  new RegExp(String.raw`\b${SOURCE}\b[^.;:!?]{0,40}?\b${NEGATION}\b[^.;:!?]{0,25}?\b${COVER}`, 'i'),
  // "the notes are silent on this"
  new RegExp(String.raw`\b${SOURCE}\b[^.;:!?]{0,30}?\b(?:are|is)\s+silent\b`, 'i'),
  // "None of the sources…", "neither source mentions…", "neither of them says…"
  new RegExp(String.raw`\b(?:none|neither)\s+of\s+${WHOSE}${SOURCE}\b|\bneither\s+${SOURCE}\b|\bneither\b[^.;:!?]{0,40}?\b(?:mentions?|says?|covers?|contains?|addresses|discuss(?:es)?|specif(?:y|ies)|includes?|answers?)\b`, 'i'),
  // "nothing in the notes about…", "no relevant information was found in the sources"
  new RegExp(String.raw`\b(?:no|nothing|not\s+any)\b[^.;:!?]{0,40}?\b(?:in|within|from|among|across)\s+${WHOSE}${SOURCE}\b`, 'i'),
  // "there is no mention of…", "No information is provided about…"
  /\bno\s+(?:relevant\s+|specific\s+|further\s+|additional\s+|such\s+|direct\s+|explicit\s+|clear\s+|detailed\s+)?(?:mention|information|info|details?|data|reference|indication|answer|record|evidence)\s+(?:of|about|on|regarding|concerning|as\s+to|for|provided|given|available|in|that|was|were|is|are|to)\b/i,
  // "is not available in the provided sources", "isn't covered in the notes", "not found in your notes"
  new RegExp(String.raw`(?:\bnot|n['’]t)\b[^.;:!?]{0,50}?\b(?:in|within|from|by|among)\s+${WHOSE}${SOURCE}\b`, 'i'),
  // "I can't answer…", "I cannot determine…", "I don't have enough information", "I don't know"
  /\b(?:i|we)\b[^.;:!?]{0,15}?\b(?:can['’]?t|cannot|can\s+not|could\s*n['’]?o?t|am\s+unable\s+to|['’]m\s+unable\s+to|was\s+unable\s+to|am\s+not\s+able\s+to|['’]m\s+not\s+able\s+to|do\s*n['’]?o?t|did\s*n['’]?o?t)\s+(?:\w+\s+){0,2}?(?:answer|determine|find|tell|say|provide|confirm|know|locate|see|identify|help|have\s+(?:enough|any|sufficient|the|that|this|specific|relevant))\b/i,
  // "beyond the scope of the notes"
  new RegExp(String.raw`\b(?:beyond|outside)\s+(?:the\s+)?(?:scope|content)\s+of\s+${WHOSE}${SOURCE}\b`, 'i'),
];

/** Verbs that say what a source is about rather than what it says. */
const TOPICAL = /\b(?:covers?|discuss(?:es)?|talks?\s+about|mentions?|describes?|(?:is|are)\s+about|focus(?:es)?\s+on|deals?\s+with|relates?\s+to|refers?\s+to|concerns?)\b/i;
const ONLY = /\b(?:only|just|merely|instead|mainly|mostly|solely)\b/i;

const CITATION_MARK = /\[\d+\]/;

function isAbsence(text: string): boolean {
  return ABSENCE.some((pattern) => pattern.test(text));
}

/** Clauses of a sentence: split at commas, semicolons, colons, dashes and contrasting words. */
function clauses(sentence: string): string[] {
  return sentence
    .split(/[,;:]\s|\s[—–-]\s|—|\b(?:but|however|though|although|while|whereas|yet)\b/i)
    .map((clause) => clause.trim())
    .filter((clause) => clause !== '');
}

/** True when the answer says the sources lack the answer and makes no cited claim of its own. */
export function saysNotInSources(answer: string): boolean {
  // Code says nothing about the sources; keep its place so sentences stay apart.
  const prose = proseAndCode(answer)
    .map((part) => (part.code ? ' code ' : part.text))
    .join('')
    .replace(/[*_]+/g, '')
    .replace(/\s+/g, (space) => (space.includes('\n') ? '\n' : ' '));
  const sentences = prose.split(/(?<=[.!?])\s+|\n+/).filter((sentence) => sentence.trim() !== '');
  if (!sentences.some(isAbsence)) return false;
  for (const sentence of sentences) {
    const absent = isAbsence(sentence);
    let absenceSeen = false;
    for (const clause of clauses(sentence)) {
      if (isAbsence(clause)) {
        absenceSeen = true;
        continue;
      }
      if (!CITATION_MARK.test(clause)) continue;
      const onlyTopic = TOPICAL.test(clause) && (ONLY.test(clause) || (absent && !absenceSeen));
      if (!onlyTopic) return false; // a cited claim: the model answered
    }
  }
  return true;
}
