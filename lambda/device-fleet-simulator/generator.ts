/**
 * Deterministic telemetry generator for a fleet of simulated devices. Same seed and same timestamps give the same
 * records byte for byte. Each device has its own baseline per metric, a daily cycle (a sine over the UTC day) and
 * Gaussian noise; configurable fractions of records are anomalies (spikes), duplicates (a previous record resent
 * with the same eventId), late (timestamp shifted back) or malformed (broken JSON, missing fields, wrong types).
 */
export type RecordKind = 'normal' | 'anomaly' | 'duplicate' | 'late' | 'malformed';

export interface GeneratorOptions {
  readonly deviceCount: number;
  readonly seed: number;
  /** Fractions of records, each in [0, 1], summing to at most 1. @default 0 each */
  readonly anomalyRate?: number;
  readonly duplicateRate?: number;
  readonly lateRate?: number;
  readonly malformedRate?: number;
  /** Largest shift back of a late record. @default 600000 (10 minutes) */
  readonly maxLatenessMs?: number;
}

export interface GeneratedRecord {
  readonly kind: RecordKind;
  readonly partitionKey: string;
  readonly data: Buffer;
  /** Set for every kind except malformed records without one. */
  readonly eventId?: string;
}

export interface MetricProfile {
  /** Range the device's baseline is drawn from. */
  readonly base: [number, number];
  /** Range of the daily cycle's amplitude. */
  readonly amplitude: [number, number];
  /** Standard deviation of the noise. */
  readonly noise: number;
  readonly decimals: number;
}

export const METRIC_PROFILES: Readonly<Record<string, MetricProfile>> = {
  temperature: { base: [18, 26], amplitude: [1, 4], noise: 0.3, decimals: 2 },
  humidity: { base: [35, 55], amplitude: [2, 8], noise: 1, decimals: 1 },
  pressure: { base: [995, 1025], amplitude: [0.5, 2], noise: 0.4, decimals: 1 },
  vibration: { base: [0.2, 0.8], amplitude: [0.02, 0.1], noise: 0.03, decimals: 3 },
  cpu: { base: [15, 45], amplitude: [5, 15], noise: 3, decimals: 1 },
};

/** Spikes are this many noise standard deviations away from the expected value. */
const SPIKE_SIGMAS: [number, number] = [12, 20];
const DAY_MS = 86_400_000;
const HISTORY = 256;

interface Device {
  readonly id: string;
  readonly firmware: string;
  readonly metrics: Array<{ name: string; base: number; amplitude: number; phase: number; profile: MetricProfile }>;
}

/** mulberry32: small, fast, good enough for simulation; not for cryptography. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed (used to derive a per-run seed from SEED and the start time). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = String(p);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2c, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function deviceIdOf(index: number): string {
  return `device-${String(index).padStart(5, '0')}`;
}

export class TelemetryGenerator {
  private readonly random: () => number;
  private readonly devices: Device[];
  private readonly history: GeneratedRecord[] = [];
  private readonly thresholds: [number, number, number, number];
  private readonly maxLatenessMs: number;
  private nextDevice = 0;

  constructor(options: GeneratorOptions) {
    if (!Number.isInteger(options.deviceCount) || options.deviceCount < 1 || options.deviceCount > 99999) {
      throw new Error(`deviceCount must be an integer in 1..99999, got ${options.deviceCount}`);
    }
    const rates = {
      malformedRate: options.malformedRate ?? 0,
      duplicateRate: options.duplicateRate ?? 0,
      lateRate: options.lateRate ?? 0,
      anomalyRate: options.anomalyRate ?? 0,
    };
    for (const [name, v] of Object.entries(rates)) {
      if (!(v >= 0 && v <= 1)) throw new Error(`${name} must be a number in [0, 1], got ${v}`);
    }
    const total = rates.malformedRate + rates.duplicateRate + rates.lateRate + rates.anomalyRate;
    if (total > 1) throw new Error(`anomaly, duplicate, late and malformed rates must sum to at most 1, got ${total}`);
    this.thresholds = [
      rates.malformedRate,
      rates.malformedRate + rates.duplicateRate,
      rates.malformedRate + rates.duplicateRate + rates.lateRate,
      total,
    ];
    this.maxLatenessMs = options.maxLatenessMs ?? 600_000;
    // Device profiles come from their own stream so they do not depend on how many records were generated.
    const profileRandom = mulberry32(mixSeed(options.seed, 1));
    this.devices = Array.from({ length: options.deviceCount }, (_, i) => ({
      id: deviceIdOf(i + 1),
      firmware: `1.${Math.floor(profileRandom() * 4)}.${Math.floor(profileRandom() * 10)}`,
      metrics: Object.entries(METRIC_PROFILES).map(([name, profile]) => ({
        name,
        profile,
        base: between(profileRandom, profile.base),
        amplitude: between(profileRandom, profile.amplitude),
        phase: profileRandom() * 2 * Math.PI,
      })),
    }));
    this.random = mulberry32(mixSeed(options.seed, 2));
  }

  get deviceIds(): string[] {
    return this.devices.map((d) => d.id);
  }

  /** Expected (noise-free) value of a device's metric at a time: baseline plus the daily cycle. */
  expected(deviceId: string, metric: string, timestamp: number): number {
    const device = this.devices.find((d) => d.id === deviceId);
    const m = device?.metrics.find((x) => x.name === metric);
    if (!m) throw new Error(`unknown device/metric ${deviceId}/${metric}`);
    return m.base + m.amplitude * Math.sin((2 * Math.PI * (timestamp % DAY_MS)) / DAY_MS + m.phase);
  }

  /** The next record; devices take turns so every device reports at the same rate. */
  next(timestamp: number): GeneratedRecord {
    const u = this.random();
    const [malformed, duplicate, late, anomaly] = this.thresholds;
    let record: GeneratedRecord;
    if (u < malformed) record = this.malformed(timestamp);
    else if (u < duplicate && this.history.length > 0) {
      const original = this.history[Math.floor(this.random() * this.history.length)];
      record = { ...original, kind: 'duplicate' };
    } else if (u < duplicate) record = this.valid(timestamp, 'normal');
    else if (u < late) record = this.valid(timestamp - 1 - Math.floor(this.random() * this.maxLatenessMs), 'late');
    else if (u < anomaly) record = this.valid(timestamp, 'anomaly');
    else record = this.valid(timestamp, 'normal');
    if (record.kind !== 'malformed' && record.kind !== 'duplicate') {
      this.history.push(record);
      if (this.history.length > HISTORY) this.history.shift();
    }
    return record;
  }

  /** `count` records with timestamps spread evenly over [fromMs, toMs). */
  batch(count: number, fromMs: number, toMs: number): GeneratedRecord[] {
    const out: GeneratedRecord[] = [];
    const step = count > 0 ? (toMs - fromMs) / count : 0;
    for (let i = 0; i < count; i++) out.push(this.next(Math.floor(fromMs + i * step)));
    return out;
  }

  private takeDevice(): Device {
    const d = this.devices[this.nextDevice];
    this.nextDevice = (this.nextDevice + 1) % this.devices.length;
    return d;
  }

  private valid(timestamp: number, kind: 'normal' | 'anomaly' | 'late'): GeneratedRecord {
    const device = this.takeDevice();
    const metrics: Record<string, number> = {};
    const spiked = kind === 'anomaly' ? Math.floor(this.random() * device.metrics.length) : -1;
    device.metrics.forEach((m, i) => {
      let v =
        m.base +
        m.amplitude * Math.sin((2 * Math.PI * (timestamp % DAY_MS)) / DAY_MS + m.phase) +
        gaussian(this.random) * m.profile.noise;
      if (i === spiked) v += (this.random() < 0.5 ? -1 : 1) * between(this.random, SPIKE_SIGMAS) * m.profile.noise;
      metrics[m.name] = round(v, m.profile.decimals);
    });
    const eventId = uuid(this.random);
    const body = { eventId, deviceId: device.id, timestamp, metrics, attributes: { fw: device.firmware } };
    return { kind, partitionKey: device.id, data: Buffer.from(JSON.stringify(body), 'utf8'), eventId };
  }

  private malformed(timestamp: number): GeneratedRecord {
    const base = this.valid(timestamp, 'normal');
    const obj = JSON.parse(base.data.toString('utf8')) as Record<string, unknown>;
    const variant = Math.floor(this.random() * 4);
    let text: string;
    if (variant === 0) {
      // Broken JSON: cut in the middle.
      const full = JSON.stringify(obj);
      text = full.slice(0, Math.max(1, Math.floor(full.length / 2)));
    } else if (variant === 1) {
      delete obj.deviceId;
      text = JSON.stringify(obj);
    } else if (variant === 2) {
      obj.timestamp = new Date(timestamp).toISOString();
      text = JSON.stringify(obj);
    } else {
      const metrics = obj.metrics as Record<string, unknown>;
      metrics.temperature = String(metrics.temperature);
      text = JSON.stringify(obj);
    }
    return {
      kind: 'malformed',
      partitionKey: base.partitionKey,
      data: Buffer.from(text, 'utf8'),
      eventId: base.eventId,
    };
  }
}

function between(random: () => number, [lo, hi]: [number, number]): number {
  return lo + random() * (hi - lo);
}

/** Box-Muller transform. */
function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/** RFC 4122 version-4 layout from the seeded generator (deterministic, unlike crypto.randomUUID). */
function uuid(random: () => number): string {
  const b: number[] = [];
  for (let i = 0; i < 16; i++) b.push(Math.floor(random() * 256));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
