/**
 * The chat page (issue 5): `GET /`, its own scripts and styles from `src/server/public/`, and the two
 * browser libraries it needs straight from node_modules, so the page works offline with no CDN and no
 * build step. Mounted before auth: nothing here reads notes or answers questions.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Response } from 'express';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');

/** What the page may load from `public/`; anything else there (tsconfig, .d.ts for type-checking) stays private. */
const servedExtensions = new Set(['.html', '.css', '.js', '.svg']);

/**
 * The ESM builds of marked and DOMPurify. `require.resolve` gives marked's ESM file directly (its only
 * export condition is `default`), but DOMPurify's `require` condition points at the CommonJS build and its
 * exports map hides `package.json`, so its ES build is found beside the resolved file.
 */
export function vendorFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const markedFile = require.resolve('marked');
  const purifyFile = join(dirname(require.resolve('dompurify')), 'purify.es.mjs');
  const files = new Map<string, string>([
    ['marked.esm.js', markedFile],
    ['purify.es.mjs', purifyFile],
  ]);
  for (const [name, file] of [...files]) {
    if (!existsSync(file)) throw new Error(`The chat page needs ${file}; run npm ci.`);
    // Source maps are only fetched by open devtools; serving them keeps its console free of 404s.
    if (existsSync(`${file}.map`)) files.set(`${name}.map`, `${file}.map`);
  }
  return files;
}

function send(res: Response, file: string): void {
  // `no-cache` = revalidate every time (sendFile sets ETag/Last-Modified), so an upgrade never mixes old and new modules.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (file.endsWith('.mjs')) res.type('text/javascript');
  else if (file.endsWith('.map')) res.type('application/json');
  res.sendFile(file);
}

/** Serves `/`, `/<asset>` from `public/` and `/vendor/<library>`; every other path falls through to the app. */
export function staticRoutes(): express.Router {
  const router = express.Router();
  const assets = new Set(readdirSync(publicDir).filter((name) => servedExtensions.has(extname(name))));
  const vendor = vendorFiles();

  router.get('/', (_req, res) => {
    send(res, join(publicDir, 'index.html'));
  });
  router.get('/vendor/:file', (req, res, next) => {
    const file = vendor.get(req.params.file);
    if (file === undefined) return next();
    send(res, file);
  });
  router.get('/:file', (req, res, next) => {
    // Only names listed at start-up: the parameter never reaches the file system unchecked.
    if (!assets.has(req.params.file)) return next();
    send(res, join(publicDir, req.params.file));
  });
  return router;
}
