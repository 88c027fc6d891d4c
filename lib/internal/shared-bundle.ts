import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import * as esbuild from 'esbuild';

/**
 * Context key that turns the shared bundles off (`false`): every `NodejsFunction` then bundles itself with the esbuild
 * CLI, as aws-cdk-lib does by default (one `npx esbuild` per distinct function, in a child process).
 */
export const SHARED_BUNDLING_CONTEXT = 'cdk-streaming-patterns:sharedBundling';

/** What a bundle depends on besides the entry's sources: the options `createObservedFunction` bundles with. */
export interface SharedBundleOptions {
  /** esbuild target, e.g. `node24`. */
  readonly target: string;
}

/**
 * The Lambda code of `entry`, bundled with esbuild's API in this process, once per entry and options however many
 * functions, stacks or stages use it. The options and so the bytes are those `NodejsFunction` gets from the esbuild CLI
 * with `minify`, no source maps, CommonJS and no external modules, and the asset hash is the hash of those bytes.
 *
 * Returns `undefined` when `NodejsFunction` should bundle instead: the switch is off, the stack skips bundling
 * (`cdk synth <other stack>`, or tests with `aws:cdk:bundling-stacks` empty), or asset staging is disabled (SAM), where
 * the asset path must outlive this process.
 */
export function sharedBundleCode(
  scope: Construct,
  entry: string,
  options: SharedBundleOptions,
): lambda.Code | undefined {
  const enabled = scope.node.tryGetContext(SHARED_BUNDLING_CONTEXT);
  if (enabled === false || enabled === 'false') return undefined;
  if (scope.node.tryGetContext(cxapi.DISABLE_ASSET_STAGING_CONTEXT)) return undefined;
  if (!Stack.of(scope).bundlingRequired) return undefined;
  return lambda.Code.fromAsset(bundleDirectory(path.resolve(entry), options));
}

/**
 * Marks the asset of a function whose code came from `sharedBundleCode` as bundled in the template's asset metadata
 * (written when the CLI asks for it), as `NodejsFunction`'s own bundling does: SAM then deploys it as it is.
 */
export function markBundled(fn: lambda.Function): void {
  const resource = fn.node.defaultChild as lambda.CfnFunction;
  if (resource.getMetadata(cxapi.ASSET_RESOURCE_METADATA_IS_BUNDLED_KEY) === false) {
    resource.addMetadata(cxapi.ASSET_RESOURCE_METADATA_IS_BUNDLED_KEY, true);
  }
}

const bundles = new Map<string, string>();
let workDir: string | undefined;

/** Bundles `entry` into `<temp>/<sha256 of the bundle>/index.js`, once per process for the same entry and options. */
function bundleDirectory(entry: string, options: SharedBundleOptions): string {
  const projectRoot = projectRootOf(entry);
  const key = JSON.stringify({ entry, projectRoot, target: options.target, esbuild: esbuild.version });
  const known = bundles.get(key);
  if (known) return known;
  const result = esbuild.buildSync({
    // What NodejsFunction passes to the esbuild CLI: a path relative to the project root, run from there.
    entryPoints: [path.relative(projectRoot, entry)],
    absWorkingDir: projectRoot,
    bundle: true,
    target: options.target,
    platform: 'node',
    format: 'cjs',
    minify: true,
    outfile: 'index.js',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0].contents;
  const dir = path.join(temporaryRoot(), crypto.createHash('sha256').update(code).digest('hex'));
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.js'), code);
  }
  bundles.set(key, dir);
  return dir;
}

/** One folder per process, removed when it exits: each asset is copied into the cloud assembly when it is staged. */
function temporaryRoot(): string {
  if (!workDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-streaming-patterns-bundles-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    workDir = dir;
  }
  return workDir;
}

const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json'];

/**
 * The folder `NodejsFunction` runs esbuild in: that of the nearest lock file above the working directory, else the
 * entry's own folder. Only relative paths depend on it, and the minified bundles hold none.
 */
function projectRootOf(entry: string): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (LOCK_FILES.some((f) => fs.existsSync(path.join(dir, f)))) {
      return path.relative(dir, entry).startsWith('..') ? path.dirname(entry) : dir;
    }
    if (path.dirname(dir) === dir) return path.dirname(entry);
  }
}
