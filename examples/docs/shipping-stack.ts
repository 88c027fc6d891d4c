// The parts of EventSourcedMicroservicesStack (lib/stacks) that adding the `shipping` function of
// docs/event-sourced-microservices.md touches; the doc shows the regions.
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { FlinkCode, StatefulFunctionsApi, StatefulFunctionsProcessor, StreamStore } from 'cdk-streaming-patterns';

/** As lib/internal's: the entry of the handler in `<name>/index.ts` (here next to this file). */
const handlerEntry = (name: string) => path.join(__dirname, name, 'index.ts');

class ShopStack extends Stack {
  public readonly functionsApi: StatefulFunctionsApi;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const alarmTopic = new sns.Topic(this, 'Alarms', { enforceSSL: true });
    const egressRetention = Duration.days(7);
    this.functionsApi = new StatefulFunctionsApi(this, 'Functions', { alarmTopic });

    // #region add-function
    const shipping = this.functionsApi.addFunction({
      functionType: 'shipping',
      entry: handlerEntry('functions/shipping'),
      egressNames: ['shipping-events'],
      invocationTimeout: Duration.seconds(5), // module.json timeoutMs; the Lambda timeout must be shorter
      maxAttempts: 5, // then the messages are dead-lettered with the reason
      alarmTopic,
    });
    // #endregion

    // #region egress
    const shippingEvents = new StreamStore(this, 'ShippingEvents', { retentionPeriod: egressRetention, alarmTopic });
    // functions: [..., shipping]
    // ingress:   [..., { eventType: 'ShipmentRequested', functionType: 'shipping' }]
    // egress:    [..., { name: 'shipping-events', stream: shippingEvents.stream }]
    // #endregion
    new StatefulFunctionsProcessor(this, 'Runtime', {
      code: FlinkCode.fromBucket(s3.Bucket.fromBucketName(this, 'Artifacts', 'my-ci-artifacts'), 'flink/runtime.jar'),
      functions: [shipping],
      ingress: [{ eventType: 'ShipmentRequested', functionType: 'shipping' }],
      egress: [{ name: 'shipping-events', stream: shippingEvents.stream }],
      alarmTopic,
    });
  }
}

new ShopStack(new App(), 'Shop');
