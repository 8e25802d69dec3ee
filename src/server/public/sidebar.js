// @ts-check
/**
 * The saved-conversations sidebar (issue 15): newest first, titled from the first question; open,
 * rename (inline, Enter saves, Escape cancels), delete with undo, and search by text. Every title and
 * text is inserted as text. Keyboard: every action is a button; the list is a plain list of them.
 */
import { byId, h } from './dom.js';

/** @typedef {import('./conversation-store.js').Conversation} Conversation */
/** @typedef {import('./conversation-store.js').ConversationStore} ConversationStore */

const UNDO_MS = 10_000;

const ui = {
  search: byId('conversation-search', HTMLInputElement),
  list: byId('conversation-list', HTMLElement),
  empty: byId('conversation-empty', HTMLElement),
  undo: byId('undo', HTMLElement),
};

/** @param {Conversation} conversation @param {string} query */
function matches(conversation, query) {
  if (query === '') return true;
  const haystack = [conversation.title, ...conversation.turns.flatMap((turn) => [turn.question, turn.answer])].join('\n').toLowerCase();
  return query.toLowerCase().split(/\s+/).every((word) => haystack.includes(word));
}

/** @param {number} time */
function when(time) {
  const date = new Date(time);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/**
 * @param {{
 *   store: ConversationStore,
 *   currentId(): string | null,
 *   onOpen(conversation: Conversation): void,
 *   onDeleted(id: string): void,
 * }} options
 */
export function createSidebar(options) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let undoTimer;

  async function refresh() {
    const all = await options.store.list();
    const query = ui.search.value.trim();
    const shown = all.filter((conversation) => matches(conversation, query));
    ui.list.replaceChildren(...shown.map(item));
    ui.empty.hidden = shown.length > 0;
    ui.empty.textContent = all.length === 0 ? 'No saved conversations yet.' : 'No conversation matches.';
  }

  /** @param {Conversation} conversation */
  function item(conversation) {
    const title = conversation.title || 'Untitled';
    const open = h(
      'button',
      { className: 'conversation-open', attributes: { type: 'button' } },
      h('span', { className: 'conversation-title', text: title }),
      h('span', { className: 'conversation-date', text: when(conversation.updatedAt) }),
    );
    if (conversation.id === options.currentId()) open.setAttribute('aria-current', 'true');
    open.addEventListener('click', () => options.onOpen(conversation));
    const rename = h('button', { className: 'ghost small', text: 'Rename', attributes: { type: 'button', 'aria-label': `Rename “${title}”` } });
    rename.addEventListener('click', () => startRename(conversation, row, open));
    const remove = h('button', { className: 'ghost small', text: 'Delete', attributes: { type: 'button', 'aria-label': `Delete “${title}”` } });
    remove.addEventListener('click', () => void deleteConversation(conversation));
    const row = h('li', { className: 'conversation-item', attributes: { 'data-id': conversation.id } }, open, h('span', { className: 'conversation-actions' }, rename, remove));
    return row;
  }

  /**
   * @param {Conversation} conversation
   * @param {HTMLElement} row
   * @param {HTMLButtonElement} open
   */
  function startRename(conversation, row, open) {
    const input = h('input', { className: 'conversation-rename', attributes: { type: 'text', 'aria-label': 'New name', maxlength: '120' } });
    input.value = conversation.title;
    open.replaceWith(input);
    input.focus();
    input.select();
    let finished = false;
    /** @param {boolean} save */
    const finish = async (save) => {
      if (finished) return;
      finished = true;
      const name = input.value.replace(/\s+/g, ' ').trim();
      if (save && name !== '' && name !== conversation.title) {
        const stored = await options.store.get(conversation.id);
        if (stored) await options.store.put({ ...stored, title: name });
      }
      await refresh();
      /** @type {HTMLElement | null} */ (ui.list.querySelector(`[data-id="${CSS.escape(conversation.id)}"] .conversation-open`))?.focus();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        void finish(true);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        void finish(false);
      }
    });
    input.addEventListener('blur', () => void finish(true));
    void row;
  }

  /** @param {Conversation} conversation */
  async function deleteConversation(conversation) {
    const saved = await options.store.get(conversation.id);
    await options.store.remove(conversation.id);
    options.onDeleted(conversation.id);
    await refresh();
    clearTimeout(undoTimer);
    const undo = h('button', { className: 'small', text: 'Undo', attributes: { type: 'button' } });
    ui.undo.replaceChildren(h('span', { text: `Deleted “${conversation.title || 'Untitled'}”. ` }), undo);
    ui.undo.hidden = false;
    undo.focus();
    undo.addEventListener('click', async () => {
      clearTimeout(undoTimer);
      if (saved) await options.store.put(saved);
      ui.undo.replaceChildren(h('span', { text: `Restored “${conversation.title || 'Untitled'}”.` }));
      await refresh();
      /** @type {HTMLElement | null} */ (ui.list.querySelector(`[data-id="${CSS.escape(conversation.id)}"] .conversation-open`))?.focus();
      undoTimer = setTimeout(() => (ui.undo.hidden = true), 3_000);
    });
    undoTimer = setTimeout(() => {
      ui.undo.hidden = true;
      ui.undo.replaceChildren();
    }, UNDO_MS);
  }

  ui.search.addEventListener('input', () => void refresh());
  return { refresh };
}
