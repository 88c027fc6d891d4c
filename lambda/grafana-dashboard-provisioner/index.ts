/**
 * CloudFormation custom resource that provisions data sources and dashboards into an Amazon Managed Grafana
 * workspace, which has no CloudFormation resource for them. Each run creates a short-lived ADMIN service account
 * and token in the workspace, calls the Grafana HTTP API with it, and deletes the service account afterwards.
 */
import {
  CreateWorkspaceServiceAccountCommand,
  CreateWorkspaceServiceAccountTokenCommand,
  DeleteWorkspaceServiceAccountCommand,
  GrafanaClient,
} from '@aws-sdk/client-grafana';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { createObservability } from '../shared/observability';
import { type CustomResourceResponse, sendResponse } from '../shared/cloudformation-response';

export { type CustomResourceResponse, sendResponse };

const { logger } = createObservability(process.env.POWERTOOLS_SERVICE_NAME ?? 'grafana-dashboard-provisioner');

/** A secure field of a data source whose value is read from Secrets Manager at deploy time. */
export interface SecureFieldFromSecret {
  readonly secretArn: string;
  /** Key in the secret's JSON; absent when the whole secret string is the value. */
  readonly jsonKey?: string;
  /** Name of the field in `secureJsonData`, e.g. `token`. */
  readonly field: string;
}

export interface DataSourceSpec {
  readonly uid: string;
  readonly name: string;
  readonly type: string;
  readonly url?: string;
  readonly access?: string;
  readonly isDefault?: boolean;
  readonly jsonData?: Record<string, unknown>;
  readonly secureFields?: SecureFieldFromSecret[];
}

export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly [key: string]: unknown;
}

export interface ProvisioningRequest {
  readonly workspaceId: string;
  /** Base URL of the workspace, e.g. https://g-abc.grafana-workspace.eu-west-1.amazonaws.com */
  readonly baseUrl: string;
  readonly dataSources: DataSourceSpec[];
  readonly dashboards: GrafanaDashboard[];
}

/** A non-2xx answer from the Grafana HTTP API. */
export class GrafanaApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Grafana API ${method} ${path} answered ${status}: ${body.slice(0, 500)}`);
    this.name = 'GrafanaApiError';
  }
}

/** Parses and validates the custom resource properties (CloudFormation passes everything as strings). */
export function parseRequest(properties: Record<string, unknown>): ProvisioningRequest {
  const workspaceId = requireString(properties, 'WorkspaceId');
  if (!/^g-[0-9a-f]{10}$/.test(workspaceId)) {
    throw new Error(`WorkspaceId must look like g-0123456789, got '${workspaceId}'`);
  }
  const endpoint = requireString(properties, 'WorkspaceEndpoint');
  const baseUrl = /^https?:\/\//.test(endpoint) ? endpoint.replace(/\/+$/, '') : `https://${endpoint}`;
  const dataSources = parseJsonArray(properties, 'DataSources') as DataSourceSpec[];
  for (const [i, ds] of dataSources.entries()) {
    for (const key of ['uid', 'name', 'type'] as const) {
      if (typeof ds[key] !== 'string' || ds[key].length === 0) {
        throw new Error(`DataSources[${i}].${key} must be a non-empty string, got ${JSON.stringify(ds[key])}`);
      }
    }
  }
  const dashboards = parseJsonArray(properties, 'Dashboards') as GrafanaDashboard[];
  const uids = new Set<string>();
  for (const [i, d] of dashboards.entries()) {
    if (typeof d !== 'object' || d === null || typeof d.uid !== 'string' || typeof d.title !== 'string') {
      throw new Error(`Dashboards[${i}] must be a dashboard object with a string uid and title`);
    }
    if (uids.has(d.uid)) throw new Error(`Dashboards[${i}] repeats uid '${d.uid}'`);
    uids.add(d.uid);
  }
  return { workspaceId, baseUrl, dataSources, dashboards };
}

function requireString(properties: Record<string, unknown>, key: string): string {
  const value = properties[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error(`${key} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseJsonArray(properties: Record<string, unknown>, key: string): unknown[] {
  const raw = properties[key] ?? '[]';
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch (e) {
    throw new Error(`${key} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${key} must be a JSON array, got ${typeof parsed}`);
  return parsed;
}

/** The part of the Grafana HTTP API the provisioner uses, authenticated with a service account token. */
export class GrafanaHttpApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** Creates the data source, or updates it in place when one with the same uid exists. */
  async upsertDataSource(dataSource: Record<string, unknown> & { uid: string }): Promise<void> {
    const path = `/api/datasources/uid/${encodeURIComponent(dataSource.uid)}`;
    const existing = await this.request('GET', path, undefined, [404]);
    if (existing.status === 404) {
      await this.request('POST', '/api/datasources', dataSource);
    } else {
      const { id } = JSON.parse(existing.body) as { id?: number };
      await this.request('PUT', path, { ...dataSource, id });
    }
  }

  /** Creates or overwrites the dashboard with its uid. */
  async putDashboard(dashboard: GrafanaDashboard, message: string): Promise<void> {
    // id must be null so Grafana matches the dashboard by uid.
    await this.request('POST', '/api/dashboards/db', {
      dashboard: { ...dashboard, id: null },
      overwrite: true,
      message,
    });
  }

  /** Deletes a dashboard; a missing one is not an error. */
  async deleteDashboard(uid: string): Promise<void> {
    await this.request('DELETE', `/api/dashboards/uid/${encodeURIComponent(uid)}`, undefined, [404]);
  }

  /** Deletes a data source; a missing one is not an error. */
  async deleteDataSource(uid: string): Promise<void> {
    await this.request('DELETE', `/api/datasources/uid/${encodeURIComponent(uid)}`, undefined, [404]);
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    tolerated: number[] = [],
  ): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (!response.ok && !tolerated.includes(response.status)) {
      throw new GrafanaApiError(method, path, response.status, text);
    }
    return { status: response.status, body: text };
  }
}

/** Reads secure field values (e.g. an InfluxDB token) from Secrets Manager. */
export class SecretReader {
  constructor(private readonly client: SecretsManagerClient) {}

  async read(field: SecureFieldFromSecret): Promise<string> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: field.secretArn }));
    const secret = out.SecretString;
    if (secret === undefined) throw new Error(`secret ${field.secretArn} has no SecretString`);
    if (field.jsonKey === undefined) return secret;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(secret) as Record<string, unknown>;
    } catch {
      throw new Error(`secret ${field.secretArn} is not JSON, but key '${field.jsonKey}' was asked for`);
    }
    const value = parsed[field.jsonKey];
    if (typeof value !== 'string' || value.length === 0) {
      throw new Error(`secret ${field.secretArn} has no non-empty string '${field.jsonKey}'`);
    }
    return value;
  }
}

/** Runs `fn` with a short-lived ADMIN service account token of the workspace, deleting the account afterwards. */
export async function withServiceAccountToken<T>(
  client: GrafanaClient,
  workspaceId: string,
  name: string,
  fn: (token: string) => Promise<T>,
): Promise<T> {
  const account = await client.send(
    new CreateWorkspaceServiceAccountCommand({ workspaceId, name, grafanaRole: 'ADMIN' }),
  );
  const serviceAccountId = account.id as string;
  try {
    const token = await client.send(
      new CreateWorkspaceServiceAccountTokenCommand({
        workspaceId,
        serviceAccountId,
        name: `${name}-token`,
        secondsToLive: 900,
      }),
    );
    const key = token.serviceAccountToken?.key;
    if (!key) throw new Error(`workspace ${workspaceId} returned no service account token key`);
    return await fn(key);
  } finally {
    // Deleting the account revokes its tokens too.
    await client.send(new DeleteWorkspaceServiceAccountCommand({ workspaceId, serviceAccountId }));
  }
}

/** Upserts every data source (with secure fields read from Secrets Manager), then every dashboard. */
export async function provision(
  api: GrafanaHttpApi,
  secrets: SecretReader,
  request: ProvisioningRequest,
  message: string,
): Promise<{ dataSources: string[]; dashboards: string[] }> {
  for (const spec of request.dataSources) {
    const secureJsonData: Record<string, string> = {};
    for (const field of spec.secureFields ?? []) {
      secureJsonData[field.field] = await secrets.read(field);
    }
    await api.upsertDataSource({
      uid: spec.uid,
      name: spec.name,
      type: spec.type,
      url: spec.url ?? '',
      access: spec.access ?? 'proxy',
      isDefault: spec.isDefault ?? false,
      jsonData: spec.jsonData ?? {},
      ...(Object.keys(secureJsonData).length > 0 ? { secureJsonData } : {}),
    });
  }
  for (const dashboard of request.dashboards) {
    await api.putDashboard(dashboard, message);
  }
  return { dataSources: request.dataSources.map((d) => d.uid), dashboards: request.dashboards.map((d) => d.uid) };
}

/** Removes what `previous` provisioned and `next` (if any) no longer has. */
export async function removeStale(
  api: GrafanaHttpApi,
  previous: ProvisioningRequest,
  next?: ProvisioningRequest,
): Promise<string[]> {
  const keepDashboards = new Set(next?.dashboards.map((d) => d.uid) ?? []);
  const keepDataSources = new Set(next?.dataSources.map((d) => d.uid) ?? []);
  const removed: string[] = [];
  for (const d of previous.dashboards) {
    if (!keepDashboards.has(d.uid)) {
      await api.deleteDashboard(d.uid);
      removed.push(`dashboard:${d.uid}`);
    }
  }
  for (const d of previous.dataSources) {
    if (!keepDataSources.has(d.uid)) {
      await api.deleteDataSource(d.uid);
      removed.push(`datasource:${d.uid}`);
    }
  }
  return removed;
}

export interface ProvisionerDependencies {
  readonly grafana: GrafanaClient;
  readonly secrets: SecretsManagerClient;
}

/** Builds the Lambda handler; tests pass clients pointed at local servers. */
export function createHandler(deps: ProvisionerDependencies) {
  const secrets = new SecretReader(deps.secrets);
  return async (event: CloudFormationCustomResourceEvent, context?: Pick<Context, 'awsRequestId'>): Promise<void> => {
    const physicalId =
      event.RequestType === 'Create'
        ? `grafana-provisioning-${String(event.ResourceProperties.WorkspaceId)}`
        : event.PhysicalResourceId;
    const base = {
      PhysicalResourceId: physicalId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
    const accountName = `cfn-provisioner-${(context?.awsRequestId ?? event.RequestId).replace(/[^A-Za-z0-9-]/g, '').slice(0, 36)}`;
    try {
      if (event.RequestType === 'Delete') {
        // Best effort: a failed cleanup must not block stack deletion, and the workspace usually goes with it.
        try {
          const previous = parseRequest(event.ResourceProperties);
          const removed = await withServiceAccountToken(deps.grafana, previous.workspaceId, accountName, (token) =>
            removeStale(new GrafanaHttpApi(previous.baseUrl, token), previous),
          );
          logger.info('Removed provisioned resources', { removed });
        } catch (error) {
          logger.warn('Could not remove provisioned resources; leaving them', { error: String(error) });
        }
        await sendResponse(event.ResponseURL, { ...base, Status: 'SUCCESS', Reason: 'Deleted' });
        return;
      }
      const request = parseRequest(event.ResourceProperties);
      const previous = event.RequestType === 'Update' ? parseRequest(event.OldResourceProperties) : undefined;
      const sameWorkspace = previous?.workspaceId === request.workspaceId;
      const result = await withServiceAccountToken(deps.grafana, request.workspaceId, accountName, async (token) => {
        const api = new GrafanaHttpApi(request.baseUrl, token);
        const done = await provision(api, secrets, request, `Provisioned by CloudFormation stack ${event.StackId}`);
        const removed = previous && sameWorkspace ? await removeStale(api, previous, request) : [];
        return { ...done, removed };
      });
      logger.info('Provisioned Grafana workspace', { workspaceId: request.workspaceId, ...result });
      await sendResponse(event.ResponseURL, {
        ...base,
        Status: 'SUCCESS',
        Reason: 'Provisioned',
        Data: { Dashboards: result.dashboards.join(','), DataSources: result.dataSources.join(',') },
      });
    } catch (error) {
      logger.error('Provisioning failed', { error: String(error) });
      await sendResponse(event.ResponseURL, {
        ...base,
        Status: 'FAILED',
        // CloudFormation shows the reason to the operator; keep it short.
        Reason: String((error as Error).message ?? error).slice(0, 1000),
      });
    }
  };
}

export const handler = createHandler({
  grafana: new GrafanaClient({}),
  secrets: new SecretsManagerClient({}),
});
