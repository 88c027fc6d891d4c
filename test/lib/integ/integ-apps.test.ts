import { App, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { applyNagChecks } from '../../../bin/nag';
import { buildEventSourcedProjectionInteg } from '../../integ.event-sourced-projection';
import { buildStreamProcessingInteg } from '../../integ.stream-processing';
import { buildTimeSeriesIngestionInteg } from '../../integ.time-series-ingestion';

// The integration apps are deployed by hand (see lib/processing/README.md); here they must synthesize, pass cdk-nag
// and carry their assertions.
const env: Environment = { account: '111122223333', region: 'eu-west-1' };

interface IntegApp {
  readonly app: App;
  readonly stack: Stack;
  readonly assertionStack: Stack;
}

function synthWithNag(build: (app: App, env: Environment) => IntegApp): IntegApp {
  const app = new App();
  const built = build(app, env);
  applyNagChecks(app);
  // Throws on any unacknowledged cdk-nag finding, in the test stack or the assertion stack.
  app.synth();
  return built;
}

/** The SDK calls of the assertion stack, as service.api in template order. */
function sdkCalls(stack: Stack): string[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
  return Object.values(resources)
    .map((r) => r.Type)
    .filter((t) => t.startsWith('Custom::DeployAssert@SdkCall'))
    .map((t) => t.replace('Custom::DeployAssert@SdkCall', ''));
}

/** Inline statements of every role in the assertion stack (the providers are raw CfnResources, not L2 roles). */
function providerStatements(stack: Stack): Array<{ Action: string | string[]; Resource: unknown }> {
  const resources = Template.fromStack(stack).findResources('AWS::IAM::Role');
  return Object.values(resources).flatMap((r) =>
    ((r.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: [] } }>).flatMap(
      (p) => p.PolicyDocument.Statement,
    ),
  );
}

function actionsOf(stack: Stack): string[] {
  return providerStatements(stack).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe('integ.stream-processing', () => {
  const { stack, assertionStack } = synthWithNag(buildStreamProcessingInteg);

  test('deploys the stream and the json-validator processor', () => {
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Kinesis::Stream', 1);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REQUIRED_FIELDS: 'id,type' }) },
    });
  });

  test('puts a valid and an invalid record, then waits for the one dead letter with its reason', () => {
    expect(sdkCalls(assertionStack)).toEqual(['KinesisputRecord', 'KinesisputRecord', 'SQSreceiveMessage']);
    const t = Template.fromStack(assertionStack);
    const puts = Object.values(t.findResources('Custom::DeployAssert@SdkCallKinesisputRecord'));
    expect(puts.map((p) => JSON.parse(p.Properties.parameters.Data))).toEqual([
      JSON.stringify({ id: 'integ-valid-1', type: 'reading' }),
      JSON.stringify({ id: 'integ-invalid-1' }),
    ]);
    const receive = Object.values(t.findResources('Custom::DeployAssert@SdkCallSQSreceiveMessage'))[0];
    const expected = JSON.stringify(receive.Properties.expected);
    expect(expected).toContain('SCHEMA');
    expect(expected).toContain('missing required field(s): type');
    // waitForAssertions: a state machine retries the call until the expectation holds or times out.
    expect(receive.Properties.stateMachineArn).toBeDefined();
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });

  test('the providers may use the customer-managed keys of the stream and the queue', () => {
    expect(actionsOf(assertionStack)).toEqual(
      expect.arrayContaining(['kinesis:PutRecord', 'kms:GenerateDataKey', 'sqs:ReceiveMessage', 'kms:Decrypt']),
    );
  });
});

describe('integ.time-series-ingestion', () => {
  const { stack, assertionStack } = synthWithNag(buildTimeSeriesIngestionInteg);

  test('deploys the REST ingestion API in front of the stream', () => {
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Kinesis::Stream', 1);
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
  });

  test('test-invokes POST /records, then reads the record back at the returned sequence number', () => {
    expect(sdkCalls(assertionStack)).toEqual([
      'APIGatewaytestInvokeMethod',
      'KinesisgetShardIterator',
      'KinesisgetRecords',
    ]);
    const t = Template.fromStack(assertionStack);
    t.hasResourceProperties('Custom::DeployAssert@SdkCallAPIGatewaytestInvokeMethod', {
      actualPath: 'status',
      expected: JSON.stringify({ $Exact: 200 }),
    });
    t.hasResourceProperties('Custom::DeployAssert@SdkCallKinesisgetShardIterator', {
      parameters: Match.objectLike({
        ShardIteratorType: '"AT_SEQUENCE_NUMBER"',
        StartingSequenceNumber: Match.objectLike({
          'Fn::Join': ['', ['"', { 'Fn::GetAtt': [Match.anyValue(), 'apiCallResponse.body.sequenceNumber'] }, '"']],
        }),
      }),
    });
    t.hasResourceProperties('Custom::DeployAssert@SdkCallKinesisgetRecords', {
      actualPath: 'Records.0.PartitionKey',
      expected: JSON.stringify({ $Exact: 'device-integ-1' }),
      stateMachineArn: Match.anyValue(),
    });
  });

  test('TestInvokeMethod is allowed as apigateway:POST on the one method', () => {
    const statement = providerStatements(assertionStack).find((s) => s.Action.includes('apigateway:POST'));
    expect(JSON.stringify(statement?.Resource)).toContain('/methods/POST');
  });
});

describe('integ.event-sourced-projection', () => {
  const { stack, assertionStack } = synthWithNag(buildEventSourcedProjectionInteg);

  test('deploys the egress stream, the projection and the read-model table', () => {
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ READ_MODEL_TABLE: Match.anyValue() }) },
    });
  });

  test('puts sequence 1, 2, a redelivered 1 and a fence, then awaits the fence and the order at sequence 2', () => {
    expect(sdkCalls(assertionStack)).toEqual([
      'KinesisputRecord',
      'KinesisputRecord',
      'KinesisputRecord',
      'KinesisputRecord',
      'DynamoDBgetItem',
      'DynamoDBgetItem',
    ]);
    const t = Template.fromStack(assertionStack);
    const puts = Object.values(t.findResources('Custom::DeployAssert@SdkCallKinesisputRecord')).map((p) =>
      JSON.parse(JSON.parse(p.Properties.parameters.Data)),
    );
    expect(puts.map((r) => [r.aggregateId, r.sequence])).toEqual([
      ['order-integ-1', 1],
      ['order-integ-1', 2],
      ['order-integ-1', 1],
      ['order-integ-fence', 1],
    ]);
    const gets = Object.values(t.findResources('Custom::DeployAssert@SdkCallDynamoDBgetItem'));
    expect(gets.map((g) => JSON.parse(g.Properties.expected))).toEqual([
      { $ObjectLike: { Item: { sequence: { N: '1' } } } },
      expect.objectContaining({
        $ObjectLike: expect.objectContaining({
          Item: expect.objectContaining({ sequence: { N: '2' } }),
        }),
      }),
    ]);
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
  });
});
