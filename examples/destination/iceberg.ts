import { App, Stack } from 'aws-cdk-lib';
import { IcebergDestination, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Lake');
const raw = new StreamStore(stack, 'Raw');
// A Glue database and an Iceberg v2 table with the telemetry columns; rows are upserted by event id.
new IcebergDestination(stack, 'RawTable', { stream: raw.stream, uniqueKeys: ['eventid'] });
