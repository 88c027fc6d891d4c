// RestApiOptions lives in lib/internal, because the REST API helper there needs it; it is public API from here.
export * from '../internal/rest-api-options';
export * from './api-gateway-ingestion';
export * from './iot-core-ingestion';
export * from './dynamodb-cdc-ingestion';
export * from './dms-cdc-ingestion';
export * from './kinesis-agent-ingestion';
