import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { handlerEntry } from '../../../lib/internal';
import { createObservedFunction } from '../../../lib/internal/observed-function';
import { SHARED_BUNDLING_CONTEXT } from '../../../lib/internal/shared-bundle';

const entry = handlerEntry('json-validator');

function addFunction(stack: Stack, id: string, file = entry) {
  return createObservedFunction(
    stack,
    { logGroup: `${id}Logs`, role: `${id}Role`, function: id },
    {
      entry: file,
      description: id,
      memorySize: 128,
      timeout: Duration.seconds(10),
      roleDescription: id,
      serviceName: id,
    },
  );
}

/** The S3 key (`<asset hash>.zip`) and handler of every function in the stack. */
function codeOf(stack: Stack): { key: unknown; handler: unknown }[] {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  return Object.values(functions).map((f) => ({ key: f.Properties.Code.S3Key, handler: f.Properties.Handler }));
}

function assetDirs(app: App): string[] {
  return fs.readdirSync(app.outdir).filter((f) => f.startsWith('asset.'));
}

describe('shared bundles', () => {
  test('are the bytes NodejsFunction bundles itself: same asset hash, same handler', () => {
    // GIVEN the same function bundled both ways
    const shared = new App();
    const own = new App({ context: { [SHARED_BUNDLING_CONTEXT]: false } });
    const a = new Stack(shared, 'S');
    const b = new Stack(own, 'S');
    addFunction(a, 'Fn');
    addFunction(b, 'Fn');
    // THEN
    expect(codeOf(a)).toEqual(codeOf(b));
    expect(codeOf(a)[0].handler).toBe('index.handler');
  });

  test('one bundle per entry however many functions, stacks and stages use it', () => {
    const app = new App();
    const one = new Stack(app, 'One');
    const two = new Stack(app, 'Two');
    const staged = new Stack(new Stage(app, 'Stage'), 'Three');
    addFunction(one, 'A');
    addFunction(one, 'B');
    addFunction(two, 'C');
    addFunction(staged, 'D');
    addFunction(two, 'Other', path.join(path.dirname(entry), '..', 'projection', 'index.ts'));
    const keys = [...codeOf(one), ...codeOf(two), ...codeOf(staged)].map((c) => c.key);
    expect(new Set(keys).size).toBe(2);
    expect(assetDirs(app)).toHaveLength(2);
  });

  test('a stack that skips bundling gets no bundle', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    addFunction(stack, 'Fn');
    expect(assetDirs(app)).toHaveLength(0);
  });

  test('the asset is marked bundled in the asset metadata, as NodejsFunction marks its own', () => {
    const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'S');
    addFunction(stack, 'Fn');
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn.Metadata).toMatchObject({ 'aws:asset:is-bundled': true, 'aws:asset:property': 'Code' });
  });
});
