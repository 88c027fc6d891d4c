import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'break-hard-links.js');

test('a hard-linked file under node_modules gets an inode of its own, with the same bytes and mode', () => {
  // GIVEN esbuild's layout after its postinstall: bin/esbuild is a hard link to the platform binary
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'break-hard-links-'));
  const binary = path.join(root, 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild');
  const linked = path.join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
  const plain = path.join(root, 'node_modules', 'esbuild', 'lib', 'main.js');
  for (const f of [binary, linked, plain]) fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(binary, 'native binary');
  fs.chmodSync(binary, 0o755);
  fs.linkSync(binary, linked);
  fs.writeFileSync(plain, 'module.exports = {};');
  const plainInode = fs.statSync(plain).ino;

  // WHEN
  const out = execFileSync('node', [SCRIPT, root], { encoding: 'utf8' });

  // THEN
  expect(fs.statSync(binary).ino).not.toBe(fs.statSync(linked).ino);
  for (const f of [binary, linked]) {
    expect(fs.statSync(f).nlink).toBe(1);
    expect(fs.readFileSync(f, 'utf8')).toBe('native binary');
    expect(fs.statSync(f).mode & 0o777).toBe(0o755);
  }
  expect(fs.statSync(plain).ino).toBe(plainInode);
  // Copying one path of the pair leaves the other as the only link to its inode.
  expect(out.trim().split('\n')).toEqual([expect.stringMatching(/bin\/esbuild: hard link replaced by a copy/)]);
  fs.rmSync(root, { recursive: true, force: true });
});
