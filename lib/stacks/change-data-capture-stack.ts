import { Fn, RemovalPolicy, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { OpenSearchDestination, RedshiftStreamingIngestion } from '../destination';
import { DynamoDbCdcIngestion } from '../ingestion';
import { createAlarmTopic } from '../internal/alarms';
import { StreamStore } from '../storage';

export interface ChangeDataCaptureStackProps extends StackProps {
  /**
   * Base capacity of the Redshift Serverless workgroup, in RPUs (`RedshiftStreamingIngestionProps.baseCapacity`).
   * @default 8
   */
  readonly redshiftBaseCapacity?: number;
  /** OpenSearch index the changes are written to. @default 'order-changes' */
  readonly openSearchIndexName?: string;
  /** Applies to the table, the stream and the keys. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Change data capture end to end: an `orders` DynamoDB table streams its item changes (Kinesis streaming destination)
 * into a stream, which Redshift Serverless reads with streaming ingestion (an external schema and an auto-refreshed
 * materialized view) and Firehose delivers to an OpenSearch Serverless collection.
 */
export class ChangeDataCaptureStack extends Stack {
  public readonly alarmTopic: sns.Topic;
  public readonly table: dynamodb.Table;
  public readonly changeStream: StreamStore;
  public readonly cdc: DynamoDbCdcIngestion;
  public readonly vpc: ec2.Vpc;
  public readonly redshift: RedshiftStreamingIngestion;
  public readonly search: OpenSearchDestination;

  constructor(scope: Construct, id: string, props: ChangeDataCaptureStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.alarmTopic = createAlarmTopic(this, { keyDescription: 'Encrypts the alarm topic' });

    this.changeStream = new StreamStore(this, 'Changes', { removalPolicy, alarmTopic: this.alarmTopic });
    const tableKey = new kms.Key(this, 'OrdersKey', {
      description: 'Encrypts the orders table',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.Table(this, 'Orders', {
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: tableKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    this.cdc = new DynamoDbCdcIngestion(this, 'OrdersCdc', {
      stream: this.changeStream.stream,
      existingTable: this.table,
    });

    // Redshift Serverless needs subnets in three Availability Zones; no NAT: Redshift reaches Kinesis through an
    // interface endpoint (enhanced VPC routing), and nothing else in the VPC needs the internet.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 3,
      natGateways: 0,
      subnetConfiguration: [{ name: 'warehouse', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    this.redshift = new RedshiftStreamingIngestion(this, 'Warehouse', {
      stream: this.changeStream.stream,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      baseCapacity: props.redshiftBaseCapacity,
      schemaName: 'orders_cdc',
      viewName: 'order_changes',
      removalPolicy,
    });
    const kinesisEndpoint = this.vpc.addInterfaceEndpoint('KinesisEndpoint', {
      service: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      open: false,
    });
    kinesisEndpoint.connections.allowDefaultPortFrom(this.redshift.securityGroup!, 'Redshift streaming ingestion');
    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions::AwsSolutions-VPC7',
      reason: 'The VPC has a flow log for rejected traffic (flowLogs.rejected).',
    });

    this.search = new OpenSearchDestination(this, 'Search', {
      stream: this.changeStream.stream,
      indexName: props.openSearchIndexName ?? 'order-changes',
      alarmTopic: this.alarmTopic,
    });
  }

  /**
   * Three Availability Zones even when the stack is environment-agnostic (where CDK assumes two): Redshift
   * Serverless requires three. Regions with fewer usable zones need an environment-specific stack.
   */
  public get availabilityZones(): string[] {
    // With account and region known, CDK looks the zones up (context); otherwise it returns two Fn::GetAZs picks.
    if (!Token.isUnresolved(this.account) && !Token.isUnresolved(this.region)) return super.availabilityZones;
    return [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs()));
  }
}
