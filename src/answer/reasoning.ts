/**
 * Separates a model's reasoning from its answer in a stream of text pieces (pure). Reasoning models
 * write `<think>…</think>` before the answer; when a chat template already opened the block, the
 * stream starts inside it and only a lone `</think>` marks its end (issue 12). Chat-template control
 * tokens that leak into the text (`<|im_end|>`, `<end_of_turn>`, `[/INST]`) are dropped. Tags may be
 * split across pieces at any character.
 */

export type ReplyPart =
  | { kind: 'answer'; text: string }
  | { kind: 'reasoning'; text: string }
  /** The answer text sent so far turned out to be reasoning (a lone `</think>` came late): start again. */
  | { kind: 'restart' };

/**
 * Reasoning tags and leaked template tokens, matched case-insensitively. A turn header carries its
 * role (`<|im_start|>assistant`, `<start_of_turn>model`), which goes with it.
 */
const MARKUP =
  /<(\/?)(think|thinking)>|(?:<\|(?:im_start|start_header_id)\|>|<start_of_turn>)(?:system|user|assistant|model)?(?:<\|end_header_id\|>)?\n?|<\|[^|<>\s]{1,40}\|>|<\/s>|<end_of_turn>|<eos>|\[\/?INST\]/gi;

/** A tail that may be the first characters of MARKUP (or a turn header's role), held until the next piece settles it. */
const PARTIAL_MARKUP =
  /(?:(?:<\|(?:im_start|start_header_id)\|>|<start_of_turn>)(?:[a-z]{0,9}(?:<[^<>\s]{0,17})?)?|<[^<>\s]{0,46}|\[\/?(?:I(?:N(?:S(?:T)?)?)?)?)$/i;

/**
 * Model names whose replies may begin inside a reasoning block (their template opens it), so text is
 * held back until the block's end or the reply's end. Other models stream at once.
 */
const REASONING_FAMILIES = /deepseek-r1|r1-distill|qwq|qwen3|magistral|phi4-reasoning|exaone-deep|openthinker|cogito|gpt-oss|smallthinker|marco-o1|reason|think/i;

export function mayOpenInReasoning(model: string): boolean {
  return REASONING_FAMILIES.test(model);
}

export class ReasoningSplitter {
  private pending = '';
  private inside = false;
  /** Text that may be reasoning whose opening tag we never saw; released at the end or at `<think>`. */
  private held: string | undefined;
  private answerStarted = false;

  /** @param holdLeading hold the reply's text back until a `</think>` (or the end) says what it was. */
  constructor(holdLeading: boolean) {
    this.held = holdLeading ? '' : undefined;
  }

  /**
   * The model's reasoning arrived on its own channel (Ollama's `message.thinking`): the server has
   * separated it, so the content will not open inside a block and need not be held.
   */
  separateChannel(): ReplyPart[] {
    if (this.held === undefined) return [];
    const held = this.held;
    this.held = undefined;
    return this.answer(held);
  }

  push(piece: string): ReplyPart[] {
    const text = this.pending + piece;
    const partial = PARTIAL_MARKUP.exec(text);
    this.pending = partial ? partial[0] : '';
    return this.process(partial ? text.slice(0, partial.index) : text);
  }

  end(): ReplyPart[] {
    const parts = this.process(this.pending);
    this.pending = '';
    if (this.held !== undefined) {
      const held = this.held;
      this.held = undefined;
      parts.push(...this.answer(held));
    }
    return parts;
  }

  private process(text: string): ReplyPart[] {
    const parts: ReplyPart[] = [];
    let last = 0;
    for (const match of text.matchAll(MARKUP)) {
      parts.push(...this.text(text.slice(last, match.index)));
      last = match.index + match[0].length;
      if (match[2] === undefined) continue; // a leaked template token: dropped
      if (match[1] === '') {
        // An explicit opening tag: the model writes its own tags, so nothing before it was reasoning.
        if (this.held !== undefined) parts.push(...this.answer(this.takeHeld()));
        this.inside = true;
      } else if (this.inside) {
        this.inside = false;
      } else {
        // A lone closing tag: everything before it was reasoning.
        const held = this.takeHeld();
        if (held.trim() !== '') parts.push({ kind: 'reasoning', text: held });
        if (this.answerStarted) {
          parts.push({ kind: 'restart' });
          this.answerStarted = false;
        }
      }
    }
    parts.push(...this.text(text.slice(last)));
    return merge(parts);
  }

  private takeHeld(): string {
    const held = this.held ?? '';
    this.held = undefined;
    return held;
  }

  private text(text: string): ReplyPart[] {
    if (text === '') return [];
    if (this.inside) return [{ kind: 'reasoning', text }];
    if (this.held !== undefined) {
      this.held += text;
      return [];
    }
    return this.answer(text);
  }

  private answer(text: string): ReplyPart[] {
    // Whitespace between a reasoning block and the answer is not part of the answer.
    const shown = this.answerStarted ? text : text.replace(/^\s+/, '');
    if (shown === '') return [];
    this.answerStarted = true;
    return [{ kind: 'answer', text: shown }];
  }
}

/** Adjacent parts of the same kind become one. */
function merge(parts: ReplyPart[]): ReplyPart[] {
  const merged: ReplyPart[] = [];
  for (const part of parts) {
    const previous = merged.at(-1);
    if (previous !== undefined && previous.kind === part.kind && part.kind !== 'restart' && previous.kind !== 'restart') {
      (previous as { text: string }).text += part.text;
    } else merged.push({ ...part });
  }
  return merged;
}
