/**
 * Exact cosine search by scanning every chunk: recall 1 (to within the quantisation below) where
 * HNSW only approximates.
 *
 * Why: the built-in embedder's document vectors share a large common direction and its queries are
 * sparse (about 105 non-zero dimensions of 1,024), so HNSW, whose graph is built from
 * document-to-document distances, barely finds the true top 10: its recall@10 against an exact
 * scan is 0.63 at 2,000 chunks and 0.16 at 50,000 (`npm run bench`).
 *
 * How: each row (chunk vector) is scaled to unit length and quantised to int16 with its own scale
 * (the row's largest value maps to 32,767), stored dimension by dimension: 2 bytes per chunk and
 * dimension. A query visits only its non-zero dimensions, four per pass over the rows, in a
 * WebAssembly SIMD kernel (`scan-kernel.ts`); each row's sum times its scale is its cosine, off by
 * at most half a quantisation step per visited value: |error| <= Σ|query| × largest value / 65,534,
 * about 5e-5 for a typical built-in query, against gaps of 1e-3 between neighbouring scores.
 *
 * Measured on the bench corpora (built-in embedder, CPU time per question: the 2 shared cores ran at
 * load average ~28, which makes wall times noise): the top 10 takes 0.17 / 0.69 / 1.68 ms at 2,014 /
 * 15,000 / 50,004 chunks (p95 0.32 / 1.07 / 3.02 ms), recall@10 1.000 against a float64 scan. The
 * float32 JavaScript scan this replaces took 1.13 / 6.41 ms at 2,014 / 15,000 chunks, and HNSW at
 * 50,004 chunks 2.02 ms with recall@10 0.08. Dense queries (an Ollama model's 768 non-zero
 * dimensions) cost about 0.35 ns per chunk and dimension: 10 ms at 40,000 chunks.
 * Above the limits below, HNSW answers instead.
 */
import { open } from 'node:fs/promises';
import { createScanKernel, type KernelKind, type ScanKernel } from './scan-kernel.ts';

/** Largest index (chunks × dimensions) kept for exact search: 512 MiB of int16, 262,144 chunks of 1,024. */
export const EXACT_MAX_VALUES = 2 ** 28;
/**
 * Largest scan per query (chunks × the query's non-zero dimensions): about 10 ms of CPU on the loaded
 * build machine. Built-in queries (105 non-zero dimensions, 190 at most) are scanned up to 175,000
 * chunks or more; a 768-dimension Ollama model's up to 43,690 chunks, HNSW above. HNSW's recall
 * depends on the vectors' geometry (built-in embedder: 0.91 on the tldr pages, 0.08 on the
 * 50,000-chunk bench corpus); for a real model it cannot be measured here (no weights).
 */
export const EXACT_MAX_WORK = 2 ** 25;
/** The int16 value of each row's largest component. */
export const QUANTISATION_LEVELS = 32_767;

export interface ExactHit {
  /** Row (= HNSW label = position in the index's chunk list). */
  label: number;
  /** Cosine similarity, -1..1. */
  similarity: number;
}

/** Rows a search may return (a scoped question's filter), applied inside the scan. */
export type RowFilter = (row: number) => boolean;

export interface ExactSearchOptions {
  /** Force the kernel (tests compare the two); default WebAssembly SIMD where available. */
  kernel?: KernelKind;
  /** Largest scan per query that `accepts`; default EXACT_MAX_WORK. */
  maxWork?: number;
}

/** Kernel memory: the columns, then one float32 sum per row. */
interface Layout {
  /** Rows rounded up to a multiple of 4 (the kernel's step): the length of every column. */
  stride: number;
  sumsOffset: number;
  bytes: number;
}

function layoutOf(count: number, dimensions: number): Layout {
  const stride = Math.ceil(count / 4) * 4;
  const sumsOffset = stride * dimensions * 2;
  return { stride, sumsOffset, bytes: sumsOffset + stride * 4 };
}

/** Rows quantised together: 64 rows × 1,024 dimensions of float32 is 256 KiB, within L2. */
const TILE_ROWS = 64;

/** Quantises whole rows into the columns, in order; `finish` hands over the search. */
export class ExactSearchBuilder {
  private readonly count: number;
  private readonly dimensions: number;
  private readonly layout: Layout;
  private readonly kernel: ScanKernel;
  private readonly columns: Int16Array;
  private readonly scales: Float64Array;
  private readonly maxWork: number;
  private added = 0;

  private constructor(count: number, dimensions: number, layout: Layout, kernel: ScanKernel, maxWork: number) {
    this.maxWork = maxWork;
    this.count = count;
    this.dimensions = dimensions;
    this.layout = layout;
    this.kernel = kernel;
    this.columns = new Int16Array(kernel.memory.buffer, 0, layout.stride * dimensions);
    this.scales = new Float64Array(count);
  }

  /** A builder, or undefined when the index is too large (or empty) to scan. */
  static create(count: number, dimensions: number, options: ExactSearchOptions = {}): ExactSearchBuilder | undefined {
    if (count < 1 || dimensions < 1 || count * dimensions > EXACT_MAX_VALUES) return undefined;
    const layout = layoutOf(count, dimensions);
    const kernel = createScanKernel(layout.bytes, options.kernel);
    return kernel === undefined ? undefined : new ExactSearchBuilder(count, dimensions, layout, kernel, options.maxWork ?? EXACT_MAX_WORK);
  }

  /** Appends whole rows (row-major, `rows[row * dimensions + d]`, as in vectors.bin; left unchanged). */
  add(rows: Float32Array): void {
    const { dimensions, columns, scales } = this;
    const { stride } = this.layout;
    const count = rows.length / dimensions;
    if (!Number.isInteger(count) || this.added + count > this.count) throw new Error('exact search: rows do not fit the index');
    const multipliers = new Float64Array(TILE_ROWS);
    // Tiles of rows keep the strided reads of the transposition within the cache.
    for (let tile = 0; tile < count; tile += TILE_ROWS) {
      const end = Math.min(count, tile + TILE_ROWS);
      for (let row = tile; row < end; row++) {
        let norm = 0;
        let largest = 0;
        for (let d = row * dimensions, stop = d + dimensions; d < stop; d++) {
          const value = rows[d]!;
          norm += value * value;
          if (Math.abs(value) > largest) largest = Math.abs(value);
        }
        // A zero row (or a damaged one) scores 0 everywhere.
        const usable = largest > 0 && Number.isFinite(norm);
        scales[this.added + row] = usable ? largest / Math.sqrt(norm) / QUANTISATION_LEVELS : 0;
        multipliers[row - tile] = usable ? QUANTISATION_LEVELS / largest : 0;
      }
      for (let d = 0; d < dimensions; d++) {
        const column = d * stride + this.added;
        for (let row = tile; row < end; row++) columns[column + row] = Math.round(rows[row * dimensions + d]! * multipliers[row - tile]!);
      }
    }
    this.added += count;
  }

  finish(): ExactSearch {
    if (this.added !== this.count) throw new Error(`exact search: ${this.added} of ${this.count} rows added`);
    return new ExactSearch(this.kernel, this.count, this.dimensions, this.layout, this.scales, this.maxWork);
  }
}

export class ExactSearch {
  readonly count: number;
  readonly dimensions: number;
  /** Which kernel scans: WebAssembly SIMD, or the JavaScript twin where SIMD is missing. */
  readonly kernelKind: KernelKind;
  /** Memory held: the int16 columns and the per-row sums (in whole 64 KiB pages), plus one scale per row. */
  readonly bytes: number;
  private readonly kernel: ScanKernel;
  private readonly layout: Layout;
  private readonly scales: Float64Array;
  private readonly maxWork: number;
  /** Per-row sums of the current query (search is synchronous, so one buffer serves every query). */
  private readonly sums: Float32Array;

  /** Use `ExactSearchBuilder` or `fromRows`. */
  constructor(kernel: ScanKernel, count: number, dimensions: number, layout: Layout, scales: Float64Array, maxWork: number) {
    this.kernel = kernel;
    this.maxWork = maxWork;
    this.kernelKind = kernel.kind;
    this.count = count;
    this.dimensions = dimensions;
    this.layout = layout;
    this.scales = scales;
    this.sums = new Float32Array(kernel.memory.buffer, layout.sumsOffset, layout.stride);
    this.bytes = kernel.memory.buffer.byteLength + scales.byteLength;
  }

  /**
   * From row-major vectors (`rows[row * dimensions + d]`, as in vectors.bin; left unchanged), or
   * undefined when the index is too large to scan or the rows do not match the count.
   */
  static fromRows(rows: Float32Array, count: number, dimensions: number, options: ExactSearchOptions = {}): ExactSearch | undefined {
    if (rows.length !== count * dimensions) return undefined;
    const builder = ExactSearchBuilder.create(count, dimensions, options);
    if (builder === undefined) return undefined;
    builder.add(rows);
    return builder.finish();
  }

  /** Whether scanning for this query stays within the work limit (EXACT_MAX_WORK; else use the graph). */
  accepts(query: ArrayLike<number>): boolean {
    if (query.length !== this.dimensions) return false;
    let nonZero = 0;
    for (let d = 0; d < query.length; d++) if (query[d] !== 0) nonZero++;
    return nonZero * this.count <= this.maxWork;
  }

  /**
   * The k rows most similar to `query` (cosine), best first; ties by row. With `allowed`, only the
   * rows it accepts (the k best of those).
   */
  search(query: ArrayLike<number>, k: number, allowed?: RowFilter): ExactHit[] {
    const limit = Math.min(Math.max(0, Math.floor(k)), this.count);
    if (limit === 0 || query.length !== this.dimensions) return [];
    let norm = 0;
    for (let d = 0; d < query.length; d++) norm += query[d]! * query[d]!;
    if (!(norm > 0) || !Number.isFinite(norm)) return [];
    const scale = 1 / Math.sqrt(norm);
    const visited: number[] = [];
    for (let d = 0; d < query.length; d++) if (query[d] !== 0) visited.push(d);
    const { stride, sumsOffset } = this.layout;
    const column = (position: number) => visited[position]! * stride * 2;
    const weight = (position: number) => (position < visited.length ? query[visited[position]!]! * scale : 0);
    this.sums.fill(0);
    for (let at = 0; at < visited.length; at += 4) {
      // Past the last dimension, the first one again with weight 0 (the kernel always takes four).
      const first = column(at);
      const other = (position: number) => (position < visited.length ? column(position) : first);
      this.kernel.accumulate4(sumsOffset, first, other(at + 1), other(at + 2), other(at + 3), stride, weight(at), weight(at + 1), weight(at + 2), weight(at + 3));
    }
    return this.best(limit, allowed);
  }

  /** The `limit` best rows by sum × scale: a small sorted buffer (limit is tens, rows thousands). */
  private best(limit: number, allowed: RowFilter | undefined): ExactHit[] {
    const { sums, scales, count } = this;
    const rows = new Int32Array(limit);
    const scores = new Float64Array(limit);
    let size = 0;
    for (let row = 0; row < count; row++) {
      const score = sums[row]! * scales[row]!;
      // Rows come in order, so an equal score never displaces an earlier row: ties go by row.
      if (size === limit && !(score > scores[limit - 1]!)) continue;
      if (allowed !== undefined && !allowed(row)) continue;
      let at = size === limit ? limit - 1 : size++;
      while (at > 0 && score > scores[at - 1]!) {
        rows[at] = rows[at - 1]!;
        scores[at] = scores[at - 1]!;
        at--;
      }
      rows[at] = row;
      scores[at] = score;
    }
    return Array.from({ length: size }, (_, position) => ({ label: rows[position]!, similarity: scores[position]! }));
  }
}

/** Rows read from vectors.bin per block while the columns are built (16 MiB at 1,024 dimensions). */
const READ_BLOCK_ROWS = 4_096;

/**
 * The exact search over a generation's vectors.bin (`count` rows of `dimensions` float32), read in
 * blocks; undefined when the index is too large to scan, an error when the file does not match.
 */
export async function readExactSearch(
  path: string,
  count: number,
  dimensions: number,
): Promise<{ ok: true; exact: ExactSearch | undefined } | { ok: false; reason: string }> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== count * dimensions * 4) return { ok: false, reason: 'vectors.bin does not match the chunk count and dimensions' };
    const builder = ExactSearchBuilder.create(count, dimensions);
    if (builder === undefined) return { ok: true, exact: undefined };
    const block = new Float32Array(Math.min(count, READ_BLOCK_ROWS) * dimensions);
    const bytes = new Uint8Array(block.buffer);
    for (let row = 0; row < count; row += READ_BLOCK_ROWS) {
      const rows = Math.min(READ_BLOCK_ROWS, count - row);
      const length = rows * dimensions * 4;
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(bytes, done, length - done, row * dimensions * 4 + done);
        if (bytesRead === 0) return { ok: false, reason: 'vectors.bin ended early' };
        done += bytesRead;
      }
      builder.add(block.subarray(0, rows * dimensions));
    }
    return { ok: true, exact: builder.finish() };
  } finally {
    await handle.close();
  }
}
