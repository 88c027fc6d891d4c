// A user's own handler written against the library's handler runtime, shipped as TypeScript in the package.
import { DeadLetterError, kinesisHandler, parseJson } from 'cdk-streaming-patterns/lambda/shared';

export const handler = kinesisHandler('audit', (record) => {
  const body = parseJson<{ orderId?: string }>(record);
  if (!body.orderId) throw new DeadLetterError('SCHEMA', 'orderId is missing');
});
