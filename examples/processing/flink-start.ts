import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FlinkApplicationStart, FlinkCode, FlinkStreamProcessor, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'FlinkStarted');
const artifacts = s3.Bucket.fromBucketName(stack, 'Artifacts', 'my-ci-artifacts');
const raw = new StreamStore(stack, 'Raw');
new FlinkStreamProcessor(stack, 'Enrichment', {
  code: FlinkCode.fromBucket(artifacts, 'flink/timeseries-enrichment-1.0.0.jar'),
  sourceStream: raw.stream,
  startOnDeploy: FlinkApplicationStart.fromLatestSnapshot(),
});
