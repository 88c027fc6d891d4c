import { createHash } from 'crypto';

/**
 * KPL aggregation format: 4 magic bytes, a protobuf `AggregatedRecord`, then the MD5 of the protobuf bytes.
 * message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                            repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                  required bytes data = 3; repeated Tag tags = 4; }
 * Implemented here (about 150 lines) instead of pulling a protobuf runtime into every Lambda bundle.
 */
export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;

export interface UserRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Buffer;
}

export class AggregationFormatError extends Error {}

export function isAggregated(data: Buffer): boolean {
  return data.length >= KPL_MAGIC.length + MD5_BYTES && data.subarray(0, KPL_MAGIC.length).equals(KPL_MAGIC);
}

/** Splits a KPL-aggregated payload into its user records. Throws AggregationFormatError on a corrupt payload. */
export function deaggregate(data: Buffer): UserRecord[] {
  const body = data.subarray(KPL_MAGIC.length, data.length - MD5_BYTES);
  const digest = data.subarray(data.length - MD5_BYTES);
  if (!createHash('md5').update(body).digest().equals(digest)) {
    throw new AggregationFormatError('KPL aggregated record has a wrong MD5 checksum');
  }
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const raw: Array<{ pk: number; ehk?: number; data: Buffer }> = [];
  const reader = new ProtoReader(body);
  while (!reader.done()) {
    const { field, wireType } = reader.tag();
    if (field === 1 && wireType === 2) partitionKeys.push(reader.bytes().toString('utf8'));
    else if (field === 2 && wireType === 2) hashKeys.push(reader.bytes().toString('utf8'));
    else if (field === 3 && wireType === 2) raw.push(readInnerRecord(reader.bytes()));
    else reader.skip(wireType);
  }
  // The KPL never writes an empty aggregate; yielding no user record would make the Kinesis record vanish uncounted.
  if (raw.length === 0) throw new AggregationFormatError('KPL aggregated record holds no user record');
  return raw.map((r, i) => {
    const partitionKey = partitionKeys[r.pk];
    if (partitionKey === undefined) {
      throw new AggregationFormatError(`record ${i} points to missing partition key ${r.pk}`);
    }
    const explicitHashKey = r.ehk === undefined ? undefined : hashKeys[r.ehk];
    return { partitionKey, explicitHashKey, data: r.data };
  });
}

/** Builds a KPL-aggregated payload from user records (the producer side). */
export function aggregate(records: readonly UserRecord[]): Buffer {
  const pkIndex = new Map<string, number>();
  const ehkIndex = new Map<string, number>();
  const parts: Buffer[] = [];
  const indexOf = (map: Map<string, number>, key: string, field: number) => {
    let idx = map.get(key);
    if (idx === undefined) {
      idx = map.size;
      map.set(key, idx);
      parts.push(lengthDelimited(field, Buffer.from(key, 'utf8')));
    }
    return idx;
  };
  const recordParts: Buffer[] = [];
  for (const r of records) {
    const pk = indexOf(pkIndex, r.partitionKey, 1);
    const ehk = r.explicitHashKey === undefined ? undefined : indexOf(ehkIndex, r.explicitHashKey, 2);
    const inner = [varintField(1, pk)];
    if (ehk !== undefined) inner.push(varintField(2, ehk));
    inner.push(lengthDelimited(3, r.data));
    recordParts.push(lengthDelimited(3, Buffer.concat(inner)));
  }
  const body = Buffer.concat([...parts, ...recordParts]);
  return Buffer.concat([KPL_MAGIC, body, createHash('md5').update(body).digest()]);
}

function readInnerRecord(buf: Buffer): { pk: number; ehk?: number; data: Buffer } {
  const reader = new ProtoReader(buf);
  let pk: number | undefined;
  let ehk: number | undefined;
  let data: Buffer | undefined;
  while (!reader.done()) {
    const { field, wireType } = reader.tag();
    if (field === 1 && wireType === 0) pk = reader.varint();
    else if (field === 2 && wireType === 0) ehk = reader.varint();
    else if (field === 3 && wireType === 2) data = reader.bytes();
    else reader.skip(wireType);
  }
  if (pk === undefined || data === undefined) {
    throw new AggregationFormatError('aggregated record lacks partition_key_index or data');
  }
  return { pk, ehk, data };
}

class ProtoReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  tag(): { field: number; wireType: number } {
    const v = this.varint();
    return { field: Math.floor(v / 8), wireType: v & 7 };
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new AggregationFormatError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new AggregationFormatError('varint too long');
    }
  }
  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new AggregationFormatError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new AggregationFormatError(`unsupported wire type ${wireType}`);
  }
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([encodeVarint(field * 8), encodeVarint(value)]);
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeVarint(field * 8 + 2), encodeVarint(payload.length), payload]);
}
