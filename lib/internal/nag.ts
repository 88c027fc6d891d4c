import { Stack } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * How cdk-nag prints a resolved CloudFormation value inside a granular finding id such as
 * `AwsSolutions-IAM5[Resource::<X.Arn>/*]`: literals as they are (`${Pseudo}` of `Fn::Sub` as `<Pseudo>`),
 * `Fn::GetAtt` as `<LogicalId.Attribute>`, `Ref` as `<LogicalId>`, `Fn::Join` joined.
 */
export function nagLabel(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const o = node as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
    return items.map(nagLabel).join(delimiter);
  }
  if (o['Fn::Sub']) return nagLabel(o['Fn::Sub']);
  if (o['Fn::GetAtt']) {
    const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
    return `<${nagLabel(resource)}.${nagLabel(attribute)}>`;
  }
  if (o['Fn::ImportValue']) return nagLabel(o['Fn::ImportValue']);
  if (o.Ref) return `<${nagLabel(o.Ref)}>`;
  return JSON.stringify(node);
}

/** `nagLabel` of an ARN (or any string that may hold tokens) as it resolves in the stack of `scope`. */
export function nagArnLabel(scope: IConstruct, arn: string): string {
  return nagLabel(Stack.of(scope).resolve(arn));
}

/** Acknowledges on `scope` the one granular IAM5 finding cdk-nag reports for the wildcard resource `resourceArn`. */
export function acknowledgeWildcardResource(scope: IConstruct, resourceArn: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArnLabel(scope, resourceArn)}]`,
    reason,
  });
}
