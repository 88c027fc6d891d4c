import { kinesisHandler, parseDynamoDbChange } from 'cdk-streaming-patterns/lambda/shared';

interface Order {
  readonly orderId: string;
  readonly total: number;
}

export const handler = kinesisHandler('orders-cdc', async (record) => {
  const change = parseDynamoDbChange<Order>(record); // not a change record -> dead letter
  if (change.eventName === 'REMOVE') console.log('removed', change.keys.orderId, change.removedByTtl ? '(TTL)' : '');
  else console.log(change.eventName, change.newImage?.orderId, change.newImage?.total);
});
