import { App, Stack } from 'aws-cdk-lib';
import { StreamStore } from 'cdk-streaming-patterns';

const app = new App();
const stack = new Stack(app, 'Streams');
export const store = new StreamStore(stack, 'Events');
// store.stream is a kinesis.IStream for any consumer or producer.
