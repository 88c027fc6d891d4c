import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { RedshiftStreamingIngestion, StreamStore } from 'cdk-streaming-patterns';

// Redshift Serverless needs subnets in 3 Availability Zones: an environment-specific stack has them.
const stack = new Stack(new App(), 'Warehouse', { env: { account: '123456789012', region: 'eu-west-1' } });
const raw = new StreamStore(stack, 'Raw');
const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 3,
  natGateways: 0,
  flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
});
const redshift = new RedshiftStreamingIngestion(stack, 'Redshift', { stream: raw.stream, vpc, viewName: 'telemetry' });
// With enhanced VPC routing Redshift reads the stream through the VPC: a Kinesis endpoint open to the workgroup only.
const kinesisEndpoint = vpc.addInterfaceEndpoint('Kinesis', {
  service: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
  open: false,
});
kinesisEndpoint.connections.allowDefaultPortFrom(redshift.securityGroup!);
