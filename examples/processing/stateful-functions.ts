import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FlinkCode, StatefulFunctionsApi, StatefulFunctionsProcessor, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'EventSourced');
const artifacts = s3.Bucket.fromBucketName(stack, 'Artifacts', 'my-ci-artifacts');
const api = new StatefulFunctionsApi(stack, 'Functions');
const order = api.addFunction({
  functionType: 'order',
  entry: path.join(__dirname, 'functions/order.ts'),
  egressNames: ['order-events'],
});
const orderEvents = new StreamStore(stack, 'OrderEvents');
new StatefulFunctionsProcessor(stack, 'Runtime', {
  code: FlinkCode.fromBucket(artifacts, 'flink/stateful-functions-1.0.0.jar'),
  functions: [order],
  ingress: [{ eventType: 'PlaceOrder', functionType: 'order' }],
  egress: [{ name: 'order-events', stream: orderEvents.stream }],
});
