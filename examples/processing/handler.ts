import { DeadLetterError, kinesisHandler, parseJson } from 'cdk-streaming-patterns/lambda/shared';

export const handler = kinesisHandler('validator', (record) => {
  const body = parseJson<{ orderId?: string }>(record);
  if (!body.orderId) throw new DeadLetterError('SCHEMA', 'orderId is missing');
});
