import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  Shard,
  _Record,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { deaggregate, isAggregated } from '../../lambda/shared/kpl';
import { AssemblyStack, LocalResolver, TemplateResource, resourcesOfType, streamNameFromArn } from './assembly';

/**
 * A local Amazon Data Firehose delivery stream with a Kinesis data stream as its source and an S3 bucket (s3rver) as
 * its destination, built from the `AWS::KinesisFirehose::DeliveryStream` of a synthesized template.
 *
 * What it does as Firehose does:
 * - reads every shard of the source stream from TRIM_HORIZON, children of a resharded shard only after their
 *   parents are read to their end;
 * - buffers records across shards and delivers one object when the buffered input reaches `SizeInMBs` or when
 *   `IntervalInSeconds` has passed since the buffer's first record (`bufferIntervalSeconds` overrides it locally);
 * - writes the records' bytes concatenated, no delimiter added, unless the destination's `ProcessingConfiguration`
 *   has an `AppendDelimiterToRecord` processor (the JSON archive has one, so its objects are NDJSON);
 * - names objects `<evaluated Prefix><stream name>-1-yyyy-MM-dd-HH-mm-ss-<uuid><extension>`, the prefix's
 *   `!{timestamp:...}` expressions and the suffix's time taken in UTC from the approximate arrival time of the
 *   oldest record in the object; with no Prefix the default `yyyy/MM/dd/HH/`;
 * - `CompressionFormat` GZIP gzips objects (`.gz`), `FileExtension` is honoured;
 * - with `DataFormatConversionConfiguration` (OpenX JSON SerDe in, Parquet SerDe out), converts each JSON record
 *   to a row of the `AWS::Glue::Table` the schema configuration names in the same template, and writes a Parquet
 *   file (hyparquet-writer, SNAPPY or UNCOMPRESSED as configured); records that do not convert are written to the
 *   `ErrorOutputPrefix` (`!{firehose:error-output-type}` = `format-conversion-failed`) as Firehose's error JSON
 *   documents, one per line.
 *
 * Differences from Firehose: `timestamp` columns are INT64 TIMESTAMP_MILLIS (Firehose's Parquet SerDe writes
 * INT96); `decimal`, `char`/`varchar` lengths and `uniontype` are not converted (the table is rejected); no
 * Lambda processors, dynamic partitioning, KMS encryption or CloudWatch logging; the stream version is always 1;
 * nothing is checkpointed, so a new instance reads the stream again from TRIM_HORIZON.
 */

/** What `metrics()` reports. */
export interface LocalFirehoseMetrics {
  /** User records read (a KPL aggregate counts as its user records). */
  readonly recordsRead: number;
  /** Records written to the destination prefix (converted ones, with data format conversion). */
  readonly recordsDelivered: number;
  /** Objects written, data and error objects together. */
  readonly objectsWritten: number;
  readonly bytesDelivered: number;
  /** Records that failed data format conversion (written under the error prefix). */
  readonly conversionFailures: number;
  /** Records currently buffered. */
  readonly buffered: number;
  /** By shard id: records read, `MillisBehindLatest` of its last GetRecords, and whether it is read to its end. */
  readonly shards: Record<string, { recordsRead: number; millisBehindLatest: number; finished: boolean }>;
}

/** What a delivery stream runs against; `config`, or `stack` + `logicalId` + `resolver`, name the stream. */
export interface LocalFirehoseOptions {
  /** The stack of the `AWS::KinesisFirehose::DeliveryStream` (with `logicalId` and `resolver`). */
  readonly stack?: AssemblyStack;
  readonly logicalId?: string;
  readonly resolver?: LocalResolver;
  /** An already resolved configuration (instead of `stack`, `logicalId`, `resolver`). */
  readonly config?: DeliveryStreamConfig;
  readonly kinesis: KinesisClient;
  /** A client of the local S3 server (s3rver: `forcePathStyle: true`). */
  readonly s3: S3Client;
  /** Overrides the template's `BufferingHints.IntervalInSeconds` (local runs use a few seconds). */
  readonly bufferIntervalSeconds?: number;
  /** Overrides the template's `BufferingHints.SizeInMBs`, in bytes (tests). */
  readonly bufferSizeBytes?: number;
  /** Pause between GetRecords calls of a shard that returned nothing. @default 200 */
  readonly pollIntervalMs?: number;
  /** Called when reading or a delivery fails (the records stay buffered and are retried). @default - `log` */
  readonly onError?: (error: Error) => void;
  /** Progress lines (objects written, failures). @default - silent */
  readonly log?: (line: string) => void;
}

/** One column of the Glue table, with its Hive type parsed. */
export interface GlueColumn {
  readonly name: string;
  readonly type: HiveType;
}

export type HiveType =
  | { readonly kind: 'primitive'; readonly name: string }
  | { readonly kind: 'array'; readonly element: HiveType }
  | { readonly kind: 'map'; readonly key: HiveType; readonly value: HiveType }
  | { readonly kind: 'struct'; readonly fields: ReadonlyArray<{ readonly name: string; readonly type: HiveType }> };

interface BufferedRecord {
  readonly data: Buffer;
  readonly arrival: number;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
}

interface ShardState {
  readonly shard: Shard;
  iterator?: string;
  finished: boolean;
  recordsRead: number;
  millisBehindLatest: number;
  nextPoll: number;
}

interface Conversion {
  readonly columns: GlueColumn[];
  /** Column name to JSON key (OpenX SerDe `ColumnToJsonKeyMappings`). */
  readonly mappings: Record<string, string>;
  readonly caseInsensitive: boolean;
  readonly dotsToUnderscores: boolean;
  readonly codec: 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP';
  readonly table: { catalogId: string; databaseName: string; tableName: string; region: string };
}

/** The resolved configuration of one delivery stream. */
export interface DeliveryStreamConfig {
  readonly logicalId: string;
  readonly name: string;
  readonly streamName: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly errorOutputPrefix?: string;
  readonly intervalSeconds: number;
  readonly sizeBytes: number;
  readonly compression: string;
  readonly fileExtension?: string;
  /** Appended to every record (AppendDelimiterToRecord), if any. */
  readonly delimiter?: string;
  readonly conversion?: Conversion;
}

const DEFAULT_PREFIX = '!{timestamp:yyyy/MM/dd/HH}/';
const MIB = 1024 * 1024;

/** Every delivery stream of a stack with a Kinesis source, ready to `start()`. */
export function localFirehoses(
  stack: AssemblyStack,
  resolver: LocalResolver,
  options: Omit<LocalFirehoseOptions, 'stack' | 'logicalId' | 'resolver' | 'config'>,
): LocalFirehose[] {
  return resourcesOfType(stack, 'AWS::KinesisFirehose::DeliveryStream').map(
    ([logicalId]) => new LocalFirehose({ ...options, stack, logicalId, resolver }),
  );
}

/** Resolves a delivery stream's template properties (and its Glue table, with data format conversion). */
export function deliveryStreamConfig(
  stack: AssemblyStack,
  logicalId: string,
  resource: TemplateResource,
  resolver: LocalResolver,
): DeliveryStreamConfig {
  const p = resource.Properties ?? {};
  const what = `${stack.name}/${logicalId}`;
  if (p.DeliveryStreamType !== 'KinesisStreamAsSource') {
    throw new Error(
      `${what}: only DeliveryStreamType KinesisStreamAsSource runs locally, got ${String(p.DeliveryStreamType)}`,
    );
  }
  const source = p.KinesisStreamSourceConfiguration as Record<string, unknown> | undefined;
  const raw = p.ExtendedS3DestinationConfiguration as Record<string, unknown> | undefined;
  if (!source || !raw)
    throw new Error(`${what}: needs KinesisStreamSourceConfiguration and ExtendedS3DestinationConfiguration`);
  const d = resolver.resolve(raw) as Record<string, unknown>;
  const streamName = streamNameFromArn(resolver.string(source.KinesisStreamARN, `${what} KinesisStreamARN`));
  const bucketArn = String(d.BucketARN);
  const bucket = bucketArn.replace(/^arn:[^:]+:s3:::/, '');
  const hints = (d.BufferingHints ?? {}) as { IntervalInSeconds?: number; SizeInMBs?: number };
  const conversionRaw = raw.DataFormatConversionConfiguration as Record<string, unknown> | undefined;
  const conversion =
    conversionRaw && resolver.resolve(conversionRaw.Enabled ?? true) !== false
      ? conversionOf(stack, what, conversionRaw, resolver)
      : undefined;
  const processing = d.ProcessingConfiguration as
    | {
        Enabled?: boolean;
        Processors?: Array<{ Type: string; Parameters?: Array<{ ParameterName: string; ParameterValue: string }> }>;
      }
    | undefined;
  let delimiter: string | undefined;
  if (processing && processing.Enabled !== false) {
    for (const processor of processing.Processors ?? []) {
      if (processor.Type !== 'AppendDelimiterToRecord') {
        throw new Error(`${what}: processor ${processor.Type} is not supported locally`);
      }
      const value = processor.Parameters?.find((x) => x.ParameterName === 'Delimiter')?.ParameterValue ?? '\\n';
      delimiter = unescapeDelimiter(value);
    }
  }
  const explicitName = d.DeliveryStreamName ?? p.DeliveryStreamName;
  return {
    logicalId,
    // `Ref` of a delivery stream is its name: the template's, or the local generated one.
    name: typeof explicitName === 'string' ? explicitName : String(resolver.ref(logicalId)),
    streamName,
    bucket,
    prefix: typeof d.Prefix === 'string' ? d.Prefix : undefined,
    errorOutputPrefix: typeof d.ErrorOutputPrefix === 'string' ? d.ErrorOutputPrefix : undefined,
    intervalSeconds: Number(hints.IntervalInSeconds ?? 300),
    sizeBytes: Number(hints.SizeInMBs ?? 5) * MIB,
    compression: conversion ? 'UNCOMPRESSED' : String(d.CompressionFormat ?? 'UNCOMPRESSED'),
    fileExtension: typeof d.FileExtension === 'string' ? d.FileExtension : undefined,
    delimiter,
    conversion,
  };
}

/** Firehose's delimiter parameter is JSON-escaped (`\n`, `\t`, ...). */
function unescapeDelimiter(value: string): string {
  try {
    return JSON.parse(`"${value.replace(/"/g, '\\"')}"`) as string;
  } catch {
    return value;
  }
}

function conversionOf(
  stack: AssemblyStack,
  what: string,
  raw: Record<string, unknown>,
  resolver: LocalResolver,
): Conversion {
  const input =
    (raw.InputFormatConfiguration as { Deserializer?: Record<string, unknown> } | undefined)?.Deserializer ?? {};
  const output =
    (raw.OutputFormatConfiguration as { Serializer?: Record<string, unknown> } | undefined)?.Serializer ?? {};
  if (!('OpenXJsonSerDe' in input)) {
    throw new Error(`${what}: only the OpenXJsonSerDe deserializer runs locally, got ${Object.keys(input).join(', ')}`);
  }
  if (!('ParquetSerDe' in output)) {
    throw new Error(`${what}: only the ParquetSerDe serializer runs locally, got ${Object.keys(output).join(', ')}`);
  }
  const openx = (resolver.resolve(input.OpenXJsonSerDe) ?? {}) as {
    ColumnToJsonKeyMappings?: Record<string, string>;
    CaseInsensitive?: boolean;
    ConvertDotsInJsonKeysToUnderscores?: boolean;
  };
  const parquet = (resolver.resolve(output.ParquetSerDe) ?? {}) as { Compression?: string };
  const schema = (raw.SchemaConfiguration ?? {}) as Record<string, unknown>;
  const table = glueTable(stack, what, schema, resolver);
  const codec = (parquet.Compression ?? 'SNAPPY') as Conversion['codec'];
  if (!['SNAPPY', 'UNCOMPRESSED', 'GZIP'].includes(codec))
    throw new Error(`${what}: Parquet compression ${codec} is not supported`);
  return {
    columns: table.columns,
    mappings: Object.fromEntries(
      Object.entries(openx.ColumnToJsonKeyMappings ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    ),
    caseInsensitive: openx.CaseInsensitive !== false,
    dotsToUnderscores: openx.ConvertDotsInJsonKeysToUnderscores === true,
    codec,
    table: {
      catalogId: String(resolver.resolve(schema.CatalogId) ?? '000000000000'),
      databaseName: table.databaseName,
      tableName: table.tableName,
      region: String(resolver.resolve(schema.Region) ?? 'us-east-1'),
    },
  };
}

/**
 * The columns of the `AWS::Glue::Table` a schema configuration names: `TableName` is a `Ref` to a table of the same
 * template (or its `TableInput.Name`). Partition keys are not columns of the Parquet files (they are in the key).
 */
function glueTable(
  stack: AssemblyStack,
  what: string,
  schema: Record<string, unknown>,
  resolver: LocalResolver,
): { columns: GlueColumn[]; databaseName: string; tableName: string } {
  const tables = resourcesOfType(stack, 'AWS::Glue::Table');
  const ref = (schema.TableName as { Ref?: string } | undefined)?.Ref;
  let found = ref ? tables.find(([id]) => id === ref) : undefined;
  if (!found && typeof schema.TableName === 'string') {
    found = tables.find(
      ([, t]) => (t.Properties?.TableInput as { Name?: unknown } | undefined)?.Name === schema.TableName,
    );
  }
  if (!found)
    throw new Error(
      `${what}: SchemaConfiguration.TableName ${JSON.stringify(schema.TableName)} is no AWS::Glue::Table of ${stack.name}`,
    );
  const [tableId, tableResource] = found;
  const input = (tableResource.Properties?.TableInput ?? {}) as {
    Name?: string;
    StorageDescriptor?: { Columns?: Array<{ Name: string; Type: string }> };
  };
  const columns = (input.StorageDescriptor?.Columns ?? []).map((c) => ({
    name: c.Name.toLowerCase(),
    type: parseHiveType(c.Type),
  }));
  if (columns.length === 0) throw new Error(`${what}: Glue table ${tableId} has no columns`);
  const dbRef = (schema.DatabaseName as { Ref?: string } | undefined)?.Ref;
  const db = dbRef ? stack.template.Resources[dbRef] : undefined;
  const dbName = (db?.Properties?.DatabaseInput as { Name?: unknown } | undefined)?.Name;
  return {
    columns,
    databaseName: typeof dbName === 'string' ? dbName : String(resolver.resolve(schema.DatabaseName)),
    tableName: input.Name ?? tableId,
  };
}

const PRIMITIVES = new Set([
  'string',
  'int',
  'integer',
  'bigint',
  'smallint',
  'tinyint',
  'double',
  'float',
  'boolean',
  'timestamp',
  'date',
  'binary',
]);

/** Parses a Hive type (`map<string,double>`, `array<struct<a:int,b:string>>`, ...). */
export function parseHiveType(text: string): HiveType {
  let i = 0;
  const s = text.replace(/\s+/g, '').toLowerCase();
  const ident = () => {
    const m = /^[a-z_][a-z0-9_]*/.exec(s.slice(i));
    if (!m) throw new Error(`bad Hive type ${text} at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const expect = (c: string) => {
    if (s[i] !== c) throw new Error(`bad Hive type ${text}: expected '${c}' at ${i}`);
    i++;
  };
  const type = (): HiveType => {
    const name = ident();
    if (name === 'array') {
      expect('<');
      const element = type();
      expect('>');
      return { kind: 'array', element };
    }
    if (name === 'map') {
      expect('<');
      const key = type();
      expect(',');
      const value = type();
      expect('>');
      return { kind: 'map', key, value };
    }
    if (name === 'struct') {
      expect('<');
      const fields: Array<{ name: string; type: HiveType }> = [];
      while (s[i] !== '>') {
        const fieldName = ident();
        expect(':');
        fields.push({ name: fieldName, type: type() });
        if (s[i] === ',') i++;
      }
      expect('>');
      return { kind: 'struct', fields };
    }
    if (!PRIMITIVES.has(name)) throw new Error(`Hive type ${name} (in ${text}) is not supported locally`);
    return { kind: 'primitive', name };
  };
  const t = type();
  if (i !== s.length) throw new Error(`bad Hive type ${text}: trailing ${s.slice(i)}`);
  return t;
}

/** A record that does not fit the schema. */
class ConversionError extends Error {}

/** Converts one parsed JSON value to a column value of `type`, as the OpenX JSON SerDe would read it. */
function convertValue(value: unknown, type: HiveType, where: string, conversion: Conversion): unknown {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    throw new ConversionError(`${where}: cannot convert ${JSON.stringify(value)} to ${typeName(type)}`);
  };
  switch (type.kind) {
    case 'array':
      if (!Array.isArray(value)) fail();
      return (value as unknown[]).map((v, n) => convertValue(v, type.element, `${where}[${n}]`, conversion));
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) fail();
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [
          convertValue(k, type.key, `${where} key`, conversion),
          convertValue(v, type.value, `${where}.${k}`, conversion),
        ]),
      );
    }
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) fail();
      const o = value as Record<string, unknown>;
      return Object.fromEntries(
        type.fields.map((f) => [
          f.name,
          convertValue(lookup(o, f.name, conversion), f.type, `${where}.${f.name}`, conversion),
        ]),
      );
    }
  }
  switch (type.name) {
    case 'string':
      if (typeof value === 'object') return JSON.stringify(value);
      return String(value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return fail();
    case 'double':
    case 'float': {
      const n =
        typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (Number.isNaN(n)) fail();
      return n;
    }
    case 'int':
    case 'integer':
    case 'smallint':
    case 'tinyint': {
      const n = integer(value) ?? fail();
      const bits = type.name === 'tinyint' ? 8 : type.name === 'smallint' ? 16 : 32;
      if (n < -(2n ** BigInt(bits - 1)) || n >= 2n ** BigInt(bits - 1)) fail();
      return Number(n);
    }
    case 'bigint': {
      const n = integer(value) ?? fail();
      if (n < -(2n ** 63n) || n >= 2n ** 63n) fail();
      return n;
    }
    case 'timestamp': {
      const ms = typeof value === 'number' ? (value < 1e11 ? value * 1000 : value) : Date.parse(String(value));
      if (typeof ms !== 'number' || Number.isNaN(ms)) fail();
      return BigInt(Math.round(ms));
    }
    case 'date': {
      const ms = Date.parse(String(value));
      if (Number.isNaN(ms)) fail();
      return Math.floor(ms / 86400000);
    }
    case 'binary':
      return Buffer.from(String(value), 'base64');
  }
  return fail();
}

function integer(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return undefined;
}

function typeName(t: HiveType): string {
  switch (t.kind) {
    case 'primitive':
      return t.name;
    case 'array':
      return `array<${typeName(t.element)}>`;
    case 'map':
      return `map<${typeName(t.key)},${typeName(t.value)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}:${typeName(f.type)}`).join(',')}>`;
  }
}

/** The value of column `name` in a JSON object: its mapped key, case-insensitively by default. */
function lookup(o: Record<string, unknown>, name: string, conversion: Conversion): unknown {
  const key = conversion.mappings[name] ?? name;
  if (key in o) return o[key];
  for (const [k, v] of Object.entries(o)) {
    const normalized = conversion.dotsToUnderscores ? k.replace(/\./g, '_') : k;
    if (normalized === key || (conversion.caseInsensitive && normalized.toLowerCase() === key.toLowerCase())) return v;
  }
  return undefined;
}

/** One JSON record as a row of the table; throws `ConversionError` when it does not convert. */
export function convertRecord(data: Buffer, conversion: Conversion): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new ConversionError(`malformed JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConversionError('the record is not a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  return Object.fromEntries(
    conversion.columns.map((c) => [c.name, convertValue(lookup(o, c.name, conversion), c.type, c.name, conversion)]),
  );
}

// ---- Parquet -----------------------------------------------------------------------------------------------------

/** The parts of hyparquet-writer and hyparquet used here (both are ES modules: loaded through an esbuild bundle). */
export interface ParquetLib {
  readonly writer: {
    parquetWriteBuffer(options: {
      columnData: Array<{ name: string; data: unknown[] }>;
      schema: Array<Record<string, unknown>>;
      codec?: string;
      compressors?: Record<string, (input: Uint8Array) => Uint8Array>;
    }): ArrayBuffer;
  };
  readonly reader: {
    parquetReadObjects(options: {
      file: ArrayBuffer;
      compressors?: Record<string, unknown>;
    }): Promise<Array<Record<string, unknown>>>;
    parquetMetadata(file: ArrayBuffer): {
      schema: Array<Record<string, unknown>>;
      row_groups: Array<{ columns: Array<{ meta_data?: { codec: string; path_in_schema: string[] } }> }>;
    };
  };
}

let parquetLib: ParquetLib | undefined;

/**
 * hyparquet-writer (and its reader, hyparquet) as CommonJS: they ship only as ES modules, which neither ts-node's
 * CommonJS nor jest can `require` on Node 20, so they are bundled once per process with esbuild (a dependency).
 */
export function loadParquet(): ParquetLib {
  if (parquetLib) return parquetLib;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const root = path.resolve(__dirname, '..', '..');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'local-firehose-parquet-')), 'hyparquet.cjs');
  esbuild.buildSync({
    stdin: {
      contents: "export * as writer from 'hyparquet-writer'; export * as reader from 'hyparquet';",
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    logLevel: 'error',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  parquetLib = require(out) as ParquetLib;
  return parquetLib;
}

/** The Parquet schema elements (flattened, depth-first) of a column, as Hive's Parquet SerDe lays them out. */
function schemaElements(name: string, type: HiveType, repetition = 'OPTIONAL'): Array<Record<string, unknown>> {
  switch (type.kind) {
    case 'primitive':
      return [{ name, repetition_type: repetition, ...primitiveElement(type.name) }];
    case 'array':
      return [
        { name, repetition_type: repetition, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...schemaElements('element', type.element),
      ];
    case 'map':
      return [
        { name, repetition_type: repetition, converted_type: 'MAP', num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        ...schemaElements('key', type.key, 'REQUIRED'),
        ...schemaElements('value', type.value),
      ];
    case 'struct':
      return [
        { name, repetition_type: repetition, num_children: type.fields.length },
        ...type.fields.flatMap((f) => schemaElements(f.name, f.type)),
      ];
  }
}

function primitiveElement(name: string): Record<string, unknown> {
  switch (name) {
    case 'string':
      return { type: 'BYTE_ARRAY', converted_type: 'UTF8' };
    case 'binary':
      return { type: 'BYTE_ARRAY' };
    case 'boolean':
      return { type: 'BOOLEAN' };
    case 'double':
      return { type: 'DOUBLE' };
    case 'float':
      return { type: 'FLOAT' };
    case 'bigint':
      return { type: 'INT64' };
    case 'tinyint':
      return { type: 'INT32', converted_type: 'INT_8' };
    case 'smallint':
      return { type: 'INT32', converted_type: 'INT_16' };
    case 'timestamp':
      return { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' };
    case 'date':
      return { type: 'INT32', converted_type: 'DATE' };
    default:
      return { type: 'INT32' };
  }
}

/** A Parquet file of converted rows. */
export function writeParquet(rows: Array<Record<string, unknown>>, conversion: Conversion): Buffer {
  const lib = loadParquet();
  const schema = [
    { name: 'hive_schema', num_children: conversion.columns.length },
    ...conversion.columns.flatMap((c) => schemaElements(c.name, c.type)),
  ];
  const gzip = (input: Uint8Array) => new Uint8Array(gzipSync(input));
  const buffer = lib.writer.parquetWriteBuffer({
    schema,
    codec: conversion.codec,
    compressors: conversion.codec === 'GZIP' ? { GZIP: gzip } : undefined,
    columnData: conversion.columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name]) })),
  });
  return Buffer.from(buffer);
}

// ---- Keys --------------------------------------------------------------------------------------------------------

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A Java DateTimeFormatter pattern (y, M, d, H, m, s, S and 'quoted' text) of a UTC time. */
export function formatTimestamp(pattern: string, epochMs: number): string {
  const t = new Date(epochMs);
  const fields: Record<string, (count: number) => string> = {
    y: (c) => (c === 2 ? pad(t.getUTCFullYear() % 100) : pad(t.getUTCFullYear(), c)),
    M: (c) => pad(t.getUTCMonth() + 1, c),
    d: (c) => pad(t.getUTCDate(), c),
    H: (c) => pad(t.getUTCHours(), c),
    m: (c) => pad(t.getUTCMinutes(), c),
    s: (c) => pad(t.getUTCSeconds(), c),
    S: (c) => pad(t.getUTCMilliseconds(), 3).slice(0, c).padEnd(c, '0'),
  };
  let out = '';
  for (let i = 0; i < pattern.length;) {
    const ch = pattern[i];
    if (ch === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === i + 1) out += "'";
      else out += pattern.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? pattern.length : end + 1;
      continue;
    }
    let count = 1;
    while (pattern[i + count] === ch) count++;
    const field = fields[ch];
    if (field) out += field(count);
    else if (/[A-Za-z]/.test(ch))
      throw new Error(`timestamp pattern letter ${ch} (in ${pattern}) is not supported locally`);
    else out += ch.repeat(count);
    i += count;
  }
  return out;
}

/** Evaluates a Firehose prefix's `!{timestamp:...}`, `!{firehose:random-string}` and `!{firehose:error-output-type}`. */
export function evaluatePrefix(prefix: string, epochMs: number, errorOutputType?: string): string {
  return prefix.replace(/!\{([a-zA-Z]+):([^}]*)\}/g, (match, namespace: string, value: string) => {
    if (namespace === 'timestamp') return formatTimestamp(value, epochMs);
    if (namespace === 'firehose' && value === 'random-string') return randomBytes(8).toString('base64url').slice(0, 11);
    if (namespace === 'firehose' && value === 'error-output-type') {
      if (!errorOutputType) throw new Error(`${match} can only be used in ErrorOutputPrefix`);
      return errorOutputType;
    }
    throw new Error(`prefix expression ${match} is not supported locally`);
  });
}

/** `<stream name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>`. */
function objectSuffix(name: string, epochMs: number, extension: string): string {
  return `${name}-1-${formatTimestamp('yyyy-MM-dd-HH-mm-ss', epochMs)}-${randomUUID()}${extension}`;
}

// ---- The delivery stream -----------------------------------------------------------------------------------------

export class LocalFirehose {
  private readonly shards = new Map<string, ShardState>();
  private buffer: BufferedRecord[] = [];
  private bufferedBytes = 0;
  private bufferStarted = 0;
  private running = false;
  private loop?: Promise<void>;
  private delivering: Promise<void> = Promise.resolve();
  private nextListShards = 0;
  private readonly counters = {
    recordsRead: 0,
    recordsDelivered: 0,
    objectsWritten: 0,
    bytesDelivered: 0,
    conversionFailures: 0,
  };
  private readonly intervalMs: number;
  private readonly sizeBytes: number;
  private wake?: () => void;

  public readonly config: DeliveryStreamConfig;

  constructor(private readonly options: LocalFirehoseOptions) {
    this.config = options.config ?? LocalFirehose.configOf(options);
    this.intervalMs = (options.bufferIntervalSeconds ?? this.config.intervalSeconds) * 1000;
    this.sizeBytes = options.bufferSizeBytes ?? this.config.sizeBytes;
  }

  private static configOf(options: LocalFirehoseOptions): DeliveryStreamConfig {
    const { stack, logicalId, resolver } = options;
    if (!stack || !logicalId || !resolver)
      throw new Error('LocalFirehose needs config, or stack, logicalId and resolver');
    const resource = stack.template.Resources[logicalId];
    if (resource?.Type !== 'AWS::KinesisFirehose::DeliveryStream') {
      throw new Error(`${stack.name} has no AWS::KinesisFirehose::DeliveryStream ${logicalId}`);
    }
    return deliveryStreamConfig(stack, logicalId, resource, resolver);
  }

  /**
   * Starts reading the source stream (from TRIM_HORIZON) in the background; resolves once its shards are listed
   * (rejects if the stream does not exist).
   */
  public async start(): Promise<void> {
    if (this.running) return;
    await this.listShards();
    this.running = true;
    this.loop = this.run();
  }

  /** Delivers what is buffered now (nothing if the buffer is empty). */
  public async flush(): Promise<void> {
    await this.deliver();
  }

  /** Stops reading and delivers what is buffered. */
  public async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.deliver();
  }

  public metrics(): LocalFirehoseMetrics {
    return {
      ...this.counters,
      buffered: this.buffer.length,
      shards: Object.fromEntries(
        [...this.shards].map(([id, s]) => [
          id,
          { recordsRead: s.recordsRead, millisBehindLatest: s.millisBehindLatest, finished: s.finished },
        ]),
      ),
    };
  }

  private async run(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 200;
    while (this.running) {
      try {
        if (Date.now() >= this.nextListShards) await this.listShards();
        let readAny = false;
        for (const state of this.readable()) {
          if (!this.running) break;
          if (Date.now() < state.nextPoll) continue;
          readAny = (await this.read(state)) || readAny;
        }
        if (this.buffer.length > 0 && Date.now() - this.bufferStarted >= this.intervalMs) await this.deliver();
        if (!readAny) await this.sleep(Math.min(poll, this.intervalMs || poll));
      } catch (e) {
        this.failed(e as Error);
        await this.sleep(poll);
      }
    }
  }

  private failed(error: Error): void {
    if (this.options.onError) this.options.onError(error);
    else this.options.log?.(`${this.config.name}: ${error.message} (retrying)`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async listShards(): Promise<void> {
    let token: string | undefined;
    do {
      const res = await this.options.kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.config.streamName }),
      );
      for (const shard of res.Shards ?? []) {
        if (!this.shards.has(shard.ShardId!)) {
          this.shards.set(shard.ShardId!, {
            shard,
            finished: false,
            recordsRead: 0,
            millisBehindLatest: 0,
            nextPoll: 0,
          });
        }
      }
      token = res.NextToken;
    } while (token);
    this.nextListShards = Date.now() + 5000;
  }

  /** Shards not read to their end whose parents are (a parent unknown to ListShards expired: it does not block). */
  private readable(): ShardState[] {
    const done = (id: string | undefined) => !id || !this.shards.has(id) || this.shards.get(id)!.finished;
    return [...this.shards.values()].filter(
      (s) => !s.finished && done(s.shard.ParentShardId) && done(s.shard.AdjacentParentShardId),
    );
  }

  /** One GetRecords of a shard; true when it returned records. */
  private async read(state: ShardState): Promise<boolean> {
    if (!state.iterator) {
      const it = await this.options.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: this.config.streamName,
          ShardId: state.shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      state.iterator = it.ShardIterator;
    }
    const res = await this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: 10000 }));
    state.iterator = res.NextShardIterator;
    state.millisBehindLatest = res.MillisBehindLatest ?? 0;
    if (!state.iterator) {
      state.finished = true;
      this.nextListShards = 0;
    }
    const records = res.Records ?? [];
    for (const r of records) await this.add(r);
    state.recordsRead += records.length;
    if (records.length === 0) state.nextPoll = Date.now() + (this.options.pollIntervalMs ?? 200);
    return records.length > 0;
  }

  /** Buffers one Kinesis record: its user records when the KPL aggregated it (Firehose de-aggregates them). */
  private async add(r: _Record): Promise<void> {
    const raw = Buffer.from(r.Data ?? new Uint8Array());
    const arrival = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
    let users: Buffer[] = [raw];
    if (isAggregated(raw)) {
      try {
        users = deaggregate(raw).map((u) => u.data);
      } catch {
        // A corrupt aggregate is delivered as it is.
      }
    }
    for (const [subSequenceNumber, data] of users.entries()) {
      if (this.buffer.length === 0) this.bufferStarted = Date.now();
      this.buffer.push({ data, arrival, sequenceNumber: r.SequenceNumber!, subSequenceNumber });
      this.bufferedBytes += data.length;
      this.counters.recordsRead++;
      if (this.bufferedBytes >= this.sizeBytes) await this.deliver();
    }
  }

  /** Writes the buffer as one object (plus one error object for records that failed conversion). */
  private deliver(): Promise<void> {
    const run = this.delivering.then(() => this.deliverNow());
    this.delivering = run.catch(() => undefined);
    return run;
  }

  private async deliverNow(): Promise<void> {
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    try {
      await this.write(records);
    } catch (e) {
      // Firehose retries a failed delivery: the records go back to the front of the buffer.
      this.buffer = [...records, ...this.buffer];
      this.bufferedBytes = this.buffer.reduce((n, r) => n + r.data.length, 0);
      this.bufferStarted = Date.now();
      throw e;
    }
  }

  private async write(records: BufferedRecord[]): Promise<void> {
    const c = this.config;
    const oldest = Math.min(...records.map((r) => r.arrival));
    let body: Buffer;
    let delivered = records;
    let extension = c.fileExtension;
    if (c.conversion) {
      const rows: Array<Record<string, unknown>> = [];
      const failed: Array<{ record: BufferedRecord; message: string }> = [];
      delivered = [];
      for (const record of records) {
        try {
          rows.push(convertRecord(record.data, c.conversion));
          delivered.push(record);
        } catch (e) {
          if (!(e instanceof ConversionError)) throw e;
          failed.push({ record, message: e.message });
        }
      }
      if (failed.length > 0) await this.writeErrors(failed, c.conversion);
      if (rows.length === 0) return;
      body = writeParquet(rows, c.conversion);
      extension ??= '';
    } else {
      const delimiter = c.delimiter === undefined ? undefined : Buffer.from(c.delimiter, 'utf8');
      body = Buffer.concat(records.flatMap((r) => (delimiter ? [r.data, delimiter] : [r.data])));
      if (c.compression === 'GZIP') body = gzipSync(body);
      else if (c.compression !== 'UNCOMPRESSED')
        throw new Error(`${c.logicalId}: CompressionFormat ${c.compression} is not supported locally`);
      extension ??= c.compression === 'GZIP' ? '.gz' : '';
    }
    const key = evaluatePrefix(c.prefix ?? DEFAULT_PREFIX, oldest) + objectSuffix(c.name, oldest, extension);
    await this.options.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: body }));
    this.counters.objectsWritten++;
    this.counters.recordsDelivered += delivered.length;
    this.counters.bytesDelivered += body.length;
    this.options.log?.(`${delivered.length} records (${body.length} bytes) to s3://${c.bucket}/${key}`);
  }

  private async writeErrors(
    failed: Array<{ record: BufferedRecord; message: string }>,
    conversion: Conversion,
  ): Promise<void> {
    const c = this.config;
    const type = 'format-conversion-failed';
    const oldest = Math.min(...failed.map((f) => f.record.arrival));
    const prefix = c.errorOutputPrefix ?? `!{firehose:error-output-type}/${DEFAULT_PREFIX}`;
    const now = Date.now();
    const { catalogId, databaseName, tableName, region } = conversion.table;
    const lines = failed.map(({ record, message }) =>
      JSON.stringify({
        attemptsMade: 1,
        arrivalTimestamp: record.arrival,
        ErrorCode: 'DataFormatConversion.MalformedData',
        ErrorMessage: message,
        attemptEndingTimestamp: now,
        rawData: record.data.toString('base64'),
        sequenceNumber: record.sequenceNumber,
        subSequenceNumber: record.subSequenceNumber,
        dataCatalogTable: {
          catalogId,
          databaseName,
          tableName,
          region,
          versionId: 'LATEST',
          catalogArn: `arn:aws:glue:${region}:${catalogId}:catalog`,
        },
      }),
    );
    const key = evaluatePrefix(prefix, oldest, type) + objectSuffix(c.name, oldest, '');
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: Buffer.from(lines.map((l) => `${l}\n`).join('')) }),
    );
    this.counters.objectsWritten++;
    this.counters.conversionFailures += failed.length;
    this.options.log?.(`${failed.length} records failed format conversion: s3://${c.bucket}/${key}`);
  }
}
