import {
  Anomaly,
  Baseline,
  DEFAULT_AGGREGATION_OPTIONS,
  DeviceWindow,
  SeriesStats,
  updateBaseline,
  WindowState,
} from './aggregate';
import { ByteReader, ByteWriter, readNumber, StateFormatError, varintBytes, writeNumber } from './bytes';
import { QuantileSketch, SketchParams } from './sketch';

/**
 * The window state as Lambda carries it between invocations: one string, `"w2:" + base64(bytes)`, written in one pass
 * into a reused buffer (no intermediate objects, no JSON), so serializing costs one walk over the state and the size
 * is known from the bytes written. Lossless: every count, double (Welford mean and m2, min, max, baselines,
 * anomalies) and sketch bucket reads back bit for bit, and Map orders are kept. A series of few values (at most
 * KEPT_VALUES, aggregate.ts) is carried as those values when that is smaller, and its statistics, its sketch, and its
 * baseline when the window started it are derived from them on reading, checked bit for bit when writing: about 18
 * bytes per device-metric on the wire at 10,000 devices x 6 values, against 70 as statistics (see
 * bench/rows/calculator.ts for the measured figures).
 *
 * Bytes, format 3 (varint = unsigned LEB128; num = `writeNumber`, a short decimal in 1–3 bytes or a tagged double):
 *   u8 3 | f64 windowStart | f64 windowEnd | f64 baselineAlpha | varint anomaliesDropped, applied, duplicates
 *   varint devices, then per device: varint shared prefix with the previous id (UTF-16 units) | string suffix |
 *     varint flags (1 baselineLoaded, 2 site) | [name site] | varint metrics, per metric: name | either
 *     varint 0 | varint count | f64 mean | f64 m2 | num min | num max | sketch (QuantileSketch.writeBinary),
 *     or the values (`writeValues`: head, then one zigzag delta of decimals each) |
 *     varint baselines, per baseline: name | varint 1 (replayed from the series of that name, which is values), or
 *     varint 0 | f64 mean | f64 variance | varint samples
 *   varint eventIds, per id: event id
 *   varint anomalies, per anomaly: varint device (index + 1, or 0 then string) | name metric | num value |
 *     f64 zScore, baselineMean, baselineStdDev | varint 0 (the state's window) or 1 then num start, num end |
 *     event id | num timestamp
 * Format 2, still read, is the same without baselineAlpha, the series' 0 and the baselines' 0.
 * A `name` (metric names, sites) is varint(2 * index) of one already written, or 1 then the string; an event id is u8
 * 0 then 16 bytes for a canonical lowercase UUID, or u8 1 then the string.
 */
export const STATE_PREFIX = 'w2:';
/** Format 3 (this one) adds series carried as their values; format 2 (the same without them) is still read. */
const FORMAT = 3;
const FORMAT_2 = 2;
/** Values a series carried as values may have on reading (the writer keeps KEPT_VALUES): bounds a bad input's cost. */
const MAX_CARRIED_VALUES = 1024;

const writer = new ByteWriter();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The encoded state and its size in bytes (the string is ASCII, so characters = bytes, and JSON needs no escape). */
export interface EncodedState {
  readonly text: string;
  readonly bytes: number;
}

/** Whether a value Lambda handed back is a state of this format (else it is the legacy JSON object). */
export function isEncodedState(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(STATE_PREFIX);
}

/**
 * `baselineAlpha` is the one the state's baselines were updated with: a baseline derived from a series' values is then
 * written as a flag (checked by replaying it: with any other alpha it is written in full).
 */
export function encodeState(
  state: WindowState,
  baselineAlpha = DEFAULT_AGGREGATION_OPTIONS.baselineAlpha,
): EncodedState {
  writer.reset();
  writeState(writer, state, baselineAlpha);
  const text = STATE_PREFIX + writer.toBase64();
  return { text, bytes: text.length };
}

/** Bytes of the text for `raw` bytes of binary state. */
function textBytes(raw: number): number {
  return STATE_PREFIX.length + 4 * Math.ceil(raw / 3);
}

/**
 * Encodes the state within `maxBytes` when it can: halving sketch sizes (losing precision on low quantiles first),
 * then forgetting the oldest remembered event ids, as before; counts, means, deviations, min/max, baselines and
 * anomalies are never dropped. The state is encoded once, or twice when it had to shrink: the sizes of the shrink
 * steps are computed from the sketches and ids alone, not by encoding again.
 */
export function encodeStateWithin(
  state: WindowState,
  maxBytes: number,
  baselineAlpha = DEFAULT_AGGREGATION_OPTIONS.baselineAlpha,
): EncodedState {
  writer.reset();
  writeState(writer, state, baselineAlpha);
  let raw = writer.length;
  if (textBytes(raw) <= maxBytes) {
    const text = STATE_PREFIX + writer.toBase64();
    return { text, bytes: text.length };
  }
  // Only the sketches written as sketches: shrinking one of a series written as values would make it larger.
  const sketches = written.slice();
  let bins = Number.MAX_SAFE_INTEGER;
  for (const s of sketches) bins = Math.min(bins, s.maxBins);
  let sketchBytes = 0;
  for (const s of sketches) sketchBytes += s.binaryBytes();
  while (textBytes(raw) > maxBytes && bins > 2) {
    bins = Math.max(2, Math.floor(bins / 2));
    let after = 0;
    for (const s of sketches) {
      s.shrink(bins);
      after += s.binaryBytes();
    }
    raw += after - sketchBytes;
    sketchBytes = after;
  }
  const ids = state.eventIds;
  const sizes = ids.map((id) => eventIdBytes(id));
  let dropped = 0;
  while (textBytes(raw) > maxBytes && dropped < ids.length) {
    const left = ids.length - dropped;
    const drop = Math.max(1, Math.ceil(left / 2));
    let freed = varintBytes(left) - varintBytes(left - drop);
    for (let i = dropped; i < dropped + drop; i++) freed += sizes[i];
    raw -= freed;
    dropped += drop;
  }
  for (const id of ids.splice(0, dropped)) state.eventIdSet.delete(id);
  return encodeState(state, baselineAlpha);
}

/** Reads a state `encodeState` wrote. Throws `StateFormatError` for anything else. */
export function decodeState(text: string): WindowState {
  if (!isEncodedState(text)) throw new StateFormatError('window state does not start with ' + STATE_PREFIX);
  const r = new ByteReader(Buffer.from(text.slice(STATE_PREFIX.length), 'base64'));
  const format = r.u8();
  if (format !== FORMAT && format !== FORMAT_2) {
    throw new StateFormatError(`window state format ${format} is not ${FORMAT} or ${FORMAT_2}`);
  }
  const v3 = format === FORMAT;
  const windowStart = r.f64();
  const windowEnd = r.f64();
  const alpha = v3 ? r.f64() : NaN;
  const state: WindowState = {
    windowStart,
    windowEnd,
    devices: new Map(),
    eventIds: [],
    eventIdSet: new Set(),
    anomalies: [],
    anomaliesDropped: r.varint(),
    applied: r.varint(),
    duplicates: r.varint(),
  };
  const names: string[] = [];
  const params: SketchParams = { relativeAccuracy: NaN, maxBins: 0 };
  const order: string[] = [];
  let prev = '';
  const devices = r.varint();
  for (let d = 0; d < devices; d++) {
    const prefix = r.varint();
    if (prefix > prev.length) throw new StateFormatError('window state holds a bad device id prefix');
    const id = prev.slice(0, prefix) + r.string();
    prev = id;
    order.push(id);
    const flags = r.varint();
    if (flags > 3) throw new StateFormatError(`window state holds bad device flags ${flags}`);
    const device: DeviceWindow = { metrics: new Map(), baseline: new Map(), baselineLoaded: (flags & 1) === 1 };
    if (flags & 2) device.site = readName(r, names);
    const metrics = r.varint();
    for (let m = 0; m < metrics; m++) {
      const name = readName(r, names);
      const head = v3 ? r.varint() : 0;
      if (head !== 0) {
        device.metrics.set(name, readValues(r, head, params));
        continue;
      }
      const s: SeriesStats = {
        count: r.varint(),
        mean: r.f64(),
        m2: r.f64(),
        min: readNumber(r),
        max: readNumber(r),
        sketch: QuantileSketch.readBinary(r, params),
        values: undefined,
      };
      device.metrics.set(name, s);
    }
    const baselines = r.varint();
    for (let b = 0; b < baselines; b++) {
      const name = readName(r, names);
      const tag = v3 ? r.varint() : 0;
      if (tag === 1) {
        const values = device.metrics.get(name)?.values;
        if (values === undefined) throw new StateFormatError('window state derives a baseline from no values');
        device.baseline.set(name, replayBaseline(values, alpha));
        continue;
      }
      if (tag !== 0) throw new StateFormatError(`window state holds a bad baseline tag ${tag}`);
      const x: Baseline = { mean: r.f64(), variance: r.f64(), samples: r.varint() };
      device.baseline.set(name, x);
    }
    state.devices.set(id, device);
  }
  const ids = r.varint();
  for (let i = 0; i < ids; i++) {
    const id = readEventId(r);
    state.eventIds.push(id);
    state.eventIdSet.add(id);
  }
  const anomalies = r.varint();
  for (let i = 0; i < anomalies; i++) {
    const ref = r.varint();
    let deviceId: string;
    if (ref === 0) deviceId = r.string();
    else if (ref <= order.length) deviceId = order[ref - 1];
    else throw new StateFormatError(`window state holds an anomaly of device ${ref}, of ${order.length}`);
    const metric = readName(r, names);
    const value = readNumber(r);
    const zScore = r.f64();
    const baselineMean = r.f64();
    const baselineStdDev = r.f64();
    const own = r.varint();
    if (own > 1) throw new StateFormatError(`window state holds a bad anomaly window flag ${own}`);
    const windowStart = own === 0 ? state.windowStart : readNumber(r);
    const windowEnd = own === 0 ? state.windowEnd : readNumber(r);
    const eventId = readEventId(r);
    const timestamp = readNumber(r);
    // The key order of aggregate.ts, so published events are the same bytes as before a round trip.
    const a: Anomaly = {
      deviceId,
      metric,
      value,
      zScore,
      baselineMean,
      baselineStdDev,
      windowStart,
      windowEnd,
      eventId,
      timestamp,
    };
    state.anomalies.push(a);
  }
  if (!r.done) throw new StateFormatError('window state has bytes after its end');
  return state;
}

/** The sketches the last writeState wrote as sketches (not as values), for encodeStateWithin's shrink steps. */
const written: QuantileSketch[] = [];
/** The series the last writeState wrote as values. */
const asValues = new Set<SeriesStats>();

function writeState(w: ByteWriter, state: WindowState, alpha: number): void {
  written.length = 0;
  asValues.clear();
  w.u8(FORMAT);
  w.f64(state.windowStart);
  w.f64(state.windowEnd);
  w.f64(alpha);
  w.varint(state.anomaliesDropped);
  w.varint(state.applied);
  w.varint(state.duplicates);
  const names = new Map<string, number>();
  const params: SketchParams = { relativeAccuracy: NaN, maxBins: 0 };
  w.varint(state.devices.size);
  let prev = '';
  for (const [id, dev] of state.devices) {
    const n = Math.min(id.length, prev.length);
    let p = 0;
    while (p < n && id.charCodeAt(p) === prev.charCodeAt(p)) p++;
    // Never split a surrogate pair between the prefix and the suffix.
    if (p > 0 && p < id.length && isHighSurrogate(id.charCodeAt(p - 1))) p--;
    w.varint(p);
    w.string(p === 0 ? id : id.slice(p));
    prev = id;
    w.varint((dev.baselineLoaded ? 1 : 0) | (dev.site !== undefined ? 2 : 0));
    if (dev.site !== undefined) writeName(w, names, dev.site);
    w.varint(dev.metrics.size);
    for (const [name, s] of dev.metrics) {
      writeName(w, names, name);
      // As values or as statistics, whichever is smaller (a baseline derived from the values saves its 17 bytes).
      const start = w.length;
      const accuracy = params.relativeAccuracy;
      const bins = params.maxBins;
      if (writeValues(w, s, params)) {
        const b = dev.baseline.get(name);
        const bonus = b !== undefined && sameBaseline(replayBaseline(s.values!, alpha), b) ? 17 : 0;
        const asValuesBytes = w.length - start;
        if (asValuesBytes <= 1 + 16 + 2 + s.sketch.binaryBytes() + bonus) {
          asValues.add(s);
          continue;
        }
        const valuesEnd = w.length;
        w.length = start;
        params.relativeAccuracy = accuracy;
        params.maxBins = bins;
        writeStatistics(w, s, params);
        if (w.length - start >= asValuesBytes - bonus) {
          // Larger after all (the estimate left out the sizes of count, min and max): the values it is.
          w.length = start;
          params.relativeAccuracy = accuracy;
          params.maxBins = bins;
          writeValues(w, s, params);
          if (w.length !== valuesEnd) throw new Error('window state: values written twice differ');
          asValues.add(s);
          continue;
        }
        written.push(s.sketch);
        continue;
      }
      writeStatistics(w, s, params);
      written.push(s.sketch);
    }
    w.varint(dev.baseline.size);
    for (const [name, b] of dev.baseline) {
      writeName(w, names, name);
      const s = dev.metrics.get(name);
      if (s !== undefined && asValues.has(s) && sameBaseline(replayBaseline(s.values!, alpha), b)) {
        w.varint(1);
        continue;
      }
      w.varint(0);
      w.f64(b.mean);
      w.f64(b.variance);
      writeCount(w, b.samples);
    }
  }
  w.varint(state.eventIds.length);
  for (const id of state.eventIds) writeEventId(w, id);
  w.varint(state.anomalies.length);
  if (state.anomalies.length === 0) return;
  const index = new Map<string, number>();
  let i = 0;
  for (const id of state.devices.keys()) index.set(id, ++i);
  for (const a of state.anomalies) {
    const ref = index.get(a.deviceId);
    if (ref !== undefined) w.varint(ref);
    else {
      w.varint(0);
      w.string(a.deviceId);
    }
    writeName(w, names, a.metric);
    writeNumber(w, a.value);
    w.f64(a.zScore);
    w.f64(a.baselineMean);
    w.f64(a.baselineStdDev);
    if (a.windowStart === state.windowStart && a.windowEnd === state.windowEnd) w.varint(0);
    else {
      w.varint(1);
      writeNumber(w, a.windowStart);
      writeNumber(w, a.windowEnd);
    }
    writeEventId(w, a.eventId);
    writeNumber(w, a.timestamp);
  }
}

function writeStatistics(w: ByteWriter, s: SeriesStats, params: SketchParams): void {
  w.varint(0);
  writeCount(w, s.count);
  w.f64(s.mean);
  w.f64(s.m2);
  writeNumber(w, s.min);
  writeNumber(w, s.max);
  s.sketch.writeBinary(w, params);
}

/** Counts are non-negative integers by construction (increments, validated seeds); anything else is a bug. */
function writeCount(w: ByteWriter, n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error(`window state count must be a safe integer >= 0, got ${n}`);
  w.varint(n);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function writeName(w: ByteWriter, names: Map<string, number>, s: string): void {
  const i = names.get(s);
  if (i !== undefined) {
    w.varint(2 * i);
    return;
  }
  names.set(s, names.size);
  w.varint(1);
  w.string(s);
}

function readName(r: ByteReader, names: string[]): string {
  const v = r.varint();
  if (v === 1) {
    const s = r.string();
    names.push(s);
    return s;
  }
  if (v % 2 === 1 || v / 2 >= names.length) throw new StateFormatError(`window state holds a bad name reference ${v}`);
  return names[v / 2];
}

function writeEventId(w: ByteWriter, id: string): void {
  w.u8(0);
  if (w.uuid(id)) return;
  w.length -= 1;
  w.u8(1);
  w.string(id);
}

function eventIdBytes(id: string): number {
  if (id.length === 36 && UUID.test(id)) return 17;
  // As ByteWriter.string writes it: varint(2 * UTF-8 bytes) then the bytes, or for a string that is not well-formed
  // varint(2 * units + 1) then two bytes per unit.
  if ((id as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    const n = Buffer.byteLength(id, 'utf8');
    return 1 + varintBytes(2 * n) + n;
  }
  return 1 + varintBytes(2 * id.length + 1) + 2 * id.length;
}

function readEventId(r: ByteReader): string {
  const tag = r.u8();
  if (tag === 1) return r.string();
  if (tag !== 0) throw new StateFormatError(`window state holds a bad event id tag ${tag}`);
  return r.uuid();
}

/**
 * A series of few values (SeriesStats.values) as the values themselves, when they give back every field exactly:
 * count, min, max, and Welford's mean and m2 by replaying them (the same operations as applyRecord, checked here bit
 * for bit), and the sketch, which without folding is a function of the values alone. varint head =
 * 1 + 2 * (8 * (n - 1) + d) + (1 when the sketch parameters follow, as in QuantileSketch.writeBinary), then for
 * d < 7 the values as x = m / 10^d, zigzag(m - previous m) each (sensor readings: a byte or two), for d = 7 raw
 * doubles. Returns false, writing nothing, when the series must be written as statistics.
 */
function writeValues(w: ByteWriter, s: SeriesStats, params: SketchParams): boolean {
  const values = s.values;
  const n = values === undefined ? 0 : values.length;
  if (n === 0 || n !== s.count || n > MAX_CARRIED_VALUES) return false;
  const sketch = s.sketch;
  if (sketch.folded || sketch.count !== n) return false;
  const replayed = replaySeries(values!, sketch.relativeAccuracy, sketch.maxBins, false);
  if (
    !Object.is(replayed.mean, s.mean) ||
    !Object.is(replayed.m2, s.m2) ||
    !Object.is(replayed.min, s.min) ||
    !Object.is(replayed.max, s.max)
  ) {
    return false;
  }
  const d = decimalsOf(values!);
  const same = params.relativeAccuracy === sketch.relativeAccuracy && params.maxBins === sketch.maxBins;
  w.varint(1 + 2 * (8 * (n - 1) + d) + (same ? 0 : 1));
  if (!same) {
    w.f64(sketch.relativeAccuracy);
    w.varint(sketch.maxBins);
    params.relativeAccuracy = sketch.relativeAccuracy;
    params.maxBins = sketch.maxBins;
  }
  if (d === 7) {
    for (let i = 0; i < n; i++) w.f64(values![i]);
    return true;
  }
  const p = POW10[d];
  let last = 0;
  for (let i = 0; i < n; i++) {
    const m = Math.round(values![i] * p);
    w.zigzag(m - last);
    last = m;
  }
  return true;
}

function readValues(r: ByteReader, head: number, params: SketchParams): SeriesStats {
  const h = head - 1;
  const explicit = h % 2;
  const rest = (h - explicit) / 2;
  const d = rest % 8;
  const n = (rest - d) / 8 + 1;
  if (n > MAX_CARRIED_VALUES) throw new StateFormatError(`window state carries ${n} values of one series`);
  if (explicit === 1) {
    params.relativeAccuracy = r.f64();
    params.maxBins = r.varint();
  }
  const values: number[] = [];
  if (d === 7) {
    for (let i = 0; i < n; i++) values.push(r.f64());
  } else {
    const p = POW10[d];
    let m = 0;
    for (let i = 0; i < n; i++) {
      m += r.zigzag();
      if (!(Math.abs(m) < 2 ** 46)) throw new StateFormatError('window state holds a carried value out of range');
      values.push(m / p);
    }
  }
  for (const v of values) {
    if (!Number.isFinite(v)) throw new StateFormatError('window state holds a carried value that is not finite');
  }
  return replaySeries(values, params.relativeAccuracy, params.maxBins, true);
}

/** The series applyRecord builds from these values (Welford, min, max; the sketch only when `withSketch`). */
function replaySeries(values: number[], accuracy: number, maxBins: number, withSketch: boolean): SeriesStats {
  const sketch = withSketch ? new QuantileSketch(accuracy, maxBins) : (undefined as unknown as QuantileSketch);
  let count = 0;
  let mean = 0;
  let m2 = 0;
  let min = values[0];
  let max = values[0];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    count += 1;
    const delta = value - mean;
    mean += delta / count;
    m2 += delta * (value - mean);
    if (value < min) min = value;
    if (value > max) max = value;
    if (withSketch) sketch.add(value);
  }
  return { count, mean, m2, min, max, sketch, values: withSketch ? values : undefined };
}

/** The baseline applyRecord builds from these values when the series starts it (updateBaseline from no samples). */
function replayBaseline(values: number[], alpha: number): Baseline {
  const b: Baseline = { mean: 0, variance: 0, samples: 0 };
  for (let i = 0; i < values.length; i++) updateBaseline(b, values[i], alpha);
  return b;
}

function sameBaseline(a: Baseline, b: Baseline): boolean {
  return Object.is(a.mean, b.mean) && Object.is(a.variance, b.variance) && a.samples === b.samples;
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** The fewest decimals d (0..6) in which every value is m / 10^d exactly with |m| < 2^46; 7 when there are none. */
function decimalsOf(values: number[]): number {
  for (let d = 0; d < 7; d++) {
    const p = POW10[d];
    let ok = true;
    for (let i = 0; ok && i < values.length; i++) {
      const v = values[i];
      const m = Math.round(v * p);
      ok = m / p === v && Math.abs(m) < 2 ** 46 && !Object.is(v, -0);
    }
    if (ok) return d;
  }
  return 7;
}
