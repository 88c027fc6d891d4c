import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { assertExclusive, handlerEntry, validateName } from '../internal';
import { acknowledgeWildcardResource } from '../internal/nag';
import { createObservedFunction } from '../internal/observed-function';

/** A Redshift Serverless workgroup made elsewhere, for `RedshiftStreamingIngestionProps.existingWorkgroup`. */
export interface ExistingRedshiftWorkgroup {
  /** The workgroup's name. */
  readonly workgroupName: string;
  /** The workgroup's ARN (`arn:aws:redshift-serverless:<region>:<account>:workgroup/<id>`). */
  readonly workgroupArn: string;
  /**
   * A secret with `username` and `password` of a database user that may create external schemas and materialized
   * views, which the statements run as.
   * @default - the custom resource's IAM role, through GetCredentials: its database user `IAMR:<role name>` needs those privileges
   */
  readonly adminSecret?: secretsmanager.ISecret;
}

export interface RedshiftStreamingIngestionProps {
  /** The stream Redshift reads. */
  readonly stream: kinesis.IStream;
  /**
   * The VPC of the new workgroup: its subnets must span at least 3 Availability Zones, and with enhanced VPC
   * routing Redshift reaches Kinesis through it (a Kinesis interface endpoint or a NAT gateway).
   * @default - none; required unless `existingWorkgroup` is given
   */
  readonly vpc?: ec2.IVpc;
  /** Subnets of the new workgroup. @default - the VPC's private subnets (isolated ones if it has no others) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the new workgroup. @default - a new group with no inbound rule */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Base capacity of the new workgroup in RPUs: 4, 8 to 512 in steps of 8, or 512 to 1024 in steps of 32. @default 8 */
  readonly baseCapacity?: number;
  /** Name of the new namespace, 3-64 of `a-z`, `0-9`, `-`. @default - derived from the construct path */
  readonly namespaceName?: string;
  /** Name of the new workgroup, 3-64 of `a-z`, `0-9`, `-`. @default - derived from the construct path */
  readonly workgroupName?: string;
  /** Key for the namespace's data and its managed admin secret. @default - a new KMS key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** Use this workgroup instead of creating a namespace and a workgroup. @default - a new namespace and workgroup */
  readonly existingWorkgroup?: ExistingRedshiftWorkgroup;
  /** Database holding the schema and the view. @default 'dev' */
  readonly databaseName?: string;
  /** External schema mapped to Kinesis, a lower-case Redshift identifier. @default 'kinesis' */
  readonly schemaName?: string;
  /** Materialized view in schema `public`, a lower-case Redshift identifier. @default 'kinesis_records' */
  readonly viewName?: string;
  /** Keep only records whose data parses as JSON (`WHERE CAN_JSON_PARSE(kinesis_data)`). @default true */
  readonly jsonOnly?: boolean;
  /** Applies to the namespace, the workgroup and the key it creates. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Log types a Redshift Serverless namespace exports to CloudWatch Logs. */
const LOG_EXPORTS = ['userlog', 'connectionlog', 'useractivitylog'];
const OBJECT_NAME = /^[a-z_][a-z0-9_$]*$/;
const RESOURCE_NAME = /^[a-z0-9-]+$/;

/**
 * Amazon Redshift streaming ingestion from a Kinesis data stream: a private Redshift Serverless namespace (data and
 * admin secret encrypted with a customer-managed key, admin password managed by Secrets Manager, logs exported) and
 * workgroup (not publicly accessible, enhanced VPC routing, TLS required), the IAM role Redshift assumes to read the
 * one stream, and two custom resources that run `CREATE EXTERNAL SCHEMA ... FROM KINESIS` and an auto-refreshing
 * materialized view through the Redshift Data API. The view holds the record metadata and `payload` (SUPER).
 */
export class RedshiftStreamingIngestion extends Construct {
  /** The namespace, unless an existing workgroup is used. */
  public readonly namespace?: redshiftserverless.CfnNamespace;
  /** The workgroup, unless an existing workgroup is used. */
  public readonly workgroup?: redshiftserverless.CfnWorkgroup;
  /** The new workgroup's security group. */
  public readonly securityGroup?: ec2.ISecurityGroup;
  /** The key encrypting the namespace, unless an existing workgroup is used. */
  public readonly encryptionKey?: kms.IKey;
  /** The workgroup the statements run on. */
  public readonly workgroupName: string;
  /** Its ARN. */
  public readonly workgroupArn: string;
  /** The role Redshift assumes to read the stream (associated with the new namespace). */
  public readonly streamingRole: iam.Role;
  /** The function behind both custom resources. */
  public readonly sqlFunction: lambda.IFunction;
  /** The custom resource owning the external schema. */
  public readonly externalSchema: CustomResource;
  /** The custom resource owning the materialized view. */
  public readonly materializedView: CustomResource;
  /** The database, schema and view names. */
  public readonly databaseName: string;
  public readonly schemaName: string;
  public readonly viewName: string;

  constructor(scope: Construct, id: string, props: RedshiftStreamingIngestionProps) {
    super(scope, id);
    validateProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.databaseName = props.databaseName ?? 'dev';
    this.schemaName = props.schemaName ?? 'kinesis';
    this.viewName = props.viewName ?? 'kinesis_records';

    // The Redshift streaming-ingestion policy, scoped to the one stream (and its key).
    this.streamingRole = new iam.Role(this, 'StreamingRole', {
      assumedBy: new iam.ServicePrincipal('redshift.amazonaws.com'),
      description: `Redshift reads ${props.stream.node.path} for ${this.node.path}`,
    });
    this.streamingRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'kinesis:DescribeStreamSummary',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:ListShards',
          'kinesis:DescribeStream',
        ],
        resources: [props.stream.streamArn],
      }),
    );
    if (props.stream.encryptionKey) {
      this.streamingRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.stream.encryptionKey.keyArn] }),
      );
    }

    let secretArn: string | undefined;
    let secretKey: kms.IKey | undefined;
    let managedSecret: { namespaceName: string; namespaceArn: string } | undefined;
    if (props.existingWorkgroup) {
      this.workgroupName = props.existingWorkgroup.workgroupName;
      this.workgroupArn = props.existingWorkgroup.workgroupArn;
      secretArn = props.existingWorkgroup.adminSecret?.secretArn;
      secretKey = props.existingWorkgroup.adminSecret?.encryptionKey;
    } else {
      const vpc = props.vpc!;
      const subnets = vpc.selectSubnets(props.vpcSubnets ?? defaultSubnets(vpc));
      // Tokens of a new VPC in an environment-agnostic stack are one per zone, so counting still works.
      const zones = new Set(subnets.availabilityZones).size;
      if (!Token.isUnresolved(subnets.availabilityZones) && zones < 3) {
        throw new Error(
          `Redshift Serverless needs subnets in at least 3 Availability Zones, got subnets in ${zones}: give a VPC with 3 zones or vpcSubnets spanning them`,
        );
      }
      const key =
        props.encryptionKey ??
        new kms.Key(this, 'Key', {
          description: `Encrypts the Redshift Serverless namespace of ${this.node.path}`,
          enableKeyRotation: true,
          removalPolicy,
        });
      this.encryptionKey = key;
      secretKey = key;
      const namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
        namespaceName: props.namespaceName ?? resourceNameFor(this, 'ns'),
        dbName: this.databaseName,
        kmsKeyId: key.keyArn,
        manageAdminPassword: true,
        adminPasswordSecretKmsKeyId: key.keyArn,
        iamRoles: [this.streamingRole.roleArn],
        logExports: LOG_EXPORTS,
      });
      namespace.applyRemovalPolicy(removalPolicy);
      this.namespace = namespace;
      // CloudFormation returns no ARN for the secret Redshift manages: the handler reads it with GetNamespace.
      managedSecret = { namespaceName: namespace.namespaceName, namespaceArn: namespace.attrNamespaceNamespaceArn };

      const securityGroups = props.securityGroups ?? [
        new ec2.SecurityGroup(this, 'SecurityGroup', {
          vpc,
          description: `Redshift Serverless workgroup of ${this.node.path}: no inbound rule; out to Kinesis through the VPC`,
          // Enhanced VPC routing sends the stream reads through the VPC.
          allowAllOutbound: true,
        }),
      ];
      this.securityGroup = securityGroups[0];
      const workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
        workgroupName: props.workgroupName ?? resourceNameFor(this, 'wg'),
        namespaceName: namespace.namespaceName,
        baseCapacity: props.baseCapacity ?? 8,
        publiclyAccessible: false,
        enhancedVpcRouting: true,
        subnetIds: subnets.subnetIds,
        securityGroupIds: securityGroups.map((g) => g.securityGroupId),
        configParameters: [
          { parameterKey: 'require_ssl', parameterValue: 'true' },
          // The useractivitylog export is empty without it.
          { parameterKey: 'enable_user_activity_logging', parameterValue: 'true' },
        ],
      });
      workgroup.addResourceDependency(namespace);
      workgroup.applyRemovalPolicy(removalPolicy);
      this.workgroup = workgroup;
      this.workgroupName = workgroup.attrWorkgroupWorkgroupName;
      this.workgroupArn = workgroup.attrWorkgroupWorkgroupArn;
    }

    const { function: fn, role } = createObservedFunction(
      this,
      { logGroup: 'SqlLogGroup', role: 'SqlRole', function: 'SqlFunction' },
      {
        entry: handlerEntry('redshift-streaming-sql'),
        description: `Creates the Redshift streaming schema and view of ${this.node.path}`,
        roleDescription: `Runs the Redshift streaming SQL of ${this.node.path} through the Data API`,
        serviceName: 'redshift-streaming-sql',
        memorySize: 256,
        // Statements on a cold workgroup take a while; the handler answers CloudFormation 30 s before this.
        timeout: Duration.minutes(10),
        // A deploy-time custom resource: traces add nothing and would widen its role.
        tracing: false,
      },
    );
    this.sqlFunction = fn;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
        resources: [this.workgroupArn],
      }),
    );
    // DescribeStatement names a statement id, not a resource: only the caller's own statements.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['redshift-data:DescribeStatement'],
        resources: ['*'],
        conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      }),
    );
    const stack = Stack.of(this);
    if (managedSecret) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['redshift-serverless:GetNamespace'],
          resources: [managedSecret.namespaceArn],
        }),
      );
      // Redshift names the secret it manages `redshift!<namespace>-admin` (plus Secrets Manager's random suffix).
      const managedSecretArn = stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `redshift!${managedSecret.namespaceName}-admin-*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [managedSecretArn] }),
      );
      acknowledgeWildcardResource(
        role,
        managedSecretArn,
        "The admin secret Redshift manages for the namespace has no ARN in CloudFormation; its name is fixed and only Secrets Manager's 6-character suffix is matched.",
      );
    }
    if (secretArn) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
      );
    }
    if (secretArn || managedSecret) {
      if (secretKey) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [secretKey.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
          }),
        );
      }
    } else {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['redshift-serverless:GetCredentials'], resources: [this.workgroupArn] }),
      );
    }
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::*]`,
      reason:
        'redshift-data:DescribeStatement supports no resource-level permission; the condition limits it to statements this role started.',
    });

    const common = {
      WorkgroupName: this.workgroupName,
      Database: this.databaseName,
      SecretArn: secretArn,
      NamespaceName: managedSecret?.namespaceName,
    };
    this.externalSchema = new CustomResource(this, 'ExternalSchema', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::RedshiftExternalSchema',
      properties: {
        ...common,
        Kind: 'ExternalSchema',
        SchemaName: this.schemaName,
        RoleArn: this.streamingRole.roleArn,
      },
    });
    // Redshift checks the role when the schema is created and reads the stream when the view is.
    this.externalSchema.node.addDependency(this.streamingRole);
    this.materializedView = new CustomResource(this, 'MaterializedView', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::RedshiftStreamingView',
      properties: {
        ...common,
        Kind: 'MaterializedView',
        // From the schema resource: the view is created after the schema and dropped before it.
        SchemaName: this.externalSchema.getAttString('SchemaName'),
        ViewName: this.viewName,
        StreamName: props.stream.streamName,
        JsonOnly: String(props.jsonOnly ?? true),
      },
    });
    this.materializedView.node.addDependency(this.streamingRole);
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  if (vpc.privateSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
}

/** Throws when a base capacity is not one Redshift Serverless accepts. */
function validateBaseCapacity(value: number | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const ok =
    Number.isInteger(value) &&
    (value === 4 ||
      (value >= 8 && value <= 512 && value % 8 === 0) ||
      (value > 512 && value <= 1024 && value % 32 === 0));
  if (!ok) {
    throw new Error(
      `baseCapacity must be 4, 8 to 512 in steps of 8, or 512 to 1024 in steps of 32 (RPUs), got ${value}`,
    );
  }
}

function validateProps(props: RedshiftStreamingIngestionProps): void {
  assertExclusive('existingWorkgroup', props.existingWorkgroup, {
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
    baseCapacity: props.baseCapacity,
    namespaceName: props.namespaceName,
    workgroupName: props.workgroupName,
    encryptionKey: props.encryptionKey,
  });
  if (!props.existingWorkgroup && !props.vpc) {
    throw new Error('vpc is required to create a workgroup (or give existingWorkgroup)');
  }
  validateBaseCapacity(props.baseCapacity);
  const objectRule = "lower-case letters, digits, '_' or '$', starting with a letter or '_'";
  validateName('schemaName', props.schemaName, OBJECT_NAME, 1, 127, objectRule);
  validateName('viewName', props.viewName, OBJECT_NAME, 1, 127, objectRule);
  // The Data API and the namespace take letters, digits and '_' for a database (starting with a letter).
  validateName(
    'databaseName',
    props.databaseName,
    /^[a-zA-Z][a-zA-Z0-9_]*$/,
    1,
    127,
    "letters, digits and '_', starting with a letter",
  );
  validateName('namespaceName', props.namespaceName, RESOURCE_NAME, 3, 64, "'a-z', '0-9' and '-'");
  validateName('workgroupName', props.workgroupName, RESOURCE_NAME, 3, 64, "'a-z', '0-9' and '-'");
}

/** A stable, valid name from the construct path: 3-64 of a-z, 0-9 and '-', ending in a hash of the path. */
function resourceNameFor(scope: Construct, suffix: string): string {
  const stack = Stack.of(scope);
  const base = `${stack.stackName}-${scope.node.path.split('/').slice(1).join('-')}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const tail = `${suffix}-${scope.node.addr.slice(0, 8)}`;
  const head = base.slice(0, 64 - tail.length - 1).replace(/-+$/, '');
  return head ? `${head}-${tail}` : tail;
}
