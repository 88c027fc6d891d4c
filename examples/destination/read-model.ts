import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DynamoDbDestination } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'ReadModel', { env: { region: 'eu-west-1' } });
const queryClient = iam.Role.fromRoleName(stack, 'QueryClient', 'read-model-client');
const readModel = new DynamoDbDestination(stack, 'ReadModel', {
  partitionKeyName: 'pk',
  sortKeyName: 'sk',
  enableReadApi: true,
});
readModel.grantInvoke(queryClient);
