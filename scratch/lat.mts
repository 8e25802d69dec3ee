import { readFileSync } from 'node:fs';
import { parseConfig } from '../src/config.ts';
import { openEngine } from '../src/cli/open-engine.ts';
import { retrieve } from '../src/answer/retrieve.ts';
import { evalIndexDir } from '../src/cli/eval-command.ts';
const notes = '/work/shared/corpora/tldr';
const config = parseConfig({ ...process.env, NOTES_DIR: notes, INDEX_DIR: evalIndexDir(notes), OLLAMA_HOST: 'http://127.0.0.1:9', LLM: 'none', EMBEDDINGS: 'local' });
const engine = await openEngine(config);
const qs = [...readFileSync('/work/shared/eval/tldr-questions.jsonl','utf8').split('\n'), ...readFileSync('test/fixtures/eval-own-tldr-questions.jsonl','utf8').split('\n')].filter(Boolean).map((l) => JSON.parse(l).question as string);
for (const method of ['hybrid', 'keyword', 'vector'] as const) {
  await retrieve(engine.index, engine.embedder, qs[0]!, { k: 4, method });
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < 3; r++) for (const q of qs) { const t = performance.now(); await retrieve(engine.index, engine.embedder, q, { k: 4, method }); times.push(performance.now() - t); }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  console.log(method, 'cpu ms/query', ((cpu.user + cpu.system) / 1000 / times.length).toFixed(2), 'wall p50', times[times.length >> 1]!.toFixed(2), 'p95', times[Math.floor(times.length * 0.95)]!.toFixed(2));
}
