import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { applyNagChecks } from '../../../bin/nag';
import { StreamingFoundationStack } from '../../../lib/stacks';
import { alarmDeliveryProblems } from './alarm-delivery';

describe('StreamingFoundationStack', () => {
  const app = new App();
  const stack = new StreamingFoundationStack(app, 'Foundation');
  const template = Template.fromStack(stack);

  test('matches the snapshot (asset hashes masked)', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('the validator reads through its own enhanced fan-out consumer', () => {
    template.hasResourceProperties('AWS::Kinesis::StreamConsumer', { ConsumerName: 'json-validator' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('EventsConsumerjsonvalidator'), 'ConsumerARN'] },
    });
  });

  test('every alarm notifies the encrypted alarm topic', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(8);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
  });

  test('CloudWatch may publish alarms to the topic and use its key (the TLS-only topic policy replaces the default)', () => {
    expect(alarmDeliveryProblems(template)).toEqual({ topicsChecked: 1, problems: [] });
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const nagApp = new App();
    new StreamingFoundationStack(nagApp, 'Foundation');
    applyNagChecks(nagApp);
    expect(() => nagApp.synth()).not.toThrow();
  });

  test('an unacknowledged finding fails synth (the gate works)', () => {
    const nagApp = new App();
    const s = new StreamingFoundationStack(nagApp, 'Foundation');
    // A bucket without access logs or TLS policy is a finding nobody acknowledged.
    new s3.Bucket(s, 'Unreviewed');
    applyNagChecks(nagApp);
    expect(() => nagApp.synth()).toThrow(/AwsSolutions-S1|Validation failed/);
  });
});
