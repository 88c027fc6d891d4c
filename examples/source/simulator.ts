import { App, Stack } from 'aws-cdk-lib';
import { DeviceFleetSimulator, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Simulation');
const raw = new StreamStore(stack, 'Raw');
new DeviceFleetSimulator(stack, 'Fleet', { stream: raw.stream });
