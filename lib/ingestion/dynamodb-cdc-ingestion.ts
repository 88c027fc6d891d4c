import { IResolveContext, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { assertExclusive } from '../internal/validation';

export interface DynamoDbCdcIngestionProps {
  /**
   * The stream item-level changes are written to (a `StreamStore`'s stream). DynamoDB writes with its service-linked
   * role `AWSServiceRoleForDynamoDBKinesisDataStreamsReplication`, whose policy allows `kms:GenerateDataKey` through
   * Kinesis on any key: the key policy of the stream's key must delegate to IAM, as CDK's default key policy does.
   */
  readonly stream: kinesis.IStream;
  /**
   * A table of this app whose changes to stream: a `dynamodb.TableV2` (its replica in this stack's region) or a
   * `dynamodb.Table`. Its `kinesisStream`, if any, must be this stream.
   * @default - a new table from `tableProps`
   */
  readonly existingTable?: dynamodb.ITable;
  /**
   * The table to create, as a `TableV2`. Only `partitionKey` is required; a customer-managed key and point-in-time
   * recovery are added unless given.
   * @default - required without `existingTable`
   */
  readonly tableProps?: dynamodb.TablePropsV2;
  /**
   * Precision of `ApproximateCreationDateTime` in the records (DynamoDB's own default is MICROSECOND).
   * @default dynamodb.ApproximateCreationDateTimePrecision.MILLISECOND
   */
  readonly creationDateTimePrecision?: dynamodb.ApproximateCreationDateTimePrecision;
}

/**
 * Change data capture from DynamoDB: turns on a table's Kinesis streaming destination, so every item-level change
 * (INSERT, MODIFY, REMOVE, with old and new images) arrives on the stream as a JSON record (see
 * `parseDynamoDbChange` in `lambda/shared`). For a new table or one of the app; an imported table cannot be changed.
 */
export class DynamoDbCdcIngestion extends Construct {
  /** The table whose changes are streamed. */
  public readonly table: dynamodb.ITable;
  /** The key of the created table, when this construct created both. */
  public readonly tableKey?: kms.IKey;
  public readonly stream: kinesis.IStream;
  public readonly creationDateTimePrecision: dynamodb.ApproximateCreationDateTimePrecision;

  constructor(scope: Construct, id: string, props: DynamoDbCdcIngestionProps) {
    super(scope, id);
    assertExclusive('existingTable', props.existingTable, { tableProps: props.tableProps });
    this.stream = props.stream;
    this.creationDateTimePrecision =
      props.creationDateTimePrecision ?? dynamodb.ApproximateCreationDateTimePrecision.MILLISECOND;

    if (props.existingTable) {
      this.table = props.existingTable;
    } else {
      if (!props.tableProps) {
        throw new Error('give existingTable (a Table or TableV2 of this app) or tableProps (at least a partitionKey)');
      }
      if (props.tableProps.kinesisStream) {
        throw new Error('tableProps.kinesisStream must be left out: the stream is the stream prop');
      }
      let encryption = props.tableProps.encryption;
      if (!encryption && Token.isUnresolved(Stack.of(this).region)) {
        throw new Error(
          'a new table gets a customer-managed key, which TableV2 can only render in a stack with an explicit region: ' +
            'give the stack env.region, or tableProps.encryption',
        );
      }
      if (!encryption) {
        const key = new kms.Key(this, 'TableKey', {
          description: `Encrypts the table of ${this.node.path}`,
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.RETAIN,
        });
        this.tableKey = key;
        encryption = dynamodb.TableEncryptionV2.customerManagedKey(key);
      }
      this.table = new dynamodb.TableV2(this, 'Table', {
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...props.tableProps,
        encryption,
        kinesisStream: props.stream,
      });
    }
    this.enableStreamingDestination(this.table);
  }

  private enableStreamingDestination(table: dynamodb.ITable): void {
    const cfn = table.node.defaultChild;
    const specification = {
      streamArn: this.stream.streamArn,
      approximateCreationDateTimePrecision: this.creationDateTimePrecision,
    };
    if (cfn instanceof dynamodb.CfnTable) {
      const current = cfn.kinesisStreamSpecification;
      this.assertSameStream(current && 'streamArn' in current ? current.streamArn : undefined, table);
      cfn.kinesisStreamSpecification = specification;
    } else if (cfn instanceof dynamodb.CfnGlobalTable) {
      // TableV2 renders its replicas lazily (replicas can be added later) and has no precision prop: the replica of
      // this stack's region gets the specification when the template is rendered.
      const replicas = cfn.replicas;
      cfn.replicas = Lazy.uncachedAny({
        produce: (context: IResolveContext) => {
          const resolved = context.resolve(replicas) as Array<Record<string, unknown>>;
          const region = JSON.stringify(context.resolve(Stack.of(cfn).region));
          const local = resolved.find((r) => JSON.stringify(r.region) === region);
          if (!local) throw new Error(`${table.node.path} has no replica in the region of its stack`);
          const current = local.kinesisStreamSpecification as { streamArn?: unknown } | undefined;
          if (
            current?.streamArn !== undefined &&
            JSON.stringify(current.streamArn) !== JSON.stringify(context.resolve(this.stream.streamArn))
          ) {
            throw new Error(`${table.node.path} already streams to another Kinesis stream (its kinesisStream prop)`);
          }
          local.kinesisStreamSpecification = context.resolve(specification);
          return resolved;
        },
      });
    } else {
      throw new Error(
        `existingTable must be a dynamodb.Table or dynamodb.TableV2 defined in this app, got ${table.node.path}: ` +
          'an imported table cannot be changed here (enable its Kinesis streaming destination where it is defined)',
      );
    }
  }

  private assertSameStream(current: string | undefined, table: dynamodb.ITable): void {
    if (current === undefined) return;
    const stack = Stack.of(this);
    if (JSON.stringify(stack.resolve(current)) !== JSON.stringify(stack.resolve(this.stream.streamArn))) {
      throw new Error(`${table.node.path} already streams to another Kinesis stream (its kinesisStream prop)`);
    }
  }
}
