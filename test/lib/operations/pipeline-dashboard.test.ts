import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PipelineDashboard, PipelineDashboardProps } from '../../../lib/operations';
import { StreamStore } from '../../../lib/storage';

function body(props: Partial<PipelineDashboardProps> = {}): string {
  const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1' } });
  const raw = new StreamStore(stack, 'Raw');
  new PipelineDashboard(stack, 'Dashboard', { rawStream: raw, ...props });
  const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
  return JSON.stringify(Object.values(dashboards)[0].Properties.DashboardBody);
}

describe('PipelineDashboard', () => {
  test('with only the raw stream: its alarms, ingest rate and write problems, no other stage', () => {
    const text = body();
    expect(text).toContain('Ingest rate (raw stream IncomingRecords)');
    expect(text).toContain('\\"IncomingRecords\\"');
    expect(text).toContain('\\"PutRecords.FailedRecords\\"');
    expect(text).toMatch(/\\"alarms\\":\[/);
    for (const absent of ['Flink', 'Lambda', 'DynamoDB', 'Archive', 'Anomaly events', 'REST ingestion', 'IoT rule']) {
      expect(text).not.toContain(absent);
    }
  });

  test('graphs use the period asked for', () => {
    expect(body({ period: Duration.minutes(5) })).toContain('\\"period\\":300');
    expect(body()).toContain('\\"period\\":60');
  });

  test.each([Duration.seconds(45), Duration.seconds(90)])(
    'rejects a period CloudWatch does not support (%p)',
    (period) => {
      expect(() => body({ period })).toThrow(
        new RegExp(
          `period must be 1, 5, 10, 30 seconds or a multiple of 60 seconds, got ${period.toSeconds()} seconds`,
        ),
      );
    },
  );
});
