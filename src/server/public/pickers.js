// @ts-check
/**
 * The composer's two pickers (issue 15): the scope of a question (all notes, a folder, a tag, or one
 * note from the citation panel's "Ask about this note"), from `GET /index/notes`; and the chat model,
 * from `GET /models`. Both are native <select>s: keyboard and screen readers work as everywhere.
 */
import { apiFetch } from './api.js';
import { byId, h, plural } from './dom.js';

/** @typedef {{ notes?: string[], tags?: string[] }} Scope */

const ui = {
  scope: byId('scope', HTMLSelectElement),
  model: byId('model', HTMLSelectElement),
};

/** Glob characters in a note path match themselves only through `?` (any one character): close enough for one note. @param {string} path */
function exactGlob(path) {
  return path.replace(/[*?[\]{}()!+@\\]/g, '?');
}

/** The `filter` for a scope value (`scope` as a conversation keeps it): "", "folder:<path>", "tag:<tag>" or "note:<path>". @param {string} value @returns {Scope | null} */
export function scopeFilter(value) {
  if (value.startsWith('folder:')) return { notes: [`${exactGlob(value.slice(7))}/**`] };
  if (value.startsWith('tag:')) return { tags: [value.slice(4)] };
  if (value.startsWith('note:')) return { notes: [exactGlob(value.slice(5))] };
  return null;
}

export function scopeValue() {
  return ui.scope.value;
}

/** @param {string} value */
export function setScopeValue(value) {
  if (value.startsWith('note:') && ![...ui.scope.options].some((option) => option.value === value)) {
    ui.scope.append(h('option', { text: `This note: ${value.slice(5)}`, attributes: { value } }));
  }
  ui.scope.value = [...ui.scope.options].some((option) => option.value === value) ? value : '';
}

/**
 * Fills the scope picker from `GET /index/notes` (kept as it is when that fails), then selects `want`.
 * @param {string} [want]
 */
export async function loadScopes(want) {
  let listing;
  if (want !== undefined) setScopeValue(want);
  try {
    const response = await apiFetch('index/notes', { headers: { Accept: 'application/json' } });
    if (!response.ok) return false;
    listing = /** @type {{ folders?: {path: string, notes: number}[], tags?: {tag: string, notes: number}[] }} */ (await response.json());
  } catch {
    return false;
  }
  const keep = ui.scope.value;
  /** @type {HTMLElement[]} */
  const options = [h('option', { text: 'All notes', attributes: { value: '' } })];
  const folders = listing.folders ?? [];
  const tags = listing.tags ?? [];
  if (folders.length > 0) {
    options.push(h('optgroup', { attributes: { label: 'Folders' } }, ...folders.map((folder) => h('option', { text: `${folder.path}/ (${plural(folder.notes, 'note')})`, attributes: { value: `folder:${folder.path}` } }))));
  }
  if (tags.length > 0) {
    options.push(h('optgroup', { attributes: { label: 'Tags' } }, ...tags.map((tag) => h('option', { text: `#${tag.tag} (${plural(tag.notes, 'note')})`, attributes: { value: `tag:${tag.tag}` } }))));
  }
  const notes = [...ui.scope.options].filter((option) => option.value.startsWith('note:'));
  ui.scope.replaceChildren(...options, ...notes);
  setScopeValue(keep);
  return true;
}

export function modelValue() {
  return ui.model.value;
}

/** @param {string | null} model */
export function setModelValue(model) {
  const value = model ?? '';
  if (value !== '' && ![...ui.model.options].some((option) => option.value === value)) {
    ui.model.append(h('option', { text: `${value} (not installed)`, attributes: { value } }));
  }
  ui.model.value = value;
}

/** Fills the model picker from `GET /models`; with Ollama away it offers only the default. */
export async function loadModels() {
  /** @type {{ default?: string, reachable?: boolean, models?: { name: string, default: boolean }[] } | null} */
  let report = null;
  try {
    const response = await apiFetch('models', { headers: { Accept: 'application/json' } });
    if (response.ok) report = await response.json();
  } catch {
    report = null;
  }
  const keep = ui.model.value;
  const models = report?.models ?? [];
  const label = report?.default ? `Default (${report.default})` : 'Default';
  ui.model.replaceChildren(
    h('option', { text: label, attributes: { value: '' } }),
    ...models.filter((model) => !model.default).map((model) => h('option', { text: model.name, attributes: { value: model.name } })),
  );
  ui.model.disabled = models.length === 0;
  ui.model.title = report?.reachable === false ? 'No chat models: Ollama is not reachable.' : '';
  setModelValue(keep);
}
