import { App, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { timeSeriesWriterFromEnv } from '../../../lambda/timeseries-calculator';
import { InfluxDbDatabase, ITimeSeriesDatabase, LiveAnalyticsDatabase } from '../../../lib/destination';

function setup(): Stack {
  return new Stack(new App(), 'TestStack');
}

describe('ITimeSeriesDatabase', () => {
  test('InfluxDbDatabase gives the calculator its InfluxDB v2 writer settings', () => {
    const stack = setup();
    const db = new InfluxDbDatabase(stack, 'Db', { organization: 'acme', bucket: 'devices' });
    const env = db.writerEnvironment();
    expect(Object.keys(env)).toEqual([
      'TIME_SERIES_BACKEND',
      'INFLUX_URL',
      'INFLUX_SECRET_ARN',
      'INFLUX_ORG',
      'INFLUX_BUCKET',
      'INFLUX_API',
    ]);
    expect(env).toMatchObject({ TIME_SERIES_BACKEND: 'influxdb', INFLUX_ORG: 'acme', INFLUX_BUCKET: 'devices' });
    expect(stack.resolve(env.INFLUX_URL)).toEqual(stack.resolve(db.endpointUrl));
    expect(stack.resolve(env.INFLUX_SECRET_ARN)).toEqual(stack.resolve(db.secret.secretArn));
    expect(env.INFLUX_API).toBe('v2');
  });

  test('LiveAnalyticsDatabase gives the calculator its Timestream writer settings', () => {
    const stack = setup();
    const db = new LiveAnalyticsDatabase(stack, 'Db', { tableName: 'devices' });
    const env = db.writerEnvironment();
    expect(Object.keys(env)).toEqual(['TIME_SERIES_BACKEND', 'TIMESTREAM_DATABASE', 'TIMESTREAM_TABLE']);
    expect(env.TIME_SERIES_BACKEND).toBe('timestream');
    expect(stack.resolve(env.TIMESTREAM_DATABASE)).toEqual({ Ref: stack.getLogicalId(db.database) });
    expect(env.TIMESTREAM_TABLE).toBe('devices');
  });

  test.each([
    ['InfluxDbDatabase', (s: Stack): ITimeSeriesDatabase => new InfluxDbDatabase(s, 'Db')],
    ['LiveAnalyticsDatabase', (s: Stack): ITimeSeriesDatabase => new LiveAnalyticsDatabase(s, 'Db')],
  ])('the calculator builds a writer from the environment of %s', (_name, create) => {
    const stack = setup();
    const db = create(stack);
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(db.grantWrite(role).success).toBe(true);
    // Deploy-time values (tokens) stand in as placeholders; literal values reach the handler as they are.
    const env = Object.fromEntries(
      Object.entries(db.writerEnvironment()).map(([k, v]) => [
        k,
        Token.isUnresolved(v) ? (k.endsWith('_URL') ? 'https://db.example:8086' : `resolved-${k}`) : v,
      ]),
    );
    expect(timeSeriesWriterFromEnv(env, 95)).toBeDefined();
  });
});
