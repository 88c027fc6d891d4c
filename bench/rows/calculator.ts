import type { KinesisStreamRecord, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import { TelemetryGenerator } from '../../lambda/device-fleet-simulator/generator';
import type { DeadLetterSink } from '../../lambda/shared/dead-letter';
import { envelopeBytes, Envelope, processKinesisWindow } from '../../lambda/shared/window';
import {
  aggregateWindow,
  Baseline,
  DEFAULT_AGGREGATION_OPTIONS,
  emptyWindowState,
  seedBaseline,
  stateToJson,
  WindowState,
} from '../../lambda/timeseries-calculator/aggregate';
import { createCalculatorProcessor } from '../../lambda/timeseries-calculator';
import { encodeState } from '../../lambda/timeseries-calculator/state-codec';
import { parseEnrichedTelemetry } from '../../lambda/shared/telemetry';
import { BenchMode, BenchRow, interleave, Measurement, summarize } from '../harness';

/**
 * Rows of the time-series calculator: the handler's hot path, the window state's serialization, and how many
 * devices one shard's window holds in Lambda's 1 MB state.
 *
 * Traffic is the device simulator's (lambda/device-fleet-simulator), enriched as the Flink job enriches it (site,
 * deviceType, enriched, processedAt), about 325 bytes of JSON per record, 5 metrics per device. A window is the
 * default 60 s at the most one shard accepts (1,000 records/s), so at most 60,000 records: 60 per device up to 1,000
 * devices, 6 per device at 10,000.
 */
const WINDOW_START = Date.UTC(2026, 10, 29, 8, 0, 0);
const WINDOW_END = WINDOW_START + 60_000;
const SHARD = 'shardId-000000000000';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/enriched';
const MIB = 1024 * 1024;
const SHARD_RECORDS_PER_WINDOW = 60_000;
const METRICS = 5;

const noDeadLetters: DeadLetterSink = { send: async () => undefined };
const options = { stage: 'bench', deadLetters: noDeadLetters };

/** Enriched telemetry of `devices` devices (the simulator's, 0.1 % anomalies), `perDevice` records each. */
function telemetry(devices: number, perDevice: number, seed = 7): Buffer[] {
  const generator = new TelemetryGenerator({ deviceCount: devices, seed, anomalyRate: 0.001 });
  const sites = ['plant-1', 'plant-2', 'plant-3', 'plant-4'];
  return generator.batch(devices * perDevice, WINDOW_START, WINDOW_END).map((g) => {
    const raw = JSON.parse(g.data.toString('utf8')) as { deviceId: string; timestamp: number };
    const enriched = {
      ...raw,
      metadata: { site: sites[Number(raw.deviceId.slice(-5)) % sites.length], deviceType: 'thermostat' },
      enriched: true,
      processedAt: raw.timestamp + 350,
    };
    return Buffer.from(JSON.stringify(enriched), 'utf8');
  });
}

function kinesisRecords(payloads: readonly Buffer[], firstSequence = 0): KinesisStreamRecord[] {
  return payloads.map((data, i) => {
    const sequenceNumber = String(
      49590338271490256608559692538361571095921575989136588898n + BigInt(firstSequence + i),
    );
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: `device-${i}`,
        sequenceNumber,
        data: data.toString('base64'),
        approximateArrivalTimestamp: 1764403200.123,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${SHARD}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
      awsRegion: 'us-east-1',
      eventSourceARN: STREAM_ARN,
    };
  });
}

function windowEvent(
  records: KinesisStreamRecord[],
  state: Record<string, unknown> | undefined,
  final = false,
): KinesisStreamTumblingWindowEvent {
  return {
    Records: records,
    window: { start: new Date(WINDOW_START).toISOString(), end: new Date(WINDOW_END).toISOString() },
    state,
    shardId: SHARD,
    eventSourceARN: STREAM_ARN,
    isFinalInvokeForWindow: final,
    isWindowTerminatedEarly: false,
  } as KinesisStreamTumblingWindowEvent;
}

/** What Lambda hands back: the state as JSON, parsed. */
const viaLambda = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * The state of a window after `devices` devices sent a shard's worth of records (see the file's header). `seeded`:
 * every device's baselines were loaded from the latest-state table (a device seen in an earlier window, the steady
 * state), as doubles that are no short decimals; else every baseline starts in this window.
 */
function windowState(devices: number, seed = 7, seeded = false): WindowState {
  const perDevice = Math.max(1, Math.min(60, Math.floor(SHARD_RECORDS_PER_WINDOW / devices)));
  const state = emptyWindowState(WINDOW_START, WINDOW_END);
  const records = telemetry(devices, perDevice, seed).map((b) => parseEnrichedTelemetry(b));
  if (seeded) {
    for (const r of records) {
      if (state.devices.has(r.deviceId)) continue;
      const persisted: Record<string, Baseline> = {};
      for (const [name, v] of Object.entries(r.metrics)) {
        // Near the device's level and wide enough for its noise (no anomalies beyond the simulator's spikes), and
        // doubles of full precision, as the EWMA leaves them.
        const std = 0.1 * Math.abs(v) + 0.1;
        persisted[name] = { mean: v * 1.0003718264, variance: std * std * 1.0000371, samples: 500 };
      }
      seedBaseline(state, r.deviceId, persisted);
    }
  }
  aggregateWindow(state, records, DEFAULT_AGGREGATION_OPTIONS);
  // As the handler leaves it: every device's baseline loaded (from the table or found absent).
  for (const d of state.devices.values()) d.baselineLoaded = true;
  return state;
}

const floor = (records: readonly KinesisStreamRecord[]) => () => {
  let n = 0;
  for (const r of records) n += (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as object) ? 1 : 0;
  return n;
};

async function measureCalculator(mode: BenchMode): Promise<Measurement[]> {
  const devices = mode === 'full' ? 1000 : 50;
  const perInvoke = mode === 'full' ? 10_000 : 500;
  const rounds = mode === 'full' ? 15 : 1;
  const payloads = telemetry(devices, (2 * perInvoke) / devices);
  const earlier = kinesisRecords(payloads.slice(0, perInvoke));
  const records = kinesisRecords(payloads.slice(perInvoke), perInvoke);
  const processor = createCalculatorProcessor({});
  // The state the previous invoke of the window returned, as Lambda hands it back.
  const carried = viaLambda((await processKinesisWindow(windowEvent(earlier, undefined), processor, options)).response)
    .state as Record<string, unknown>;
  const event = windowEvent(records, carried);
  const check = await processKinesisWindow(event, processor, options);
  if (check.processed !== perInvoke) throw new Error(`calculator bench: ${check.processed} of ${perInvoke} applied`);
  const invoke = () => processKinesisWindow(event, processor, options);
  const t = await interleave(invoke, floor(records), { rounds, warmup: mode === 'full' ? 3 : 1 });
  // The final invoke (no records, as Lambda sends it) with no sinks: state decode and the window's result.
  const after = viaLambda(check.response).state as Record<string, unknown>;
  const final = windowEvent([], after, true);
  const f = await interleave(() => processKinesisWindow(final, processor, options), floor(records), {
    rounds: Math.max(1, Math.floor(rounds / 2)),
    warmup: 1,
  });
  const finalRatio = summarize(f.subject.map((s, i) => s / f.baseline[i]));
  const ms = summarize(t.subject).median;
  return [
    {
      variant: `${perInvoke} records, ${devices} devices, state carried`,
      unit: 'ms',
      ratio: 'cost',
      subject: t.subject,
      baseline: t.baseline,
      notes: [
        `${((perInvoke / ms) * 1000).toFixed(0)} records/s in the handler, ${((perInvoke / summarize(t.baseline).median) * 1000).toFixed(0)} in the floor`,
        `state in and out: ${check.stateBytes} bytes for ${devices} devices`,
        `final invoke (no records, no sinks: decode, summaries, merge, fit items) = ${finalRatio.median.toFixed(2)}x the floor of this event (${finalRatio.min.toFixed(2)}-${finalRatio.max.toFixed(2)})`,
      ],
    },
  ];
}

async function measureWindowState(mode: BenchMode): Promise<Measurement[]> {
  const sizes = mode === 'full' ? [100, 1000, 10_000] : [20, 100];
  const out: Measurement[] = [];
  // No size cap here: this row times the one serialization; the capacity row below measures what fits.
  const processor = createCalculatorProcessor({}, { maxStateBytes: Number.POSITIVE_INFINITY });
  for (const devices of sizes) {
    const state = windowState(devices);
    const legacy = stateToJson(state);
    const applied = { [SHARD]: '49590338271490256608559692538361571095921575989136648897:0' };
    const first = { [SHARD]: '49590338271490256608559692538361571095921575989136588898:0' };
    let bytes = 0;
    // What the runtime does per invoke: the processor's one encoding, its size from that encoding, and then
    // the Lambda runtime's own JSON.stringify of the response.
    const subject = () => {
      const envelope: Envelope = { v: 1, applied, first, user: processor.toJson(state) };
      bytes = envelopeBytes(envelope);
      return JSON.stringify({ state: envelope, batchItemFailures: [] }).length;
    };
    const rounds = mode === 'full' ? (devices >= 10_000 ? 9 : 15) : 1;
    const t = await interleave(subject, () => JSON.stringify(legacy), { rounds, repeat: devices <= 100 ? 20 : 1 });
    const legacyBytes = Buffer.byteLength(JSON.stringify(legacy), 'utf8');
    const ms = summarize(t.subject).median;
    out.push({
      variant: `${devices} devices x ${METRICS} metrics`,
      unit: 'ms',
      ratio: 'cost',
      subject: t.subject,
      baseline: t.baseline,
      notes: [
        `${bytes} bytes (${(bytes / devices).toFixed(1)} per device), JSON form ${legacyBytes} (${(legacyBytes / devices).toFixed(1)} per device)`,
        `${((ms / devices) * 1000).toFixed(2)} us per device to serialize`,
      ],
    });
  }
  return out;
}

/** Bytes of the response a non-final invoke returns at the end of a window of `devices` devices, uncapped. */
async function responseBytes(
  devices: number,
  seed: number,
  seeded: boolean,
): Promise<{ bytes: number; state: WindowState }> {
  const state = windowState(devices, seed, seeded);
  const processor = createCalculatorProcessor({}, { maxStateBytes: Number.POSITIVE_INFINITY });
  // One more (empty) invoke of the window carries the state through the runtime, as Lambda measures it.
  const incoming = {
    v: 1,
    applied: { [SHARD]: '49590338271490256608559692538361571095921575989136648897:0' },
    first: { [SHARD]: '49590338271490256608559692538361571095921575989136588898:0' },
    user: encodeState(state).text,
  };
  const report = await processKinesisWindow(windowEvent([], incoming), processor, options);
  const bytes = Buffer.byteLength(JSON.stringify(report.response), 'utf8');
  if (report.stateBytes !== Buffer.byteLength(JSON.stringify(report.response.state), 'utf8')) {
    throw new Error('window-capacity bench: the runtime counted the state wrongly');
  }
  return { bytes, state };
}

async function measureCapacity(mode: BenchMode): Promise<Measurement[]> {
  const devices = mode === 'full' ? 10_000 : 100;
  const seeds = mode === 'full' ? [7, 8, 9] : [7];
  const out: Measurement[] = [];
  for (const seeded of [false, true]) {
    const subject: number[] = [];
    let state: WindowState | undefined;
    for (const seed of seeds) {
      const r = await responseBytes(devices, seed, seeded);
      subject.push(r.bytes);
      state ??= r.state;
    }
    const perDeviceMetric = summarize(subject).median / (devices * METRICS);
    const notes = [`${perDeviceMetric.toFixed(1)} bytes per device-metric at ${devices} devices`];
    if (state) notes.push(breakdown(state));
    if (mode === 'full') {
      // The largest fleet whose state (with the same traffic rule) fits 1 MiB without ending the window early; at
      // least `devices` when that many fit.
      let lo = 1000;
      let hi = 4 * devices;
      while (hi - lo > 50) {
        const mid = Math.round((lo + hi) / 2);
        if ((await responseBytes(mid, 7, seeded)).bytes <= MIB) lo = mid;
        else hi = mid;
      }
      notes.push(
        `fits 1 MiB without ending early: ${lo} devices x ${METRICS} metrics = ${lo * METRICS} device-metrics`,
      );
    }
    out.push({
      variant: `${devices} devices x ${METRICS} metrics, ${seeded ? 'baselines loaded from the table (steady state)' : 'first window of every device'}`,
      unit: 'bytes',
      ratio: 'cost',
      subject,
      baseline: subject.map(() => MIB),
      notes,
    });
  }
  return out;
}

/** Where the bytes go: per device-metric, of the binary state before base64 (x 4/3 after). */
function breakdown(state: WindowState): string {
  let series = 0;
  let asValues = 0;
  let values = 0;
  let derived = 0;
  for (const d of state.devices.values()) {
    series += d.metrics.size;
    for (const [name, s] of d.metrics) {
      // As state-codec.ts decides, near enough: few values, nothing folded.
      if (s.values !== undefined && s.values.length === s.count && !s.sketch.folded) {
        asValues++;
        values += s.count;
        const b = d.baseline.get(name);
        if (b && b.samples === s.count) derived++;
      }
    }
  }
  const total = (encodeState(state).bytes * 3) / 4;
  const ids = state.eventIds.length * 17;
  const per = (n: number) => (n / series).toFixed(1);
  return (
    `binary bytes per device-metric: total ${per(total)}; ${asValues} of ${series} series carried as their ` +
    `values (${(values / Math.max(1, asValues)).toFixed(1)} each), ${derived} baselines derived from them, ` +
    `${series - derived} written as doubles (17 B each); event ids ${per(ids)}`
  );
}

export const rows: BenchRow[] = [
  {
    id: 'calculator',
    figure: 'calculator handler, one 10,000-record event, 1,000 devices',
    baseline: 'floor: base64 decode + JSON.parse of the same records',
    target: { op: '<=', value: 1.5 },
    measure: measureCalculator,
  },
  {
    id: 'window-state',
    figure: 'window state: serialize per invoke at 100 / 1,000 / 10,000 devices x 5 metrics',
    baseline: 'one JSON.stringify of the state',
    target: { op: '<=', value: 1.2 },
    measure: measureWindowState,
  },
  {
    id: 'window-capacity',
    figure: 'devices x metrics one shard window holds without ending early (10,000 x 5)',
    baseline: "Lambda's 1 MB window-state limit (1 MiB)",
    target: { op: '<=', value: 1.0 },
    measure: measureCapacity,
  },
];
