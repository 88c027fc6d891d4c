import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { BUILTIN_VALIDATION_CONTEXT, createCliApp } from '../../bin/cli-app';

/** Synthesizes a stack with a finding only aws-cdk-lib's validation reports; returns the plugins of the report. */
function reportedPlugins(context: Record<string, unknown>): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-app-'));
  const app = createCliApp({ outdir, context });
  const stack = new Stack(app, 'S');
  new ec2.CfnSecurityGroup(stack, 'Sg', {
    groupDescription: 'ports in the wrong order',
    securityGroupIngress: [{ ipProtocol: 'tcp', fromPort: 443, toPort: 80, cidrIp: '10.0.0.0/8' }],
  });
  app.synth();
  const file = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { pluginReports: { pluginName: string }[] };
  return report.pluginReports.map((r) => r.pluginName);
}

describe('createCliApp', () => {
  // jest turns the built-in validation off for every App (jest.config.js); these tests are about the switch.
  const saved = process.env.CDK_VALIDATION;
  beforeAll(() => delete process.env.CDK_VALIDATION);
  afterAll(() => (process.env.CDK_VALIDATION = saved));
  let stderr: jest.SpyInstance;
  beforeEach(() => (stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined)));
  afterEach(() => stderr.mockRestore());

  test('leaves aws-cdk-lib built-in validation off by default', () => {
    expect(reportedPlugins({})).not.toContain('CloudFormation Validate');
  });

  test.each([true, 'true'])('turns it on with the context key set to %p (a -c value is a string)', (value) => {
    expect(reportedPlugins({ [BUILTIN_VALIDATION_CONTEXT]: value })).toContain('CloudFormation Validate');
  });
});
