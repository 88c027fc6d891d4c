import { App, Stack } from 'aws-cdk-lib';
import { ApiGatewayIngestion, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'Commands');
const eventStore = new StreamStore(stack, 'EventStore');
new ApiGatewayIngestion(stack, 'Commands', {
  stream: eventStore.stream,
  eventTypes: [
    {
      name: 'PlaceOrder',
      schema: { type: 'object', required: ['customerId'], properties: { customerId: { type: 'string' } } },
    },
  ],
  idempotencyKeyHeader: 'Idempotency-Key',
});
