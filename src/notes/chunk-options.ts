/** Pure: the chunker's size settings and their defaults (shared by `chunkMarkdown` and `splitLongLine`). */

export interface ChunkOptions {
  /** Groups longer than this are split, and pieces are packed up to it. */
  targetChars?: number;
  /** Hard ceiling, only exceeded by one fenced block or one enormous line (which is then cut). */
  maxChars?: number;
  /** Sections / pieces shorter than this are merged into a neighbour when possible. */
  minChars?: number;
  /** The overlap line (or sentence) is only repeated when it is at most this long. */
  overlapMaxChars?: number;
  /**
   * A note whose body (front matter left out) is at most this long is one chunk, whatever its
   * headings (issue 11: splitting a short note only parts a question's words from its answer).
   * Defaults to `targetChars`; 0 turns it off.
   */
  shortNoteChars?: number;
}

const CHUNK_DEFAULTS: Required<Omit<ChunkOptions, 'shortNoteChars'>> = {
  targetChars: 900,
  maxChars: 1200,
  minChars: 300,
  overlapMaxChars: 240,
};

/** The options with the defaults filled in; an option given as `undefined` keeps its default. */
export function chunkSettings(options: ChunkOptions): Required<ChunkOptions> {
  const settings = { ...CHUNK_DEFAULTS, ...definedOnly(options) };
  return { ...settings, shortNoteChars: settings.shortNoteChars ?? settings.targetChars };
}

function definedOnly(options: ChunkOptions): ChunkOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as ChunkOptions;
}
