import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ReadModel, StreamStore } from 'cdk-streaming-patterns';

const stack = new Stack(new App(), 'ReadModels');
const orderEvents = new StreamStore(stack, 'OrderEvents');
const alarmTopic = new sns.Topic(stack, 'Alarms', {
  masterKey: new kms.Key(stack, 'AlarmsKey', { enableKeyRotation: true }),
  enforceSSL: true,
});

// A table with its query API, fed by one projection Lambda per input stream (PutItem on the table only).
new ReadModel(stack, 'ReadModelV1', {
  inputs: [{ name: 'order-events', stream: orderEvents.stream }],
  removalPolicy: RemovalPolicy.DESTROY,
  alarmTopic,
});
