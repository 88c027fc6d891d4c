import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'cdk-validate.js');

/** A cloud assembly with a stack at the root and one in a nested stage, as `cdk synth` writes them. */
function assembly(dir: string, nestedResources: Record<string, unknown>): string {
  const nested = path.join(dir, 'assembly-Stage');
  fs.mkdirSync(nested, { recursive: true });
  const stack = (name: string) => ({
    type: 'aws:cloudformation:stack',
    environment: 'aws://unknown-account/unknown-region',
    properties: { templateFile: `${name}.template.json` },
    displayName: name,
  });
  const manifest = (artifacts: Record<string, unknown>) => JSON.stringify({ version: '50.0.0', artifacts });
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    manifest({
      App: stack('App'),
      Stage: { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Stage', displayName: 'Stage' } },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'App.template.json'),
    JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: {} } } }),
  );
  fs.writeFileSync(path.join(nested, 'manifest.json'), manifest({ 'Stage-S': stack('Stage-S') }));
  fs.writeFileSync(path.join(nested, 'Stage-S.template.json'), JSON.stringify({ Resources: nestedResources }));
  return dir;
}

function validate(dir: string): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (e) {
    const err = e as { status: number; stderr: string };
    return { status: err.status, output: err.stderr };
  }
}

describe('cdk-validate (aws-cdk-lib built-in validation in npm test)', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-validate-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('clean templates pass, nested stages included', () => {
    const dir = assembly(tmp, { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } });
    expect(validate(dir)).toEqual({ status: 0, output: expect.stringMatching(/2 template\(s\) clean/) });
  });

  test('fails on findings cfn-lint does not report, warnings included (E9002 error, W2508 warning)', () => {
    // GIVEN a nested stack whose security group has its ports reversed and SSH open to the world
    const dir = assembly(tmp, {
      Sg: {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: 'sg',
          SecurityGroupIngress: [
            { IpProtocol: 'tcp', FromPort: 443, ToPort: 80, CidrIp: '10.0.0.0/8' },
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '0.0.0.0/0' },
          ],
        },
      },
    });
    // THEN
    const { status, output } = validate(dir);
    expect(status).toBe(1);
    expect(output).toMatch(/E9002 assembly-Stage\/Stage-S\.template\.json Sg/);
    expect(output).toMatch(/warning W2508 .* Sg/);
  });
});
