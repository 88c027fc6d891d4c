import { Recorder, RunReport } from '../../../../bin/local/report/model';

/** A deterministic PRNG (mulberry32), so every generated run is the same on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const START = Date.UTC(2026, 11, 1, 10, 0, 0);

export interface FixtureOptions {
  readonly seconds?: number;
  /** Records the enrichment stage silently drops: the timeseries verdict fails. */
  readonly lose?: number;
  readonly devices?: readonly string[];
  /** An extra dead-letter reason recorded once at the enrichment (e.g. an injection attempt). */
  readonly extraReason?: string;
}

/**
 * Drives a Recorder through a realistic run: 200 records/s of 20 devices through the time-series stack, 50 commands/s
 * through the event-sourced one, lognormal latencies with a stall at 60 % of the run, dead letters, duplicates,
 * checkpoints (one failed), iterator lag, and three chosen devices with 1 Hz temperatures, 30 s windows and anomalies.
 */
export function generateRun(options: FixtureOptions = {}): { recorder: Recorder; report: RunReport } {
  const seconds = options.seconds ?? 300;
  const rand = prng(42);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let now = START;
  const devices = options.devices ?? ['sensor-0001', 'sensor-0007', 'sensor-0013'];
  const rec = new Recorder({
    title: 'npm run local',
    now: () => now,
    startedAt: START,
    bucketMs: 5000,
    devices: devices.map((id) => ({ id, metric: 'temperature', unit: '°C' })),
  });
  const windowMs = 30000;
  const pending = new Map<string, number[]>();
  let lost = options.lose ?? 0;
  let archiveBuffer = 0;

  for (let s = 0; s < seconds; s++) {
    now = START + s * 1000;
    const stall = s > seconds * 0.6 && s < seconds * 0.68;

    // Time series: devices → raw stream → enrichment → enriched stream → calculator → sinks; raw → archive.
    const n = 200;
    rec.stage('timeseries', 'ingest').in(n).out(n);
    rec.stage('timeseries', 'raw-stream').in(n).out(n);
    let enriched = n;
    const enrichment = rec.stage('timeseries', 'enrichment').in(n);
    if (s % 17 === 3) {
      enrichment.deadLetter('schema-invalid', 2);
      enriched -= 2;
    }
    if (s % 41 === 5) {
      enrichment.deadLetter('unknown-device', 1);
      enriched -= 1;
    }
    if (s === 10 && options.extraReason !== undefined) {
      enrichment.deadLetter(options.extraReason, 1);
      enriched -= 1;
    }
    if (lost > 0 && s === Math.floor(seconds / 2)) {
      enriched -= lost;
      lost = 0;
    }
    enrichment.out(enriched);
    rec.stage('timeseries', 'enriched-stream').in(enriched).out(enriched);
    const calc = rec.stage('timeseries', 'calculator').in(enriched);
    let dups = 0;
    if (s % 23 === 7) {
      dups = 3;
      calc.deduplicated(dups);
    }
    let late = 0;
    if (s % 53 === 11) {
      late = 1;
      calc.deadLetter('late-arrival', late);
    }
    calc.out(enriched - dups - late);
    if (s % 30 === 29) {
      const windows = 20;
      rec.stage('timeseries', 'influxdb').in(windows).out(windows);
      rec.stage('timeseries', 'dynamodb').in(windows).out(windows);
    }
    archiveBuffer += n;
    if (s % 60 === 59 || s === seconds - 1) {
      rec.stage('timeseries', 'archive').in(archiveBuffer).out(archiveBuffer);
      archiveBuffer = 0;
    }
    const ts: number[] = [];
    for (let i = 0; i < 40; i++) ts.push(Math.exp(Math.log(stall ? 900 : 140) + 0.35 * gauss()));
    rec.latencies('timeseries', ts, now);

    // Event sourced: commands → event store → stateful functions → egress → projections → read model.
    const c = 50;
    rec.stage('eventsourced', 'commands').in(c).out(c);
    rec.stage('eventsourced', 'event-store').in(c).out(c);
    const fn = rec.stage('eventsourced', 'functions').in(c);
    let handled = c;
    if (s % 13 === 2) {
      fn.deadLetter('rejected-by-aggregate', 1);
      handled -= 1;
    }
    if (s % 29 === 9) {
      fn.deadLetter('version-conflict', 2);
      handled -= 2;
    }
    if (s % 37 === 4) {
      fn.deduplicated(1);
      handled -= 1;
    }
    fn.out(handled);
    const events = handled * 2;
    rec.stage('eventsourced', 'egress').in(events).out(events);
    rec.stage('eventsourced', 'projections').in(events).out(events);
    rec.stage('eventsourced', 'read-model').in(events).out(events);
    const es: number[] = [];
    for (let i = 0; i < 20; i++) es.push(Math.exp(Math.log(stall ? 400 : 60) + 0.3 * gauss()));
    rec.latencies('eventsourced', es, now);

    if (s % 5 === 0) {
      rec.lag('timeseries', 'enrichment', stall ? 4000 + 1000 * rand() : 200 + 300 * rand(), now);
      rec.lag('timeseries', 'calculator', stall ? 6000 + 2000 * rand() : 300 + 400 * rand(), now);
      rec.lag('eventsourced', 'functions', 100 + 200 * rand(), now);
      rec.lag('eventsourced', 'projections', 150 + 250 * rand(), now);
    }
    if (s % 10 === 9) {
      const failed = s === Math.floor((seconds * 0.64) / 10) * 10 + 9;
      rec.checkpoint('timeseries', 'enrichment', failed ? 60000 : 800 + 600 * rand(), !failed, now);
      rec.checkpoint('eventsourced', 'functions', 500 + 400 * rand(), true, now);
    }

    // The chosen devices: 1 Hz temperatures, 30 s windows, spikes as anomalies.
    devices.forEach((id, k) => {
      const base = 21 + 2 * k + 1.5 * Math.sin((2 * Math.PI * s) / 120 + k) + 0.3 * gauss();
      const spike = (s + 31 * k) % 97 === 50;
      const v = spike ? base + 8 : base;
      const d = rec.device(id).raw(now, Math.round(v * 100) / 100);
      if (spike) d.anomaly(now, Math.round(v * 100) / 100, 'above p95 + 3σ');
      const buf = pending.get(id) ?? [];
      buf.push(v);
      pending.set(id, buf);
      if ((s + 1) % 30 === 0) {
        const sorted = [...buf].sort((a, b) => a - b);
        const mean = buf.reduce((a, b) => a + b, 0) / buf.length;
        d.window({
          start: now + 1000 - windowMs,
          end: now + 1000,
          count: buf.length,
          min: sorted[0],
          max: sorted[sorted.length - 1],
          mean,
          p95: sorted[Math.floor(0.95 * (sorted.length - 1))],
        });
        pending.set(id, []);
      }
    });
    if (s % 30 === 29) rec.stage('timeseries', 'eventbridge').in(1).out(1);
  }
  now = START + seconds * 1000;
  rec.finish(now);
  return { recorder: rec, report: rec.snapshot() };
}
