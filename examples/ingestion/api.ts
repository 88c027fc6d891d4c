import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ApiGatewayIngestion, IngestionSchemas, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Ingestion');
const deviceGatewayRole = iam.Role.fromRoleName(stack, 'DeviceGateway', 'device-gateway');
const raw = new StreamStore(stack, 'Raw');
const ingestion = new ApiGatewayIngestion(stack, 'Api', {
  stream: raw.stream,
  eventSchema: IngestionSchemas.telemetryRecord(),
});
ingestion.grantInvoke(deviceGatewayRole);
