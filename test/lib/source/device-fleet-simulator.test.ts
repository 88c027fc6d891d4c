import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { applyNagChecks } from '../../../bin/nag';
import { DeviceFleetSimulator, DeviceFleetSimulatorProps } from '../../../lib/source';
import { StreamStore, StreamStoreEncryption } from '../../../lib/storage';

function build(props: Partial<DeviceFleetSimulatorProps> = {}, app = new App()) {
  const stack = new Stack(app, 'S');
  const store = new StreamStore(stack, 'Raw');
  const simulator = new DeviceFleetSimulator(stack, 'Fleet', { stream: store.stream, ...props });
  return { stack, store, simulator };
}

describe('DeviceFleetSimulator defaults', () => {
  const { stack, simulator } = build();
  const t = Template.fromStack(stack);

  test('nodejs24.x on arm64, timeout = run duration + 30 s, tracing on', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 80,
      TracingConfig: { Mode: 'Active' },
    });
  });

  test('environment carries the stream ARN and the default fleet settings', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STREAM_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Raw'), 'Arn'] },
          DEVICE_COUNT: '100',
          RATE_PER_SECOND: '100',
          DURATION_SECONDS: '50',
          ANOMALY_RATE: '0.001',
          DUPLICATE_RATE: '0.001',
          LATE_RATE: '0.001',
          MALFORMED_RATE: '0.001',
          SEED: '42',
        }),
      },
    });
  });

  test('an enabled schedule every minute invokes the function without retries', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FleetFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FleetSchedule'), 'Arn'] },
    });
  });

  test('the role may only PutRecords on the stream, encrypt with its key and log to its own group', () => {
    t.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const statement = (s: object) =>
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('FleetServiceRole') }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(s)]) },
      });
    statement({ Action: 'kinesis:PutRecords', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Raw'), 'Arn'] } });
    statement({
      Action: 'kms:GenerateDataKey',
      Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RawKey'), 'Arn'] },
    });
    statement({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('FleetLogGroup'), 'Arn'] },
    });
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policies).not.toMatch(/kinesis:(GetRecords|DescribeStream|ListShards|PutRecord")/);
    expect(policies).not.toMatch(/kms:(Decrypt|ReEncrypt)/);
  });

  test('exposes its function, role, log group and rule', () => {
    expect(simulator.function.runtime.name).toBe('nodejs24.x');
    expect(simulator.rule).toBeDefined();
    expect(stack.resolve(simulator.metricErrors().metricName)).toBe('Errors');
    expect(simulator.metricDuration().statistic).toBe('Maximum');
  });
});

describe('DeviceFleetSimulator options', () => {
  test('settings reach the environment, schedule and timeout', () => {
    const { stack } = build({
      deviceCount: 5000,
      ratePerSecond: 2000,
      runDuration: Duration.seconds(240),
      scheduleRate: Duration.minutes(5),
      anomalyRate: 0.01,
      duplicateRate: 0.02,
      lateRate: 0.03,
      malformedRate: 0.04,
      seed: 7,
      memorySize: 1024,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 270,
      Environment: {
        Variables: Match.objectLike({
          DEVICE_COUNT: '5000',
          RATE_PER_SECOND: '2000',
          DURATION_SECONDS: '240',
          ANOMALY_RATE: '0.01',
          DUPLICATE_RATE: '0.02',
          LATE_RATE: '0.03',
          MALFORMED_RATE: '0.04',
          SEED: '7',
        }),
      },
    });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  test('enabled false keeps the schedule but disables it', () => {
    const t = Template.fromStack(build({ enabled: false }).stack);
    t.hasResourceProperties('AWS::Events::Rule', { State: 'DISABLED' });
  });

  test('a stream without a customer key gets no KMS grant', () => {
    const s2 = new Stack(new App(), 'S2');
    const managed = new StreamStore(s2, 'Managed', { encryption: StreamStoreEncryption.AWS_MANAGED_KEY });
    new DeviceFleetSimulator(s2, 'Fleet', { stream: managed.stream });
    expect(JSON.stringify(Template.fromStack(s2).findResources('AWS::IAM::Policy'))).not.toContain('kms:');
  });

  test('accepts an imported stream', () => {
    const app = new App();
    const stack = new Stack(app, 'Imported');
    const stream = kinesis.Stream.fromStreamArn(stack, 'S', 'arn:aws:kinesis:eu-west-1:111122223333:stream/raw');
    new DeviceFleetSimulator(stack, 'Fleet', { stream });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STREAM_ARN: 'arn:aws:kinesis:eu-west-1:111122223333:stream/raw' }) },
    });
  });
});

describe('DeviceFleetSimulator validation', () => {
  test.each<[Partial<DeviceFleetSimulatorProps>, RegExp]>([
    [{ deviceCount: 0 }, /deviceCount must be an integer between 1 and 99999, got 0/],
    [{ deviceCount: 100000 }, /deviceCount must be an integer between 1 and 99999, got 100000/],
    [{ deviceCount: 1.5 }, /deviceCount must be an integer between 1 and 99999, got 1.5/],
    [{ ratePerSecond: 0 }, /ratePerSecond must be an integer between 1 and 1000000, got 0/],
    [{ seed: -1 }, /seed must be an integer between 0 and 4294967295, got -1/],
    [{ anomalyRate: 1.5 }, /anomalyRate must be between 0 and 1, got 1.5/],
    [{ duplicateRate: -0.1 }, /duplicateRate must be between 0 and 1, got -0.1/],
    [{ lateRate: Number.NaN }, /lateRate must be between 0 and 1, got NaN/],
    [{ malformedRate: 2 }, /malformedRate must be between 0 and 1, got 2/],
    [{ anomalyRate: 0.5, duplicateRate: 0.3, lateRate: 0.2, malformedRate: 0.1 }, /must be at most 1, got 1.1/],
    [{ scheduleRate: Duration.seconds(90) }, /scheduleRate must be 1 to 60 whole minutes, got 1 minute 30 seconds/],
    [{ scheduleRate: Duration.hours(2) }, /scheduleRate must be 1 to 60 whole minutes, got 2 hours/],
    [{ runDuration: Duration.seconds(61) }, /runDuration must be 1 to 60 whole seconds .* got 61 seconds/],
    [{ runDuration: Duration.millis(500) }, /runDuration must be 1 to 60 whole seconds .* got 0.5 seconds/],
    [
      { runDuration: Duration.minutes(15), scheduleRate: Duration.minutes(30) },
      /runDuration must be 1 to 840 whole seconds .* got 900 seconds/,
    ],
    [{ memorySize: 64 }, /memorySize must be between 128 and 10240 MB, got 64/],
  ])('rejects %p', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('the four rates may add up to exactly 1', () => {
    expect(() => build({ anomalyRate: 0.25, duplicateRate: 0.25, lateRate: 0.25, malformedRate: 0.25 })).not.toThrow();
  });
});

describe('DeviceFleetSimulator cdk-nag', () => {
  test('has no unacknowledged finding', () => {
    const app = new App();
    build({}, app);
    applyNagChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
