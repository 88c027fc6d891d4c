export * from './rest-api-options';
export * from './api-gateway-ingestion';
export * from './iot-core-ingestion';
