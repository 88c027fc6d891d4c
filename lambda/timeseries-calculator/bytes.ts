/**
 * Byte-level writer and reader for the compact window state (state-codec.ts): unsigned LEB128 varints of any safe
 * integer, zigzag for signed ones, raw little-endian doubles, and strings. The writer reuses one growing buffer per
 * container, so serializing the state allocates nothing per device or metric; only the final base64 text is new.
 */
export class ByteWriter {
  private buf: Buffer;
  private view: DataView;
  length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written so far, as base64 (the only copy made). */
  toBase64(): string {
    return this.buf.toString('base64', 0, this.length);
  }

  /** The bytes written so far (a view on the reused buffer, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  u8(v: number): void {
    if (this.length + 1 > this.buf.length) this.grow(1);
    this.buf[this.length++] = v;
  }

  /** A non-negative safe integer. */
  varint(v: number): void {
    if (this.length + 8 > this.buf.length) this.grow(8);
    const b = this.buf;
    let n = this.length;
    // Bitwise below 2^31, arithmetic above (up to 2^53: 8 bytes of 7 bits).
    while (v >= 0x80000000) {
      b[n++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      b[n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[n++] = v;
    this.length = n;
  }

  /** An integer of magnitude below 2^52 (zigzag: 0, -1, 1, -2, ... as 0, 1, 2, 3, ...; sketch bucket indices). */
  zigzag(v: number): void {
    if (!(Number.isInteger(v) && Math.abs(v) < 2 ** 52)) throw new Error(`zigzag needs |v| < 2^52, got ${v}`);
    this.varint(v < 0 ? -2 * v - 1 : 2 * v);
  }

  f64(v: number): void {
    if (this.length + 8 > this.buf.length) this.grow(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /**
   * A string: varint(bytes * 2) then its UTF-8 when it is well-formed (every string the telemetry contract lets in),
   * else varint(units * 2 + 1) then its UTF-16 code units, so a lone surrogate survives too.
   */
  string(s: string): void {
    if (isWellFormed(s)) {
      const max = s.length * 3;
      if (this.length + 8 + max > this.buf.length) this.grow(8 + max);
      // Short ASCII strings (device ids, metric names) are the common case: copy them without the encoder.
      let ascii = s.length <= 64;
      for (let i = 0; ascii && i < s.length; i++) ascii = s.charCodeAt(i) < 0x80;
      if (ascii) {
        this.varint(s.length * 2);
        for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
        return;
      }
      const n = Buffer.byteLength(s, 'utf8');
      this.varint(n * 2);
      this.length += this.buf.write(s, this.length, 'utf8');
      return;
    }
    this.varint(s.length * 2 + 1);
    if (this.length + 2 * s.length > this.buf.length) this.grow(2 * s.length);
    for (let i = 0; i < s.length; i++) {
      this.view.setUint16(this.length, s.charCodeAt(i), true);
      this.length += 2;
    }
  }

  /**
   * The 16 bytes of `id` when it is a canonical lowercase UUID (8-4-4-4-12 digits of 0-9a-f), checked while parsing
   * (a regular expression cost more than the rest of the state's event ids); false, writing nothing, otherwise.
   */
  uuid(id: string): boolean {
    if (id.length !== 36) return false;
    if (this.length + 16 > this.buf.length) this.grow(16);
    const b = this.buf;
    let n = this.length;
    for (let i = 0; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (id.charCodeAt(i) !== 0x2d) return false;
        i++;
      }
      const hi = hexValue(id.charCodeAt(i));
      const lo = hexValue(id.charCodeAt(i + 1));
      if ((hi | lo) < 0) return false;
      b[n++] = (hi << 4) | lo;
    }
    this.length = n;
    return true;
  }

  private grow(extra: number): void {
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

// ES2024, in every Node this package supports (>= 20); not in the ES2022 lib the project compiles against.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Thrown for bytes that are not a state this codec wrote (truncated, corrupted). */
export class StateFormatError extends Error {}

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  u8(): number {
    if (this.offset >= this.buf.length) throw new StateFormatError('window state is truncated');
    return this.buf[this.offset++];
  }

  varint(): number {
    const b = this.buf;
    let n = this.offset;
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (n >= b.length) throw new StateFormatError('window state is truncated');
      if (i > 7) throw new StateFormatError('window state holds a varint longer than 8 bytes');
      const byte = b[n++];
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
    }
    this.offset = n;
    if (!Number.isSafeInteger(v)) throw new StateFormatError(`window state holds an integer beyond 2^53: ${v}`);
    return v;
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  f64(): number {
    if (this.offset + 8 > this.buf.length) throw new StateFormatError('window state is truncated');
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  string(): string {
    const head = this.varint();
    const n = Math.floor(head / 2);
    if (head % 2 === 0) {
      if (this.offset + n > this.buf.length) throw new StateFormatError('window state is truncated');
      const s = this.buf.toString('utf8', this.offset, this.offset + n);
      this.offset += n;
      return s;
    }
    if (this.offset + 2 * n > this.buf.length) throw new StateFormatError('window state is truncated');
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.view.getUint16(this.offset + 2 * i, true));
    this.offset += 2 * n;
    return s;
  }

  /** A canonical lowercase UUID from its 16 bytes. */
  uuid(): string {
    if (this.offset + 16 > this.buf.length) throw new StateFormatError('window state is truncated');
    const b = this.buf;
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX_PAIRS[b[this.offset + i]];
    }
    this.offset += 16;
    return s;
  }
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 0..15 for 0-9 and a-f, -1 for anything else. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Bytes of `varint(v)`. */
export function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/**
 * A double, exactly, in few bytes when it is a short decimal (sensor readings: 21.37, 1013.2): varint(zigzag(m) * 8 +
 * d) for x = m / 10^d with d in 0..6 and |m| < 2^46, else the tag 7 and the raw double. -0 and non-finite values take
 * the raw path, so every double (NaN's bits aside) reads back as itself.
 */
export function writeNumber(w: ByteWriter, x: number): void {
  if (x !== 0 || !Object.is(x, -0)) {
    for (let d = 0; d < POW10.length; d++) {
      const p = POW10[d];
      const m = Math.round(x * p);
      if (m / p === x && Math.abs(m) < 2 ** 46) {
        w.varint((m < 0 ? -2 * m - 1 : 2 * m) * 8 + d);
        return;
      }
      // A double that is not a short decimal fails every d: stop early once x * p has no integer part left to gain.
      if (!(Math.abs(x * p) < 2 ** 46)) break;
    }
  }
  w.varint(7);
  w.f64(x);
}

export function readNumber(r: ByteReader): number {
  const v = r.varint();
  const d = v % 8;
  if (d === 7) {
    if (v !== 7) throw new StateFormatError(`window state holds a bad number tag ${v}`);
    return r.f64();
  }
  const z = (v - d) / 8;
  const m = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  return m / POW10[d];
}
