import { DeadLetterError, kinesisHandler, parseJson } from 'cdk-streaming-patterns/lambda/shared';

export const handler = kinesisHandler('audit', async (record) => {
  const order = parseJson<{ orderId?: string }>(record); // bad JSON -> dead letter MALFORMED_JSON
  if (!order.orderId) throw new DeadLetterError('SCHEMA', 'orderId is missing'); // dead letter with reason
  // ... idempotent work; any other error retries this record and the rest of its shard, in order
});
