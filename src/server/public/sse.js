// @ts-check
/**
 * Server-Sent Events read from a fetch body. EventSource cannot POST or send an Authorization header,
 * so the page reads `POST /ask` itself. Follows the parts of the WHATWG event-stream format the server
 * uses: `event:` and `data:` fields, comments (`:`), blank line ends an event, CRLF or LF line ends.
 */

/**
 * @typedef {{ event: string, data: string }} ServerSentEvent
 */

/**
 * Yields each complete event from the body; a partial event at the end of the stream is dropped,
 * as EventSource does.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<ServerSentEvent>}
 */
export async function* readServerSentEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  /** @type {string[]} */
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next chunk.
      let end;
      while ((end = lineEnd(buffer)) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  } finally {
    // Leaving early (the caller stopped reading) must also stop the download; cancelling a finished stream is a no-op.
    reader.cancel().catch(() => {});
  }
}

/**
 * Index of the first complete line end in `text`, or -1.
 * @param {string} text
 */
function lineEnd(text) {
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '\n') return index;
    if (char === '\r') return index + 1 < text.length ? index : -1;
  }
  return -1;
}
