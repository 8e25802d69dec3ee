// @ts-check
/**
 * Two marks on an answer (issue 12), kept out of app.js: a reasoning model's thinking, folded under
 * "Reasoning" (SSE `reasoning` events; never part of the answer), and the notice a written answer gets
 * at its end (`done.notice`: it cites none of the notes, or Ollama cut the prompt). Text only: reasoning
 * is model output, so it is shown with textContent, never parsed as Markdown or HTML.
 */

/**
 * A folded "Reasoning" block, hidden until the first reasoning text arrives.
 * @returns {{ element: HTMLDetailsElement, append(text: string): void }}
 */
export function reasoningFold() {
  const element = document.createElement('details');
  element.className = 'reasoning';
  element.hidden = true;
  const summary = document.createElement('summary');
  summary.textContent = 'Reasoning';
  const body = document.createElement('div');
  body.className = 'reasoning-text';
  element.append(summary, body);
  return {
    element,
    append(text) {
      if (text === '') return;
      body.textContent = (body.textContent ?? '') + text;
      element.hidden = false;
    },
  };
}

/**
 * Shows the notice of a finished answer beside any notice the sources event gave, and marks a written
 * answer that cites nothing (`data-grounded="uncited"` on the turn, which the stylesheet flags).
 * @param {{ turn: HTMLElement, notice: HTMLElement }} elements
 * @param {{ notice?: unknown, cited?: unknown, answerable?: unknown }} done
 * @param {string | null} mode the answer's mode: any written mode (ollama, openai) can be uncited
 */
export function markFinishedAnswer(elements, done, mode) {
  const notice = typeof done.notice === 'string' ? done.notice : '';
  const shown = elements.notice.hidden ? '' : (elements.notice.textContent ?? '');
  // A JSON answer's notice already holds both parts, and setSources has shown it.
  if (notice !== '' && !shown.includes(notice)) {
    elements.notice.textContent = shown === '' ? notice : `${shown} ${notice}`;
    elements.notice.hidden = false;
  }
  const uncited = mode !== null && mode !== 'extractive' && done.answerable !== false && Array.isArray(done.cited) && done.cited.length === 0;
  if (uncited) elements.turn.dataset['grounded'] = 'uncited';
  else delete elements.turn.dataset['grounded'];
}
