// The SQL behind RedshiftStreamingIngestion, as pure functions: what the custom resource runs through the Redshift
// Data API. Every identifier is double-quoted and every literal single-quoted here, never concatenated elsewhere.

/** Redshift's limit on identifiers, in bytes of UTF-8. */
export const MAX_IDENTIFIER_BYTES = 127;

/** The local schema the materialized view is created in. */
export const VIEW_SCHEMA = 'public';

/**
 * Schema and view names: Redshift's standard identifiers in lower case (letters, digits, `_`, `$`; not starting with
 * a digit or `$`). Redshift folds unquoted names to lower case, and quoted ones too unless
 * `enable_case_sensitive_identifier` is on, so an upper-case name would mean two different objects depending on a
 * session setting; lower case means one.
 */
const OBJECT_NAME = /^[a-z_][a-z0-9_$]*$/;

/** Kinesis stream names: 1-128 of letters, digits, `_`, `.`, `-` (Redshift allows only 127 of them). */
const STREAM_NAME = /^[a-zA-Z0-9_.-]+$/;

/** An IAM role ARN in any partition; the role name allows `+=,.@_-` and paths. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * A delimited identifier: `"` + the name with each `"` doubled + `"`. Throws for what Redshift cannot hold in one:
 * an empty name, more than 127 bytes, or a non-printable character (controls, and NUL, which ends a C string).
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new Error('an identifier must not be empty');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new Error(`an identifier must be at most ${MAX_IDENTIFIER_BYTES} bytes, got ${bytes}: '${name}'`);
  }
  // Lone surrogates (Cs) have no UTF-8 form: the server would receive U+FFFD instead.
  if (/[\p{Cc}\p{Cs}\p{Cn}\u2028\u2029]/u.test(name)) {
    throw new Error(`an identifier must hold printable characters only, got ${JSON.stringify(name)}`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal: `'` + the value with each `'` doubled + `'`. Redshift also reads a backslash in a literal as an
 * escape, so a backslash is doubled too; control characters are refused rather than escaped.
 */
export function quoteLiteral(value: string): string {
  if (/[\p{Cc}\p{Cs}]/u.test(value)) {
    throw new Error(`a literal must hold printable characters only, got ${JSON.stringify(value)}`);
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Throws unless `value` is a lower-case standard identifier of at most 127 bytes. */
export function validateObjectName(what: string, value: string): void {
  if (!OBJECT_NAME.test(value) || value.length > MAX_IDENTIFIER_BYTES) {
    throw new Error(
      `${what} must be 1-${MAX_IDENTIFIER_BYTES} lower-case letters, digits, '_' or '$', starting with a letter or '_', got '${value}'`,
    );
  }
}

/** Throws unless `value` is a Kinesis stream name Redshift can reference (at most 127 characters). */
export function validateStreamName(value: string): void {
  if (!STREAM_NAME.test(value) || value.length > MAX_IDENTIFIER_BYTES) {
    throw new Error(
      `the stream name must be 1-${MAX_IDENTIFIER_BYTES} letters, digits, '_', '.' or '-' (Redshift's identifier limit), got '${value}'`,
    );
  }
}

/** Throws unless `value` is an IAM role ARN. */
export function validateRoleArn(value: string): void {
  if (!ROLE_ARN.test(value)) throw new Error(`IAM_ROLE must be an IAM role ARN, got '${value}'`);
}

/**
 * Whether the stream name needs `enable_case_sensitive_identifier` in the session that creates the view: Redshift
 * folds even a quoted `"Orders"` to `orders` without it, and finds no such stream.
 */
export function needsCaseSensitiveIdentifiers(streamName: string): boolean {
  return streamName !== streamName.toLowerCase();
}

export const ENABLE_CASE_SENSITIVE_IDENTIFIERS = 'SET enable_case_sensitive_identifier TO true;';

/** `CREATE EXTERNAL SCHEMA IF NOT EXISTS "<schema>" FROM KINESIS IAM_ROLE '<arn>';` */
export function createExternalSchemaSql(schemaName: string, roleArn: string): string {
  validateObjectName('schemaName', schemaName);
  validateRoleArn(roleArn);
  return `CREATE EXTERNAL SCHEMA IF NOT EXISTS ${quoteIdentifier(schemaName)} FROM KINESIS IAM_ROLE ${quoteLiteral(roleArn)};`;
}

/** `DROP SCHEMA IF EXISTS "<schema>";` (RESTRICT, the default: it never drops what other objects need). */
export function dropExternalSchemaSql(schemaName: string): string {
  validateObjectName('schemaName', schemaName);
  return `DROP SCHEMA IF EXISTS ${quoteIdentifier(schemaName)};`;
}

/** What the streaming materialized view reads and how. */
export interface MaterializedViewSpec {
  readonly viewName: string;
  readonly schemaName: string;
  readonly streamName: string;
  /** Keep only records whose data parses as JSON (`WHERE CAN_JSON_PARSE(kinesis_data)`). */
  readonly jsonOnly: boolean;
}

/** The view's qualified name, `"public"."<view>"`. */
export function qualifiedViewName(viewName: string): string {
  validateObjectName('viewName', viewName);
  return `${quoteIdentifier(VIEW_SCHEMA)}.${quoteIdentifier(viewName)}`;
}

/**
 * `CREATE MATERIALIZED VIEW ... AUTO REFRESH YES AS SELECT <record metadata>, JSON_PARSE(kinesis_data) AS payload
 * FROM "<schema>"."<stream>"`. Redshift has no `IF NOT EXISTS` here: creating a view that exists fails, which is what
 * keeps the custom resource from taking over a view it did not create.
 */
export function createMaterializedViewSql(spec: MaterializedViewSpec): string {
  validateObjectName('schemaName', spec.schemaName);
  validateStreamName(spec.streamName);
  const source = `${quoteIdentifier(spec.schemaName)}.${quoteIdentifier(spec.streamName)}`;
  return [
    `CREATE MATERIALIZED VIEW ${qualifiedViewName(spec.viewName)} AUTO REFRESH YES AS`,
    'SELECT approximate_arrival_timestamp, partition_key, shard_id, sequence_number, JSON_PARSE(kinesis_data) AS payload',
    `FROM ${source}${spec.jsonOnly ? ' WHERE CAN_JSON_PARSE(kinesis_data)' : ''};`,
  ].join(' ');
}

/**
 * The statements that create the view, in one session: the case-sensitivity setting first when the stream name
 * needs it.
 */
export function createMaterializedViewStatements(spec: MaterializedViewSpec): string[] {
  const create = createMaterializedViewSql(spec);
  return needsCaseSensitiveIdentifiers(spec.streamName) ? [ENABLE_CASE_SENSITIVE_IDENTIFIERS, create] : [create];
}

/** `DROP MATERIALIZED VIEW IF EXISTS "public"."<view>";` */
export function dropMaterializedViewSql(viewName: string): string {
  return `DROP MATERIALIZED VIEW IF EXISTS ${qualifiedViewName(viewName)};`;
}

/** A query returning one row when a schema (external or local) of that name exists; parameter `:name`. */
export const SCHEMA_EXISTS_SQL = 'SELECT 1 FROM pg_namespace WHERE nspname = :name;';
