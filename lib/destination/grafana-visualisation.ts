import * as fs from 'fs';
import * as path from 'path';
import { CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as grafana from 'aws-cdk-lib/aws-grafana';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { createObservedFunction } from '../internal/observed-function';
import { findInPackage, handlerEntry } from '../internal';

/** How users sign in to the Grafana workspace. */
export enum GrafanaAuthenticationProvider {
  /** AWS IAM Identity Center (must be enabled in the account or organization). */
  AWS_SSO = 'AWS_SSO',
  /** A SAML 2.0 identity provider (`samlIdpMetadataUrl` or `samlIdpMetadataXml`). */
  SAML = 'SAML',
}

/** uid of the CloudWatch data source the dashboards in `dashboards/` use. */
export const GRAFANA_CLOUDWATCH_DATASOURCE_UID = 'cloudwatch-pipeline';
/** uid of the InfluxDB data source the dashboards in `dashboards/` use. */
export const GRAFANA_INFLUXDB_DATASOURCE_UID = 'influxdb-telemetry';

export interface GrafanaVisualisationProps {
  /** At least one. Both need setup outside this stack (IAM Identity Center, or a SAML IdP). */
  readonly authenticationProviders: GrafanaAuthenticationProvider[];
  /** SAML IdP metadata URL (SAML only; or `samlIdpMetadataXml`). @default - none */
  readonly samlIdpMetadataUrl?: string;
  /** SAML IdP metadata document (SAML only; or `samlIdpMetadataUrl`). @default - none */
  readonly samlIdpMetadataXml?: string;
  /** SAML assertion attribute that carries the user's role. @default 'role' */
  readonly samlRoleAttribute?: string;
  /** Values of the role attribute that make a user a Grafana admin. @default - none (admins are set in the console) */
  readonly samlAdminRoleValues?: string[];
  /** @default - a name derived from the construct path */
  readonly workspaceName?: string;
  /** @default '10.4' */
  readonly grafanaVersion?: string;

  /**
   * Connect the workspace to this VPC, e.g. to reach a private InfluxDB. In a VPC without NAT (as
   * `InfluxDbDatabase` creates), the CloudWatch data source needs the monitoring interface endpoint: pass
   * `securityGroups: [db.writerSecurityGroup]` and call `db.addInterfaceEndpoint(CLOUDWATCH_MONITORING)`.
   * @default - no VPC connection
   */
  readonly vpc?: ec2.IVpc;
  /** Two to six subnets in different zones. @default - the VPC's isolated subnets, else its private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - a new security group (with `vpc`) */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /** InfluxDB URL for the InfluxDB data source, e.g. `InfluxDbDatabase.endpointUrl`. @default - no InfluxDB data source */
  readonly influxDbUrl?: string;
  /** @default 'telemetry' */
  readonly influxDbOrganization?: string;
  /** @default 'telemetry' */
  readonly influxDbBucket?: string;
  /**
   * Secret holding an InfluxDB API token with read access to the bucket, as JSON {"token": "..."}. Required with
   * `influxDbUrl`: Flux queries authenticate with a token, which InfluxDB issues (`influx auth create --read-bucket`),
   * so it cannot be generated here.
   * @default - none
   */
  readonly influxDbTokenSecret?: secretsmanager.ISecret;

  /** Folder with the dashboard JSON files. @default - the package's `dashboards` folder */
  readonly dashboardsDirectory?: string;
  /** Provision the dashboards and data sources. @default true */
  readonly provisionDashboards?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const CLOUDWATCH_READ_ACTIONS = [
  'cloudwatch:DescribeAlarmsForMetric',
  'cloudwatch:DescribeAlarmHistory',
  'cloudwatch:DescribeAlarms',
  'cloudwatch:ListMetrics',
  'cloudwatch:GetMetricData',
  'ec2:DescribeRegions',
  'tag:GetResources',
];

/**
 * An Amazon Managed Grafana workspace for the pipeline: a least-privilege workspace role that reads CloudWatch
 * metrics, an optional VPC connection to reach a private InfluxDB, and the dashboards kept in `dashboards/`
 * provisioned by a custom resource (Managed Grafana has no CloudFormation resource for dashboards). Sign-in needs
 * IAM Identity Center or a SAML identity provider, so stacks create it only when asked to.
 */
export class GrafanaVisualisation extends Construct implements ec2.IConnectable {
  public readonly workspace: grafana.CfnWorkspace;
  public readonly role: iam.Role;
  /** https://<workspace endpoint> */
  public readonly workspaceUrl: string;
  /** The dashboards provisioned, by uid. */
  public readonly dashboardUids: string[] = [];
  /** The provisioning function, when dashboards are provisioned. */
  public readonly provisioner?: nodejs.NodejsFunction;

  private readonly _connections?: ec2.Connections;

  constructor(scope: Construct, id: string, props: GrafanaVisualisationProps) {
    super(scope, id);
    validate(props);
    const stack = Stack.of(this);

    this.role = new iam.Role(this, 'WorkspaceRole', {
      assumedBy: new iam.ServicePrincipal('grafana.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `Data source role of the Grafana workspace ${this.node.path}`,
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: CLOUDWATCH_READ_ACTIONS, resources: ['*'] }));
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'The CloudWatch data source reads metrics and alarms; cloudwatch:GetMetricData/ListMetrics/Describe*, ec2:DescribeRegions and tag:GetResources support no resource-level permissions.',
    });

    let vpcConfiguration: grafana.CfnWorkspace.VpcConfigurationProperty | undefined;
    if (props.vpc) {
      const securityGroups = props.securityGroups ?? [
        new ec2.SecurityGroup(this, 'SecurityGroup', {
          vpc: props.vpc,
          description: `Grafana workspace ${this.node.path}: reaches data sources in the VPC`,
          allowAllOutbound: true,
        }),
      ];
      this._connections = new ec2.Connections({ securityGroups });
      const selection =
        props.vpcSubnets ??
        (props.vpc.isolatedSubnets.length > 0
          ? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
          : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
      const subnets = props.vpc.selectSubnets(selection);
      if (!Token.isUnresolved(subnets.subnetIds) && (subnets.subnetIds.length < 2 || subnets.subnetIds.length > 6)) {
        throw new Error(`a Grafana workspace needs 2 to 6 subnets in different zones, got ${subnets.subnetIds.length}`);
      }
      vpcConfiguration = {
        securityGroupIds: securityGroups.map((sg) => sg.securityGroupId),
        subnetIds: subnets.subnetIds,
      };
    }

    const providers = [...new Set(props.authenticationProviders)];
    this.workspace = new grafana.CfnWorkspace(this, 'Resource', {
      name: props.workspaceName ?? workspaceNameFor(this),
      description: `Dashboards of ${this.node.path}`,
      accountAccessType: 'CURRENT_ACCOUNT',
      // Customer-managed: the workspace uses exactly the role above, nothing the service would attach itself.
      permissionType: 'CUSTOMER_MANAGED',
      roleArn: this.role.roleArn,
      authenticationProviders: providers,
      dataSources: ['CLOUDWATCH'],
      grafanaVersion: props.grafanaVersion ?? '10.4',
      pluginAdminEnabled: false,
      vpcConfiguration,
      samlConfiguration: providers.includes(GrafanaAuthenticationProvider.SAML)
        ? {
            idpMetadata: { url: props.samlIdpMetadataUrl, xml: props.samlIdpMetadataXml },
            assertionAttributes: { role: props.samlRoleAttribute ?? 'role' },
            roleValues: props.samlAdminRoleValues ? { admin: props.samlAdminRoleValues } : undefined,
          }
        : undefined,
    });
    this.workspace.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.workspaceUrl = `https://${this.workspace.attrEndpoint}`;

    if (props.provisionDashboards ?? true) {
      this.provisioner = this.provision(props);
    }
  }

  /** The workspace's connections, when it is connected to a VPC (e.g. for `InfluxDbDatabase.allowFrom`). */
  public get connections(): ec2.Connections {
    if (!this._connections) {
      throw new Error(`${this.node.path} is not connected to a VPC: give it a vpc`);
    }
    return this._connections;
  }

  private provision(props: GrafanaVisualisationProps): nodejs.NodejsFunction {
    const stack = Stack.of(this);
    const directory = props.dashboardsDirectory ?? packageDashboards();
    const withInflux = props.influxDbUrl !== undefined;
    const dashboards = loadDashboards(directory).filter(
      (d) => withInflux || !usesDataSource(d, GRAFANA_INFLUXDB_DATASOURCE_UID),
    );
    this.dashboardUids.push(...dashboards.map((d) => d.uid as string));

    const dataSources: unknown[] = [
      {
        uid: GRAFANA_CLOUDWATCH_DATASOURCE_UID,
        name: 'CloudWatch (pipeline)',
        type: 'cloudwatch',
        isDefault: true,
        // Authenticate with the workspace's IAM role.
        jsonData: { authType: 'ec2_iam_role', defaultRegion: stack.region },
      },
    ];
    if (withInflux) {
      dataSources.push({
        uid: GRAFANA_INFLUXDB_DATASOURCE_UID,
        name: 'InfluxDB (telemetry)',
        type: 'influxdb',
        url: props.influxDbUrl,
        jsonData: {
          version: 'Flux',
          organization: props.influxDbOrganization ?? 'telemetry',
          defaultBucket: props.influxDbBucket ?? 'telemetry',
          tlsSkipVerify: false,
        },
        secureFields: [{ secretArn: props.influxDbTokenSecret!.secretArn, jsonKey: 'token', field: 'token' }],
      });
    }

    const { function: fn, role } = createObservedFunction(
      this,
      { logGroup: 'ProvisionerLogGroup', role: 'ProvisionerRole', function: 'Provisioner' },
      {
        entry: handlerEntry('grafana-dashboard-provisioner'),
        description: `Provisions Grafana dashboards into ${this.node.path}`,
        roleDescription: `Provisions the dashboards of ${this.node.path}`,
        serviceName: 'grafana-dashboard-provisioner',
        memorySize: 256,
        timeout: Duration.minutes(5),
        // A deploy-time custom resource: traces add nothing and would widen its role.
        tracing: false,
      },
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'grafana:CreateWorkspaceServiceAccount',
          'grafana:CreateWorkspaceServiceAccountToken',
          'grafana:DeleteWorkspaceServiceAccount',
        ],
        resources: [
          stack.formatArn({ service: 'grafana', resource: '/workspaces', resourceName: this.workspace.attrId }),
        ],
      }),
    );
    props.influxDbTokenSecret?.grantRead(role);
    new CustomResource(this, 'Dashboards', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::GrafanaDashboards',
      properties: {
        WorkspaceId: this.workspace.attrId,
        WorkspaceEndpoint: this.workspace.attrEndpoint,
        // JSON strings: CloudFormation would turn nested numbers and booleans into strings.
        DataSources: stack.toJsonString(dataSources),
        Dashboards: JSON.stringify(dashboards),
      },
    });
    return fn;
  }
}

function validate(props: GrafanaVisualisationProps): void {
  if (props.authenticationProviders.length === 0) {
    throw new Error('authenticationProviders needs AWS_SSO or SAML, got none');
  }
  const saml = props.authenticationProviders.includes(GrafanaAuthenticationProvider.SAML);
  const metadata = [props.samlIdpMetadataUrl, props.samlIdpMetadataXml].filter((m) => m !== undefined).length;
  if (saml && metadata !== 1) {
    throw new Error(`SAML needs exactly one of samlIdpMetadataUrl or samlIdpMetadataXml, got ${metadata}`);
  }
  if (!saml && (metadata > 0 || props.samlRoleAttribute || props.samlAdminRoleValues)) {
    throw new Error('saml* props need the SAML authentication provider');
  }
  if (!props.vpc && (props.vpcSubnets || props.securityGroups)) {
    throw new Error('vpcSubnets and securityGroups need vpc');
  }
  if ((props.influxDbUrl === undefined) !== (props.influxDbTokenSecret === undefined)) {
    throw new Error(
      'influxDbUrl and influxDbTokenSecret go together: the InfluxDB data source authenticates with a token',
    );
  }
  if (props.influxDbUrl === undefined && (props.influxDbOrganization || props.influxDbBucket)) {
    throw new Error('influxDbOrganization and influxDbBucket need influxDbUrl');
  }
  if (
    props.workspaceName !== undefined &&
    !Token.isUnresolved(props.workspaceName) &&
    !/^[a-zA-Z0-9-._~]{1,255}$/.test(props.workspaceName)
  ) {
    throw new Error(`workspaceName must match [a-zA-Z0-9-._~]{1,255}, got '${props.workspaceName}'`);
  }
}

/** Reads every `*.json` in `directory` as a dashboard; each needs a uid and a title. Sorted by file name. */
function loadDashboards(directory: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(directory)) {
    throw new Error(`dashboards directory ${directory} does not exist`);
  }
  const files = fs
    .readdirSync(directory)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const seen = new Map<string, string>();
  return files.map((file) => {
    let dashboard: Record<string, unknown>;
    try {
      dashboard = JSON.parse(fs.readFileSync(path.join(directory, file), 'utf8'));
    } catch (e) {
      throw new Error(`dashboard ${file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof dashboard.uid !== 'string' || typeof dashboard.title !== 'string') {
      throw new Error(`dashboard ${file} needs a string uid and title`);
    }
    const previous = seen.get(dashboard.uid);
    if (previous) throw new Error(`dashboards ${previous} and ${file} share the uid '${dashboard.uid}'`);
    seen.set(dashboard.uid, file);
    return dashboard;
  });
}

function usesDataSource(dashboard: Record<string, unknown>, uid: string): boolean {
  return JSON.stringify(dashboard).includes(`"uid":"${uid}"`);
}

function workspaceNameFor(scope: Construct): string {
  const base = `${Stack.of(scope).stackName}-${scope.node.path.split('/').slice(1).join('-')}`.replace(
    /[^a-zA-Z0-9-._~]/g,
    '-',
  );
  return `${base.slice(0, 200)}-${scope.node.addr.slice(0, 8)}`;
}

function packageDashboards(): string {
  const directory = findInPackage('dashboards');
  if (!directory) throw new Error(`Cannot find dashboards/ above ${__dirname}: pass dashboardsDirectory`);
  return directory;
}
