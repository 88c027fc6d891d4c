import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DmsCdcIngestion, DmsSource, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'PostgresCdc', { env: { account: '111122223333', region: 'eu-west-1' } });
const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
vpc.addFlowLog('FlowLog');
const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'DbSecret', 'orders-db'); // username, password, host, port
const changes = new StreamStore(stack, 'Changes');
new DmsCdcIngestion(stack, 'Orders', {
  stream: changes.stream,
  vpc,
  source: DmsSource.postgres({ secret, databaseName: 'orders' }),
  tables: [{ schemaName: 'public' }],
});
