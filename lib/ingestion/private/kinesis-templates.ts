/**
 * API Gateway mapping templates (VTL) for the Kinesis service integration. Kept apart from the construct so tests can
 * render exactly what is deployed.
 *
 * `$util.escapeJavaScript` escapes `'` as `\'`, which is not valid JSON; the `replaceAll` undoes just that escape.
 */
const UNESCAPE_QUOTE = `.replaceAll("\\\\'","'")`;

function jsonString(expression: string): string {
  return `$util.escapeJavaScript(${expression})${UNESCAPE_QUOTE}`;
}

/** POST /records: the body is one record, written unchanged (base64) with the partition key taken from `field`. */
export function putRecordTemplate(streamArn: string, field: string): string {
  return [
    '{',
    `  "StreamARN": "${streamArn}",`,
    `  "PartitionKey": "${jsonString(`$input.path('$.${field}')`)}",`,
    '  "Data": "$util.base64Encode($input.body)"',
    '}',
  ].join('\n');
}

/** POST /records/batch: `{"records":[...]}`, each element written as its own record. */
export function putRecordsTemplate(streamArn: string, field: string): string {
  return [
    '{',
    `  "StreamARN": "${streamArn}",`,
    '  "Records": [',
    "#foreach($r in $input.path('$.records'))",
    '    {',
    `      "PartitionKey": "${jsonString(`$r.${field}`)}",`,
    '      "Data": "$util.base64Encode($input.json("$.records[$foreach.index]"))"',
    '    }#if($foreach.hasNext),#end',
    '#end',
    '  ]',
    '}',
  ].join('\n');
}

const MONTHS =
  '{"Jan":"01","Feb":"02","Mar":"03","Apr":"04","May":"05","Jun":"06","Jul":"07","Aug":"08","Sep":"09","Oct":"10","Nov":"11","Dec":"12"}';

/**
 * Sets `$eventId`: the idempotency key header when configured and sent, otherwise the API Gateway request id (unique
 * per request, so a retried POST without a key yields a different eventId).
 */
function eventIdLines(idempotencyKeyHeader?: string): string[] {
  if (!idempotencyKeyHeader) return ['#set($eventId = $context.requestId)'];
  return [
    `#set($key = $input.params('${idempotencyKeyHeader}'))`,
    '#if("$!key" == "")',
    '#set($eventId = $context.requestId)',
    '#else',
    `#set($eventId = ${jsonString('$key')})`,
    '#end',
  ];
}

/**
 * POST /events/{type}: wraps `{"aggregateId","occurredAt"?,"payload"}` into the event envelope
 * `{"eventId","type","aggregateId","occurredAt","payload"}`, partitioned by aggregateId. Without `occurredAt` the
 * request time (`$context.requestTime`, `dd/MMM/yyyy:HH:mm:ss +0000`) is rewritten as ISO-8601 UTC.
 */
export function putEventTemplate(streamArn: string, eventType: string, idempotencyKeyHeader?: string): string {
  const q = (name: string) => '${q}' + name + '${q}';
  const envelope =
    `{${q('eventId')}:${q('$eventId')},${q('type')}:${q(eventType)},${q('aggregateId')}:${q('$aggregateId')},` +
    `${q('occurredAt')}:${q('$occurredAt')},${q('payload')}:$input.json('$.payload')}`;
  return [
    `#set($q = '"')`,
    ...eventIdLines(idempotencyKeyHeader),
    `#set($aggregateId = ${jsonString(`$input.path('$.aggregateId')`)})`,
    `#set($occurredAt = $input.path('$.occurredAt'))`,
    '#if("$!occurredAt" == "")',
    '#set($t = $context.requestTime)',
    `#set($months = ${MONTHS})`,
    '#set($occurredAt = "$t.substring(7,11)-$months.get($t.substring(3,6))-$t.substring(0,2)T$t.substring(12,20)Z")',
    '#end',
    `#set($envelope = "${envelope}")`,
    '{',
    `  "StreamARN": "${streamArn}",`,
    '  "PartitionKey": "$aggregateId",',
    '  "Data": "$util.base64Encode($envelope)"',
    '}',
  ].join('\n');
}

/** 200 for PutRecord; for events the eventId is returned so clients can correlate and retry with the same key. */
export function putRecordResponseTemplate(withEventId: boolean, idempotencyKeyHeader?: string): string {
  if (!withEventId) {
    return '{"sequenceNumber":"$input.path(\'$.SequenceNumber\')","shardId":"$input.path(\'$.ShardId\')"}';
  }
  return [
    ...eventIdLines(idempotencyKeyHeader),
    '{"eventId":"$eventId","sequenceNumber":"$input.path(\'$.SequenceNumber\')","shardId":"$input.path(\'$.ShardId\')"}',
  ].join('\n');
}

/** 200 for PutRecords: per-record results in request order; clients resend the entries that carry an errorCode. */
export const PUT_RECORDS_RESPONSE_TEMPLATE = [
  '{',
  '  "failedRecordCount": $input.path(\'$.FailedRecordCount\'),',
  '  "records": [',
  "#foreach($r in $input.path('$.Records'))",
  '#if("$!r.ErrorCode" == "")',
  '    {"sequenceNumber":"$r.SequenceNumber","shardId":"$r.ShardId"}#if($foreach.hasNext),#end',
  '#else',
  '    {"errorCode":"$r.ErrorCode","errorMessage":"$util.escapeJavaScript($r.ErrorMessage)' +
    UNESCAPE_QUOTE +
    '"}#if($foreach.hasNext),#end',
  '#end',
  '#end',
  '  ]',
  '}',
].join('\n');

/**
 * Kinesis 4XX: throttling becomes 429 (retry with backoff); anything else is a fault of this integration (missing
 * permission, deleted stream, KMS) and becomes 500 so the server-error alarm fires.
 */
export const KINESIS_CLIENT_ERROR_TEMPLATE = [
  '#set($type = "$!input.path(\'$.__type\')")',
  '#if($type.indexOf("ProvisionedThroughputExceeded") >= 0 || $type.indexOf("LimitExceeded") >= 0 || $type.indexOf("KMSThrottling") >= 0)',
  '#set($context.responseOverride.status = 429)',
  '{"message":"Throttled by the stream, retry with backoff","type":"$type"}',
  '#else',
  '{"message":"The stream rejected the request","type":"$type"}',
  '#end',
].join('\n');

/** Kinesis 5XX: a transient service failure, safe to retry. */
export const KINESIS_SERVER_ERROR_TEMPLATE =
  '{"message":"The stream is unavailable, retry with backoff","type":"$!input.path(\'$.__type\')"}';
