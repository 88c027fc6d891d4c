import { App, Stack } from 'aws-cdk-lib';
import { IotCoreIngestion, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Mqtt');
const raw = new StreamStore(stack, 'Raw');
new IotCoreIngestion(stack, 'Telemetry', { stream: raw.stream });
