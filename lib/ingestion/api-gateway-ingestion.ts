import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  KINESIS_CLIENT_ERROR_TEMPLATE,
  KINESIS_SERVER_ERROR_TEMPLATE,
  PUT_RECORDS_RESPONSE_TEMPLATE,
  putEventTemplate,
  putRecordResponseTemplate,
  putRecordsTemplate,
  putRecordTemplate,
} from './private/kinesis-templates';
import { createIntegrationRole, createSecureRestApi, grantInvokeMethods } from '../internal/secure-rest-api';
import { grantPutRecords } from '../internal/stream-grants';
import { RestApiOptions } from '../internal/rest-api-options';
import { requireResolved } from '../internal/validation';

/**
 * A JSON schema (draft-04, the dialect API Gateway models use), as a plain object. A type alias of a string-keyed map,
 * not an interface with an index signature, which jsii cannot translate: other languages see a map (a Python `dict`,
 * a Java `Map<String, Object>`).
 */
export type JsonSchemaObject = { readonly [key: string]: unknown };

/** One event type accepted at `POST /events/{name}`. */
export interface EventTypeIngestion {
  /** Event type, e.g. `PlaceOrder`; becomes the envelope's `type` and the resource path. Must match `[A-Za-z][A-Za-z0-9_-]{0,63}`. */
  readonly name: string;
  /** JSON schema (draft-04) of the event's `payload`. */
  readonly schema: JsonSchemaObject;
}

export interface ApiGatewayIngestionProps extends RestApiOptions {
  /** The stream records are written to. Its KMS key (`stream.encryptionKey`) is granted `kms:GenerateDataKey`. */
  readonly stream: kinesis.IStream;
  /**
   * Body field whose value is the Kinesis partition key, for `POST /records` and each element of
   * `POST /records/batch`. Must be a top-level string field; the request model makes it required.
   * @default 'deviceId'
   */
  readonly partitionKeyField?: string;
  /**
   * JSON schema (draft-04) of one record for `POST /records` and of each element of `POST /records/batch`; must list
   * `partitionKeyField` as required. `IngestionSchemas.telemetryRecord()` is the shared telemetry contract.
   * @default - an object with a required non-empty string `partitionKeyField` of at most 256 characters
   */
  readonly eventSchema?: JsonSchemaObject;
  /**
   * Event types accepted at `POST /events/{name}`, one resource and one request model per type. The body is
   * `{"aggregateId": "...", "occurredAt": "<ISO-8601 UTC, optional>", "payload": {...}}`; the record written (partition
   * key = aggregateId) is the envelope `{"eventId","type","aggregateId","occurredAt","payload"}`.
   * @default - no event routes
   */
  readonly eventTypes?: EventTypeIngestion[];
  /**
   * Request header carrying a client-chosen idempotency key for `POST /events/{name}`. When set, the header is
   * required and its value becomes the envelope's `eventId`; otherwise eventId is the API Gateway request id.
   *
   * API Gateway and Kinesis do not deduplicate: a retried POST with the same key writes a second record carrying the
   * same eventId. "No second event" holds because consumers dedupe by eventId (e.g. a conditional write on
   * eventId, or a keyed dedupe state with a TTL longer than the client's retry horizon). Without a key, a retry after a
   * lost response gets a new eventId and cannot be told apart from a new event.
   * @default - no idempotency key; eventId is the request id
   */
  readonly idempotencyKeyHeader?: string;
  /**
   * Create `POST /records` and `POST /records/batch`, which write bodies unchanged.
   * @default - true, unless `eventTypes` is given (then only the event routes accept writes)
   */
  readonly enableRecordRoutes?: boolean;
}

/** Reusable JSON schemas for ingestion request models. */
export class IngestionSchemas {
  /** The raw telemetry record of the time-series architecture (`eventId`, `deviceId`, `timestamp`, `metrics`, `attributes`). */
  public static telemetryRecord(): JsonSchemaObject {
    return {
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'TelemetryRecord',
      type: 'object',
      required: ['eventId', 'deviceId', 'timestamp', 'metrics'],
      properties: {
        eventId: { type: 'string', minLength: 1, maxLength: 128 },
        deviceId: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
        timestamp: { type: 'integer', minimum: 0 },
        metrics: {
          type: 'object',
          minProperties: 1,
          maxProperties: 100,
          patternProperties: { '^[A-Za-z0-9_]{1,64}$': { type: 'number' } },
          additionalProperties: false,
        },
        attributes: { type: 'object', additionalProperties: { type: 'string' } },
      },
    };
  }

  private constructor() {}
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const HEADER = /^[A-Za-z0-9-]{1,64}$/;
const ISO_UTC = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$';

/**
 * REST ingestion into a Kinesis data stream with no Lambda in the path: API Gateway validates the body against a
 * JSON-schema model (bad input gets 400 with the validation reason), base64-encodes it in a mapping template and calls
 * `PutRecord`/`PutRecords` with a role that may do only that. IAM authorization by default (API keys as an option),
 * stage throttling, JSON access logs to an encrypted log group, X-Ray, and alarms on 4XX, 5XX and p99 latency.
 *
 * Routes: `POST /records` (one record), `POST /records/batch` (`{"records":[...]}`, 1 to 500, partial failures are
 * reported per record in the 200 response), and `POST /events/{name}` per entry of `eventTypes`.
 */
export class ApiGatewayIngestion extends Construct {
  public readonly api: apigw.RestApi;
  /** The role API Gateway assumes to write to the stream. */
  public readonly role: iam.Role;
  /** Base URL of the deployed stage, ending with `/`. */
  public readonly url: string;
  public readonly accessLogGroup: logs.LogGroup;
  /** The API key, with `RestApiAuthorization.API_KEY`. */
  public readonly apiKey?: apigw.IApiKey;
  /** The usage plan the API key belongs to, with `RestApiAuthorization.API_KEY`. */
  public readonly usagePlan?: apigw.UsagePlan;
  /** Every write method, e.g. for WAF scoping or extra permissions. */
  public readonly methods: apigw.Method[] = [];
  public readonly alarms: cloudwatch.Alarm[];
  /** The body field used as partition key on the record routes. */
  public readonly partitionKeyField: string;

  private readonly methodAuth: Pick<apigw.MethodOptions, 'authorizationType' | 'apiKeyRequired'>;
  private readonly validator: apigw.RequestValidator;
  private readonly stream: kinesis.IStream;
  private readonly idempotencyKeyHeader?: string;
  private readonly eventTypeNames = new Set<string>();
  private eventsResource?: apigw.Resource;

  constructor(scope: Construct, id: string, props: ApiGatewayIngestionProps) {
    super(scope, id);
    this.partitionKeyField = props.partitionKeyField ?? 'deviceId';
    const eventTypes = props.eventTypes ?? [];
    const recordSchema = props.eventSchema ?? defaultRecordSchema(this.partitionKeyField);
    validateProps(props, this.partitionKeyField, recordSchema, eventTypes);
    const enableRecords = props.enableRecordRoutes ?? eventTypes.length === 0;
    if (!enableRecords && eventTypes.length === 0) {
      throw new Error('enableRecordRoutes is false and no eventTypes are given: the API would accept no writes');
    }

    const built = createSecureRestApi(this, props, `Writes to Kinesis stream ${props.stream.streamName}`);
    this.api = built.api;
    this.accessLogGroup = built.accessLogGroup;
    this.alarms = built.alarms;
    this.apiKey = built.apiKey;
    this.usagePlan = built.usagePlan;
    this.methodAuth = built.methodAuth;
    this.url = this.api.url;

    this.role = createIntegrationRole(this, 'write records to the stream');
    grantPutRecords(this.role, props.stream, ['kinesis:PutRecord', 'kinesis:PutRecords']);

    const validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.validator = validator;
    this.stream = props.stream;
    this.idempotencyKeyHeader = props.idempotencyKeyHeader;
    const streamArn = props.stream.streamArn;

    if (enableRecords) {
      const records = this.api.root.addResource('records');
      const recordModel = this.addModel('RecordModel', 'Record', recordSchema);
      this.addWriteMethod(records, 'PutRecord', {
        template: putRecordTemplate(streamArn, this.partitionKeyField),
        responseTemplate: putRecordResponseTemplate(false),
        model: recordModel,
        validator,
      });
      const batchModel = this.addModel('BatchModel', 'RecordBatch', {
        type: 'object',
        required: ['records'],
        additionalProperties: false,
        properties: { records: { type: 'array', minItems: 1, maxItems: 500, items: withoutDialect(recordSchema) } },
      });
      this.addWriteMethod(records.addResource('batch'), 'PutRecords', {
        template: putRecordsTemplate(streamArn, this.partitionKeyField),
        responseTemplate: PUT_RECORDS_RESPONSE_TEMPLATE,
        model: batchModel,
        validator,
      });
    }

    for (const eventType of eventTypes) this.addEventType(eventType);
  }

  /**
   * Accepts `eventType` at `POST /events/<name>` (with the idempotency key header, when the API has one), e.g. a
   * command added after construction. Names must be unique.
   */
  public addEventType(eventType: EventTypeIngestion): void {
    validateEventTypeName(eventType.name);
    if (this.eventTypeNames.has(eventType.name)) {
      throw new Error(`event type names must be unique, got '${eventType.name}' twice`);
    }
    this.eventTypeNames.add(eventType.name);
    this.eventsResource ??= this.api.root.addResource('events');
    const model = this.addModel(`EventModel${eventType.name}`, `${eventType.name.replace(/[^A-Za-z0-9]/g, '')}Event`, {
      type: 'object',
      required: ['aggregateId', 'payload'],
      additionalProperties: false,
      properties: {
        aggregateId: { type: 'string', minLength: 1, maxLength: 256 },
        occurredAt: { type: 'string', pattern: ISO_UTC },
        payload: withoutDialect(eventType.schema),
      },
    });
    this.addWriteMethod(this.eventsResource.addResource(eventType.name), 'PutRecord', {
      template: putEventTemplate(this.stream.streamArn, eventType.name, this.idempotencyKeyHeader),
      responseTemplate: putRecordResponseTemplate(true, this.idempotencyKeyHeader),
      model,
      validator: this.validator,
      requiredHeader: this.idempotencyKeyHeader,
    });
  }

  /** Grants `execute-api:Invoke` on every write method of this API (IAM authorization). */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeMethods(grantee, this.api, this.methods);
  }

  /** 4XX responses (validation, auth, throttling). @default statistic Sum over 5 minutes */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricClientError({ statistic: 'Sum', ...props });
  }

  /** 5XX responses. @default statistic Sum over 5 minutes */
  public metricServerError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricServerError({ statistic: 'Sum', ...props });
  }

  /** End-to-end latency. @default statistic p99 over 5 minutes */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.api.metricLatency({ statistic: 'p99', ...props });
  }

  private addModel(id: string, name: string, schema: JsonSchemaObject): apigw.Model {
    return this.api.addModel(id, {
      contentType: 'application/json',
      modelName: name.replace(/[^A-Za-z0-9]/g, ''),
      // The L2 types the schema; the plain object is passed through to CloudFormation as is.
      schema: { schema: apigw.JsonSchemaVersion.DRAFT4, ...(withoutDialect(schema) as apigw.JsonSchema) },
    });
  }

  private addWriteMethod(
    resource: apigw.Resource,
    action: 'PutRecord' | 'PutRecords',
    opts: {
      template: string;
      responseTemplate: string;
      model: apigw.IModel;
      validator: apigw.IRequestValidator;
      requiredHeader?: string;
    },
  ): void {
    const integration = new apigw.AwsIntegration({
      service: 'kinesis',
      action,
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: this.role,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestParameters: { 'integration.request.header.Content-Type': "'application/x-amz-json-1.1'" },
        requestTemplates: { 'application/json': opts.template },
        integrationResponses: [
          { statusCode: '200', responseTemplates: { 'application/json': opts.responseTemplate } },
          {
            statusCode: '500',
            selectionPattern: '4\\d{2}',
            responseTemplates: { 'application/json': KINESIS_CLIENT_ERROR_TEMPLATE },
          },
          {
            statusCode: '503',
            selectionPattern: '5\\d{2}',
            responseTemplates: { 'application/json': KINESIS_SERVER_ERROR_TEMPLATE },
          },
        ],
      },
    });
    const method = resource.addMethod('POST', integration, {
      ...this.methodAuth,
      requestValidator: opts.validator,
      requestModels: { 'application/json': opts.model },
      requestParameters: opts.requiredHeader ? { [`method.request.header.${opts.requiredHeader}`]: true } : undefined,
      methodResponses: ['200', '400', '429', '500', '503'].map((statusCode) => ({ statusCode })),
    });
    this.methods.push(method);
  }
}

function defaultRecordSchema(field: string): JsonSchemaObject {
  return {
    type: 'object',
    required: [field],
    properties: { [field]: { type: 'string', minLength: 1, maxLength: 256 } },
  };
}

function withoutDialect(schema: JsonSchemaObject): JsonSchemaObject {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function validateProps(
  props: ApiGatewayIngestionProps,
  field: string,
  recordSchema: JsonSchemaObject,
  eventTypes: EventTypeIngestion[],
): void {
  requireResolved('partitionKeyField', field, 'it is a property name in the JSON schema of the request model');
  if (!FIELD.test(field)) {
    throw new Error(`partitionKeyField must match ${FIELD.source}, got '${field}'`);
  }
  const required = recordSchema.required;
  if (!Array.isArray(required) || !required.includes(field)) {
    throw new Error(
      `eventSchema must list partitionKeyField '${field}' in "required", got required=${JSON.stringify(required)}`,
    );
  }
  if (props.idempotencyKeyHeader !== undefined) {
    requireResolved(
      'idempotencyKeyHeader',
      props.idempotencyKeyHeader,
      "it names a request parameter (a key of the method's RequestParameters)",
    );
    if (!HEADER.test(props.idempotencyKeyHeader)) {
      throw new Error(`idempotencyKeyHeader must match ${HEADER.source}, got '${props.idempotencyKeyHeader}'`);
    }
    if (eventTypes.length === 0) {
      throw new Error(
        `idempotencyKeyHeader applies to eventTypes, got '${props.idempotencyKeyHeader}' with no eventTypes`,
      );
    }
  }
  const seen = new Set<string>();
  for (const eventType of eventTypes) {
    validateEventTypeName(eventType.name);
    if (seen.has(eventType.name)) {
      throw new Error(`event type names must be unique, got '${eventType.name}' twice`);
    }
    seen.add(eventType.name);
  }
}

function validateEventTypeName(name: string): void {
  if (!EVENT_NAME.test(name)) {
    throw new Error(`event type name must match ${EVENT_NAME.source}, got '${name}'`);
  }
}
