import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { applyNagChecks } from '../../../bin/nag';
import { ReplayRole } from '../../../lib/operations';

function fixture() {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111122223333', region: 'us-east-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const source = new kinesis.Stream(stack, 'Source', { encryption: kinesis.StreamEncryption.KMS, encryptionKey: key });
  const target = new kinesis.Stream(stack, 'Target', { encryption: kinesis.StreamEncryption.KMS, encryptionKey: key });
  const bucket = new s3.Bucket(stack, 'Archive', {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    enforceSSL: true,
    serverAccessLogsPrefix: 'logs/',
  });
  return { app, stack, source, target, bucket };
}

describe('ReplayRole', () => {
  test('grants exactly the calls of the replay CLI per resource', () => {
    const f = fixture();
    new ReplayRole(f.stack, 'Replay', {
      sourceStreams: [f.source],
      archives: [{ bucket: f.bucket, prefix: 'events/' }],
      targetStreams: [f.target],
    });
    const policy = Object.values(Template.fromStack(f.stack).findResources('AWS::IAM::Policy'))[0];
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Source/), 'Arn'] },
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] } },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Archive/), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['events/*'] } },
      },
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Archive/), 'Arn'] }, '/events/*']] },
      },
      {
        Effect: 'Allow',
        Action: 'kinesis:PutRecords',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Target/), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
      },
    ]);
  });

  test('is assumable by the account by default, for up to 4 hours', () => {
    const f = fixture();
    new ReplayRole(f.stack, 'Replay');
    Template.fromStack(f.stack).hasResourceProperties('AWS::IAM::Role', {
      MaxSessionDuration: 14400,
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { AWS: Match.objectLike({ 'Fn::Join': Match.anyValue() }) } })],
      },
    });
  });

  test('takes a given principal', () => {
    const f = fixture();
    new ReplayRole(f.stack, 'Replay', { assumedBy: new iam.ArnPrincipal('arn:aws:iam::111122223333:role/ops') });
    Template.fromStack(f.stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { AWS: 'arn:aws:iam::111122223333:role/ops' } })],
      },
    });
  });

  test('has no unacknowledged cdk-nag finding', () => {
    const f = fixture();
    new ReplayRole(f.stack, 'Replay', {
      sourceStreams: [f.source],
      archives: [{ bucket: f.bucket, prefix: 'events/' }],
      targetStreams: [f.target],
    });
    applyNagChecks(f.app);
    expect(() => f.app.synth()).not.toThrow();
  });

  test('rejects a prefix without a trailing slash and a session beyond 12 hours', () => {
    const f = fixture();
    expect(() => new ReplayRole(f.stack, 'A', { archives: [{ bucket: f.bucket, prefix: 'events' }] })).toThrow(
      /archive prefix must be a non-empty key prefix ending with '\/', got 'events'/,
    );
    expect(() => new ReplayRole(f.stack, 'B', { maxSessionDuration: Duration.hours(13) })).toThrow(
      /maxSessionDuration must be between 1 hour and 12 hours, got 13 hours/,
    );
  });
});
