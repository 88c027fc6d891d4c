import { parseTelemetry } from '../../../lambda/shared/telemetry';
import { isDeadLetterError } from '../../../lambda/shared/errors';
import { GeneratedRecord, TelemetryGenerator } from '../../../lambda/device-fleet-simulator/generator';
import { configFromEnv, simulate } from '../../../lambda/device-fleet-simulator';
import { ProducerRecord } from '../../../lambda/shared/producer';

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const N = 20000;

function generate(
  seed: number,
  rates: Partial<Record<'anomalyRate' | 'duplicateRate' | 'lateRate' | 'malformedRate', number>>,
) {
  return new TelemetryGenerator({ deviceCount: 50, seed, ...rates }).batch(N, T0, T0 + 60_000);
}

function reason(r: GeneratedRecord): string | undefined {
  try {
    parseTelemetry(r.data);
    return undefined;
  } catch (e) {
    if (isDeadLetterError(e)) return e.reason;
    throw e;
  }
}

describe('TelemetryGenerator', () => {
  const rates = { anomalyRate: 0.02, duplicateRate: 0.03, lateRate: 0.05, malformedRate: 0.04 };
  const records = generate(7, rates);

  test('is deterministic for a seed and differs between seeds', () => {
    const again = generate(7, rates);
    expect(again.map((r) => r.data.toString())).toEqual(records.map((r) => r.data.toString()));
    const other = generate(8, rates);
    expect(other[0].data.toString()).not.toEqual(records[0].data.toString());
  });

  test('kind rates are within tolerance of the configured rates', () => {
    const count = (k: string) => records.filter((r) => r.kind === k).length / N;
    // 3 standard deviations of a binomial proportion at N = 20000 is below 0.005 for these rates.
    expect(count('anomaly')).toBeCloseTo(0.02, 2);
    expect(Math.abs(count('duplicate') - 0.03)).toBeLessThan(0.005);
    expect(Math.abs(count('late') - 0.05)).toBeLessThan(0.005);
    expect(Math.abs(count('malformed') - 0.04)).toBeLessThan(0.005);
  });

  test('every malformed record fails validation, every other record passes it', () => {
    const wrong = records.filter((r) => (r.kind === 'malformed') !== (reason(r) !== undefined));
    expect(wrong).toEqual([]);
    const reasons = new Set(records.filter((r) => r.kind === 'malformed').map(reason));
    expect(reasons).toEqual(new Set(['MALFORMED_JSON', 'SCHEMA']));
  });

  test('duplicates resend an earlier record byte for byte; other event ids are unique', () => {
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const r of records) {
      if (r.kind === 'duplicate') {
        if (seen.get(r.eventId!) !== r.data.toString())
          problems.push(`duplicate ${r.eventId} has no identical original`);
      } else if (r.kind !== 'malformed') {
        if (seen.has(r.eventId!)) problems.push(`event id ${r.eventId} reused`);
        seen.set(r.eventId!, r.data.toString());
      }
    }
    expect(problems).toEqual([]);
    expect(records.filter((r) => r.kind === 'duplicate').length).toBeGreaterThan(0);
  });

  test('late records are stamped before their slot; the others within it', () => {
    const problems: number[] = [];
    records.forEach((r, i) => {
      if (r.kind === 'malformed' || r.kind === 'duplicate') return;
      const ts = JSON.parse(r.data.toString()).timestamp;
      const slot = T0 + Math.floor((i * 60_000) / N);
      if (r.kind === 'late' ? ts >= slot : ts !== slot) problems.push(i);
    });
    expect(problems).toEqual([]);
  });

  test('normal values stay near the device curve, anomalies spike far from it', () => {
    const g = new TelemetryGenerator({ deviceCount: 50, seed: 7, ...rates });
    const deviation = (r: GeneratedRecord) => {
      const v = JSON.parse(r.data.toString());
      // Largest deviation in noise units over the metrics (noise of temperature is 0.3, etc.).
      const noise: Record<string, number> = { temperature: 0.3, humidity: 1, pressure: 0.4, vibration: 0.03, cpu: 3 };
      return Math.max(
        ...Object.entries(v.metrics as Record<string, number>).map(
          ([m, x]) => Math.abs(x - g.expected(v.deviceId, m, v.timestamp)) / noise[m],
        ),
      );
    };
    const normal = records.filter((r) => r.kind === 'normal').map(deviation);
    const anomalies = records.filter((r) => r.kind === 'anomaly').map(deviation);
    expect(normal.filter((d) => d > 6).length).toBe(0);
    expect(Math.min(...anomalies)).toBeGreaterThan(10);
  });

  test('devices take turns and use the contract device id', () => {
    // Duplicates resend an earlier device's record and take no turn.
    const ids = records
      .filter((r) => r.kind !== 'duplicate')
      .slice(0, 100)
      .map((r) => r.partitionKey);
    expect(new Set(ids).size).toBe(50);
    expect(ids[0]).toBe('device-00001');
    expect(ids[49]).toBe('device-00050');
  });

  test('rejects bad options with the value received', () => {
    expect(() => new TelemetryGenerator({ deviceCount: 0, seed: 1 })).toThrow(
      /deviceCount must be an integer in 1..99999, got 0/,
    );
    expect(() => new TelemetryGenerator({ deviceCount: 1, seed: 1, lateRate: 1.5 })).toThrow(
      /lateRate must be a number in \[0, 1\], got 1.5/,
    );
    expect(() => new TelemetryGenerator({ deviceCount: 1, seed: 1, lateRate: 0.6, anomalyRate: 0.6 })).toThrow(
      /sum to at most 1, got 1.2/,
    );
  });
});

describe('device-fleet-simulator handler config', () => {
  test('reads the environment with defaults', () => {
    expect(
      configFromEnv({
        STREAM_ARN: 'arn:aws:kinesis:us-east-1:1:stream/raw',
        DEVICE_COUNT: '10',
        RATE_PER_SECOND: '5',
        DURATION_SECONDS: '2',
        SEED: '3',
      }),
    ).toEqual({
      streamArn: 'arn:aws:kinesis:us-east-1:1:stream/raw',
      deviceCount: 10,
      ratePerSecond: 5,
      durationSeconds: 2,
      anomalyRate: 0.001,
      duplicateRate: 0.001,
      lateRate: 0.001,
      malformedRate: 0.001,
      seed: 3,
    });
  });

  test('fails on bad values with the value received', () => {
    expect(() => configFromEnv({})).toThrow(/STREAM_ARN is required/);
    expect(() => configFromEnv({ STREAM_ARN: 'a', RATE_PER_SECOND: 'fast' })).toThrow(
      /RATE_PER_SECOND must be an integer in 1..1000000, got 'fast'/,
    );
    expect(() => configFromEnv({ STREAM_ARN: 'a', MALFORMED_RATE: '2' })).toThrow(
      /MALFORMED_RATE must be a number in \[0, 1\], got '2'/,
    );
  });

  test('runs in different minutes produce different event ids, the same minute the same ones', async () => {
    const capture = () => {
      const got: ProducerRecord[] = [];
      return { got, send: async (r: readonly ProducerRecord[]) => (got.push(...r), { sent: r.length, failed: [] }) };
    };
    const config = configFromEnv({
      STREAM_ARN: 'a',
      DEVICE_COUNT: '3',
      RATE_PER_SECOND: '4',
      DURATION_SECONDS: '1',
      SEED: '9',
    });
    const [a, b, c] = [capture(), capture(), capture()];
    await simulate(config, a, T0);
    await simulate(config, b, T0 + 5_000);
    await simulate(config, c, T0 + 60_000);
    const ids = (x: ReturnType<typeof capture>) =>
      x.got.map((r) => JSON.parse(r.data.toString()).eventId as string | undefined);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a).filter((id) => ids(c).includes(id))).toEqual([]);
  });
});
