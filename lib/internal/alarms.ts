import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** What every alarm of this library needs. */
export interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly alarmDescription: string;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default - evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** @default NOT_BREACHING: no traffic is not an incident */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** Throws with the received value unless the threshold is zero or more (or an unresolved token). */
export function validateThreshold(name: string, threshold: number | undefined): void {
  if (threshold === undefined || Token.isUnresolved(threshold)) return;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new Error(`${name} must be zero or more, got ${threshold}`);
  }
}

/**
 * Creates an alarm (by default: fires at or above the threshold, treats missing data as not breaching) that notifies
 * the topic on ALARM and OK.
 */
export function createAlarm(scope: Construct, id: string, spec: AlarmSpec, topic?: sns.ITopic): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods ?? 1,
    datapointsToAlarm: spec.datapointsToAlarm,
    alarmDescription: spec.alarmDescription,
    comparisonOperator: spec.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (topic) {
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    alarm.addOkAction(new cloudwatchActions.SnsAction(topic));
  }
  return alarm;
}

/**
 * Lets CloudWatch alarms of this account and region notify `topic`, which is encrypted with `key`:
 * - the topic policy allows cloudwatch.amazonaws.com to publish, because a topic policy (here the TLS-only one) replaces
 *   the default policy under which same-account alarms publish;
 * - the key policy allows it kms:Decrypt and kms:GenerateDataKey*, without which SNS rejects the alarm's publish.
 * Both are limited to alarms of this account and region (aws:SourceAccount, aws:SourceArn).
 */
export function allowAlarmNotifications(topic: sns.Topic, key: kms.IKey): void {
  const stack = Stack.of(topic);
  const conditions = {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
  };
  const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [cloudwatchPrincipal],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions,
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublishToTheTopic',
      principals: [cloudwatchPrincipal],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions,
    }),
  );
}

export interface AlarmTopicOptions {
  /** Description of the topic's KMS key. */
  readonly keyDescription: string;
  /** Removal policy of the topic's KMS key. @default - the kms.Key default (RETAIN) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The alarm topic of a stack: `AlarmTopicKey` (a KMS key with rotation) and `AlarmTopic` (encrypted with it, TLS only),
 * created in `scope` under those ids, with `allowAlarmNotifications` so the stack's alarms can publish to it.
 */
export function createAlarmTopic(scope: Construct, options: AlarmTopicOptions): sns.Topic {
  const key = new kms.Key(scope, 'AlarmTopicKey', {
    description: options.keyDescription,
    enableKeyRotation: true,
    removalPolicy: options.removalPolicy,
  });
  const topic = new sns.Topic(scope, 'AlarmTopic', { masterKey: key, enforceSSL: true });
  allowAlarmNotifications(topic, key);
  return topic;
}
