import { createHash } from 'crypto';

/**
 * KPL aggregation format: 4 magic bytes, a protobuf `AggregatedRecord`, then the MD5 of the protobuf bytes.
 * message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                            repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                  required bytes data = 3; repeated Tag tags = 4; }
 * Implemented here instead of pulling a protobuf runtime into every Lambda bundle. Both directions work in one pass
 * over reused scratch arrays: the encoder sizes the aggregate first and writes every field straight into one output
 * buffer (each payload is copied once); the decoder records where each user record lies and slices the input.
 */
export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;
/** Magic bytes plus MD5 trailer: what an aggregate weighs beyond its protobuf body. */
export const KPL_FRAMING_BYTES = KPL_MAGIC.length + MD5_BYTES;

const TAG_PARTITION_KEY_TABLE = 0x0a; // field 1, length-delimited
const TAG_HASH_KEY_TABLE = 0x12; // field 2, length-delimited
const TAG_RECORD = 0x1a; // field 3, length-delimited
const TAG_RECORD_PK_INDEX = 0x08; // field 1, varint
const TAG_RECORD_EHK_INDEX = 0x10; // field 2, varint
const TAG_RECORD_DATA = 0x1a; // field 3, length-delimited

export interface UserRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Buffer;
}

/** What the encoder accepts: a user record whose payload may also be a string (written as UTF-8). */
export interface AggregateInput {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array | string;
}

export class AggregationFormatError extends Error {}

export function isAggregated(data: Uint8Array): boolean {
  return (
    data.length >= KPL_FRAMING_BYTES && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2
  );
}

/** Splits a KPL-aggregated payload into its user records. Throws AggregationFormatError on a corrupt payload. */
export function deaggregate(data: Buffer): UserRecord[] {
  const parsed = parseAggregate(data);
  const out: UserRecord[] = new Array(parsed.count);
  for (let i = 0; i < parsed.count; i++) {
    out[i] = {
      partitionKey: parsed.partitionKeys[parsed.pk[i]],
      explicitHashKey: parsed.ehk[i] < 0 ? undefined : parsed.hashKeys[parsed.ehk[i]],
      data: data.subarray(parsed.start[i], parsed.end[i]),
    };
  }
  return out;
}

/**
 * A checked, parsed aggregate: user record i has partition key `partitionKeys[pk[i]]`, explicit hash key
 * `hashKeys[ehk[i]]` (none when ehk[i] < 0) and payload bytes [start[i], end[i]) of the aggregate given. The arrays
 * are scratch space reused by the next call: read them before parsing another aggregate.
 */
export interface ParsedAggregate {
  readonly count: number;
  readonly partitionKeys: readonly string[];
  readonly hashKeys: readonly string[];
  readonly pk: Int32Array;
  readonly ehk: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
}

let scratch = {
  pk: new Int32Array(1024),
  ehk: new Int32Array(1024),
  start: new Int32Array(1024),
  end: new Int32Array(1024),
};

function growScratch(): void {
  const n = scratch.pk.length * 2;
  const grow = (a: Int32Array) => {
    const b = new Int32Array(n);
    b.set(a);
    return b;
  };
  scratch = { pk: grow(scratch.pk), ehk: grow(scratch.ehk), start: grow(scratch.start), end: grow(scratch.end) };
}

/** Verifies the checksum and locates every user record of an aggregate; see ParsedAggregate. */
export function parseAggregate(data: Buffer): ParsedAggregate {
  if (!isAggregated(data)) throw new AggregationFormatError('not a KPL aggregated record');
  const bodyEnd = data.length - MD5_BYTES;
  const digest = createHash('md5').update(data.subarray(KPL_MAGIC.length, bodyEnd)).digest();
  for (let i = 0; i < MD5_BYTES; i++) {
    if (digest[i] !== data[bodyEnd + i]) {
      throw new AggregationFormatError('KPL aggregated record has a wrong MD5 checksum');
    }
  }
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const r = new Reader(data, KPL_MAGIC.length, bodyEnd);
  let count = 0;
  while (r.pos < bodyEnd) {
    const tag = r.tag();
    if (tag === TAG_PARTITION_KEY_TABLE) {
      const len = r.length();
      partitionKeys.push(data.toString('utf8', r.pos, r.pos + len));
      r.pos += len;
    } else if (tag === TAG_HASH_KEY_TABLE) {
      const len = r.length();
      hashKeys.push(data.toString('utf8', r.pos, r.pos + len));
      r.pos += len;
    } else if (tag === TAG_RECORD) {
      const len = r.length();
      if (count === scratch.pk.length) growScratch();
      readInnerRecord(r, r.pos + len, count);
      count++;
    } else r.skip(tag & 7);
  }
  // The KPL never writes an empty aggregate; yielding no user record would make the Kinesis record vanish uncounted.
  if (count === 0) throw new AggregationFormatError('KPL aggregated record holds no user record');
  const { pk, ehk } = scratch;
  for (let i = 0; i < count; i++) {
    if (pk[i] >= partitionKeys.length) {
      throw new AggregationFormatError(`record ${i} points to missing partition key ${pk[i]}`);
    }
    // An index past the hash key table means no explicit hash key, as before.
    if (ehk[i] >= hashKeys.length) ehk[i] = -1;
  }
  return { count, partitionKeys, hashKeys, ...scratch };
}

const NONE = -1;
/** Indices at or past this are clamped to it: no table can have that many entries. */
const INDEX_LIMIT = 0x7fffffff;

function readInnerRecord(r: Reader, end: number, slot: number): void {
  let pk = NONE;
  let ehk = NONE;
  let start = NONE;
  let stop = NONE;
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === TAG_RECORD_PK_INDEX) pk = Math.min(r.varint(), INDEX_LIMIT);
    else if (tag === TAG_RECORD_EHK_INDEX) ehk = Math.min(r.varint(), INDEX_LIMIT);
    else if (tag === TAG_RECORD_DATA) {
      const len = r.length();
      start = r.pos;
      stop = r.pos + len;
      r.pos = stop;
    } else r.skip(tag & 7);
  }
  r.end = outer;
  if (pk === NONE || start === NONE) {
    throw new AggregationFormatError('aggregated record lacks partition_key_index or data');
  }
  scratch.pk[slot] = pk;
  scratch.ehk[slot] = ehk;
  scratch.start[slot] = start;
  scratch.end[slot] = stop;
}

/** A protobuf reader over [pos, end) of a buffer; every read is bounds-checked against `end`. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  tag(): number {
    const t = this.varint();
    if (t < 8) throw new AggregationFormatError(`invalid field tag ${t}`);
    return t;
  }

  varint(): number {
    if (this.pos < this.end) {
      const b = this.buf[this.pos];
      if (b < 0x80) {
        this.pos++;
        return b;
      }
    }
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new AggregationFormatError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new AggregationFormatError('varint too long');
    }
  }

  /** The length of a length-delimited field, checked to fit. */
  length(): number {
    const len = this.varint();
    if (len > this.end - this.pos) throw new AggregationFormatError('truncated length-delimited field');
    return len;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) {
      const len = this.length();
      this.pos += len;
    } else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (n > this.end - this.pos) throw new AggregationFormatError('truncated fixed-width field');
      this.pos += n;
    } else throw new AggregationFormatError(`unsupported wire type ${wireType}`);
  }
}

/** Builds a KPL-aggregated payload from user records (the producer side). */
export function aggregate(records: readonly AggregateInput[]): Buffer {
  const encoder = new AggregateEncoder();
  const n = encoder.plan(records, null, 0, records.length, Number.MAX_SAFE_INTEGER);
  return encoder.encode(records, null, 0, n);
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Writes a varint below 2^31 at `pos`; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Writes `text`, known to take `bytes` bytes of UTF-8, at `pos`; returns the position after it. An ASCII string
 * (as many keys and JSON payloads are) is copied unit by unit: for short strings that beats a call into the
 * native encoder.
 */
function writeUtf8(buf: Buffer, pos: number, text: string, bytes: number): number {
  if (bytes === text.length && bytes <= 128) {
    for (let i = 0; i < bytes; i++) buf[pos + i] = text.charCodeAt(i);
    return pos + bytes;
  }
  return pos + buf.write(text, pos, bytes, 'utf8');
}

function byteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

/**
 * Encodes runs of records into aggregates with exact sizes, reusing its tables and scratch arrays from one aggregate
 * to the next. `plan` takes records (in the order of `order`, or as given when null) while the aggregate's protobuf
 * body stays within a budget; `encode` then writes exactly those. Not reentrant: plan and encode one at a time.
 */
export class AggregateEncoder {
  private readonly pkIndex = new Map<string, number>();
  private readonly ehkIndex = new Map<string, number>();
  private pkKeys: string[] = [];
  private pkBytes: number[] = [];
  private ehkKeys: string[] = [];
  private ehkBytes: number[] = [];
  private recPk = new Int32Array(256);
  private recEhk = new Int32Array(256);
  private recData = new Int32Array(256);
  private recInner = new Int32Array(256);
  private bodyBytes = 0;

  /**
   * How many records, from `from` up to `to`, fit in one aggregate whose protobuf body is at most `maxBodyBytes`
   * (always at least one: a record too big for the budget alone is the caller's to check). `dataBytes[i]`, when
   * given, is the payload size of records[i] (saves measuring a string payload twice).
   */
  plan(
    records: readonly AggregateInput[],
    order: ArrayLike<number> | null,
    from: number,
    to: number,
    maxBodyBytes: number,
    dataBytes?: ArrayLike<number>,
  ): number {
    this.pkIndex.clear();
    this.ehkIndex.clear();
    this.pkKeys.length = 0;
    this.pkBytes.length = 0;
    this.ehkKeys.length = 0;
    this.ehkBytes.length = 0;
    let body = 0;
    let n = 0;
    for (let k = from; k < to; k++) {
      const i = order === null ? k : order[k];
      const r = records[i];
      let add = 0;
      let pk = this.pkIndex.get(r.partitionKey);
      let newPkBytes = NONE;
      if (pk === undefined) {
        pk = this.pkKeys.length;
        newPkBytes = Buffer.byteLength(r.partitionKey, 'utf8');
        add += 1 + varintSize(newPkBytes) + newPkBytes;
      }
      let ehk = NONE;
      let newEhkBytes = NONE;
      if (r.explicitHashKey !== undefined) {
        const known = this.ehkIndex.get(r.explicitHashKey);
        if (known === undefined) {
          ehk = this.ehkKeys.length;
          newEhkBytes = Buffer.byteLength(r.explicitHashKey, 'utf8');
          add += 1 + varintSize(newEhkBytes) + newEhkBytes;
        } else ehk = known;
      }
      const dataLen = dataBytes === undefined ? byteLength(r.data) : dataBytes[i];
      const inner = 1 + varintSize(pk) + (ehk === NONE ? 0 : 1 + varintSize(ehk)) + 1 + varintSize(dataLen) + dataLen;
      add += 1 + varintSize(inner) + inner;
      if (n > 0 && body + add > maxBodyBytes) break;
      if (newPkBytes !== NONE) {
        this.pkIndex.set(r.partitionKey, pk);
        this.pkKeys.push(r.partitionKey);
        this.pkBytes.push(newPkBytes);
      }
      if (newEhkBytes !== NONE) {
        this.ehkIndex.set(r.explicitHashKey!, ehk);
        this.ehkKeys.push(r.explicitHashKey!);
        this.ehkBytes.push(newEhkBytes);
      }
      if (n === this.recPk.length) this.growRecords();
      this.recPk[n] = pk;
      this.recEhk[n] = ehk;
      this.recData[n] = dataLen;
      this.recInner[n] = inner;
      body += add;
      n++;
    }
    this.bodyBytes = body;
    return n;
  }

  /** The protobuf body size of the last plan; the aggregate is KPL_FRAMING_BYTES more. */
  get plannedBodyBytes(): number {
    return this.bodyBytes;
  }

  /** Writes the records of the last plan (same arguments as that plan, `to` = from + its count). */
  encode(records: readonly AggregateInput[], order: ArrayLike<number> | null, from: number, count: number): Buffer {
    const out = Buffer.allocUnsafe(KPL_FRAMING_BYTES + this.bodyBytes);
    KPL_MAGIC.copy(out, 0);
    let pos = KPL_MAGIC.length;
    for (let k = 0; k < this.pkKeys.length; k++) {
      out[pos++] = TAG_PARTITION_KEY_TABLE;
      pos = writeVarint(out, pos, this.pkBytes[k]);
      pos = writeUtf8(out, pos, this.pkKeys[k], this.pkBytes[k]);
    }
    for (let k = 0; k < this.ehkKeys.length; k++) {
      out[pos++] = TAG_HASH_KEY_TABLE;
      pos = writeVarint(out, pos, this.ehkBytes[k]);
      pos = writeUtf8(out, pos, this.ehkKeys[k], this.ehkBytes[k]);
    }
    for (let n = 0; n < count; n++) {
      const k = from + n;
      const data = records[order === null ? k : order[k]].data;
      out[pos++] = TAG_RECORD;
      pos = writeVarint(out, pos, this.recInner[n]);
      out[pos++] = TAG_RECORD_PK_INDEX;
      pos = writeVarint(out, pos, this.recPk[n]);
      const ehk = this.recEhk[n];
      if (ehk !== NONE) {
        out[pos++] = TAG_RECORD_EHK_INDEX;
        pos = writeVarint(out, pos, ehk);
      }
      out[pos++] = TAG_RECORD_DATA;
      const len = this.recData[n];
      pos = writeVarint(out, pos, len);
      if (typeof data === 'string') pos = writeUtf8(out, pos, data, len);
      else {
        out.set(data, pos);
        pos += len;
      }
    }
    const bodyEnd = KPL_MAGIC.length + this.bodyBytes;
    if (pos !== bodyEnd)
      throw new Error(`KPL encoder wrote ${pos - KPL_MAGIC.length} bytes, planned ${this.bodyBytes}`);
    createHash('md5').update(out.subarray(KPL_MAGIC.length, bodyEnd)).digest().copy(out, bodyEnd);
    return out;
  }

  private growRecords(): void {
    const n = this.recPk.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.recPk = grow(this.recPk);
    this.recEhk = grow(this.recEhk);
    this.recData = grow(this.recData);
    this.recInner = grow(this.recInner);
  }
}
