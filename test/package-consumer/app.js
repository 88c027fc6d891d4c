// A separate CDK app that installs the packed library and builds a pipeline from it (run by scripts/pack-test.sh).
const path = require('path');
const { App, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const {
  FlinkCode,
  FlinkStreamProcessor,
  StreamStore,
  ShardCalculator,
  LambdaStreamProcessor,
} = require('cdk-streaming-patterns');
const s3 = require('aws-cdk-lib/aws-s3');

const app = new App({ outdir: process.env.CDK_OUTDIR || 'cdk.out' });
const stack = new Stack(app, 'ConsumerStack');
const plan = ShardCalculator.calculate({ recordsPerSecond: 200, averageRecordBytes: 400 });
const store = new StreamStore(stack, 'Orders', { shardPlan: plan });
new LambdaStreamProcessor(stack, 'Audit', {
  stream: store.stream,
  entry: path.join(__dirname, 'handler.ts'),
});
// A Flink application whose jar a CI pipeline put in S3: the package ships no flink-apps/ and builds nothing.
new FlinkStreamProcessor(stack, 'Enrichment', {
  code: FlinkCode.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'ci-artifacts'), 'flink/app-1.0.0.jar'),
  sourceStream: store.stream,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
console.log(`synthesized ConsumerStack with a ${plan.capacityMode} stream`);
