import { App, Stack } from 'aws-cdk-lib';
import { OpenSearchDestination, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Search');
const raw = new StreamStore(stack, 'Raw');
// A TIMESERIES OpenSearch Serverless collection with its encryption, network and data access policies.
new OpenSearchDestination(stack, 'RawSearch', { stream: raw.stream, indexName: 'telemetry' });
