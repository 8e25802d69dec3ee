// usage: npx tsx /work/notes/ranks.ts QUESTIONS NOTES_DIR  — rank of the expected note per method (k=50)
import { readFileSync } from 'node:fs';
import { parseConfig } from '/work/wt/i11p/src/config.ts';
import { openEngine } from '/work/wt/i11p/src/cli/open-engine.ts';
import { retrieve } from '/work/wt/i11p/src/answer/retrieve.ts';
import { evalIndexDir } from '/work/wt/i11p/src/cli/eval-command.ts';
const [file, notes] = process.argv.slice(2);
const config = parseConfig({ ...process.env, NOTES_DIR: notes!, INDEX_DIR: evalIndexDir(notes!), OLLAMA_URL: 'http://127.0.0.1:9' });
const engine = await openEngine(config);
const rows = readFileSync(file!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const summary: Record<string, number[]> = { hybrid: [], keyword: [], vector: [] };
for (const q of rows) {
  if (!q.note) continue;
  const out: string[] = [];
  for (const method of ['hybrid', 'keyword', 'vector'] as const) {
    const hits = await retrieve(engine.index, engine.embedder, q.question, { k: 50, method });
    const rank = hits.findIndex((h) => h.chunk.note === q.note) + 1;
    summary[method]!.push(rank);
    out.push(`${method[0]}=${rank || '-'}`);
  }
  console.log(q.id.padEnd(6), out.join(' ').padEnd(18), q.note);
}
for (const [m, r] of Object.entries(summary)) console.log(m, 'note@1', r.filter((x) => x === 1).length, 'note@3', r.filter((x) => x >= 1 && x <= 3).length, 'note@10', r.filter((x) => x >= 1 && x <= 10).length, 'note@50', r.filter((x) => x >= 1).length, 'of', r.length);
