import { ByteReader, ByteWriter, StateFormatError, varintBytes } from './bytes';

/**
 * A bounded, mergeable quantile sketch with relative-error guarantees (the DDSketch idea: logarithmic buckets).
 *
 * A value x with |x| >= MIN_INDEXABLE falls in bucket i = ceil(log_gamma(|x|)) with gamma = (1 + a) / (1 - a) of its
 * sign's store; the bucket's representative gamma^(i-1) * (1 + a) is within relative error `a` of every value in it.
 * Zero, -0 and subnormal values (|x| < MIN_INDEXABLE, about 2.2e-308) are counted in a zero bucket and read as 0.
 *
 * Guarantee: `quantile(q)` is within `a` (default 1 %, up to floating-point rounding below 1e-12 relative) of the
 * exact value at rank r = floor(q * (n - 1)) of the sorted input (0-based, the lower value; the rank DDSketch uses),
 * or is 0 when that value is zero or subnormal, whenever r >= `collapsedCount`. It never returns NaN or Infinity.
 *
 * At most `maxBins` non-empty buckets are kept (default 2048, as DDSketch). Beyond that, or on `shrink`, the lowest
 * bucket (the most negative values first, then zero, then the smallest positive) is folded into the next non-empty
 * one, which from then on also takes every lower value and holds `collapsedCount` values, read too high. Collapse
 * therefore only costs the lowest ranks: the top `maxBins - 1` buckets stay exact, so rank r is accurate whatever the
 * data when n - r <= maxBins - 1. With the default that is p95 for any series of up to 40,000 values; smooth data
 * (normal, lognormal, Pareto, 10,000 values) needs at most a few hundred buckets, so nothing collapses at all.
 * Folding depends only on the multiset of values, so `a.merge(b)` equals the sketch of a's and b's values together
 * (for the same maxBins, and neither shrunk).
 *
 * Serialized (`toJSON`), a typical sensor series (normal(20, 0.5), 60 to 600 values) takes under 64 bytes and a
 * heavy-tailed one of 10,000 values under 2 KB; `fromJSON` also reads the previous `{c, p, n}` format.
 */
export const MIN_INDEXABLE = 2 ** -1022;

export const DEFAULT_MAX_BINS = 2048;

/**
 * Compact form: `[[relativeAccuracy, maxBins, zeroCount, collapsed (0|1)], positive, negative]`. A store is `[]` or
 * `[firstIndex, ...entries]`, each entry a count (>= 1) of the next index or a negative number -g that skips g empty
 * indices. Negative values are stored by the index of |x|, ascending.
 */
export type CompactSketchJson = [[number, number, number, number], number[], number[]];

/** Format written before the compact one; still read, so window state in flight across a deployment survives. */
export interface LegacySketchJson {
  /** [relativeAccuracy, maxBins, zeroCount] */
  c: [number, number, number];
  /** Positive store: flat [index, count, index, count, ...] ascending by index. */
  p: number[];
  /** Negative store: flat [index, count, ...] ascending by index (index of |x|). */
  n: number[];
}

export type SketchJson = CompactSketchJson | LegacySketchJson;

/** The parameters of the sketch written last in a stream: a sketch with the same ones leaves them out. */
export interface SketchParams {
  relativeAccuracy: number;
  maxBins: number;
}

/** Buckets of one sign, sorted by index; parallel arrays keep add and fold cheap at thousands of buckets. */
interface Store {
  keys: number[];
  counts: number[];
}

export class QuantileSketch {
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly pos: Store = { keys: [], counts: [] };
  private readonly neg: Store = { keys: [], counts: [] };
  private zero = 0;
  private total = 0;
  private collapsed = false;

  constructor(
    readonly relativeAccuracy = 0.01,
    readonly maxBins = DEFAULT_MAX_BINS,
  ) {
    // Below 1e-9 the bucket indices of extreme doubles would no longer be exact integers in a double.
    if (!(relativeAccuracy >= 1e-9 && relativeAccuracy < 1)) {
      throw new Error(`relativeAccuracy must be in [1e-9, 1), got ${relativeAccuracy}`);
    }
    checkBins(maxBins);
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
  }

  get count(): number {
    return this.total;
  }

  get binCount(): number {
    return this.pos.keys.length + this.neg.keys.length + (this.zero > 0 ? 1 : 0);
  }

  /** Whether buckets were ever folded (by maxBins, shrink, or a merge with a folded sketch). */
  get folded(): boolean {
    return this.collapsed;
  }

  /** Values in the lowest bucket if buckets were ever folded into it (0 otherwise); ranks below it are imprecise. */
  get collapsedCount(): number {
    if (!this.collapsed) return 0;
    if (this.neg.counts.length > 0) return this.neg.counts[this.neg.counts.length - 1];
    return this.zero > 0 ? this.zero : (this.pos.counts[0] ?? 0);
  }

  add(value: number, count = 1): void {
    if (!Number.isFinite(value)) throw new Error(`sketch values must be finite, got ${value}`);
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`count must be a positive integer, got ${count}`);
    const floor = this.floor();
    this.insert(value, count);
    if (floor) this.foldBelow(floor);
    this.collapse(this.maxBins);
  }

  /** Adds other's values; exactly the sketch of both inputs for the same maxBins when neither was shrunk. */
  merge(other: QuantileSketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new Error(`cannot merge sketches of accuracy ${this.relativeAccuracy} and ${other.relativeAccuracy}`);
    }
    // The higher of the two floors bounds what is still exact. Copies first: other may be this.
    const floors = [this.floor(), other.floor()].filter((b) => b !== undefined);
    const pos = { keys: [...other.pos.keys], counts: [...other.pos.counts] };
    const neg = { keys: [...other.neg.keys], counts: [...other.neg.counts] };
    pos.keys.forEach((k, j) => bump(this.pos, k, pos.counts[j]));
    neg.keys.forEach((k, j) => bump(this.neg, k, neg.counts[j]));
    this.zero += other.zero;
    this.total += other.total;
    this.collapsed ||= other.collapsed;
    for (const f of floors) this.foldBelow(f);
    this.collapse(this.maxBins);
  }

  /** Value at quantile q in [0, 1] (rank floor(q * (n - 1)), lower value); undefined when empty. */
  quantile(q: number): number | undefined {
    if (!(q >= 0 && q <= 1)) throw new Error(`quantile must be in [0, 1], got ${q}`);
    if (this.total === 0) return undefined;
    const rank = q * (this.total - 1);
    let seen = 0;
    for (let j = this.neg.keys.length - 1; j >= 0; j--) {
      seen += this.neg.counts[j];
      if (seen > rank) return -this.value(this.neg.keys[j]);
    }
    seen += this.zero;
    if (seen > rank) return 0;
    for (let j = 0; j < this.pos.keys.length; j++) {
      seen += this.pos.counts[j];
      if (seen > rank) return this.value(this.pos.keys[j]);
    }
    // Unreachable: rank <= n - 1 < n = seen. Kept for the type checker.
    return this.pos.keys.length > 0 ? this.value(this.pos.keys[this.pos.keys.length - 1]) : 0;
  }

  /** Keeps at most maxBins buckets by folding the lowest ones (as `add` does at `this.maxBins`). */
  shrink(maxBins: number): void {
    checkBins(maxBins);
    this.collapse(maxBins);
  }

  toJSON(): CompactSketchJson {
    return [
      [this.relativeAccuracy, this.maxBins, this.zero, this.collapsed ? 1 : 0],
      encode(this.pos),
      encode(this.neg),
    ];
  }

  static fromJSON(json: SketchJson): QuantileSketch {
    if (Array.isArray(json)) {
      const [[accuracy, maxBins, zero, collapsed], pos, neg] = json;
      const s = new QuantileSketch(accuracy, maxBins);
      s.addZero(zero);
      decode(pos, (k, c) => s.load(s.pos, k, c));
      decode(neg, (k, c) => s.load(s.neg, k, c));
      s.collapsed = collapsed === 1;
      s.collapse(s.maxBins);
      return s;
    }
    const s = new QuantileSketch(json.c[0], json.c[1]);
    s.addZero(json.c[2]);
    for (let k = 0; k + 1 < json.p.length; k += 2) s.load(s.pos, json.p[k], json.p[k + 1]);
    for (let k = 0; k + 1 < json.n.length; k += 2) s.load(s.neg, json.n[k], json.n[k + 1]);
    // The legacy format did not record whether buckets had been folded (64-bin default, fitState): assume so.
    s.collapsed = s.binCount > 0;
    s.collapse(s.maxBins);
    return s;
  }

  /**
   * Binary form (the window state, state-codec.ts): varint flags (1 collapsed, 2 zero bucket, 4 parameters follow),
   * [relativeAccuracy f64, maxBins varint] when they differ from `params` (which is updated), [zeroCount], then the
   * positive and the negative store, each varint(entries) and, when not empty, zigzag(first index) and the entries
   * of the JSON form as varints (count c as 2c, a run of g empty indices as 2g + 1).
   */
  writeBinary(w: ByteWriter, params: SketchParams): void {
    const same = params.relativeAccuracy === this.relativeAccuracy && params.maxBins === this.maxBins;
    w.varint((this.collapsed ? 1 : 0) | (this.zero > 0 ? 2 : 0) | (same ? 0 : 4));
    if (!same) {
      w.f64(this.relativeAccuracy);
      w.varint(this.maxBins);
      params.relativeAccuracy = this.relativeAccuracy;
      params.maxBins = this.maxBins;
    }
    if (this.zero > 0) w.varint(this.zero);
    writeStore(w, this.pos);
    writeStore(w, this.neg);
  }

  /** Bytes `writeBinary` writes when `params` are the sketch's own (as they are for all but the first sketch). */
  binaryBytes(): number {
    return 1 + (this.zero > 0 ? varintBytes(this.zero) : 0) + storeBytes(this.pos) + storeBytes(this.neg);
  }

  static readBinary(r: ByteReader, params: SketchParams): QuantileSketch {
    const flags = r.varint();
    if (flags > 7) throw new StateFormatError(`window state holds bad sketch flags ${flags}`);
    if (flags & 4) {
      params.relativeAccuracy = r.f64();
      params.maxBins = r.varint();
    }
    const s = new QuantileSketch(params.relativeAccuracy, params.maxBins);
    if (flags & 2) s.addZero(r.varint());
    readStore(r, (k, c) => s.load(s.pos, k, c));
    readStore(r, (k, c) => s.load(s.neg, k, c));
    s.collapsed = (flags & 1) === 1;
    s.collapse(s.maxBins);
    return s;
  }

  private insert(value: number, count: number): void {
    const abs = Math.abs(value);
    if (abs < MIN_INDEXABLE) this.zero += count;
    else bump(value > 0 ? this.pos : this.neg, this.index(abs), count);
    this.total += count;
  }

  private addZero(count: number): void {
    if (count === 0) return;
    checkCount(count);
    this.zero += count;
    this.total += count;
  }

  private load(store: Store, index: number, count: number): void {
    if (!Number.isSafeInteger(index)) throw new Error(`sketch bucket index must be an integer, got ${index}`);
    checkCount(count);
    bump(store, index, count);
    this.total += count;
  }

  private index(abs: number): number {
    // + 0 turns the -0 that ceil gives for values in (1/gamma, 1) into 0, so serialized state compares equal.
    return Math.ceil(Math.log(abs) / this.logGamma) + 0;
  }

  private value(i: number): number {
    // gamma^(i-1) <= |x| cannot overflow where gamma^i could; clamping at MAX_VALUE only moves towards x.
    return Math.min(this.gamma ** (i - 1) * (1 + this.relativeAccuracy), Number.MAX_VALUE);
  }

  /** Once folded, the lowest bucket holds everything below it too, so later lower values must join it. */
  private floor(): Bin | undefined {
    if (!this.collapsed) return undefined;
    if (this.neg.keys.length > 0) return { sign: -1, key: this.neg.keys[this.neg.keys.length - 1] };
    if (this.zero > 0) return { sign: 0, key: 0 };
    return this.pos.keys.length > 0 ? { sign: 1, key: this.pos.keys[0] } : undefined;
  }

  private foldBelow(floor: Bin): void {
    for (let low = this.floor(); low && below(low, floor); low = this.floor()) this.foldLowest();
  }

  /** Folds the lowest non-empty bucket into the next non-empty one until at most `limit` remain. */
  private collapse(limit: number): void {
    while (this.binCount > limit) this.foldLowest();
  }

  private foldLowest(): void {
    this.collapsed = true;
    let c: number;
    if (this.neg.keys.length > 0) {
      this.neg.keys.pop();
      c = this.neg.counts.pop()!;
    } else if (this.zero > 0) {
      c = this.zero;
      this.zero = 0;
    } else {
      this.pos.keys.shift();
      c = this.pos.counts.shift()!;
    }
    if (this.neg.keys.length > 0) this.neg.counts[this.neg.counts.length - 1] += c;
    else if (this.zero > 0) this.zero += c;
    else this.pos.counts[0] += c;
  }
}

/** A bucket's place in value order: the sign's store, then the index (reversed for negatives). */
interface Bin {
  sign: -1 | 0 | 1;
  key: number;
}

function below(a: Bin, b: Bin): boolean {
  if (a.sign !== b.sign) return a.sign < b.sign;
  return a.sign < 0 ? a.key > b.key : a.key < b.key;
}

function checkBins(maxBins: number): void {
  if (!Number.isInteger(maxBins) || maxBins < 2) throw new Error(`maxBins must be an integer >= 2, got ${maxBins}`);
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`sketch count must be a positive integer, got ${count}`);
}

/** Adds count at index, keeping keys sorted. */
function bump(store: Store, index: number, count: number): void {
  const { keys, counts } = store;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < index) lo = mid + 1;
    else hi = mid;
  }
  if (keys[lo] === index) counts[lo] += count;
  else {
    keys.splice(lo, 0, index);
    counts.splice(lo, 0, count);
  }
}

function encode({ keys, counts }: Store): number[] {
  if (keys.length === 0) return [];
  const out = [keys[0], counts[0]];
  for (let j = 1; j < keys.length; j++) {
    const gap = keys[j] - keys[j - 1] - 1;
    if (gap > 0) out.push(-gap);
    out.push(counts[j]);
  }
  return out;
}

function decode(entries: number[], visit: (index: number, count: number) => void): void {
  let index = entries[0];
  for (let j = 1; j < entries.length; j++) {
    const e = entries[j];
    if (e < 0) index -= e;
    else visit(index++, e);
  }
}

function writeStore(w: ByteWriter, { keys, counts }: Store): void {
  const n = keys.length;
  if (n === 0) {
    w.varint(0);
    return;
  }
  let entries = n;
  for (let j = 1; j < n; j++) if (keys[j] - keys[j - 1] > 1) entries++;
  w.varint(entries);
  w.zigzag(keys[0]);
  w.varint(2 * counts[0]);
  for (let j = 1; j < n; j++) {
    const gap = keys[j] - keys[j - 1] - 1;
    if (gap > 0) w.varint(2 * gap + 1);
    w.varint(2 * counts[j]);
  }
}

function storeBytes({ keys, counts }: Store): number {
  const n = keys.length;
  if (n === 0) return 1;
  let entries = n;
  let bytes = varintBytes(keys[0] < 0 ? -2 * keys[0] - 1 : 2 * keys[0]) + varintBytes(2 * counts[0]);
  for (let j = 1; j < n; j++) {
    const gap = keys[j] - keys[j - 1] - 1;
    if (gap > 0) {
      entries++;
      bytes += varintBytes(2 * gap + 1);
    }
    bytes += varintBytes(2 * counts[j]);
  }
  return bytes + varintBytes(entries);
}

function readStore(r: ByteReader, visit: (index: number, count: number) => void): void {
  const entries = r.varint();
  if (entries === 0) return;
  let index = r.zigzag();
  let counted = false;
  for (let j = 0; j < entries; j++) {
    const e = r.varint();
    if (e % 2 === 1) {
      if (j === 0) throw new StateFormatError('window state holds a sketch store starting with a gap');
      index += (e - 1) / 2;
    } else {
      visit(index++, e / 2);
      counted = true;
    }
  }
  if (!counted) throw new StateFormatError('window state holds an empty sketch store');
}
