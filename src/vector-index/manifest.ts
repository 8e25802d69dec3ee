import { z } from 'zod';

/** Bump when the on-disk layout of a generation changes: older generations are then rebuilt. */
export const INDEX_FORMAT = 1 as const;

const fileInfo = z.object({ bytes: z.number().int().nonnegative() });

/** What a generation folder holds; validated on load so a garbage or foreign manifest is never served. */
export const manifestSchema = z.object({
  format: z.literal(INDEX_FORMAT),
  embedder: z.string().min(1),
  dimensions: z.number().int().nonnegative(),
  chunkerVersion: z.number().int(),
  builtAt: z.string(),
  chunkCount: z.number().int().nonnegative(),
  hnsw: z.object({ m: z.number().int().positive(), efConstruction: z.number().int().positive() }),
  files: z.record(z.string(), fileInfo),
  notes: z.record(
    z.string(),
    z.object({ hash: z.string(), title: z.string(), chunkIds: z.array(z.string()) }),
  ),
  failures: z.array(z.object({ path: z.string(), reason: z.string() })),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** Parses manifest JSON text, or explains in one line why it cannot be used. */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'manifest is not valid JSON' };
  }
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    return { ok: false, reason: `manifest is invalid at "${issue?.path.join('.') ?? ''}": ${issue?.message ?? ''}` };
  }
  return { ok: true, manifest: result.data };
}
