import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'compare-assemblies.js');

/** A cloud assembly with one stack, its asset manifest and a nested stage, as `cdk synth` writes them. */
function assembly(dir: string, opts: { bucketName?: string; assetHash?: string; timings?: number } = {}): string {
  const nested = path.join(dir, 'assembly-Stage');
  fs.mkdirSync(nested, { recursive: true });
  const stack = (name: string) => ({
    type: 'aws:cloudformation:stack',
    environment: 'aws://unknown-account/unknown-region',
    properties: { templateFile: `${name}.template.json`, validateOnSynth: false },
    dependencies: [`${name}.assets`],
  });
  const assets = (name: string) => ({ type: 'cdk:asset-manifest', properties: { file: `${name}.assets.json` } });
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '50.0.0',
      artifacts: {
        'App.assets': assets('App'),
        App: stack('App'),
        Stage: { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Stage', displayName: 'Stage' } },
        Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
      },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'App.template.json'),
    JSON.stringify({
      Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { BucketName: opts.bucketName ?? 'b' } } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'App.assets.json'),
    JSON.stringify({ files: { [opts.assetHash ?? 'abc']: { source: { path: `asset.${opts.assetHash ?? 'abc'}` } } } }),
  );
  fs.writeFileSync(path.join(dir, 'tree.json'), JSON.stringify({ at: Math.random() }));
  if (opts.timings !== undefined) {
    fs.writeFileSync(path.join(dir, 'performance-counters.json'), JSON.stringify({ synthMs: opts.timings }));
  }
  fs.writeFileSync(
    path.join(nested, 'manifest.json'),
    JSON.stringify({
      version: '50.0.0',
      artifacts: { 'Stage-S.assets': assets('Stage-S'), 'Stage-S': stack('Stage-S') },
    }),
  );
  fs.writeFileSync(path.join(nested, 'Stage-S.template.json'), JSON.stringify({ Resources: {} }));
  fs.writeFileSync(path.join(nested, 'Stage-S.assets.json'), JSON.stringify({ files: {} }));
  return dir;
}

function compare(a: string, b: string): { status: number; output: string } {
  try {
    const output = execFileSync(process.execPath, [SCRIPT, a, b], { encoding: 'utf8', stdio: 'pipe' });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status: number; stderr: string };
    return { status: err.status, output: err.stderr };
  }
}

describe('compare-assemblies (the deterministic-synth check)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-assemblies-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('ignores timing files and the tree: a slow synth writes performance-counters.json, a fast one does not', () => {
    const a = assembly(path.join(tmp, 'a'), { timings: 4711 });
    const b = assembly(path.join(tmp, 'b'));
    expect(compare(a, b)).toEqual({ status: 0, output: expect.stringMatching(/^identical: 6 /) });
  });

  test('a template that differs fails and is named', () => {
    const a = assembly(path.join(tmp, 'a'));
    const b = assembly(path.join(tmp, 'b'), { bucketName: 'other' });
    expect(compare(a, b)).toEqual({ status: 1, output: 'differs: App.template.json\n' });
  });

  test('an asset hash that differs fails and is named', () => {
    const a = assembly(path.join(tmp, 'a'));
    const b = assembly(path.join(tmp, 'b'), { assetHash: 'def' });
    expect(compare(a, b)).toEqual({ status: 1, output: 'differs: App.assets.json\n' });
  });

  test('a template of a nested assembly that differs fails and is named', () => {
    const a = assembly(path.join(tmp, 'a'));
    const b = assembly(path.join(tmp, 'b'));
    fs.writeFileSync(path.join(b, 'assembly-Stage', 'Stage-S.template.json'), JSON.stringify({ Resources: { X: {} } }));
    expect(compare(a, b)).toEqual({ status: 1, output: 'differs: assembly-Stage/Stage-S.template.json\n' });
  });
});
