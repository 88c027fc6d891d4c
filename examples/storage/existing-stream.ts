import { App, Stack } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Streams');
const existing = kinesis.Stream.fromStreamArn(
  stack,
  'Existing',
  'arn:aws:kinesis:eu-west-1:111122223333:stream/orders',
);
new StreamStore(stack, 'Orders', { existingStream: existing });
