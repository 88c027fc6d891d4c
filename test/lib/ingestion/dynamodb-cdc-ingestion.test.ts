import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DynamoDbCdcIngestion } from '../../../lib/ingestion';
import { StreamStore } from '../../../lib/storage';
import { stackWithStream, synthWithNag } from './helpers';

const STREAM_ARN = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Store'), 'Arn'] };
const partitionKey = { name: 'orderId', type: dynamodb.AttributeType.STRING };

describe('DynamoDbCdcIngestion with a table it creates', () => {
  test('creates a TableV2 streaming to the stream with millisecond timestamps', () => {
    const { stack, store } = stackWithStream();
    const cdc = new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, tableProps: { partitionKey } });
    const t = Template.fromStack(stack);
    expect(cdc.table).toBeInstanceOf(dynamodb.TableV2);
    expect(cdc.creationDateTimePrecision).toBe(dynamodb.ApproximateCreationDateTimePrecision.MILLISECOND);
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
      Replicas: [
        Match.objectLike({
          Region: 'eu-west-1',
          KinesisStreamSpecification: { StreamArn: STREAM_ARN, ApproximateCreationDateTimePrecision: 'MILLISECOND' },
        }),
      ],
    });
  });

  test('encrypts the table with a new rotated customer-managed key and turns on point-in-time recovery', () => {
    const { stack, store } = stackWithStream();
    const cdc = new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, tableProps: { partitionKey } });
    const t = Template.fromStack(stack);
    expect(cdc.tableKey).toBeDefined();
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('table of'),
      EnableKeyRotation: true,
    });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdcTableKey'), 'Arn'] } },
        }),
      ],
    });
  });

  test('microsecond precision and the given table props and encryption are used', () => {
    const { stack, store } = stackWithStream();
    const key = new kms.Key(stack, 'Mine');
    const cdc = new DynamoDbCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      creationDateTimePrecision: dynamodb.ApproximateCreationDateTimePrecision.MICROSECOND,
      tableProps: {
        partitionKey,
        tableName: 'orders',
        encryption: dynamodb.TableEncryptionV2.customerManagedKey(key),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      },
    });
    expect(cdc.tableKey).toBeUndefined();
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 2); // the stream's and the given one
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'orders',
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] } },
          KinesisStreamSpecification: { StreamArn: STREAM_ARN, ApproximateCreationDateTimePrecision: 'MICROSECOND' },
        }),
      ],
    });
  });

  test('a replica added to the table later leaves only the local replica streaming', () => {
    const { stack, store } = stackWithStream();
    const cdc = new DynamoDbCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      tableProps: { partitionKey, encryption: dynamodb.TableEncryptionV2.awsManagedKey() },
    });
    (cdc.table as dynamodb.TableV2).addReplica({ region: 'us-east-1' });
    const replicas = Template.fromStack(stack).findResources('AWS::DynamoDB::GlobalTable');
    const [table] = Object.values(replicas);
    const byRegion = Object.fromEntries(
      (table.Properties.Replicas as Array<Record<string, unknown>>).map((r) => [
        r.Region,
        r.KinesisStreamSpecification,
      ]),
    );
    expect(byRegion['us-east-1']).toBeUndefined();
    expect(byRegion['eu-west-1']).toEqual(
      expect.objectContaining({ ApproximateCreationDateTimePrecision: 'MILLISECOND' }),
    );
  });
});

describe('DynamoDbCdcIngestion with a table of the app', () => {
  test('a TableV2 of the app gets the streaming destination on its local replica', () => {
    const { stack, store } = stackWithStream();
    const table = new dynamodb.TableV2(stack, 'Orders', { partitionKey });
    const cdc = new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, existingTable: table });
    expect(cdc.table).toBe(table);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({
          KinesisStreamSpecification: { StreamArn: STREAM_ARN, ApproximateCreationDateTimePrecision: 'MILLISECOND' },
        }),
      ],
    });
  });

  test('a Table of the app gets KinesisStreamSpecification on AWS::DynamoDB::Table', () => {
    const { stack, store } = stackWithStream();
    const table = new dynamodb.Table(stack, 'Orders', { partitionKey });
    new DynamoDbCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      existingTable: table,
      creationDateTimePrecision: dynamodb.ApproximateCreationDateTimePrecision.MICROSECOND,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KinesisStreamSpecification: { StreamArn: STREAM_ARN, ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    });
  });

  test('a table already streaming to this stream is accepted', () => {
    const { stack, store } = stackWithStream();
    const table = new dynamodb.Table(stack, 'Orders', { partitionKey, kinesisStream: store.stream });
    new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, existingTable: table });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::Table', {
      KinesisStreamSpecification: { StreamArn: STREAM_ARN, ApproximateCreationDateTimePrecision: 'MILLISECOND' },
    });
  });

  test('adds no IAM: DynamoDB writes with its service-linked role', () => {
    const { stack, store } = stackWithStream();
    new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, tableProps: { partitionKey } });
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Policy', 0);
  });
});

describe('DynamoDbCdcIngestion validation', () => {
  test('rejects neither a table nor table props', () => {
    const { stack, store } = stackWithStream();
    expect(() => new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream })).toThrow(
      /give existingTable .* or tableProps/,
    );
  });

  test('rejects a new table with the default key in a region-agnostic stack', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const store = new StreamStore(stack, 'Store');
    expect(
      () => new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, tableProps: { partitionKey } }),
    ).toThrow(
      /TableV2 can only render in a stack with an explicit region: give the stack env.region, or tableProps.encryption/,
    );
  });

  test('a region-agnostic stack works with the table encryption given', () => {
    const stack = new Stack(new App(), 'Agnostic');
    const store = new StreamStore(stack, 'Store');
    new DynamoDbCdcIngestion(stack, 'Cdc', {
      stream: store.stream,
      tableProps: { partitionKey, encryption: dynamodb.TableEncryptionV2.awsManagedKey() },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ Region: { Ref: 'AWS::Region' }, KinesisStreamSpecification: Match.anyValue() })],
    });
  });

  test('rejects both a table and table props', () => {
    const { stack, store } = stackWithStream();
    const table = new dynamodb.TableV2(stack, 'Orders', { partitionKey });
    expect(
      () =>
        new DynamoDbCdcIngestion(stack, 'Cdc', {
          stream: store.stream,
          existingTable: table,
          tableProps: { partitionKey },
        }),
    ).toThrow(/existingTable cannot be combined with tableProps/);
  });

  test('rejects tableProps.kinesisStream', () => {
    const { stack, store } = stackWithStream();
    const other = new kinesis.Stream(stack, 'Other');
    expect(
      () =>
        new DynamoDbCdcIngestion(stack, 'Cdc', {
          stream: store.stream,
          tableProps: { partitionKey, kinesisStream: other },
        }),
    ).toThrow(/tableProps.kinesisStream must be left out/);
  });

  test('rejects an imported table, naming it', () => {
    const { stack, store } = stackWithStream();
    const table = dynamodb.Table.fromTableName(stack, 'Imported', 'orders');
    expect(() => new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, existingTable: table })).toThrow(
      /existingTable must be a dynamodb.Table or dynamodb.TableV2 defined in this app, got TestStack\/Imported/,
    );
  });

  test('rejects a Table that streams to another stream', () => {
    const { stack, store } = stackWithStream();
    const other = new kinesis.Stream(stack, 'Other');
    const table = new dynamodb.Table(stack, 'Orders', { partitionKey, kinesisStream: other });
    expect(() => new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, existingTable: table })).toThrow(
      /TestStack\/Orders already streams to another Kinesis stream/,
    );
  });

  test('rejects a TableV2 that streams to another stream when the template is rendered', () => {
    const { stack, store } = stackWithStream();
    const other = new kinesis.Stream(stack, 'Other');
    const table = new dynamodb.TableV2(stack, 'Orders', { partitionKey, kinesisStream: other });
    new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, existingTable: table });
    expect(() => Template.fromStack(stack)).toThrow(/TestStack\/Orders already streams to another Kinesis stream/);
  });
});

describe('DynamoDbCdcIngestion cdk-nag', () => {
  test('a created table passes the AWS Solutions checks', () => {
    expect(() =>
      synthWithNag(
        (stack, store) =>
          new DynamoDbCdcIngestion(stack, 'Cdc', { stream: store.stream, tableProps: { partitionKey } }),
      ),
    ).not.toThrow();
  });
});
