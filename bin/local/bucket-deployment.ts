import * as fs from 'fs';
import * as path from 'path';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { AssemblyStack, LocalResolver, TemplateResource, assetPath, resourcesOfType } from './assembly';

/**
 * Applies the `Custom::CDKBucketDeployment` resources of a stack (aws-cdk-lib's `s3deploy.BucketDeployment`) to the
 * local S3 server, as its handler would on a deployment: each of `SourceObjectKeys` names an asset of the assembly
 * (a `.zip`, or the directory `cdk synth` staged for a directory asset); its files, with the markers of
 * `Source.data`/`Source.jsonData`/`Source.yamlData` (`<<marker:0xbaba:N>>`) replaced by their `SourceMarkers`
 * values resolved for the local resources (encoded by `SourceMarkersConfig` as the handler does), are uploaded to
 * `DestinationBucketName` under `DestinationBucketKeyPrefix`. `Extract: false` uploads the zip itself; `Prune`
 * deletes other objects under the prefix; `Exclude`/`Include` filters, `UserMetadata` and the content headers of
 * `SystemMetadata` are honoured. CloudFront invalidation and `SignContent` are ignored.
 */

export interface AppliedBucketDeployment {
  readonly logicalId: string;
  readonly bucket: string;
  /** Object keys written, sorted. */
  readonly keys: string[];
  /** Object keys deleted by `Prune`, sorted. */
  readonly pruned: string[];
}

interface File {
  /** Path relative to the source root, with `/`. */
  readonly name: string;
  readonly read: () => Buffer;
}

/** Applies every `Custom::CDKBucketDeployment` of a stack, in template order. */
export async function applyBucketDeployments(
  stack: AssemblyStack,
  resolver: LocalResolver,
  s3: S3Client,
): Promise<AppliedBucketDeployment[]> {
  const out: AppliedBucketDeployment[] = [];
  for (const [logicalId, resource] of resourcesOfType(stack, 'Custom::CDKBucketDeployment')) {
    out.push(await applyBucketDeployment(stack, logicalId, resource, resolver, s3));
  }
  return out;
}

export async function applyBucketDeployment(
  stack: AssemblyStack,
  logicalId: string,
  resource: TemplateResource,
  resolver: LocalResolver,
  s3: S3Client,
): Promise<AppliedBucketDeployment> {
  const p = resource.Properties ?? {};
  const what = `${stack.name}/${logicalId}`;
  const keys = (p.SourceObjectKeys ?? []) as unknown[];
  const markers = (resolver.resolve(p.SourceMarkers ?? []) as Array<Record<string, unknown>>) ?? [];
  const markersConfig = (resolver.resolve(p.SourceMarkersConfig ?? []) as Array<Record<string, unknown>>) ?? [];
  if (markers.length > keys.length) {
    throw new Error(`${what}: more SourceMarkers (${markers.length}) than SourceObjectKeys (${keys.length})`);
  }
  const bucket = resolver.string(p.DestinationBucketName, `${what} DestinationBucketName`);
  let prefix =
    p.DestinationBucketKeyPrefix === undefined
      ? ''
      : resolver.string(p.DestinationBucketKeyPrefix, `${what} DestinationBucketKeyPrefix`);
  if (prefix === '/') prefix = '';
  // `aws s3 sync dir s3://bucket/prefix` writes `prefix/name`.
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  const extract = String(resolver.resolve(p.Extract ?? 'true')) === 'true';
  const prune = String(resolver.resolve(p.Prune ?? 'true')).toLowerCase() === 'true';
  const exclude = (resolver.resolve(p.Exclude ?? []) as string[]) ?? [];
  const include = (resolver.resolve(p.Include ?? []) as string[]) ?? [];
  const headers = objectHeaders(
    (resolver.resolve(p.UserMetadata ?? {}) as Record<string, string>) ?? {},
    (resolver.resolve(p.SystemMetadata ?? {}) as Record<string, string>) ?? {},
  );

  // Later sources overwrite earlier ones' files of the same name, as they are extracted into one directory.
  const contents = new Map<string, Buffer>();
  keys.forEach((key, i) => {
    const source = assetPath(stack, key);
    if (!extract) {
      contents.set(path.basename(String(key)), fs.readFileSync(source));
      return;
    }
    for (const file of sourceFiles(source)) {
      contents.set(file.name, replaceMarkers(file.read(), markers[i] ?? {}, markersConfig[i] ?? {}, what));
    }
  });

  const written: string[] = [];
  for (const [name, body] of [...contents].sort(([a], [b]) => a.localeCompare(b))) {
    if (!included(name, exclude, include)) continue;
    const key = `${prefix}${name}`;
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType(name), ...headers }),
    );
    written.push(key);
  }

  const pruned: string[] = [];
  if (prune) {
    const keep = new Set(written);
    let token: string | undefined;
    do {
      const list = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
      );
      for (const o of list.Contents ?? []) {
        const name = o.Key!.slice(prefix.length);
        // `aws s3 sync --delete` leaves excluded files alone.
        if (!keep.has(o.Key!) && included(name, exclude, include)) pruned.push(o.Key!);
      }
      token = list.IsTruncated ? list.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < pruned.length; i += 1000) {
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: pruned.slice(i, i + 1000).map((Key) => ({ Key })) },
        }),
      );
    }
  }
  return { logicalId, bucket, keys: written, pruned: pruned.sort() };
}

/** The files of a zip asset, or of the directory `cdk synth` staged for a directory asset. */
function sourceFiles(source: string): File[] {
  if (fs.statSync(source).isDirectory()) {
    const files: File[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) {
          files.push({
            name: path.relative(source, full).split(path.sep).join('/'),
            read: () => fs.readFileSync(full),
          });
        }
      }
    };
    walk(source);
    return files;
  }
  const entries = unzipSync(new Uint8Array(fs.readFileSync(source)));
  return Object.entries(entries)
    .filter(([name]) => !name.endsWith('/'))
    .map(([name, data]) => ({ name, read: () => Buffer.from(data) }));
}

/** Replaces the markers in a file as the handler does (byte-wise, every occurrence). */
export function replaceMarkers(
  content: Buffer,
  markers: Record<string, unknown>,
  config: Record<string, unknown>,
  what = 'bucket deployment',
): Buffer {
  const entries = Object.entries(markers);
  if (entries.length === 0) return content;
  let text = content.toString('latin1');
  for (const [marker, value] of entries) {
    const replacement = Buffer.from(encodeMarker(marker, value, config, what), 'utf8').toString('latin1');
    text = text.split(Buffer.from(marker, 'utf8').toString('latin1')).join(replacement);
  }
  return Buffer.from(text, 'latin1');
}

const SAFE_PLAIN_YAML = /^[A-Za-z][A-Za-z0-9._-]*$/;
const YAML_RESERVED = new Set(['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off', 'null']);

function encodeMarker(marker: string, value: unknown, config: Record<string, unknown>, what: string): string {
  const jsonEscape = String(config.jsonEscape ?? 'false').toLowerCase() === 'true';
  const encodings = (config.markerEncodings ?? {}) as Record<string, string>;
  const encoding = encodings[marker] ?? (jsonEscape ? 'UNQUOTED_JSON_VALUE' : 'LITERAL');
  switch (encoding) {
    case 'LITERAL':
      if (typeof value !== 'string')
        throw new Error(`${what}: marker ${marker} must resolve to a string for LITERAL, got ${JSON.stringify(value)}`);
      return value;
    case 'UNQUOTED_JSON_VALUE': {
      const serialized = pythonJson(value);
      return serialized.startsWith('"') && serialized.endsWith('"') ? serialized.slice(1, -1) : serialized;
    }
    case 'JSON_VALUE':
      return pythonJson(value);
    case 'YAML_STRING':
      if (typeof value !== 'string')
        throw new Error(
          `${what}: marker ${marker} must resolve to a string for YAML_STRING, got ${JSON.stringify(value)}`,
        );
      return SAFE_PLAIN_YAML.test(value) && !YAML_RESERVED.has(value.toLowerCase()) ? value : pythonJson(value);
    default:
      throw new Error(`${what}: unknown marker encoding ${encoding}`);
  }
}

/** Python's `json.dumps` (ensure_ascii, `, ` and `: ` separators), which the handler uses. */
function pythonJson(value: unknown): string {
  const ascii = (s: string) =>
    s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const dump = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return ascii(JSON.stringify(v));
    if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(dump).join(', ')}]`;
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${ascii(JSON.stringify(k))}: ${dump(x)}`)
      .join(', ')}}`;
  };
  return dump(value);
}

/** aws-cli's filters: every `--exclude`/`--include` in order, the last match wins (exclude then include here). */
function included(name: string, exclude: string[], include: string[]): boolean {
  let keep = true;
  for (const pattern of exclude) if (glob(pattern).test(name)) keep = false;
  for (const pattern of include) if (glob(pattern).test(name)) keep = true;
  return keep;
}

/** fnmatch: `*` matches anything (including `/`), `?` one character. */
function glob(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** `aws s3 sync` guesses the content type from the extension (Python's mimetypes). */
function contentType(name: string): string | undefined {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.htm': 'text/html',
    '.css': 'text/css',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.json': 'application/json',
    '.txt': 'text/plain',
    '.csv': 'text/csv',
    '.xml': 'application/xml',
    '.yaml': 'application/yaml',
    '.yml': 'application/yaml',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
    '.zip': 'application/zip',
  };
  return types[path.extname(name).toLowerCase()];
}

/** PutObject headers of the deployment's metadata (`x-amz-meta-*` and the content headers). */
function objectHeaders(user: Record<string, string>, system: Record<string, string>) {
  const headers: {
    Metadata?: Record<string, string>;
    ContentType?: string;
    CacheControl?: string;
    ContentDisposition?: string;
    ContentEncoding?: string;
    ContentLanguage?: string;
  } = {};
  if (Object.keys(user).length > 0) headers.Metadata = user;
  for (const [k, v] of Object.entries(system)) {
    switch (k.toLowerCase()) {
      case 'content-type':
        headers.ContentType = v;
        break;
      case 'cache-control':
        headers.CacheControl = v;
        break;
      case 'content-disposition':
        headers.ContentDisposition = v;
        break;
      case 'content-encoding':
        headers.ContentEncoding = v;
        break;
      case 'content-language':
        headers.ContentLanguage = v;
        break;
    }
  }
  return headers;
}
