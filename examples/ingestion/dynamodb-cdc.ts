import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { DynamoDbCdcIngestion, StreamStore } from 'cdk-streaming-patterns';

// A new table's customer-managed key needs a stack with an explicit region.
const stack = new Stack(new App(), 'OrdersCdc', { env: { region: 'eu-west-1' } });
const changes = new StreamStore(stack, 'Changes');
new DynamoDbCdcIngestion(stack, 'Orders', {
  stream: changes.stream,
  tableProps: { partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING } },
});
