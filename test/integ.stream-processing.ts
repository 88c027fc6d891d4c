import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Environment, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { applyNagChecks } from '../bin/nag';
import { handlerEntry } from '../lib/internal';
import { LambdaStreamProcessor } from '../lib/processing';
import { StreamStore } from '../lib/storage';
import { deployEnvironment, waiterProviderOf } from './lib/integ/integ-support';

/**
 * Deployable integration test: StreamStore -> LambdaStreamProcessor (json-validator). A valid record is processed,
 * an invalid one ends in the dead-letter queue with its reason; the assertion waits for exactly that one dead letter.
 *
 * Deploy: npx cdk deploy --all --app "npx ts-node --transpile-only test/integ.stream-processing.ts"
 */
export function buildStreamProcessingInteg(app: App = new App(), env: Environment = deployEnvironment()) {
  const stack = new Stack(app, 'IntegStreamProcessing', { env });
  const store = new StreamStore(stack, 'Store', {
    // A test stack leaves nothing behind that it can delete.
    removalPolicy: RemovalPolicy.DESTROY,
    createAlarms: false,
  });
  const processor = new LambdaStreamProcessor(stack, 'Validator', {
    stream: store.stream,
    entry: handlerEntry('json-validator'),
    environment: { REQUIRED_FIELDS: 'id,type' },
    createAlarms: false,
  });

  const assertionStack = new Stack(app, 'IntegStreamProcessingAssertions', { env });
  const integ = new IntegTest(app, 'StreamProcessing', { testCases: [stack], assertionStack });

  const valid = JSON.stringify({ id: 'integ-valid-1', type: 'reading' });
  const invalid = JSON.stringify({ id: 'integ-invalid-1' });
  const put = (data: string) =>
    integ.assertions.awsApiCall('Kinesis', 'putRecord', {
      StreamARN: store.streamArn,
      PartitionKey: 'integ',
      Data: data,
    });
  const putValid = put(valid);
  const putInvalid = put(invalid);

  const deadLetters = integ.assertions
    .awsApiCall('SQS', 'receiveMessage', {
      QueueUrl: processor.deadLetterQueue.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      // Keep messages visible so every retry of the waiter sees the whole queue.
      VisibilityTimeout: 0,
    })
    // Exactly one message: the invalid record with its reason. The valid one (written first, same shard) is not there.
    .expect(
      ExpectedResult.objectLike({
        Messages: [
          Match.objectLike({
            Body: Match.serializedJson(
              Match.objectLike({
                reason: 'SCHEMA',
                detail: 'missing required field(s): type',
                stage: 'json-validator',
                payload: invalid,
              }),
            ),
          }),
        ],
      }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });

  // The stream and the queue are encrypted with customer-managed keys: the SDK calls need the key operations too.
  putValid.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey'],
    Resource: [store.encryptionKey!.keyArn],
  });
  // With waitForAssertions only the waiter's provider calls SQS.
  waiterProviderOf(deadLetters).addToRolePolicy({
    Effect: 'Allow',
    Action: ['kms:Decrypt'],
    Resource: [processor.deadLetterQueue.encryptionMasterKey!.keyArn],
  });

  putValid.next(putInvalid).next(deadLetters);
  return { app, stack, assertionStack, integ, store, processor };
}

if (require.main === module) {
  const { app } = buildStreamProcessingInteg();
  applyNagChecks(app);
  app.synth();
}
