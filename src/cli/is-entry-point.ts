import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** True when the module with this `import.meta.url` is the script node (or tsx) was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === moduleUrl;
  } catch {
    return false;
  }
}
