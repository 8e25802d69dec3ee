// Types for /vendor/purify.es.mjs, which static-routes.ts serves from node_modules/dompurify.
export { default } from 'dompurify';
export * from 'dompurify';
