import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Environment, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { applyNagChecks } from '../bin/nag';
import { ApiGatewayIngestion, IngestionSchemas } from '../lib/ingestion';
import { StreamStore } from '../lib/storage';
import { deployEnvironment, waiterProviderOf } from './lib/integ/integ-support';

/** The raw telemetry record the test posts (shared telemetry contract). */
export const TELEMETRY_RECORD = {
  eventId: 'integ-evt-1',
  deviceId: 'device-integ-1',
  timestamp: 1764403200123,
  metrics: { temperature: 21.4, humidity: 40.2 },
  attributes: { fw: '1.2.0' },
};

/**
 * Deployable integration test: ApiGatewayIngestion -> StreamStore. The API uses IAM authorization, so the test posts
 * through API Gateway's TestInvokeMethod (which runs request validation, the mapping template and the Kinesis
 * integration with the integration role), then reads the record back at the sequence number the API returned and
 * checks that its partition key is the body's deviceId.
 *
 * Deploy: npx cdk deploy --all --app "npx ts-node --transpile-only test/integ.time-series-ingestion.ts"
 */
export function buildTimeSeriesIngestionInteg(app: App = new App(), env: Environment = deployEnvironment()) {
  const stack = new Stack(app, 'IntegTimeSeriesIngestion', { env });
  const store = new StreamStore(stack, 'Raw', { removalPolicy: RemovalPolicy.DESTROY, createAlarms: false });
  const ingestion = new ApiGatewayIngestion(stack, 'Ingestion', {
    stream: store.stream,
    eventSchema: IngestionSchemas.telemetryRecord(),
    createAlarms: false,
  });
  // methods[0] is POST /records (the record routes are created first).
  const putRecordMethod = ingestion.methods[0];

  const assertionStack = new Stack(app, 'IntegTimeSeriesIngestionAssertions', { env });
  const integ = new IntegTest(app, 'TimeSeriesIngestion', { testCases: [stack], assertionStack });

  const invoke = integ.assertions
    .awsApiCall(
      'APIGateway',
      'testInvokeMethod',
      {
        restApiId: ingestion.api.restApiId,
        resourceId: putRecordMethod.resource.resourceId,
        httpMethod: 'POST',
        pathWithQueryString: '/records',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(TELEMETRY_RECORD),
      },
      // The response also carries the execution log, too large for a custom resource response.
      ['body'],
    )
    .assertAtPath('status', ExpectedResult.exact(200));
  // TestInvokeMethod is authorized as apigateway:POST on the method (the SDK-derived action name does not exist).
  invoke.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['apigateway:POST'],
    Resource: [
      `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/restapis/${ingestion.api.restApiId}/resources/${putRecordMethod.resource.resourceId}/methods/POST`,
    ],
  });

  // Read exactly the record the API wrote: its shard, from its sequence number.
  const iterator = integ.assertions.awsApiCall('Kinesis', 'getShardIterator', {
    StreamARN: store.streamArn,
    ShardId: invoke.getAttString('body.shardId'),
    ShardIteratorType: 'AT_SEQUENCE_NUMBER',
    StartingSequenceNumber: invoke.getAttString('body.sequenceNumber'),
  });
  const records = integ.assertions
    .awsApiCall('Kinesis', 'getRecords', { ShardIterator: iterator.getAttString('ShardIterator'), Limit: 1 }, [
      'Records.0.PartitionKey',
    ])
    .assertAtPath('Records.0.PartitionKey', ExpectedResult.exact(TELEMETRY_RECORD.deviceId))
    // A shard iterator expires after 5 minutes.
    .waitForAssertions({ totalTimeout: Duration.minutes(4), interval: Duration.seconds(10) });
  // The stream is encrypted with a customer-managed key: reading needs kms:Decrypt.
  waiterProviderOf(records).addToRolePolicy({
    Effect: 'Allow',
    Action: ['kms:Decrypt'],
    Resource: [store.encryptionKey!.keyArn],
  });

  invoke.next(iterator).next(records);
  return { app, stack, assertionStack, integ, store, ingestion };
}

if (require.main === module) {
  const { app } = buildTimeSeriesIngestionInteg();
  applyNagChecks(app);
  app.synth();
}
