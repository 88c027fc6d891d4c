import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FlinkCode, StatefulFunctionsApi, StatefulFunctionsProcessor, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'EventSourcedLate');
const artifacts = s3.Bucket.fromBucketName(stack, 'Artifacts', 'my-ci-artifacts');
const api = new StatefulFunctionsApi(stack, 'Functions');
const runtime = new StatefulFunctionsProcessor(stack, 'Runtime', {
  code: FlinkCode.fromBucket(artifacts, 'flink/stateful-functions-1.0.0.jar'),
  functionsApis: [api], // every function of the API, also those added below
});
// Later, e.g. in another construct: module.json, the invoke grant and the checks include it at synth.
api.addFunction({
  functionType: 'order',
  entry: path.join(__dirname, 'functions/order.ts'),
  egressNames: ['order-events'],
});
runtime.addIngress({ eventType: 'PlaceOrder', functionType: 'order' });
runtime.addEgress({ name: 'order-events', stream: new StreamStore(stack, 'OrderEvents').stream });
