import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * How cdk-nag prints a resource ARN inside a granular finding id such as `AwsSolutions-IAM5[Resource::<X.Arn>/*]`:
 * literals as they are, `Fn::GetAtt` as `<LogicalId.Attribute>`.
 */
export function nagArnLabel(scope: IConstruct, arn: string): string {
  const resolved = Stack.of(scope).resolve(arn);
  if (typeof resolved === 'string') return resolved;
  const getAtt = resolved['Fn::GetAtt'] as string[] | undefined;
  return getAtt ? `<${getAtt[0]}.${getAtt[1]}>` : JSON.stringify(resolved);
}
