import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Environment, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { applyNagChecks } from '../bin/nag';
import { DynamoDbDestination } from '../lib/destination';
import { handlerEntry } from '../lib/internal';
import { LambdaStreamProcessor } from '../lib/processing';
import { StreamStore } from '../lib/storage';
import { deployEnvironment, waiterProviderOf } from './lib/integ/integ-support';

/** An egress record as the stateful-functions runtime writes it (order aggregate, full view in the payload). */
export function orderEgressRecord(orderId: string, sequence: number, type: 'OrderPlaced' | 'OrderPaid') {
  return {
    eventId: `order/${orderId}/${sequence}`,
    type,
    aggregateType: 'order',
    aggregateId: orderId,
    sequence,
    occurredAt: 1764403200000 + sequence * 1000,
    payload: {
      orderId,
      status: type === 'OrderPlaced' ? 'placed' : 'paid',
      customerId: 'customer-integ',
      lines: [{ sku: 'sku-integ', quantity: 2, unitPriceCents: 1250 }],
      totalCents: 2500,
    },
  };
}

/**
 * Deployable integration test: egress StreamStore -> LambdaStreamProcessor (lambda/projection) -> DynamoDbDestination
 * read model. Puts OrderPlaced (sequence 1), OrderPaid (2), a redelivery of sequence 1 and a fence record of another
 * order, all with one partition key so they are processed in order. Once the fence is in the table, the first order
 * must be at sequence 2 ("paid"): the redelivered older event was not applied.
 *
 * Deploy: npx cdk deploy --all --app "npx ts-node --transpile-only test/integ.event-sourced-projection.ts"
 */
export function buildEventSourcedProjectionInteg(app: App = new App(), env: Environment = deployEnvironment()) {
  const stack = new Stack(app, 'IntegEventSourcedProjection', { env });
  const egress = new StreamStore(stack, 'OrderEvents', { removalPolicy: RemovalPolicy.DESTROY, createAlarms: false });
  const readModel = new DynamoDbDestination(stack, 'ReadModel', {
    partitionKeyName: 'pk',
    sortKeyName: 'sk',
    removalPolicy: RemovalPolicy.DESTROY,
    createAlarms: false,
  });
  const projection = new LambdaStreamProcessor(stack, 'Projection', {
    stream: egress.stream,
    entry: handlerEntry('projection'),
    environment: { READ_MODEL_TABLE: readModel.table.tableName },
    createAlarms: false,
  });
  // Only the conditional put the projection makes, and the table key operations it needs for it.
  projection.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [readModel.table.tableArn] }),
  );
  projection.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [readModel.encryptionKey!.keyArn],
    }),
  );

  const assertionStack = new Stack(app, 'IntegEventSourcedProjectionAssertions', { env });
  const integ = new IntegTest(app, 'EventSourcedProjection', { testCases: [stack], assertionStack });

  const put = (record: object) =>
    integ.assertions.awsApiCall('Kinesis', 'putRecord', {
      StreamARN: egress.streamArn,
      // One partition key for every record: one shard, processed in the order written.
      PartitionKey: 'integ',
      Data: JSON.stringify(record),
    });
  const placed = put(orderEgressRecord('order-integ-1', 1, 'OrderPlaced'));
  const paid = put(orderEgressRecord('order-integ-1', 2, 'OrderPaid'));
  // Byte for byte the first record again, as Kinesis redelivers it.
  const redelivered = put(orderEgressRecord('order-integ-1', 1, 'OrderPlaced'));
  const fence = put(orderEgressRecord('order-integ-fence', 1, 'OrderPlaced'));
  placed.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey'],
    Resource: [egress.encryptionKey!.keyArn],
  });

  const getItem = (orderId: string) =>
    integ.assertions.awsApiCall('DynamoDB', 'getItem', {
      TableName: readModel.table.tableName,
      Key: { pk: { S: 'order' }, sk: { S: orderId } },
      ConsistentRead: true,
    });
  const fenceApplied = getItem('order-integ-fence')
    .expect(ExpectedResult.objectLike({ Item: { sequence: { N: '1' } } }))
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(10) });
  const orderState = getItem('order-integ-1')
    .expect(
      ExpectedResult.objectLike({
        Item: {
          pk: { S: 'order' },
          sk: { S: 'order-integ-1' },
          sequence: { N: '2' },
          view: {
            M: {
              status: { S: 'paid' },
              lastEventType: { S: 'OrderPaid' },
              historyCount: { N: '2' },
              totalCents: { N: '2500' },
            },
          },
        },
      }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(2), interval: Duration.seconds(10) });
  for (const call of [fenceApplied, orderState]) {
    // The table is encrypted with a customer-managed key: reads need the key (as grantReadData gives).
    waiterProviderOf(call).addToRolePolicy({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: [readModel.encryptionKey!.keyArn],
    });
  }

  placed.next(paid).next(redelivered).next(fence).next(fenceApplied).next(orderState);
  return { app, stack, assertionStack, integ, egress, readModel, projection };
}

if (require.main === module) {
  const { app } = buildEventSourcedProjectionInteg();
  applyNagChecks(app);
  app.synth();
}
