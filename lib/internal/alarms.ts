import { Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** What every alarm of this library needs; the comparison is always "greater than or equal to the threshold". */
export interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly alarmDescription: string;
  readonly evaluationPeriods?: number;
  readonly datapointsToAlarm?: number;
}

/** Throws with the received value unless the threshold is zero or more (or an unresolved token). */
export function validateThreshold(name: string, threshold: number | undefined): void {
  if (threshold === undefined || Token.isUnresolved(threshold)) return;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new Error(`${name} must be zero or more, got ${threshold}`);
  }
}

/**
 * Creates an alarm that fires at or above the threshold, treats missing data as not breaching (no traffic is not an
 * incident) and notifies the topic on ALARM and OK.
 */
export function createAlarm(scope: Construct, id: string, spec: AlarmSpec, topic?: sns.ITopic): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods ?? 1,
    datapointsToAlarm: spec.datapointsToAlarm,
    alarmDescription: spec.alarmDescription,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (topic) {
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    alarm.addOkAction(new cloudwatchActions.SnsAction(topic));
  }
  return alarm;
}
