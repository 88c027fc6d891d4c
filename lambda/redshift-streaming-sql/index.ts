import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  DescribeStatementResponse,
  ExecuteStatementCommand,
  RedshiftDataClient,
  SqlParameter,
} from '@aws-sdk/client-redshift-data';
import { GetNamespaceCommand, RedshiftServerlessClient } from '@aws-sdk/client-redshift-serverless';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import {
  createExternalSchemaSql,
  createMaterializedViewStatements,
  dropExternalSchemaSql,
  dropMaterializedViewSql,
  MaterializedViewSpec,
  SCHEMA_EXISTS_SQL,
  validateObjectName,
  validateRoleArn,
  validateStreamName,
  VIEW_SCHEMA,
} from './sql';
import { type CustomResourceResponse, sendResponse } from '../shared/cloudformation-response';

export { type CustomResourceResponse, sendResponse };

// CloudFormation custom resource behind RedshiftStreamingIngestion, two resource kinds on one function:
// - ExternalSchema: CREATE EXTERNAL SCHEMA ... FROM KINESIS. Owned only when it did not exist before the Create
//   (IF NOT EXISTS adopts an existing one, which Delete then leaves alone).
// - MaterializedView: the streaming view over one stream. Always created by the resource (CREATE fails on an
//   existing view), so it is never an adopted object.
// The physical id names the object and says whether this resource owns it. A changed name or target is a new object
// with a new id, and CloudFormation's Delete of the old id drops the old one; a changed definition under the same
// name is redone in place under the same id.

const logger = new Logger({ serviceName: 'redshift-streaming-sql' });

export type Kind = 'ExternalSchema' | 'MaterializedView';

/** Where statements run: a Redshift Serverless workgroup's database, with a secret or the caller's IAM identity. */
export interface Target {
  readonly workgroupName: string;
  readonly database: string;
  /** Secrets Manager secret with `username` and `password`. Absent: IAM temporary credentials (GetCredentials). */
  readonly secretArn?: string;
}

export interface SchemaRequest extends Target {
  readonly kind: 'ExternalSchema';
  readonly schemaName: string;
  readonly roleArn: string;
}

export interface ViewRequest extends Target, MaterializedViewSpec {
  readonly kind: 'MaterializedView';
}

export type Request = SchemaRequest | ViewRequest;

/** What a physical id records: the object, its target, and whether this resource created it. */
export interface Owned {
  readonly kind: Kind;
  readonly workgroupName: string;
  readonly database: string;
  /** The schema name, or the view name (in `public`). */
  readonly name: string;
  readonly owned: boolean;
}

const PREFIX: Record<Kind, string> = {
  ExternalSchema: 'redshift-external-schema',
  MaterializedView: 'redshift-materialized-view',
};

/** `<prefix>:<workgroup>/<database>/<name>#owned|#not-owned`, each part URI-encoded. */
export function physicalIdOf(o: Owned): string {
  const parts = [o.workgroupName, o.database, o.name].map(encodeURIComponent).join('/');
  return `${PREFIX[o.kind]}:${parts}#${o.owned ? 'owned' : 'not-owned'}`;
}

/** The inverse of `physicalIdOf`; undefined for an id this handler did not write. */
export function parsePhysicalId(id: string): Owned | undefined {
  const m =
    /^(redshift-external-schema|redshift-materialized-view):([^/#]+)\/([^/#]+)\/([^/#]+)#(owned|not-owned)$/.exec(id);
  if (!m) return undefined;
  const kind = (Object.keys(PREFIX) as Kind[]).find((k) => PREFIX[k] === m[1])!;
  return {
    kind,
    workgroupName: decodeURIComponent(m[2]),
    database: decodeURIComponent(m[3]),
    name: decodeURIComponent(m[4]),
    owned: m[5] === 'owned',
  };
}

/**
 * The secret the statements run with: `SecretArn` when given; else, with `NamespaceName`, the admin secret Redshift
 * manages for that namespace (`ManageAdminPassword`), which CloudFormation does not return; else none (IAM).
 */
export async function resolveSecretArn(
  deps: SqlDependencies,
  properties: Record<string, unknown>,
): Promise<string | undefined> {
  if (typeof properties.SecretArn === 'string' && properties.SecretArn !== '') return properties.SecretArn;
  if (typeof properties.NamespaceName !== 'string' || properties.NamespaceName === '') return undefined;
  const out = await deps.serverless.send(new GetNamespaceCommand({ namespaceName: properties.NamespaceName }));
  const arn = out.namespace?.adminPasswordSecretArn;
  if (!arn) throw new Error(`namespace ${properties.NamespaceName} has no Redshift-managed admin secret`);
  return arn;
}

function required(properties: Record<string, unknown>, key: string): string {
  const value = properties[key];
  if (typeof value !== 'string' || value === '') throw new Error(`${key} is missing`);
  return value;
}

/** Validates the resource properties (CloudFormation passes every value as a string). */
export function parseRequest(properties: Record<string, unknown>): Request {
  const target: Target = {
    workgroupName: required(properties, 'WorkgroupName'),
    database: required(properties, 'Database'),
    secretArn:
      typeof properties.SecretArn === 'string' && properties.SecretArn !== '' ? properties.SecretArn : undefined,
  };
  const kind = properties.Kind;
  const schemaName = required(properties, 'SchemaName');
  validateObjectName('SchemaName', schemaName);
  if (kind === 'ExternalSchema') {
    const roleArn = required(properties, 'RoleArn');
    validateRoleArn(roleArn);
    return { ...target, kind, schemaName, roleArn };
  }
  if (kind === 'MaterializedView') {
    const viewName = required(properties, 'ViewName');
    validateObjectName('ViewName', viewName);
    const streamName = required(properties, 'StreamName');
    validateStreamName(streamName);
    return { ...target, kind, viewName, schemaName, streamName, jsonOnly: String(properties.JsonOnly) !== 'false' };
  }
  throw new Error(`Kind must be ExternalSchema or MaterializedView, got '${String(kind)}'`);
}

function nameOf(r: Request): string {
  return r.kind === 'ExternalSchema' ? r.schemaName : r.viewName;
}

/** Same object: same kind, workgroup, database and name. */
function sameObject(r: Request, o: Owned): boolean {
  return r.kind === o.kind && r.workgroupName === o.workgroupName && r.database === o.database && nameOf(r) === o.name;
}

export interface SqlDependencies {
  readonly data: RedshiftDataClient;
  /** Reads a namespace's Redshift-managed admin secret (CloudFormation has no attribute for it). */
  readonly serverless: RedshiftServerlessClient;
  /** Time between two DescribeStatement calls. */
  readonly pollIntervalMs: number;
}

/** Runs statements in one session and waits until they finished; throws with Redshift's error when they did not. */
export class StatementRunner {
  constructor(
    private readonly deps: SqlDependencies,
    private readonly target: Target,
    /** Epoch ms by which every statement must have finished. */
    private readonly deadline: number,
  ) {}

  /** One statement with ExecuteStatement, several with BatchExecuteStatement (one transaction). */
  async run(sqls: string[], parameters?: SqlParameter[]): Promise<DescribeStatementResponse> {
    const common = {
      WorkgroupName: this.target.workgroupName,
      Database: this.target.database,
      SecretArn: this.target.secretArn,
      StatementName: 'cdk-streaming-patterns-redshift-streaming',
    };
    const started =
      sqls.length === 1
        ? await this.deps.data.send(new ExecuteStatementCommand({ ...common, Sql: sqls[0], Parameters: parameters }))
        : await this.deps.data.send(new BatchExecuteStatementCommand({ ...common, Sqls: sqls }));
    const id = started.Id!;
    for (;;) {
      const statement = await this.deps.data.send(new DescribeStatementCommand({ Id: id }));
      if (statement.Status === 'FINISHED') return statement;
      if (statement.Status === 'FAILED' || statement.Status === 'ABORTED') {
        throw new SqlError(
          `${statement.Status}: ${statement.Error ?? 'no error given'} (statement ${id}: ${sqls.join(' ')})`,
        );
      }
      if (Date.now() + this.deps.pollIntervalMs > this.deadline) {
        throw new Error(`statement ${id} was still ${statement.Status} at the deadline: ${sqls.join(' ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.deps.pollIntervalMs));
    }
  }

  /** Runs a DROP ... IF EXISTS; an object already gone (also its schema or database) is no error. */
  async drop(sql: string): Promise<void> {
    try {
      await this.run([sql]);
    } catch (error) {
      if (error instanceof SqlError && /does not exist/i.test(error.message)) {
        logger.info('Already gone', { sql });
        return;
      }
      throw error;
    }
  }
}

/** A statement Redshift ran and refused. */
export class SqlError extends Error {}

async function schemaExists(runner: StatementRunner, schemaName: string): Promise<boolean> {
  const result = await runner.run([SCHEMA_EXISTS_SQL], [{ name: 'name', value: schemaName }]);
  return (result.ResultRows ?? 0) > 0;
}

/** What a Create or a replacing Update left behind; `owned` as far as it got, also when it failed. */
interface Progress {
  owned: boolean;
}

async function create(runner: StatementRunner, request: Request, progress: Progress): Promise<void> {
  if (request.kind === 'ExternalSchema') {
    const existed = await schemaExists(runner, request.schemaName);
    await runner.run([createExternalSchemaSql(request.schemaName, request.roleArn)]);
    progress.owned = !existed;
    return;
  }
  await runner.run(createMaterializedViewStatements(request));
  progress.owned = true;
}

/** Redoes a changed definition under the same name (only what this resource owns). */
async function redo(runner: StatementRunner, request: Request, old: Request, owned: Owned): Promise<void> {
  if (request.kind === 'ExternalSchema') {
    const before = old as SchemaRequest;
    if (before.roleArn === request.roleArn) return;
    if (!owned.owned) {
      throw new Error(
        `schema ${request.schemaName} existed before this stack and is not changed by it: give it a new schemaName to use another IAM role`,
      );
    }
    await runner.drop(dropExternalSchemaSql(request.schemaName));
    await runner.run([createExternalSchemaSql(request.schemaName, request.roleArn)]);
    return;
  }
  const before = old as ViewRequest;
  const unchanged =
    before.schemaName === request.schemaName &&
    before.streamName === request.streamName &&
    before.jsonOnly === request.jsonOnly;
  // Only the credentials changed, say: the view stays as it is, with the records it holds.
  if (unchanged) return;
  await runner.drop(dropMaterializedViewSql(request.viewName));
  await runner.run(createMaterializedViewStatements(request));
}

async function remove(runner: StatementRunner, owned: Owned): Promise<void> {
  if (!owned.owned) return;
  await runner.drop(
    owned.kind === 'ExternalSchema' ? dropExternalSchemaSql(owned.name) : dropMaterializedViewSql(owned.name),
  );
}

/** Builds the Lambda handler; tests pass a client pointed at a local server. */
export function createHandler(deps: SqlDependencies) {
  return async (event: CloudFormationCustomResourceEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    // Leave time to answer CloudFormation before Lambda's own timeout.
    const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 840_000) - 30_000;
    const base = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
    const progress: Progress = { owned: false };
    let request: Request | undefined;
    try {
      if (event.RequestType === 'Delete') {
        const owned = parsePhysicalId(event.PhysicalResourceId);
        // An id this handler did not write (a Create that failed before making anything): nothing to undo.
        if (owned) {
          const secretArn = await resolveSecretArn(deps, event.ResourceProperties);
          const runner = new StatementRunner(deps, { ...owned, secretArn }, deadline);
          await remove(runner, owned);
        }
        await sendResponse(event.ResponseURL, {
          ...base,
          PhysicalResourceId: event.PhysicalResourceId,
          Status: 'SUCCESS',
          Reason: owned?.owned ? `Dropped ${owned.name}` : 'Nothing owned to drop',
        });
        return;
      }
      request = parseRequest(event.ResourceProperties);
      const runner = new StatementRunner(
        deps,
        { ...request, secretArn: await resolveSecretArn(deps, event.ResourceProperties) },
        deadline,
      );
      const previous = event.RequestType === 'Update' ? parsePhysicalId(event.PhysicalResourceId) : undefined;
      let physicalId: string;
      if (event.RequestType === 'Update' && previous && sameObject(request, previous)) {
        await redo(runner, request, parseRequest(event.OldResourceProperties), previous);
        physicalId = event.PhysicalResourceId;
      } else {
        // A new object (Create, or a changed name or target): a new id; the old one's Delete drops the old object.
        await create(runner, request, progress);
        physicalId = idOf(request, progress.owned);
      }
      await sendResponse(event.ResponseURL, {
        ...base,
        PhysicalResourceId: physicalId,
        Status: 'SUCCESS',
        Reason: `${event.RequestType} of ${nameOf(request)} done`,
        Data:
          request.kind === 'ExternalSchema'
            ? { SchemaName: request.schemaName }
            : { ViewName: `${VIEW_SCHEMA}.${request.viewName}` },
      });
    } catch (error) {
      logger.error('Redshift statement failed', { error: String(error) });
      // A failed Create answers with an id that owns only what it made: CloudFormation deletes that id on rollback.
      // A failed Update keeps the id it had; CloudFormation rolls back with the old properties.
      const physicalId =
        event.RequestType !== 'Create'
          ? event.PhysicalResourceId
          : request && progress.owned
            ? idOf(request, true)
            : `failed-create:${event.RequestId}`;
      await sendResponse(event.ResponseURL, {
        ...base,
        PhysicalResourceId: physicalId,
        Status: 'FAILED',
        Reason: String((error as Error).message ?? error).slice(0, 1000),
      });
    }
  };
}

function idOf(request: Request, owned: boolean): string {
  return physicalIdOf({ ...request, name: nameOf(request), owned });
}

export const handler = createHandler({
  data: new RedshiftDataClient({}),
  serverless: new RedshiftServerlessClient({}),
  pollIntervalMs: 1_000,
});
