import * as fs from 'fs';
import * as path from 'path';

/**
 * Finds `relativePath` (a file or folder of this package, e.g. `lambda/x/index.ts`, `dashboards`) in the nearest
 * folder above this file that holds it. Works both from the sources (`lib/...`) and from the published package
 * (`dist/lib/...`), where `lambda/`, `dashboards/` and `flink-apps/` ship next to `dist/`.
 */
export function findInPackage(relativePath: string): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, relativePath);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Locates a handler entry under `lambda/`. */
export function handlerEntry(handler: string, file = 'index.ts'): string {
  const entry = findInPackage(path.join('lambda', handler, file));
  if (!entry) throw new Error(`Cannot find lambda/${handler}/${file} above ${__dirname}`);
  return entry;
}
