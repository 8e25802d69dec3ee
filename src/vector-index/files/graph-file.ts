/**
 * Patching an hnswlib index file in place. Where the labels sit (hnswlib 0.8 `saveIndex`): a 96-byte
 * header, then one fixed-size record per node holding its level-0 links, its vector and its label
 * (uint64 LE). hnswlib-node cannot relabel a node, but the file can be: the loader rebuilds its label
 * table from these fields.
 */
import { open } from 'node:fs/promises';
import type hnswlib from 'hnswlib-node';
import type { IndexedChunk } from '../indexed-chunk.ts';
import type { HnswParameters } from './loaded-index.ts';

export interface GraphFileLayout {
  count: number;
  recordBytes: number;
  labelOffset: number;
}

const GRAPH_HEADER_BYTES = 96;

/** Reads and checks the header of an index file; undefined if it is not the layout expected. */
export async function graphFileLayout(
  path: string,
  count: number,
  dimensions: number,
  hnsw: Pick<HnswParameters, 'm' | 'efConstruction'>,
): Promise<GraphFileLayout | undefined> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(GRAPH_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, GRAPH_HEADER_BYTES, 0);
    const { size } = await handle.stat();
    const field = (offset: number) => Number(header.readBigUInt64LE(offset));
    const layout = { count: field(16), recordBytes: field(24), labelOffset: field(32) };
    const dataOffset = field(40);
    const sane =
      bytesRead === GRAPH_HEADER_BYTES &&
      field(0) === 0 &&
      layout.count === count &&
      layout.labelOffset === dataOffset + dimensions * 4 &&
      layout.recordBytes === layout.labelOffset + 8 &&
      field(72) === hnsw.m &&
      field(88) === hnsw.efConstruction &&
      size >= GRAPH_HEADER_BYTES + count * layout.recordBytes;
    return sane ? layout : undefined;
  } finally {
    await handle.close();
  }
}

/** Checks that these labels hold their chunks' vectors (hnswlib stores them normalised for cosine). */
export function checkLabels(graph: hnswlib.HierarchicalNSW, chunks: IndexedChunk[], cache: Map<string, Float32Array>, labels: number[]): void {
  for (const label of labels) {
    const expected = cache.get(chunks[label]!.embedHash)!;
    const actual = graph.getPoint(label);
    let dot = 0;
    let norm = 0;
    expected.forEach((value, dimension) => {
      dot += value * (actual[dimension] ?? 0);
      norm += value * value;
    });
    if (norm > 0 && dot / Math.sqrt(norm) < 0.999) throw new Error(`graph label ${label} does not hold its chunk's vector after relabelling`);
  }
}

/** Rewrites every node's label in an index file through `newLabels` (old label -> new label). */
export async function relabelGraphFile(path: string, layout: GraphFileLayout, newLabels: Int32Array): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const records = Buffer.alloc(layout.count * layout.recordBytes);
    await handle.read(records, 0, records.length, GRAPH_HEADER_BYTES);
    for (let node = 0; node < layout.count; node += 1) {
      const at = node * layout.recordBytes + layout.labelOffset;
      const label = newLabels[Number(records.readBigUInt64LE(at))];
      if (label === undefined || label < 0) throw new Error(`graph node ${node} has no new label`);
      records.writeBigUInt64LE(BigInt(label), at);
    }
    await handle.write(records, 0, records.length, GRAPH_HEADER_BYTES);
  } finally {
    await handle.close();
  }
}
