// Adding the `shipping` function of docs/event-sourced-microservices.md to EventSourcedMicroservicesStack without
// editing the stack: the app passes it in the stack's props (bin/app.ts builds the same stack from cdk.json).
import * as path from 'path';
import { App, Duration } from 'aws-cdk-lib';
import { EventSourcedMicroservicesStack, eventSourcedMicroservicesPropsFromContext } from 'cdk-streaming-patterns';

const app = new App({
  context: { 'eventsourced:statefulFunctionsCode': 's3://my-ci-artifacts/flink/stateful-functions-1.0.0.jar' },
});

// #region add-function
new EventSourcedMicroservicesStack(app, 'EventSourcedMicroservices', {
  ...eventSourcedMicroservicesPropsFromContext(app),
  // A stream, its runtime egress, archive, replay permissions, dashboard row and outputs.
  egressStreams: [{ name: 'shipping-events' }],
  functions: [
    {
      functionType: 'shipping',
      entry: path.join(__dirname, 'functions', 'shipping', 'index.ts'),
      egressNames: ['shipping-events'], // checked at synth against the declared egress streams
      invocationTimeout: Duration.seconds(5), // module.json timeoutMs; the Lambda timeout must be shorter
      maxAttempts: 5, // then the messages are dead-lettered with the reason
      // Accepted at POST /events/ShipmentRequested and routed by the runtime to `shipping`.
      commands: [
        {
          name: 'ShipmentRequested',
          schema: {
            type: 'object',
            required: ['orderId'],
            additionalProperties: false,
            properties: { orderId: { type: 'string', minLength: 1, maxLength: 128 } },
          },
        },
      ],
    },
  ],
});
// #endregion
