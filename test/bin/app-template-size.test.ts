import * as fs from 'fs';
import * as path from 'path';
import { addAppStacks } from '../../bin/app-stacks';
import { createCliApp } from '../../bin/cli-app';

// CloudFormation refuses a template over 1 MB (cfn-lint E1002; synth only warns). Half of it leaves room to grow.
const MAX_TEMPLATE_BYTES = 500_000;

/** The app as `cdk synth` builds it from cdk.json's context plus `extra`, synthesized without Lambda bundling. */
function synthesizeApp(extra: Record<string, unknown>) {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = createCliApp({
    context: {
      ...cdkJson.context,
      // Jars already in S3 stand in for the Maven builds; the templates differ only in the code location.
      'timeseries:flinkCode': 's3://code-bucket/timeseries-enrichment.jar',
      'eventsourced:statefulFunctionsCode': 's3://code-bucket/stateful-functions.jar',
      // Bundling changes asset hashes only, which are of fixed length.
      'aws:cdk:bundling-stacks': [],
      // What the CDK CLI adds to every synth: each resource's construct path, asset metadata and CDKMetadata.
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:version-reporting': true,
      ...extra,
    },
  });
  addAppStacks(app);
  return app.synth().stacks;
}

describe('app template sizes', () => {
  test.each([
    ['the defaults of cdk.json', {}],
    // The README's replay-and-switch-over procedure: two read models, each with its read API.
    ['a read model being rebuilt', { 'eventsourced:rebuildReadModelGeneration': 2 }],
    ['Grafana on', { 'timeseries:enableGrafana': true }],
    [
      'every optional path on',
      {
        'timeseries:enableGrafana': true,
        'timeseries:enableGlueEtl': true,
        'timeseries:enableIcebergArchive': true,
        'timeseries:startFlinkOnDeploy': 'latest-snapshot',
        'eventsourced:rebuildReadModelGeneration': 2,
      },
    ],
  ])('every stack stays under half the CloudFormation limit with %s', (_name, extra) => {
    const stacks = synthesizeApp(extra);
    expect(stacks.map((s) => s.stackName).sort()).toEqual([
      'ChangeDataCapture',
      'EventSourcedMicroservices',
      'TimeSeriesAnalytics',
    ]);
    const sizes = Object.fromEntries(stacks.map((s) => [s.stackName, fs.statSync(s.templateFullPath).size]));
    for (const [stack, bytes] of Object.entries(sizes)) {
      expect({ stack, bytes, under: bytes < MAX_TEMPLATE_BYTES }).toEqual({ stack, bytes, under: true });
    }
  });

  test('the rebuild adds the second read model and its read API', () => {
    const stack = synthesizeApp({ 'eventsourced:rebuildReadModelGeneration': 2 }).find(
      (s) => s.stackName === 'EventSourcedMicroservices',
    )!;
    const methods = Object.keys(stack.template.Resources).filter(
      (id) => stack.template.Resources[id].Type === 'AWS::ApiGateway::Method' && /^ReadModelV2/.test(id),
    );
    expect(methods.length).toBeGreaterThan(0);
  });
});
