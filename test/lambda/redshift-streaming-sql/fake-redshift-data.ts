import { randomUUID } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { Name, parseStatement } from './sql-tokens';

/**
 * The Redshift Data API over real HTTP on 127.0.0.1 (AWS JSON 1.1, `X-Amz-Target: RedshiftData.<Operation>`: the
 * wire protocol the SDK speaks), in front of a small catalog that behaves as Redshift does for the statements the
 * handler sends: it folds identifiers to lower case unless the session enabled case-sensitive identifiers, refuses
 * to create a view that exists or to drop a schema a view reads, and runs a batch as one transaction. Statements go
 * SUBMITTED -> STARTED -> FINISHED or FAILED over successive DescribeStatement calls. Plus CloudFormation's
 * pre-signed response URL. moto's redshift-data keeps every statement STARTED forever and has no
 * BatchExecuteStatement, so it cannot tell a finished statement from a failed one.
 */
export class FakeRedshiftData {
  readonly responses: Array<Record<string, unknown>> = [];
  /** Every statement received, in order, with the target it ran on. */
  readonly log: Array<{ sql: string; workgroup: string; database: string; secretArn?: string }> = [];
  /** Workgroup/database pairs that exist. */
  readonly databases = new Set<string>(['streaming/dev']);
  /** Streams the external schemas can read. */
  readonly streams = new Set<string>(['telemetry', 'Orders-Prod']);
  /** Schemas by `<workgroup>/<database>/<name>`: external ones carry their role. */
  readonly schemas = new Map<string, { roleArn?: string }>();
  /** Views by `<workgroup>/<database>/<schema>.<name>`, with the schema they read. */
  readonly views = new Map<string, { source: string }>();
  /** Namespaces (also served: redshift-serverless GetNamespace) and the admin secret Redshift manages for each. */
  readonly managedSecrets = new Map<string, string>([
    ['streaming-ns', 'arn:aws:secretsmanager:us-east-1:000000000000:secret:redshift!streaming-ns-admin-Q1w2E3'],
  ]);
  /** A statement matching this fails with `failWith`. */
  failMatching?: RegExp;
  failWith = 'ERROR: injected failure';
  /** DescribeStatement calls a statement stays STARTED for. */
  startedPolls = 1;
  url = '';
  private readonly statements = new Map<
    string,
    { polls: number; status: string; error?: string; resultRows: number; sqls: string[] }
  >();
  private server!: http.Server;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const [status, body] = this.route(req.url ?? '/', String(req.headers['x-amz-target'] ?? ''), raw);
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.responses.length = 0;
    this.log.length = 0;
    this.schemas.clear();
    this.views.clear();
    this.failMatching = undefined;
    this.startedPolls = 1;
    for (const db of this.databases) this.schemas.set(`${db}/public`, {});
  }

  private route(url: string, target: string, raw: string): [number, unknown] {
    if (url.startsWith('/cfn-response/')) {
      this.responses.push(JSON.parse(raw));
      return [200, undefined];
    }
    const body = raw ? JSON.parse(raw) : {};
    if (target === 'RedshiftServerless.GetNamespace') {
      const secret = this.managedSecrets.get(body.namespaceName);
      if (secret === undefined) {
        return [400, { __type: 'ResourceNotFoundException', message: `namespace ${body.namespaceName} not found` }];
      }
      return [200, { namespace: { namespaceName: body.namespaceName, adminPasswordSecretArn: secret } }];
    }
    const operation = target.startsWith('RedshiftData.') ? target.slice('RedshiftData.'.length) : '';
    switch (operation) {
      case 'ExecuteStatement':
        return this.submit(body, [body.Sql], body.Parameters ?? []);
      case 'BatchExecuteStatement':
        return this.submit(body, body.Sqls, []);
      case 'DescribeStatement': {
        const s = this.statements.get(body.Id);
        if (!s) return [400, { __type: 'ResourceNotFoundException', message: `Statement ${body.Id} not found` }];
        s.polls++;
        const status = s.polls === 1 ? 'SUBMITTED' : s.polls <= 1 + this.startedPolls ? 'STARTED' : s.status;
        return [
          200,
          {
            Id: body.Id,
            Status: status,
            Error: status === 'FAILED' ? s.error : undefined,
            ResultRows: status === 'FINISHED' ? s.resultRows : -1,
            QueryString: s.sqls.join('; '),
          },
        ];
      }
      default:
        return [400, { __type: 'UnknownOperationException', message: operation }];
    }
  }

  private submit(
    body: { WorkgroupName?: string; Database?: string; SecretArn?: string; ClusterIdentifier?: string },
    sqls: string[],
    parameters: Array<{ name: string; value: string }>,
  ): [number, unknown] {
    if (!body.WorkgroupName || body.ClusterIdentifier || !body.Database) {
      return [400, { __type: 'ValidationException', message: 'WorkgroupName and Database are required' }];
    }
    const db = `${body.WorkgroupName}/${body.Database}`;
    if (!this.databases.has(db)) {
      return [400, { __type: 'ValidationException', message: `workgroup or database ${db} not found` }];
    }
    for (const sql of sqls)
      this.log.push({ sql, workgroup: body.WorkgroupName, database: body.Database, secretArn: body.SecretArn });
    const id = randomUUID();
    const outcome = this.execute(db, sqls, parameters);
    this.statements.set(id, { polls: 0, sqls, ...outcome });
    return [200, { Id: id, WorkgroupName: body.WorkgroupName, Database: body.Database }];
  }

  /** Runs the statements as one transaction: all of their changes or none. */
  private execute(
    db: string,
    sqls: string[],
    parameters: Array<{ name: string; value: string }>,
  ): { status: string; error?: string; resultRows: number } {
    const schemas = new Map(this.schemas);
    const views = new Map(this.views);
    let caseSensitive = false;
    const fold = (n: Name) => (n.quoted && caseSensitive ? n.value : n.value.toLowerCase());
    let resultRows = 0;
    try {
      for (const sql of sqls) {
        if (this.failMatching?.test(sql)) throw new Error(this.failWith);
        const st = parseStatement(sql);
        switch (st.kind) {
          case 'set':
            if (st.name === 'enable_case_sensitive_identifier') caseSensitive = st.value === 'true';
            break;
          case 'schemaExists': {
            const value = parameters.find((p) => p.name === st.parameter)?.value;
            if (value === undefined) throw new Error(`ERROR: parameter :${st.parameter} has no value`);
            resultRows = schemas.has(`${db}/${value}`) ? 1 : 0;
            break;
          }
          case 'createExternalSchema': {
            const key = `${db}/${fold(st.schema)}`;
            if (schemas.has(key)) {
              if (!st.ifNotExists) throw new Error(`ERROR: Schema "${fold(st.schema)}" already exists`);
              break;
            }
            schemas.set(key, { roleArn: st.roleArn });
            break;
          }
          case 'dropSchema': {
            const key = `${db}/${fold(st.schema)}`;
            if (!schemas.has(key)) {
              if (!st.ifExists) throw new Error(`ERROR: Schema "${fold(st.schema)}" does not exist`);
              break;
            }
            if ([...views.values()].some((v) => v.source === key)) {
              throw new Error(`ERROR: cannot drop schema ${fold(st.schema)} because other objects depend on it`);
            }
            schemas.delete(key);
            break;
          }
          case 'createMaterializedView': {
            const [schema, name] = st.view.map(fold);
            if (!schemas.has(`${db}/${schema}`)) throw new Error(`ERROR: schema "${schema}" does not exist`);
            const key = `${db}/${schema}.${name}`;
            if (views.has(key)) throw new Error(`ERROR: relation "${name}" already exists`);
            const [sourceSchema, stream] = st.source.map(fold);
            const source = `${db}/${sourceSchema}`;
            const external = schemas.get(source);
            if (!external?.roleArn) throw new Error(`ERROR: schema "${sourceSchema}" does not exist`);
            if (!this.streams.has(stream)) throw new Error(`ERROR: Stream "${stream}" does not exist.`);
            if (!st.autoRefresh) throw new Error('ERROR: expected AUTO REFRESH YES');
            views.set(key, { source });
            break;
          }
          case 'dropMaterializedView': {
            const [schema, name] = st.view.map(fold);
            const key = `${db}/${schema}.${name}`;
            if (!views.has(key)) {
              if (!st.ifExists) throw new Error(`ERROR: relation "${name}" does not exist`);
              break;
            }
            views.delete(key);
            break;
          }
        }
      }
    } catch (e) {
      return { status: 'FAILED', error: (e as Error).message, resultRows: 0 };
    }
    this.schemas.clear();
    for (const [k, v] of schemas) this.schemas.set(k, v);
    this.views.clear();
    for (const [k, v] of views) this.views.set(k, v);
    return { status: 'FINISHED', resultRows };
  }
}
