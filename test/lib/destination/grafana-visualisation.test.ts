import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { applyNagChecks } from '../../../bin/nag';
import {
  GRAFANA_INFLUXDB_DATASOURCE_UID,
  GrafanaAuthenticationProvider,
  GrafanaVisualisation,
  GrafanaVisualisationProps,
  InfluxDbDatabase,
} from '../../../lib/destination';

const SSO = [GrafanaAuthenticationProvider.AWS_SSO];

function setup(): { app: App; stack: Stack } {
  const app = new App();
  return { app, stack: new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } }) };
}

function logicalId(stack: Stack, c: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId((c.node.defaultChild ?? c) as never);
}

function tokenSecret(stack: Stack): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(stack, 'InfluxToken');
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SMG4',
    reason: 'Test fixture: an InfluxDB API token is rotated in InfluxDB, not by Secrets Manager.',
  });
  return secret;
}

function customResourceProps(stack: Stack): { DataSources: unknown; Dashboards: string } {
  const [resource] = Object.values(Template.fromStack(stack).findResources('Custom::GrafanaDashboards'));
  return resource.Properties;
}

describe('GrafanaVisualisation workspace', () => {
  test('uses its own role, the chosen sign-in, and no plugin administration', () => {
    const { stack } = setup();
    const g = new GrafanaVisualisation(stack, 'Grafana', { authenticationProviders: SSO, provisionDashboards: false });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      AccountAccessType: 'CURRENT_ACCOUNT',
      PermissionType: 'CUSTOMER_MANAGED',
      AuthenticationProviders: ['AWS_SSO'],
      DataSources: ['CLOUDWATCH'],
      GrafanaVersion: '10.4',
      PluginAdminEnabled: false,
      RoleArn: { 'Fn::GetAtt': [logicalId(stack, g.role), 'Arn'] },
    });
    template.hasResource('AWS::Grafana::Workspace', { DeletionPolicy: 'Retain' });
    template.resourceCountIs('Custom::GrafanaDashboards', 0);
    expect(stack.resolve(g.workspaceUrl)).toEqual({
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack, g.workspace), 'Endpoint'] }]],
    });
  });

  test('the workspace role trusts Managed Grafana of this account and only reads CloudWatch', () => {
    const { stack } = setup();
    const g = new GrafanaVisualisation(stack, 'Grafana', { authenticationProviders: SSO, provisionDashboards: false });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 'grafana.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, g.role) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              'cloudwatch:DescribeAlarmsForMetric',
              'cloudwatch:DescribeAlarmHistory',
              'cloudwatch:DescribeAlarms',
              'cloudwatch:ListMetrics',
              'cloudwatch:GetMetricData',
              'ec2:DescribeRegions',
              'tag:GetResources',
            ],
            Resource: '*',
          },
        ],
      },
    });
  });

  test('SAML sign-in carries the IdP metadata and admin role values', () => {
    const { stack } = setup();
    new GrafanaVisualisation(stack, 'Grafana', {
      authenticationProviders: [GrafanaAuthenticationProvider.SAML],
      samlIdpMetadataUrl: 'https://idp.example.com/metadata',
      samlAdminRoleValues: ['grafana-admins'],
      provisionDashboards: false,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Grafana::Workspace', {
      AuthenticationProviders: ['SAML'],
      SamlConfiguration: {
        IdpMetadata: { Url: 'https://idp.example.com/metadata' },
        AssertionAttributes: { Role: 'role' },
        RoleValues: { Admin: ['grafana-admins'] },
      },
    });
  });

  test('in a VPC the workspace gets subnets and a security group that InfluxDB can admit', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const g = new GrafanaVisualisation(stack, 'Grafana', {
      authenticationProviders: SSO,
      vpc: db.vpc,
      provisionDashboards: false,
    });
    db.allowFrom(g);
    const template = Template.fromStack(stack);
    const sg = g.connections.securityGroups[0];
    template.hasResourceProperties('AWS::Grafana::Workspace', {
      VpcConfiguration: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack, sg), 'GroupId'] }],
        SubnetIds: db.vpc.isolatedSubnets.map((s) => ({ Ref: logicalId(stack, s) })),
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8086,
      GroupId: { 'Fn::GetAtt': [logicalId(stack, db.securityGroup), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, sg), 'GroupId'] },
    });
  });
});

describe('the shipped dashboards', () => {
  // Flink 2.2 removed fullRestarts and deprecated uptime and downtime: a panel on them would stay empty.
  test('chart no Flink metric that Flink 2.2 removed or deprecated', () => {
    const dir = path.join(__dirname, '..', '..', '..', 'dashboards');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      const flinkMetrics = (dashboard.panels as { targets?: { namespace?: string; metricName?: string }[] }[])
        .flatMap((p) => p.targets ?? [])
        .filter((t) => t.namespace === 'AWS/KinesisAnalytics')
        .map((t) => t.metricName);
      expect({
        file,
        removed: flinkMetrics.filter((m) => ['downtime', 'uptime', 'fullRestarts'].includes(m!)),
      }).toEqual({ file, removed: [] });
    }
  });

  test('chart restartingTime and failingTime instead of downtime', () => {
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', '..', '..', 'dashboards', 'pipeline-health.json'), 'utf8'),
    );
    const metrics = JSON.stringify(dashboard.panels);
    expect(metrics).toContain('"metricName":"restartingTime"');
    expect(metrics).toContain('"metricName":"failingTime"');
  });
});

describe('GrafanaVisualisation provisioning', () => {
  test('provisions both dashboards and data sources, reading the InfluxDB token at deploy time', () => {
    const { stack } = setup();
    const db = new InfluxDbDatabase(stack, 'Db');
    const secret = tokenSecret(stack);
    const g = new GrafanaVisualisation(stack, 'Grafana', {
      authenticationProviders: SSO,
      influxDbUrl: db.endpointUrl,
      influxDbTokenSecret: secret,
    });
    const props = customResourceProps(stack);
    const dashboards = JSON.parse(props.Dashboards);
    expect(dashboards.map((d: { uid: string }) => d.uid)).toEqual(['pipeline-health', 'telemetry-timeseries-overview']);
    expect(g.dashboardUids).toEqual(['pipeline-health', 'telemetry-timeseries-overview']);
    const dataSources = JSON.stringify(props.DataSources);
    expect(dataSources).toContain('\\"type\\":\\"cloudwatch\\"');
    expect(dataSources).toContain('\\"authType\\":\\"ec2_iam_role\\"');
    expect(dataSources).toContain(`\\"uid\\":\\"${GRAFANA_INFLUXDB_DATASOURCE_UID}\\"`);
    expect(dataSources).toContain(logicalId(stack, secret));
    // The secret's ARN travels, never its value.
    expect(dataSources).not.toMatch(/SecretString|resolve:secretsmanager/);
  });

  test('without InfluxDB only the CloudWatch dashboard and data source are provisioned', () => {
    const { stack } = setup();
    new GrafanaVisualisation(stack, 'Grafana', { authenticationProviders: SSO });
    const props = customResourceProps(stack);
    expect(JSON.parse(props.Dashboards).map((d: { uid: string }) => d.uid)).toEqual(['pipeline-health']);
    expect(JSON.stringify(props.DataSources)).not.toContain('influxdb');
  });

  test('the provisioner may manage service accounts of this workspace only, and read the token secret', () => {
    const { stack } = setup();
    const secret = tokenSecret(stack);
    const g = new GrafanaVisualisation(stack, 'Grafana', {
      authenticationProviders: SSO,
      influxDbUrl: 'https://influx.internal:8086',
      influxDbTokenSecret: secret,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: [
              'grafana:CreateWorkspaceServiceAccount',
              'grafana:CreateWorkspaceServiceAccountToken',
              'grafana:DeleteWorkspaceServiceAccount',
            ],
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':grafana:eu-west-1:123456789012:/workspaces/',
                  { 'Fn::GetAtt': [logicalId(stack, g.workspace), 'Id'] },
                ],
              ],
            },
          },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: logicalId(stack, secret) },
          },
        ]),
      },
    });
    template.hasResourceProperties('Custom::GrafanaDashboards', {
      ServiceToken: { 'Fn::GetAtt': [logicalId(stack, g.provisioner!), 'Arn'] },
      WorkspaceId: { 'Fn::GetAtt': [logicalId(stack, g.workspace), 'Id'] },
      WorkspaceEndpoint: { 'Fn::GetAtt': [logicalId(stack, g.workspace), 'Endpoint'] },
    });
  });

  test('dashboards come from dashboardsDirectory and must be valid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ uid: 'a', title: 'A', panels: [] }));
      const { stack } = setup();
      new GrafanaVisualisation(stack, 'Grafana', { authenticationProviders: SSO, dashboardsDirectory: dir });
      expect(JSON.parse(customResourceProps(stack).Dashboards)).toEqual([{ uid: 'a', title: 'A', panels: [] }]);

      fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ uid: 'a', title: 'B' }));
      expect(
        () => new GrafanaVisualisation(setup().stack, 'G', { authenticationProviders: SSO, dashboardsDirectory: dir }),
      ).toThrow(/dashboards a.json and b.json share the uid 'a'/);
      fs.writeFileSync(path.join(dir, 'b.json'), '{');
      expect(
        () => new GrafanaVisualisation(setup().stack, 'G', { authenticationProviders: SSO, dashboardsDirectory: dir }),
      ).toThrow(/dashboard b.json is not valid JSON/);
      fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ title: 'B' }));
      expect(
        () => new GrafanaVisualisation(setup().stack, 'G', { authenticationProviders: SSO, dashboardsDirectory: dir }),
      ).toThrow(/dashboard b.json needs a string uid and title/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GrafanaVisualisation validation', () => {
  test.each<[Partial<GrafanaVisualisationProps>, RegExp]>([
    [{ authenticationProviders: [] }, /authenticationProviders needs AWS_SSO or SAML, got none/],
    [{ authenticationProviders: [GrafanaAuthenticationProvider.SAML] }, /SAML needs exactly one of .*got 0/],
    [{ samlIdpMetadataUrl: 'https://idp' }, /saml\* props need the SAML authentication provider/],
    [{ securityGroups: [] }, /vpcSubnets and securityGroups need vpc/],
    [{ influxDbUrl: 'https://x:8086' }, /influxDbUrl and influxDbTokenSecret go together/],
    [{ influxDbBucket: 'b' }, /influxDbOrganization and influxDbBucket need influxDbUrl/],
    [{ workspaceName: 'has space' }, /workspaceName must match .*got 'has space'/],
  ])('%p is rejected', (props, message) => {
    const { stack } = setup();
    expect(() => new GrafanaVisualisation(stack, 'G', { authenticationProviders: SSO, ...props })).toThrow(message);
  });

  test('connections without a VPC are rejected', () => {
    const { stack } = setup();
    const g = new GrafanaVisualisation(stack, 'G', { authenticationProviders: SSO, provisionDashboards: false });
    expect(() => g.connections).toThrow(/is not connected to a VPC/);
  });

  test('a VPC with a single subnet is rejected', () => {
    const { stack } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 1,
      natGateways: 0,
      subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    expect(() => new GrafanaVisualisation(stack, 'G', { authenticationProviders: SSO, vpc })).toThrow(
      /needs 2 to 6 subnets in different zones, got 1/,
    );
  });
});

describe('GrafanaVisualisation cdk-nag', () => {
  test('a provisioned workspace in the InfluxDB VPC passes AwsSolutions checks', () => {
    const { app, stack } = setup();
    applyNagChecks(app);
    const db = new InfluxDbDatabase(stack, 'Db');
    db.addInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING);
    const g = new GrafanaVisualisation(stack, 'Grafana', {
      authenticationProviders: SSO,
      vpc: db.vpc,
      securityGroups: [db.writerSecurityGroup],
      influxDbUrl: db.endpointUrl,
      influxDbTokenSecret: tokenSecret(stack),
    });
    db.allowFrom(g);
    expect(() => app.synth()).not.toThrow();
  });
});
