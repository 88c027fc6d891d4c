import * as fs from 'fs';
import * as path from 'path';

/**
 * Locates a handler entry under `lambda/`. Works both from the sources (`lib/...`) and from the
 * published package (`dist/lib/...`), where `lambda/` ships next to `dist/`.
 */
export function handlerEntry(handler: string, file = 'index.ts'): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'lambda', handler, file);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`Cannot find lambda/${handler}/${file} above ${__dirname}`);
}
