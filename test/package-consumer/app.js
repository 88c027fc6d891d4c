// A separate CDK app that installs the packed library and builds pipelines from it (run by scripts/pack-test.sh):
// both stacks with their defaults (the Flink jars the package ships), and a stack of its own with tokens.
const path = require('path');
const { App, CfnParameter, Duration, Lazy, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const {
  ArchiveFormat,
  EventSourcedMicroservicesStack,
  FlinkCode,
  FlinkStreamProcessor,
  LambdaStreamProcessor,
  S3ArchiveDestination,
  ShardCalculator,
  StreamStore,
  TimeSeriesAnalyticsStack,
} = require('cdk-streaming-patterns');
const s3 = require('aws-cdk-lib/aws-s3');

// As `cdk synth` runs an app with no credentials: the region is known (the CLI defaults it), the account is not, so
// the availability zones stay Fn::GetAZs.
const env = { region: 'eu-west-1' };
const app = new App({
  outdir: process.env.CDK_OUTDIR || 'cdk.out',
  context: {
    // What `cdk init` writes into a new app's cdk.json: the recommended feature flags of the installed aws-cdk-lib.
    ...require('aws-cdk-lib/recommended-feature-flags.json'),
  },
});

// The two architectures as the package ships them: no JDK, no Maven, no checkout of the repository.
new TimeSeriesAnalyticsStack(app, 'TimeSeriesAnalytics', { env });
new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
  env,
  rebuildReadModelGeneration: 2,
  // Tokens are accepted where a number or string is: validated by CloudFormation when they resolve.
  eventStoreRetention: Duration.hours(Lazy.number({ produce: () => 72 })),
});

// The documented recipe for adding a function, from the package alone: a function with its command and its egress
// stream, wired into module.json, the commands API and the runtime's grants by the stack's props.
const withShipping = new EventSourcedMicroservicesStack(app, 'EventSourcedWithShipping', {
  env,
  egressStreams: [{ name: 'shipping-events' }],
  functions: [
    {
      functionType: 'shipping',
      entry: path.join(__dirname, 'shipping.ts'),
      egressNames: ['shipping-events'],
      invocationTimeout: Duration.seconds(5),
      commands: [
        {
          name: 'ShipmentRequested',
          schema: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
        },
      ],
    },
  ],
});

const stack = new Stack(app, 'ConsumerStack', { env });
const plan = ShardCalculator.calculate({ recordsPerSecond: 200, averageRecordBytes: 400 });
const retentionHours = new CfnParameter(stack, 'RetentionHours', { type: 'Number', default: 48 });
const store = new StreamStore(stack, 'Orders', {
  shardPlan: plan,
  retentionPeriod: Duration.hours(retentionHours.valueAsNumber),
});
new LambdaStreamProcessor(stack, 'Audit', {
  stream: store.stream,
  entry: path.join(__dirname, 'handler.ts'),
});
new S3ArchiveDestination(stack, 'Archive', {
  stream: store.stream,
  format: ArchiveFormat.JSON,
  prefix: new CfnParameter(stack, 'ArchivePrefix', { default: 'orders/' }).valueAsString,
});
// A Flink application whose jar a CI pipeline put in S3.
new FlinkStreamProcessor(stack, 'Enrichment', {
  code: FlinkCode.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'ci-artifacts'), 'flink/app-1.0.0.jar'),
  sourceStream: store.stream,
});
// The package's own enrichment jar, in a pipeline of the user's.
new FlinkStreamProcessor(stack, 'PackagedEnrichment', {
  code: FlinkCode.fromPackage('timeseries-enrichment'),
  sourceStream: store.stream,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const assembly = app.synth();

// The added function is wired end to end: in module.json with its route, and its egress group exists.
const template = assembly.getStackByName(withShipping.stackName).template;
const flinkApp = Object.values(template.Resources).find((r) => r.Type === 'AWS::KinesisAnalyticsV2::Application');
const groups = flinkApp.Properties.ApplicationConfiguration.EnvironmentProperties.PropertyGroups;
const moduleJson = JSON.stringify(withShipping.resolve(groups));
for (const expected of ['shipping', 'ShipmentRequested', 'Egress.shipping-events']) {
  if (!moduleJson.includes(expected))
    throw new Error(`the added function is not wired: no ${expected} in ${moduleJson}`);
}
console.log(
  `synthesized ${app.node.children.filter((c) => Stack.isStack(c)).length} stacks, ConsumerStack with a ${plan.capacityMode} stream`,
);
