// @ts-check
/**
 * Talking to the server: `apiFetch` (the bearer token asked for once and kept for this tab, on a 401),
 * and server errors in plain words with what to do (SPEC "Error codes").
 */
import { byId } from './dom.js';

/** @typedef {{ code: string, message: string }} ErrorInfo */

const TOKEN_KEY = 'asknotes.apiToken';

const tokenUi = {
  dialog: byId('token-dialog', HTMLDialogElement),
  form: byId('token-form', HTMLFormElement),
  message: byId('token-message', HTMLElement),
  input: byId('token-input', HTMLInputElement),
};

/** Whether the token dialog is showing (Escape then belongs to it). */
export function tokenDialogOpen() {
  return tokenUi.dialog.open;
}

/** @type {Promise<boolean> | null} */
let tokenPrompt = null;

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the token then lives only as long as the prompt answer
  }
}

/** @param {string | null} token */
function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage disabled */
  }
}

/**
 * Shows the token form; concurrent callers share one prompt. Resolves false if the user dismisses it.
 * @param {string} message
 * @returns {Promise<boolean>}
 */
function askForToken(message) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    tokenUi.message.textContent = message;
    tokenUi.input.value = '';
    let accepted = false;
    /** @param {SubmitEvent} event */
    const onSubmit = (event) => {
      event.preventDefault();
      const value = tokenUi.input.value.trim();
      if (value === '') return;
      storeToken(value);
      accepted = true;
      tokenUi.dialog.close();
    };
    const onClose = () => {
      tokenUi.form.removeEventListener('submit', onSubmit);
      tokenPrompt = null;
      resolve(accepted);
    };
    tokenUi.form.addEventListener('submit', onSubmit);
    tokenUi.dialog.addEventListener('close', onClose, { once: true });
    tokenUi.dialog.showModal();
    tokenUi.input.focus();
  });
  return tokenPrompt;
}

export class NeedsTokenError extends Error {}

/**
 * fetch with the bearer token; on 401 asks for the token and retries.
 * Paths are relative so the page also works behind a reverse proxy under a sub-path.
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function apiFetch(path, init = {}) {
  for (;;) {
    const headers = new Headers(init.headers);
    const token = storedToken();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401) return response;
    await response.body?.cancel();
    // A token entered while this request was out (another call's prompt) is tried, not erased: a
    // late 401 for a wrong guess must not throw away the right token typed after it.
    const current = storedToken();
    if (current !== null && current !== token) continue;
    storeToken(null);
    const message = token
      ? 'That token was not accepted. Enter the value of API_TOKEN the server was started with.'
      : 'This server needs the access token it was started with (API_TOKEN). It is kept for this tab only.';
    const accepted = await askForToken(message);
    init.signal?.throwIfAborted();
    if (!accepted) throw new NeedsTokenError('No access token was given.');
  }
}

// ---------------------------------------------------------------------------------------------------
// Errors in plain words, with what to do (SPEC "Error codes").

/** @type {Record<string, (message: string) => string>} */
const errorAdvice = {
  invalid_request: (message) => `The server could not use this question: ${message}`,
  unauthorized: () => 'This server needs its access token (API_TOKEN). Send the question again to enter it.',
  not_found: () => 'The server does not know this request. Reload the page; if it persists, check that this is an asknotes server.',
  payload_too_large: () => 'The question and the conversation before it are too long to send. Start a new chat or shorten the question.',
  unsupported_media_type: () => 'The server did not accept the request format. Reload the page and try again.',
  busy: () => 'The server is answering too many questions at once. Wait a few seconds and try again.',
  index_not_ready: () => 'Your notes are still being indexed. Try again when the status bar shows the index size.',
  llm_unavailable: (message) => `The chat model cannot be reached. Start its server (Ollama: ollama serve) and try again, or turn "Use notes" back on to answer from your notes. ${message}`,
  model_not_found: (message) => message,
  upstream_timeout: () => 'The chat model took too long to answer. Try again; a smaller CHAT_MODEL answers faster.',
  internal: () => 'Something went wrong on the server. Its log has the details. Try again.',
  network: () => 'The asknotes server cannot be reached. Check that it is still running (npm start), then try again.',
  closed: () => 'The connection closed before the answer finished. Try again.',
  token: () => 'This server needs its access token (API_TOKEN). Send the question again to enter it.',
};

/** @param {ErrorInfo} error */
export function describeError(error) {
  const advice = errorAdvice[error.code];
  return advice ? advice(error.message).trim() : `${error.message || 'Something went wrong.'} Try again.`;
}

/**
 * @param {Response} response
 * @returns {Promise<ErrorInfo>}
 */
export async function readError(response) {
  try {
    const body = await response.json();
    if (body && typeof body.error?.code === 'string') return { code: body.error.code, message: String(body.error.message ?? '') };
  } catch {
    /* not JSON: fall through */
  }
  return { code: response.status >= 500 ? 'internal' : 'invalid_request', message: `HTTP ${response.status}` };
}
