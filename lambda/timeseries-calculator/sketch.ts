/**
 * A bounded, mergeable quantile sketch with relative-error guarantees (the DDSketch idea: logarithmic buckets).
 *
 * A positive value x falls in bucket i = ceil(log_gamma(x)) with gamma = (1 + a) / (1 - a); the bucket's
 * representative 2 * gamma^i / (gamma + 1) is within relative error `a` of every value in it. Negative values use a
 * mirrored store, values with |x| < MIN_INDEXABLE count as zero. A quantile read from an uncollapsed bucket is
 * therefore within `a` (default 1 %) of the exact value at that rank (rank = q * (n - 1), lower value).
 *
 * To stay bounded, at most `maxBins` buckets are kept: beyond that the lowest buckets (most negative values first)
 * are merged into one, which keeps high quantiles (p90..p99.9) accurate while low quantiles lose precision. With the
 * default 1 % accuracy, 64 buckets cover values spanning a factor of gamma^64 = 3.6 (e.g. 10..36) with no
 * collapse at all; sensor readings within one window rarely span more.
 */
export const MIN_INDEXABLE = 1e-9;

export interface SketchJson {
  /** [relativeAccuracy, maxBins, zeroCount] */
  c: [number, number, number];
  /** Positive store: flat [index, count, index, count, ...] ascending by index. */
  p: number[];
  /** Negative store: flat [index, count, ...] ascending by index (index of |x|). */
  n: number[];
}

export class QuantileSketch {
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly pos = new Map<number, number>();
  private readonly neg = new Map<number, number>();
  private zero = 0;

  constructor(
    readonly relativeAccuracy = 0.01,
    readonly maxBins = 64,
  ) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new Error(`relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
    }
    if (!Number.isInteger(maxBins) || maxBins < 2) throw new Error(`maxBins must be an integer >= 2, got ${maxBins}`);
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
  }

  get count(): number {
    let n = this.zero;
    for (const c of this.pos.values()) n += c;
    for (const c of this.neg.values()) n += c;
    return n;
  }

  get binCount(): number {
    return this.pos.size + this.neg.size + (this.zero > 0 ? 1 : 0);
  }

  add(value: number, count = 1): void {
    if (!Number.isFinite(value)) throw new Error(`sketch values must be finite, got ${value}`);
    if (Math.abs(value) < MIN_INDEXABLE) this.zero += count;
    else {
      const store = value > 0 ? this.pos : this.neg;
      const i = this.index(Math.abs(value));
      store.set(i, (store.get(i) ?? 0) + count);
    }
    this.collapse();
  }

  merge(other: QuantileSketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new Error(`cannot merge sketches of accuracy ${this.relativeAccuracy} and ${other.relativeAccuracy}`);
    }
    this.zero += other.zero;
    for (const [i, c] of other.pos) this.pos.set(i, (this.pos.get(i) ?? 0) + c);
    for (const [i, c] of other.neg) this.neg.set(i, (this.neg.get(i) ?? 0) + c);
    this.collapse();
  }

  /** Value at quantile q in [0, 1]; undefined when empty. */
  quantile(q: number): number | undefined {
    if (!(q >= 0 && q <= 1)) throw new Error(`quantile must be in [0, 1], got ${q}`);
    const n = this.count;
    if (n === 0) return undefined;
    const rank = q * (n - 1);
    let seen = 0;
    for (const i of [...this.neg.keys()].sort((a, b) => b - a)) {
      seen += this.neg.get(i)!;
      if (seen > rank) return -this.value(i);
    }
    seen += this.zero;
    if (seen > rank) return 0;
    for (const i of [...this.pos.keys()].sort((a, b) => a - b)) {
      seen += this.pos.get(i)!;
      if (seen > rank) return this.value(i);
    }
    // Only reachable through floating-point rounding of rank: the largest bucket.
    const top = Math.max(...this.pos.keys());
    return this.pos.size > 0 ? this.value(top) : 0;
  }

  /** Keeps at most maxBins buckets by merging the lowest ones. */
  shrink(maxBins: number): void {
    this.collapse(maxBins);
  }

  toJSON(): SketchJson {
    return {
      c: [this.relativeAccuracy, this.maxBins, this.zero],
      p: flatten(this.pos),
      n: flatten(this.neg),
    };
  }

  static fromJSON(json: SketchJson): QuantileSketch {
    const s = new QuantileSketch(json.c[0], json.c[1]);
    s.zero = json.c[2];
    for (let k = 0; k + 1 < json.p.length; k += 2) s.pos.set(json.p[k], json.p[k + 1]);
    for (let k = 0; k + 1 < json.n.length; k += 2) s.neg.set(json.n[k], json.n[k + 1]);
    return s;
  }

  private index(abs: number): number {
    return Math.ceil(Math.log(abs) / this.logGamma);
  }

  private value(i: number): number {
    return (2 * this.gamma ** i) / (this.gamma + 1);
  }

  private collapse(limit = this.maxBins): void {
    while (this.binCount > limit) {
      // Lowest values first: the most negative bucket folds into the next negative one, then negatives into
      // zero, then the lowest positive buckets into their neighbour.
      if (this.neg.size > 1) {
        const keys = [...this.neg.keys()].sort((a, b) => b - a);
        this.neg.set(keys[1], this.neg.get(keys[1])! + this.neg.get(keys[0])!);
        this.neg.delete(keys[0]);
      } else if (this.neg.size === 1) {
        const [k, c] = [...this.neg][0];
        this.neg.delete(k);
        this.zero += c;
      } else if (this.zero > 0 && this.pos.size > 0) {
        const low = Math.min(...this.pos.keys());
        this.pos.set(low, this.pos.get(low)! + this.zero);
        this.zero = 0;
      } else {
        const keys = [...this.pos.keys()].sort((a, b) => a - b);
        this.pos.set(keys[1], this.pos.get(keys[1])! + this.pos.get(keys[0])!);
        this.pos.delete(keys[0]);
      }
    }
  }
}

function flatten(store: Map<number, number>): number[] {
  const out: number[] = [];
  for (const i of [...store.keys()].sort((a, b) => a - b)) out.push(i, store.get(i)!);
  return out;
}
