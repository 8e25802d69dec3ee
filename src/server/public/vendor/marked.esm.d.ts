// Types for /vendor/marked.esm.js, which static-routes.ts serves from node_modules/marked.
export * from 'marked';
