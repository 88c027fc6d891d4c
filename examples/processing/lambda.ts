import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { LambdaStreamProcessor, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Processing');
const store = new StreamStore(stack, 'Events');
new LambdaStreamProcessor(stack, 'Validator', {
  stream: store.stream,
  entry: path.join(__dirname, 'handler.ts'),
});
