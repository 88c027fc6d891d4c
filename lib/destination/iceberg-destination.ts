import { Arn, ArnFormat, Duration, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lakeformation from 'aws-cdk-lib/aws-lakeformation';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3tables from 'aws-cdk-lib/aws-s3tables';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { createAlarm, validateThreshold } from '../internal/alarms';
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
import { describeDuration, requireResolved, validateDuration, validateName } from '../internal/validation';

/** One column of an Iceberg table this construct creates. */
export interface IcebergColumn {
  /**
   * Column name: lower-case letters, digits and `_`. Firehose fills it from the JSON key of the same name. A literal,
   * not a token: it is checked against the other columns and `uniqueKeys` at synth time.
   */
  readonly name: string;
  /** Glue type of the column, e.g. `string`, `bigint`, `double`, `boolean`, `timestamp`, `map<string,double>`. */
  readonly type: string;
}

/** Column sets for common records. */
export class IcebergColumns {
  /**
   * The raw telemetry record. Firehose matches JSON keys to column names, so the camel-case keys of the record
   * (`eventId`, `deviceId`) are spelled as Glue stores them, in lower case.
   */
  public static telemetryRecord(): IcebergColumn[] {
    return [
      { name: 'eventid', type: 'string' },
      { name: 'deviceid', type: 'string' },
      { name: 'timestamp', type: 'bigint' },
      { name: 'metrics', type: 'map<string,double>' },
      { name: 'attributes', type: 'map<string,string>' },
    ];
  }

  private constructor() {}
}

/** Options of `IcebergCatalog.s3Tables`. */
export interface S3TablesCatalogOptions {
  /**
   * Grant the Firehose role ALL on the table and DESCRIBE on its namespace in Lake Formation, which governs
   * S3 Tables in the Data Catalog. The deploying role must be a Lake Formation administrator.
   * @default true
   */
  readonly grantLakeFormationPermissions?: boolean;
}

/** What the destination binds to: the catalog ARN Firehose uses and the Glue ARNs its role may call. */
export interface IcebergCatalogConfig {
  /** `CatalogConfiguration.CatalogArn` of the delivery stream. */
  readonly catalogArn: string;
  /** Resources of `glue:GetDatabase`, `glue:GetTable` and `glue:UpdateTable` for the one table. */
  readonly glueResourceArns: string[];
  /** Whether the construct can create the database and table in this catalog. */
  readonly supportsTableCreation: boolean;
  /** Further statements the Firehose role needs for this catalog. */
  readonly statements: iam.PolicyStatement[];
}

/** Where the binding Iceberg table is. */
export interface IcebergCatalogBindOptions {
  readonly databaseName: string;
  readonly tableName: string;
  /** The role Firehose delivers with. */
  readonly role: iam.IRole;
}

/** The catalog holding the destination Iceberg table: the account's Glue Data Catalog or an S3 table bucket. */
export abstract class IcebergCatalog {
  /** The Glue Data Catalog of the stack's account and region; tables live in a general purpose bucket. */
  public static glue(): IcebergCatalog {
    return new GlueCatalog();
  }

  /**
   * An S3 table bucket, through its federated catalog `s3tablescatalog/<bucket>`: the database is a namespace of the
   * bucket and the table one of its tables, both created beforehand. Needs the bucket's integration with AWS
   * analytics services (Glue Data Catalog and Lake Formation) in the region.
   */
  public static s3Tables(tableBucket: s3tables.ITableBucketRef, options: S3TablesCatalogOptions = {}): IcebergCatalog {
    return new S3TablesCatalog(tableBucket, options);
  }

  /** Binds the catalog to the destination's table. */
  public abstract bind(scope: Construct, options: IcebergCatalogBindOptions): IcebergCatalogConfig;
}

class GlueCatalog extends IcebergCatalog {
  public bind(scope: Construct, options: IcebergCatalogBindOptions): IcebergCatalogConfig {
    const stack = Stack.of(scope);
    const glueArn = (resource: string) =>
      stack.formatArn({ service: 'glue', resource, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    return {
      catalogArn: glueArn('catalog'),
      glueResourceArns: [
        glueArn('catalog'),
        glueArn(`database/${options.databaseName}`),
        glueArn(`table/${options.databaseName}/${options.tableName}`),
      ],
      supportsTableCreation: true,
      statements: [],
    };
  }
}

class S3TablesCatalog extends IcebergCatalog {
  constructor(
    private readonly tableBucket: s3tables.ITableBucketRef,
    private readonly options: S3TablesCatalogOptions,
  ) {
    super();
  }

  public bind(scope: Construct, options: IcebergCatalogBindOptions): IcebergCatalogConfig {
    const stack = Stack.of(scope);
    const bucketArn = this.tableBucket.tableBucketRef.tableBucketArn;
    const bucketName = Arn.split(bucketArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    const glueArn = (resource: string) =>
      stack.formatArn({ service: 'glue', resource, arnFormat: ArnFormat.NO_RESOURCE_NAME });
    const catalog = `s3tablescatalog/${bucketName}`;
    if (this.options.grantLakeFormationPermissions ?? true) {
      const principal = { dataLakePrincipalIdentifier: options.role.roleArn };
      const catalogId = `${stack.account}:${catalog}`;
      new lakeformation.CfnPrincipalPermissions(scope, 'NamespacePermissions', {
        principal,
        resource: { database: { catalogId, name: options.databaseName } },
        permissions: ['DESCRIBE'],
        permissionsWithGrantOption: [],
      });
      new lakeformation.CfnPrincipalPermissions(scope, 'TablePermissions', {
        principal,
        resource: { table: { catalogId, databaseName: options.databaseName, name: options.tableName } },
        permissions: ['ALL'],
        permissionsWithGrantOption: [],
      });
    }
    const dataAccess = new iam.PolicyStatement({
      // Lake Formation vends the credentials Firehose writes the table bucket with; the action has no resource type.
      actions: ['lakeformation:GetDataAccess'],
      resources: ['*'],
    });
    return {
      catalogArn: glueArn(`catalog/${catalog}`),
      glueResourceArns: [
        glueArn('catalog'),
        glueArn('catalog/s3tablescatalog'),
        glueArn(`catalog/${catalog}`),
        glueArn(`database/${catalog}/${options.databaseName}`),
        glueArn(`table/${catalog}/${options.databaseName}/${options.tableName}`),
      ],
      supportsTableCreation: false,
      statements: [dataAccess],
    };
  }
}

export interface IcebergDestinationProps {
  /** The stream to deliver. The delivery stream reads it with its own role (and its key, when encrypted). */
  readonly stream: kinesis.IStream;
  /** @default IcebergCatalog.glue() */
  readonly catalog?: IcebergCatalog;
  /**
   * Database (the namespace with S3 Tables): 1-255 lower-case letters, digits and `_`.
   * @default - a name derived from the construct path, when the construct creates the table; required otherwise
   */
  readonly databaseName?: string;
  /**
   * Table: 1-255 lower-case letters, digits and `_`.
   * @default - a name derived from the construct path, when the construct creates the table; required otherwise
   */
  readonly tableName?: string;
  /**
   * Create the Glue database and the Iceberg (format version 2) table in the Glue catalog, stored in this
   * construct's bucket. With false, `databaseName` and `tableName` name an existing table.
   * @default - true with IcebergCatalog.glue(), false with IcebergCatalog.s3Tables()
   */
  readonly createTable?: boolean;
  /** Columns of the table the construct creates. @default IcebergColumns.telemetryRecord() */
  readonly columns?: IcebergColumn[];
  /**
   * Columns identifying a row, for the update and delete operations Firehose applies to the table (the columns
   * must exist before the delivery stream: Firehose checks them when it is created).
   * @default - none: rows are only inserted
   */
  readonly uniqueKeys?: string[];
  /**
   * Inserts only: Firehose raises the table's throughput limit automatically. Cannot be combined with `uniqueKeys`.
   * @default - true without uniqueKeys, false with them
   */
  readonly appendOnly?: boolean;
  /** Let Firehose add columns for new JSON keys (a Firehose preview feature). @default false */
  readonly schemaEvolution?: boolean;
  /** Let Firehose create missing tables (a Firehose preview feature; Glue catalog only). @default false */
  readonly automaticTableCreation?: boolean;
  /**
   * Bucket of the table's data and metadata files (Glue catalog): for an existing table, the bucket of its
   * location. The role may write under `warehousePrefix` in it (and use its key).
   * @default - the bucket this construct creates
   */
  readonly warehouseBucket?: s3.IBucket;
  /** Key prefix of the table's data and metadata files in the warehouse bucket (Glue catalog). @default 'warehouse/' */
  readonly warehousePrefix?: string;
  /** Key prefix of records Firehose could not deliver, followed by the error type and date. @default 'errors/' */
  readonly errorPrefix?: string;
  /** Key that encrypts the bucket (table files and failed records). @default - a new KMS key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Deliver after this long even if the buffer is not full, 0 to 900 seconds. @default Duration.seconds(300) */
  readonly bufferingInterval?: Duration;
  /** Deliver when this much data is buffered, 1 to 128 MiB. @default Size.mebibytes(128) */
  readonly bufferingSize?: Size;
  /** How long Firehose retries a failed commit before writing the records to the error prefix, 0 to 7200 s. @default Duration.seconds(300) */
  readonly retryDuration?: Duration;
  /** Target of the bucket's server access logs. @default - a new bucket (S3-managed encryption, TLS-only) */
  readonly accessLogsBucket?: s3.IBucket;
  /** Expiry of the server access logs in the bucket this construct creates. @default Duration.days(365) */
  readonly accessLogsExpiration?: Duration;
  /** Retention of the delivery stream's error log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Create the default alarms. @default true */
  readonly createAlarms?: boolean;
  /** Alarm when the oldest undelivered record (DeliveryToIceberg.DataFreshness, Maximum) is this old. @default Duration.minutes(15) */
  readonly dataFreshnessThreshold?: Duration;
  /** Alarm when rows written to the error prefix in 5 minutes (DeliveryToIceberg.FailedRowCount, Sum) reach this. @default 1 */
  readonly failedRowsThreshold?: number;
  /** Topic notified when an alarm fires or recovers. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

const GLUE_NAME = /^[a-z0-9_]+$/;
const COLUMN = /^[a-z_][a-z0-9_]{0,254}$/;

/**
 * Delivery of a Kinesis stream to an Apache Iceberg table through Amazon Data Firehose: a table in the Glue Data
 * Catalog (created by the construct, format version 2, in a bucket encrypted with a customer-managed key) or in an
 * S3 table bucket, with inserts or updates by unique keys, failed records under an error prefix, a least-privilege
 * role, delivery error logging and alarms on freshness and failed rows.
 */
export class IcebergDestination extends Construct {
  /** Holds the failed records and, with the Glue catalog and no `warehouseBucket`, the table's files. */
  public readonly bucket: s3.Bucket;
  /** The bucket of the table's files (Glue catalog). */
  public readonly warehouseBucket: s3.IBucket;
  public readonly encryptionKey: kms.IKey;
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  /** The Glue database, when the construct creates the table. */
  public readonly database?: glue.CfnDatabase;
  /** The Iceberg table, when the construct creates it. */
  public readonly table?: glue.CfnTable;
  /** Name of the database (namespace) Firehose writes to. */
  public readonly databaseName: string;
  /** Name of the table Firehose writes to. */
  public readonly tableName: string;
  public readonly logGroup: logs.LogGroup;
  /** The role Firehose assumes to read the stream and write the table. */
  public readonly role: iam.Role;
  public readonly accessLogsBucket: s3.IBucket;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: IcebergDestinationProps) {
    super(scope, id);
    const catalog = props.catalog ?? IcebergCatalog.glue();
    const warehousePrefix = props.warehousePrefix ?? 'warehouse/';
    const errorPrefix = props.errorPrefix ?? 'errors/';
    const columns = props.columns ?? IcebergColumns.telemetryRecord();
    const appendOnly = props.appendOnly ?? !props.uniqueKeys?.length;
    const canCreate = catalogSupportsCreation(catalog);
    const createTable = props.createTable ?? canCreate;
    validate(props, { warehousePrefix, errorPrefix, columns, appendOnly, createTable, canCreate });

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: `Encrypts the Iceberg table files and failed records of ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.accessLogsBucket =
      props.accessLogsBucket ??
      createAccessLogsBucket(this, 'AccessLogsBucket', props.accessLogsExpiration ?? Duration.days(365));
    this.bucket = createSecureBucket(this, 'Bucket', {
      encryptionKey: this.encryptionKey,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'iceberg/',
      lifecycleRules: [{ id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
    this.warehouseBucket = props.warehouseBucket ?? this.bucket;
    this.logGroup = createEncryptedLogGroup(
      this,
      'DeliveryLogGroup',
      props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      'delivery errors',
    );
    this.role = createFirehoseRole(
      this,
      'Role',
      `Lets Firehose read ${props.stream.streamName} and write the Iceberg table of ${this.node.path}`,
    );

    // Glue's CreateDatabase and CreateTable need names; generated ones are lower-case, as Athena requires.
    const generatedName = (suffix: string) =>
      Names.uniqueResourceName(this, { maxLength: 200, separator: '_' }).toLowerCase() + suffix;
    this.databaseName = props.databaseName ?? generatedName('');
    this.tableName = props.tableName ?? generatedName('_table');
    if (createTable) {
      this.database = new glue.CfnDatabase(this, 'Database', {
        catalogId: Stack.of(this).account,
        databaseInput: { name: this.databaseName, description: `Iceberg tables of ${this.node.path}` },
      });
      this.table = new glue.CfnTable(this, 'Table', {
        catalogId: Stack.of(this).account,
        databaseName: this.database.ref,
        tableInput: {
          name: this.tableName,
          description: `Iceberg table fed by Kinesis stream ${props.stream.streamName}`,
          tableType: 'EXTERNAL_TABLE',
          storageDescriptor: {
            columns: columns.map((c) => ({ name: c.name, type: c.type })),
            location: this.warehouseBucket.s3UrlForObject(warehousePrefix.replace(/\/$/, '')),
          },
        },
        // Firehose writes Iceberg format version 2 only; version 1 tables send every record to the error prefix.
        openTableFormatInput: { icebergInput: { metadataOperation: 'CREATE', version: '2' } },
      });
    }

    const bound = catalog.bind(this, { databaseName: this.databaseName, tableName: this.tableName, role: this.role });
    const policy = this.createPolicy(props.stream, bound, canCreate, {
      warehousePrefix,
      errorPrefix,
    });

    const tableErrorPrefix = `${errorPrefix}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`;
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'Resource', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: kinesisSource(props.stream, this.role),
      icebergDestinationConfiguration: {
        roleArn: this.role.roleArn,
        catalogConfiguration: {
          catalogArn: bound.catalogArn,
          warehouseLocation:
            props.automaticTableCreation || props.schemaEvolution
              ? this.warehouseBucket.s3UrlForObject(warehousePrefix)
              : undefined,
        },
        destinationTableConfigurationList: [
          {
            destinationDatabaseName: this.databaseName,
            destinationTableName: this.tableName,
            uniqueKeys: props.uniqueKeys,
            s3ErrorOutputPrefix: tableErrorPrefix,
          },
        ],
        appendOnly,
        schemaEvolutionConfiguration: props.schemaEvolution ? { enabled: true } : undefined,
        tableCreationConfiguration: props.automaticTableCreation ? { enabled: true } : undefined,
        bufferingHints: {
          intervalInSeconds: (props.bufferingInterval ?? Duration.seconds(300)).toSeconds(),
          sizeInMBs: (props.bufferingSize ?? Size.mebibytes(128)).toMebibytes(),
        },
        retryOptions: { durationInSeconds: (props.retryDuration ?? Duration.seconds(300)).toSeconds() },
        // Iceberg delivery backs up failed records only.
        s3BackupMode: 'FailedDataOnly',
        s3Configuration: {
          bucketArn: this.bucket.bucketArn,
          roleArn: this.role.roleArn,
          errorOutputPrefix: tableErrorPrefix,
          encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: this.encryptionKey.keyArn } },
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.logGroup.logGroupName,
          logStreamName: new logs.LogStream(this, 'DeliveryLogStream', { logGroup: this.logGroup }).logStreamName,
        },
      },
    });
    // Firehose checks its access to the table (and the table itself) when the stream is created.
    this.deliveryStream.node.addDependency(policy);
    if (this.table) this.deliveryStream.node.addDependency(this.table);
    for (const child of this.node.children) {
      if (child instanceof lakeformation.CfnPrincipalPermissions) this.deliveryStream.node.addDependency(child);
    }
    acknowledgeKinesisSourceEncryption(this.deliveryStream);

    if (props.createAlarms ?? true) this.createAlarms(props);
  }

  /** DeliveryToIceberg.DataFreshness: age of the oldest record not yet committed. @default statistic Maximum over 5 minutes */
  public metricDataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return firehoseMetric(this.deliveryStream.ref, 'DeliveryToIceberg.DataFreshness', 'Maximum', props);
  }

  /** DeliveryToIceberg.FailedRowCount: rows written to the error prefix. @default statistic Sum over 5 minutes */
  public metricFailedRowCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return firehoseMetric(this.deliveryStream.ref, 'DeliveryToIceberg.FailedRowCount', 'Sum', props);
  }

  /** DeliveryToIceberg.SuccessfulRowCount: rows committed to the table. @default statistic Sum over 5 minutes */
  public metricSuccessfulRowCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return firehoseMetric(this.deliveryStream.ref, 'DeliveryToIceberg.SuccessfulRowCount', 'Sum', props);
  }

  private createPolicy(
    stream: kinesis.IStream,
    bound: IcebergCatalogConfig,
    writesWarehouse: boolean,
    prefixes: { warehousePrefix: string; errorPrefix: string },
  ): iam.Policy {
    const statements = deliveryStatements(this, {
      stream,
      bucket: this.bucket,
      prefixes: [prefixes.errorPrefix],
      bucketKey: this.encryptionKey,
      logGroup: this.logGroup,
    });
    statements.push(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:UpdateTable'],
        resources: bound.glueResourceArns,
      }),
      ...bound.statements,
    );
    if (writesWarehouse) {
      // Iceberg commits write data and metadata files and remove the ones a commit replaces.
      statements.push(
        new iam.PolicyStatement({
          actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          resources: [this.warehouseBucket.arnForObjects(`${prefixes.warehousePrefix}*`)],
        }),
      );
      if (this.warehouseBucket !== this.bucket) {
        statements.push(
          new iam.PolicyStatement({
            actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
            resources: [this.warehouseBucket.bucketArn],
          }),
        );
        const key = this.warehouseBucket.encryptionKey;
        if (key) {
          statements.push(
            new iam.PolicyStatement({
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              resources: [key.keyArn],
              conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
            }),
          );
        }
      }
    }
    const policy = new iam.Policy(this, 'Policy', { roles: [this.role], statements });
    acknowledgePrefixWildcards(policy, this.bucket, [prefixes.errorPrefix]);
    if (writesWarehouse) {
      acknowledgeWildcardResource(
        policy,
        `${this.warehouseBucket.bucketArn}/${prefixes.warehousePrefix}*`,
        'Iceberg names data and metadata files by commit under the table location; access is limited to the warehouse prefix.',
      );
    }
    if (bound.statements.length > 0) {
      acknowledgeWildcardResource(
        policy,
        '*',
        'lakeformation:GetDataAccess has no resource type; Lake Formation grants limit the role to one table.',
      );
    }
    return policy;
  }

  private createAlarms(props: IcebergDestinationProps): void {
    const freshness = props.dataFreshnessThreshold ?? Duration.minutes(15);
    this.alarms.push(
      createAlarm(
        this,
        'DataFreshnessAlarm',
        {
          metric: this.metricDataFreshness(),
          threshold: freshness.toSeconds(),
          alarmDescription: `Records wait longer than ${describeDuration(freshness)} to reach the Iceberg table of ${this.node.path}`,
        },
        props.alarmTopic,
      ),
      createAlarm(
        this,
        'FailedRowsAlarm',
        {
          metric: this.metricFailedRowCount(),
          threshold: props.failedRowsThreshold ?? 1,
          alarmDescription: `Rows failed delivery to the Iceberg table of ${this.node.path} (kept under the error prefix)`,
        },
        props.alarmTopic,
      ),
    );
  }
}

function catalogSupportsCreation(catalog: IcebergCatalog): boolean {
  return catalog instanceof GlueCatalog;
}

interface ResolvedOptions {
  readonly warehousePrefix: string;
  readonly errorPrefix: string;
  readonly columns: IcebergColumn[];
  readonly appendOnly: boolean;
  readonly createTable: boolean;
  /** Whether the catalog lets the construct create tables. */
  readonly canCreate: boolean;
}

function validate(props: IcebergDestinationProps, options: ResolvedOptions): void {
  const { warehousePrefix, errorPrefix, columns, appendOnly, createTable, canCreate } = options;
  if (createTable && !canCreate) {
    throw new Error('createTable needs IcebergCatalog.glue(): tables of an S3 table bucket are created in S3 Tables');
  }
  if (!createTable && (props.databaseName === undefined || props.tableName === undefined)) {
    throw new Error(
      `databaseName and tableName are required when the construct does not create the table, got ${props.databaseName} and ${props.tableName}`,
    );
  }
  if (!createTable && props.columns !== undefined) {
    throw new Error('columns describe a table the construct creates; they cannot be used with an existing table');
  }
  if (!canCreate && (props.warehouseBucket !== undefined || props.warehousePrefix !== undefined)) {
    throw new Error('warehouseBucket and warehousePrefix are for IcebergCatalog.glue(): S3 Tables stores the files');
  }
  if (props.automaticTableCreation && !canCreate) {
    throw new Error('automaticTableCreation is only available with IcebergCatalog.glue()');
  }
  validatePrefix('warehousePrefix', warehousePrefix);
  validatePrefix('errorPrefix', errorPrefix);
  const literal = !Token.isUnresolved(warehousePrefix) && !Token.isUnresolved(errorPrefix);
  if (literal && (warehousePrefix.startsWith(errorPrefix) || errorPrefix.startsWith(warehousePrefix))) {
    throw new Error(`warehousePrefix and errorPrefix must not overlap, got '${warehousePrefix}' and '${errorPrefix}'`);
  }
  validateName('databaseName', props.databaseName, GLUE_NAME, 1, 255, "lower-case letters, digits and '_'");
  validateName('tableName', props.tableName, GLUE_NAME, 1, 255, "lower-case letters, digits and '_'");
  if (columns.length === 0) throw new Error('columns must not be empty, got []');
  const names = new Set<string>();
  for (const column of columns) {
    // A deploy-time name could not be checked for uniqueness, nor matched with uniqueKeys.
    requireResolved('column name', column.name, 'it is compared with the other columns and with uniqueKeys');
    if (!COLUMN.test(column.name) || names.has(column.name)) {
      throw new Error(`column names must match ${COLUMN.source} and be unique, got '${column.name}'`);
    }
    names.add(column.name);
    if (column.type.trim() === '') throw new Error(`column '${column.name}' needs a type, got '${column.type}'`);
  }
  if (props.uniqueKeys) {
    if (props.uniqueKeys.length === 0) throw new Error('uniqueKeys must name at least one column, got []');
    // The columns of an existing table are not known here; Firehose checks them when the stream is created.
    for (const key of props.uniqueKeys) {
      if (createTable && !Token.isUnresolved(key) && !names.has(key)) {
        throw new Error(`uniqueKeys must be columns of the table (${[...names].join(', ')}), got '${key}'`);
      }
    }
    if (appendOnly) throw new Error('appendOnly cannot be combined with uniqueKeys: updates and deletes need them');
  }
  validateDuration('bufferingInterval', props.bufferingInterval, Duration.seconds(0), Duration.seconds(900));
  validateDuration('retryDuration', props.retryDuration, Duration.seconds(0), Duration.seconds(7200));
  const size = props.bufferingSize?.toMebibytes();
  if (size !== undefined && !Token.isUnresolved(size) && (size < 1 || size > 128)) {
    throw new Error(`bufferingSize must be between 1 and 128 MiB, got ${size} MiB`);
  }
  validateThreshold('failedRowsThreshold', props.failedRowsThreshold);
}
