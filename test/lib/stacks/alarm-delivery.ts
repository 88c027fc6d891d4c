import { Template } from 'aws-cdk-lib/assertions';

type Statement = {
  Effect?: string;
  Principal?: { Service?: unknown };
  Action?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
};

const actionsOf = (s: Statement): string[] => ([] as string[]).concat(s.Action ?? []);
const fromCloudWatch = (s: Statement): boolean =>
  s.Effect === 'Allow' && s.Principal?.Service === 'cloudwatch.amazonaws.com';
const limitedToAlarms = (s: Statement): boolean =>
  s.Condition?.StringEquals?.['aws:SourceAccount'] !== undefined &&
  JSON.stringify(s.Condition?.ArnLike?.['aws:SourceArn'] ?? '').includes(':alarm:*');

/**
 * Walks alarm action -> SNS topic -> topic policy and KMS key policy in a template and returns what stops CloudWatch
 * from delivering: a topic policy without a cloudwatch.amazonaws.com sns:Publish allow (a topic policy replaces the
 * default one), or a CMK without kms:Decrypt / kms:GenerateDataKey* for cloudwatch.amazonaws.com. Also returns the
 * number of topics checked, so a caller can assert the walk was not vacuous.
 */
export function alarmDeliveryProblems(template: Template): { topicsChecked: number; problems: string[] } {
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const topicIds = new Set<string>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    for (const action of [
      ...((r.Properties.AlarmActions as unknown[]) ?? []),
      ...((r.Properties.OKActions as unknown[]) ?? []),
    ]) {
      const id = (action as { Ref?: string }).Ref;
      if (id && resources[id]?.Type === 'AWS::SNS::Topic') topicIds.add(id);
    }
  }
  const problems: string[] = [];
  for (const topicId of topicIds) {
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::SNS::TopicPolicy' &&
        (r.Properties.Topics as Array<{ Ref?: string }>).some((t) => t.Ref === topicId),
    );
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      if (!statements.some((s) => fromCloudWatch(s) && actionsOf(s).includes('sns:Publish') && limitedToAlarms(s))) {
        problems.push(`topic policy of ${topicId} does not let CloudWatch alarms publish`);
      }
    }
    const keyRef = resources[topicId].Properties.KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const keyId = keyRef?.['Fn::GetAtt']?.[0];
    if (keyId) {
      const statements = (resources[keyId].Properties.KeyPolicy as { Statement: Statement[] }).Statement;
      const grants = statements.filter((s) => fromCloudWatch(s) && limitedToAlarms(s)).flatMap(actionsOf);
      for (const needed of ['kms:Decrypt', 'kms:GenerateDataKey*']) {
        if (!grants.includes(needed)) problems.push(`key ${keyId} of ${topicId} does not allow CloudWatch ${needed}`);
      }
    }
  }
  return { topicsChecked: topicIds.size, problems };
}
