import { Duration, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as aoss from 'aws-cdk-lib/aws-opensearchserverless';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { createAlarm } from '../internal/alarms';
import { createEncryptedLogGroup } from '../internal/encrypted-log-group';
import {
  acknowledgeKinesisSourceEncryption,
  acknowledgePrefixWildcards,
  createFirehoseRole,
  deliveryStatements,
  firehoseMetric,
  kinesisSource,
  validatePrefix,
} from '../internal/firehose-delivery';
import { acknowledgeWildcardResource } from '../internal/nag';
import { createAccessLogsBucket, createSecureBucket } from '../internal/secure-bucket';
import { describeDuration, validateDuration, validateName } from '../internal/validation';

/** How often Firehose starts a new index on a domain (the period is appended to the index name). */
export enum IndexRotation {
  NO_ROTATION = 'NoRotation',
  ONE_HOUR = 'OneHour',
  ONE_DAY = 'OneDay',
  ONE_WEEK = 'OneWeek',
  ONE_MONTH = 'OneMonth',
}

/** The workload an OpenSearch Serverless collection is sized for. */
export enum CollectionType {
  /** Append-heavy log and metric data, queried by time. */
  TIMESERIES = 'TIMESERIES',
  /** Full-text search over documents that are also updated. */
  SEARCH = 'SEARCH',
}

/** Options of `OpenSearchTarget.serverlessCollection`. */
export interface ServerlessCollectionOptions {
  /**
   * Collection name: 3-28 lower-case letters, digits and `-`, starting with a letter. It also names the collection's
   * encryption, network and data access policies (with `-enc`, `-net`, `-data`).
   * @default - a name derived from the construct path
   */
  readonly collectionName?: string;
  /** @default CollectionType.TIMESERIES */
  readonly collectionType?: CollectionType;
  /** Replicas in a standby Availability Zone. @default true */
  readonly standbyReplicas?: boolean;
  /** Key encrypting the collection. @default - the destination's key */
  readonly encryptionKey?: kms.IKey;
}

/** Options of `OpenSearchTarget.domain`. */
export interface DomainTargetOptions {
  /** How often Firehose starts a new index (`<index>-<period>`). @default IndexRotation.ONE_DAY */
  readonly indexRotation?: IndexRotation;
}

/** What the destination binds to. */
export interface OpenSearchTargetBindOptions {
  /** The role Firehose delivers with. */
  readonly role: iam.IRole;
  readonly indexName: string;
  /** The destination's key, for a collection that has none of its own. */
  readonly encryptionKey: kms.IKey;
}

/** How the delivery stream reaches the target. */
export interface OpenSearchTargetConfig {
  /** Destination settings specific to the target: the collection endpoint, or the domain and index rotation. */
  readonly serverless?: OpenSearchServerlessSettings;
  readonly domain?: OpenSearchDomainSettings;
  /** Statements the Firehose role needs on the target. */
  readonly statements: iam.PolicyStatement[];
  /** The Firehose metric prefix of this destination type, e.g. `DeliveryToAmazonOpenSearchServerless`. */
  readonly metricPrefix: string;
  /** The collection, when the target creates one. */
  readonly collection?: aoss.CfnCollection;
}

export interface OpenSearchServerlessSettings {
  readonly collectionEndpoint: string;
}

export interface OpenSearchDomainSettings {
  readonly domainArn: string;
  readonly indexRotationPeriod: string;
}

/** Where documents go: an OpenSearch Serverless collection the construct creates, or an existing domain. */
export abstract class OpenSearchTarget {
  /**
   * A new OpenSearch Serverless collection with an encryption policy (customer-managed key), a network policy and a
   * data access policy for the Firehose role. Firehose writes to the collection's public endpoint (it is not one
   * of the services a network policy can name, and a private collection needs Firehose delivery into a VPC):
   * requests are signed with the role and only the role may write, to the destination's index only; the OpenSearch
   * Dashboards endpoint stays closed. Serverless collections have no index rotation.
   */
  public static serverlessCollection(options: ServerlessCollectionOptions = {}): OpenSearchTarget {
    return new ServerlessTarget(options);
  }

  /**
   * An existing OpenSearch Service domain reachable from Firehose (not in a VPC). With fine-grained access control,
   * map the destination's role to a backend role that may write the index.
   */
  public static domain(domain: opensearch.IDomain, options: DomainTargetOptions = {}): OpenSearchTarget {
    return new DomainTarget(domain, options);
  }

  /** Binds the target to the destination. */
  public abstract bind(scope: Construct, options: OpenSearchTargetBindOptions): OpenSearchTargetConfig;
}

const COLLECTION_NAME = /^[a-z][a-z0-9-]+$/;

class ServerlessTarget extends OpenSearchTarget {
  constructor(private readonly options: ServerlessCollectionOptions) {
    super();
    validateName(
      'collectionName',
      options.collectionName,
      COLLECTION_NAME,
      3,
      28,
      "lower-case letters, digits and '-', starting with a letter",
    );
  }

  public bind(scope: Construct, options: OpenSearchTargetBindOptions): OpenSearchTargetConfig {
    const stack = Stack.of(scope);
    const name =
      this.options.collectionName ??
      `c${Names.uniqueResourceName(scope, { maxLength: 27, separator: '-' })
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '')}`;
    const key = this.options.encryptionKey ?? options.encryptionKey;
    const rules = [{ ResourceType: 'collection', Resource: [`collection/${name}`] }];
    const encryption = new aoss.CfnSecurityPolicy(scope, 'EncryptionPolicy', {
      name: `${name}-enc`,
      type: 'encryption',
      description: `Encrypts collection ${name} with a customer-managed key`,
      policy: stack.toJsonString({ Rules: rules, AWSOwnedKey: false, KmsARN: key.keyArn }),
    });
    const network = new aoss.CfnSecurityPolicy(scope, 'NetworkPolicy', {
      name: `${name}-net`,
      type: 'network',
      description: `Firehose reaches collection ${name} on its endpoint; OpenSearch Dashboards stays closed`,
      policy: stack.toJsonString([{ Rules: rules, AllowFromPublic: true }]),
    });
    const data = new aoss.CfnAccessPolicy(scope, 'DataAccessPolicy', {
      name: `${name}-data`,
      type: 'data',
      description: `Lets the Firehose role write index ${options.indexName} of collection ${name}`,
      policy: stack.toJsonString([
        {
          Rules: [
            {
              ResourceType: 'index',
              Resource: [`index/${name}/${options.indexName}*`],
              Permission: ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex', 'aoss:WriteDocument'],
            },
          ],
          Principal: [options.role.roleArn],
        },
      ]),
    });
    const collection = new aoss.CfnCollection(scope, 'Collection', {
      name,
      type: this.options.collectionType ?? CollectionType.TIMESERIES,
      standbyReplicas: (this.options.standbyReplicas ?? true) ? 'ENABLED' : 'DISABLED',
      description: `Documents delivered by ${scope.node.path}`,
    });
    // A collection cannot be created before an encryption policy covers its name.
    collection.node.addDependency(encryption, network, data);
    return {
      serverless: { collectionEndpoint: collection.attrCollectionEndpoint },
      statements: [new iam.PolicyStatement({ actions: ['aoss:APIAccessAll'], resources: [collection.attrArn] })],
      metricPrefix: 'DeliveryToAmazonOpenSearchServerless',
      collection,
    };
  }
}

class DomainTarget extends OpenSearchTarget {
  constructor(
    private readonly domain: opensearch.IDomain,
    private readonly options: DomainTargetOptions,
  ) {
    super();
  }

  public bind(_scope: Construct, options: OpenSearchTargetBindOptions): OpenSearchTargetConfig {
    const arn = this.domain.domainArn;
    const index = options.indexName;
    // The actions and paths Firehose documents for a public OpenSearch Service destination.
    return {
      domain: {
        domainArn: arn,
        indexRotationPeriod: this.options.indexRotation ?? IndexRotation.ONE_DAY,
      },
      statements: [
        new iam.PolicyStatement({
          actions: [
            'es:DescribeDomain',
            'es:DescribeDomains',
            'es:DescribeDomainConfig',
            'es:ESHttpPost',
            'es:ESHttpPut',
          ],
          resources: [arn, `${arn}/*`],
        }),
        new iam.PolicyStatement({
          actions: ['es:ESHttpGet'],
          resources: [
            `${arn}/_all/_settings`,
            `${arn}/_cluster/stats`,
            `${arn}/${index}*/_mapping/*`,
            `${arn}/_nodes`,
            `${arn}/_nodes/stats`,
            `${arn}/_nodes/*/stats`,
            `${arn}/_stats`,
            `${arn}/${index}*/_stats`,
          ],
        }),
      ],
      metricPrefix: 'DeliveryToAmazonOpenSearchService',
    };
  }
}

export interface OpenSearchDestinationProps {
  /** The stream to deliver. The delivery stream reads it with its own role (and its key, when encrypted). */
  readonly stream: kinesis.IStream;
  /** @default OpenSearchTarget.serverlessCollection() */
  readonly target?: OpenSearchTarget;
  /**
   * Index documents are written to: 1-80 lower-case letters, digits, `_` and `-`, not starting with `_` or `-`
   * (on a domain, the rotation period is appended).
   * @default 'telemetry'
   */
  readonly indexName?: string;
  /** Back up every document to S3, not only those OpenSearch rejected. @default false */
  readonly backupAllDocuments?: boolean;
  /** Key prefix of the backup of all documents (with `backupAllDocuments`). @default 'backup/' */
  readonly backupPrefix?: string;
  /** Key prefix of documents Firehose could not deliver, followed by the error type and date. @default 'errors/' */
  readonly errorPrefix?: string;
  /** Key that encrypts the backup bucket and, by default, the collection. @default - a new KMS key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Deliver after this long even if the buffer is not full, 0 to 900 seconds. @default Duration.seconds(300) */
  readonly bufferingInterval?: Duration;
  /** Deliver when this much data is buffered, 1 to 100 MiB. @default Size.mebibytes(5) */
  readonly bufferingSize?: Size;
  /** How long Firehose retries a rejected request before backing the documents up, 0 to 7200 s. @default Duration.seconds(300) */
  readonly retryDuration?: Duration;
  /** Target of the backup bucket's server access logs. @default - a new bucket (S3-managed encryption, TLS-only) */
  readonly accessLogsBucket?: s3.IBucket;
  /** Expiry of the server access logs in the bucket this construct creates. @default Duration.days(365) */
  readonly accessLogsExpiration?: Duration;
  /** Retention of the delivery stream's error log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Create the default alarms. @default true */
  readonly createAlarms?: boolean;
  /** Alarm when the oldest undelivered record (`<DeliveryTo...>.DataFreshness`, Maximum) is this old. @default Duration.minutes(15) */
  readonly dataFreshnessThreshold?: Duration;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

const INDEX_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Delivery of a Kinesis stream to Amazon OpenSearch through Amazon Data Firehose: a new OpenSearch Serverless
 * collection (customer-managed key, network and data access policies) or an existing domain (with index rotation),
 * failed documents backed up to an encrypted bucket, a least-privilege role, error logging and a freshness alarm.
 */
export class OpenSearchDestination extends Construct {
  /** Holds failed documents (and all documents with `backupAllDocuments`). */
  public readonly bucket: s3.Bucket;
  public readonly encryptionKey: kms.IKey;
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  /** The OpenSearch Serverless collection, when the target creates one. */
  public readonly collection?: aoss.CfnCollection;
  public readonly indexName: string;
  public readonly logGroup: logs.LogGroup;
  /** The role Firehose assumes to read the stream and write the documents. */
  public readonly role: iam.Role;
  public readonly accessLogsBucket: s3.IBucket;
  public readonly alarms: cloudwatch.Alarm[] = [];
  private readonly metricPrefix: string;

  constructor(scope: Construct, id: string, props: OpenSearchDestinationProps) {
    super(scope, id);
    this.indexName = props.indexName ?? 'telemetry';
    const errorPrefix = props.errorPrefix ?? 'errors/';
    const backupPrefix = props.backupPrefix ?? 'backup/';
    validate(props, this.indexName, errorPrefix, backupPrefix);

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: `Encrypts the documents and backups of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.accessLogsBucket =
      props.accessLogsBucket ??
      createAccessLogsBucket(this, 'AccessLogsBucket', props.accessLogsExpiration ?? Duration.days(365));
    this.bucket = createSecureBucket(this, 'Bucket', {
      encryptionKey: this.encryptionKey,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'opensearch/',
      lifecycleRules: [{ id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    this.logGroup = createEncryptedLogGroup(
      this,
      'DeliveryLogGroup',
      props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      'delivery errors',
    );
    this.role = createFirehoseRole(
      this,
      'Role',
      `Lets Firehose read ${props.stream.streamName} and write the OpenSearch index of ${this.node.path}`,
    );

    const target = props.target ?? OpenSearchTarget.serverlessCollection();
    const bound = target.bind(this, { role: this.role, indexName: this.indexName, encryptionKey: this.encryptionKey });
    this.collection = bound.collection;
    this.metricPrefix = bound.metricPrefix;
    const prefixes = props.backupAllDocuments ? [backupPrefix, errorPrefix] : [errorPrefix];
    const statements = [
      ...deliveryStatements(this, {
        stream: props.stream,
        bucket: this.bucket,
        prefixes,
        bucketKey: this.encryptionKey,
        logGroup: this.logGroup,
      }),
      ...bound.statements,
    ];
    const policy = new iam.Policy(this, 'Policy', { roles: [this.role], statements });
    acknowledgePrefixWildcards(policy, this.bucket, prefixes);
    if (bound.domain) {
      acknowledgeWildcardResource(
        policy,
        `${bound.domain.domainArn}/*`,
        'Firehose posts bulk requests to the index it rotates (its name carries the period); the role is limited to one domain.',
      );
      for (const path of [`${this.indexName}*/_mapping/*`, '_nodes/*/stats', `${this.indexName}*/_stats`]) {
        acknowledgeWildcardResource(
          policy,
          `${bound.domain.domainArn}/${path}`,
          'Firehose reads the mappings and statistics of the rotated indexes it writes, as its documentation lists.',
        );
      }
    }

    const common = {
      roleArn: this.role.roleArn,
      indexName: this.indexName,
      bufferingHints: {
        intervalInSeconds: (props.bufferingInterval ?? Duration.seconds(300)).toSeconds(),
        sizeInMBs: (props.bufferingSize ?? Size.mebibytes(5)).toMebibytes(),
      },
      retryOptions: { durationInSeconds: (props.retryDuration ?? Duration.seconds(300)).toSeconds() },
      s3BackupMode: props.backupAllDocuments ? 'AllDocuments' : 'FailedDocumentsOnly',
      s3Configuration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: props.backupAllDocuments ? backupPrefix : undefined,
        errorOutputPrefix: `${errorPrefix}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`,
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: this.encryptionKey.keyArn } },
      },
      cloudWatchLoggingOptions: {
        enabled: true,
        logGroupName: this.logGroup.logGroupName,
        logStreamName: new logs.LogStream(this, 'DeliveryLogStream', { logGroup: this.logGroup }).logStreamName,
      },
    };
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Resource', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: kinesisSource(props.stream, this.role),
      amazonOpenSearchServerlessDestinationConfiguration: bound.serverless
        ? { ...common, collectionEndpoint: bound.serverless.collectionEndpoint }
        : undefined,
      amazonopensearchserviceDestinationConfiguration: bound.domain
        ? { ...common, domainArn: bound.domain.domainArn, indexRotationPeriod: bound.domain.indexRotationPeriod }
        : undefined,
    });
    this.deliveryStream.node.addDependency(policy);
    acknowledgeKinesisSourceEncryption(this.deliveryStream);

    if (props.createAlarms ?? true) {
      const freshness = props.dataFreshnessThreshold ?? Duration.minutes(15);
      this.alarms.push(
        createAlarm(
          this,
          'DataFreshnessAlarm',
          {
            metric: this.metricDataFreshness(),
            threshold: freshness.toSeconds(),
            alarmDescription: `Records wait longer than ${describeDuration(freshness)} to reach OpenSearch from ${this.node.path}`,
          },
          props.alarmTopic,
        ),
      );
    }
  }

  /** `<DeliveryTo...>.DataFreshness`: age of the oldest record not yet indexed. @default statistic Maximum over 5 minutes */
  public metricDataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return firehoseMetric(this.deliveryStream.ref, `${this.metricPrefix}.DataFreshness`, 'Maximum', props);
  }

  /** `<DeliveryTo...>.Records`: documents indexed. @default statistic Sum over 5 minutes */
  public metricDeliveryRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return firehoseMetric(this.deliveryStream.ref, `${this.metricPrefix}.Records`, 'Sum', props);
  }
}

function validate(
  props: OpenSearchDestinationProps,
  indexName: string,
  errorPrefix: string,
  backupPrefix: string,
): void {
  validateName(
    'indexName',
    indexName,
    INDEX_NAME,
    1,
    80,
    "lower-case letters, digits, '_' and '-', not starting with '_' or '-'",
  );
  validatePrefix('errorPrefix', errorPrefix);
  validatePrefix('backupPrefix', backupPrefix);
  if (props.backupPrefix !== undefined && !props.backupAllDocuments) {
    throw new Error('backupPrefix needs backupAllDocuments: only failed documents are backed up, under errorPrefix');
  }
  const literal = !Token.isUnresolved(errorPrefix) && !Token.isUnresolved(backupPrefix);
  if (
    props.backupAllDocuments &&
    literal &&
    (backupPrefix.startsWith(errorPrefix) || errorPrefix.startsWith(backupPrefix))
  ) {
    throw new Error(`backupPrefix and errorPrefix must not overlap, got '${backupPrefix}' and '${errorPrefix}'`);
  }
  validateDuration('bufferingInterval', props.bufferingInterval, Duration.seconds(0), Duration.seconds(900));
  validateDuration('retryDuration', props.retryDuration, Duration.seconds(0), Duration.seconds(7200));
  const size = props.bufferingSize?.toMebibytes();
  if (size !== undefined && !Token.isUnresolved(size) && (size < 1 || size > 100)) {
    throw new Error(`bufferingSize must be between 1 and 100 MiB, got ${size} MiB`);
  }
}
