import { App, Stack } from 'aws-cdk-lib';
import { GlueStreamingEtl, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'GlueEtl');
const raw = new StreamStore(stack, 'Raw');
new GlueStreamingEtl(stack, 'Etl', { stream: raw.stream });
