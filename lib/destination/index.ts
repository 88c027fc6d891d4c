// Constructs of this layer are exported here.
export * from './time-series-database';
export * from './influxdb-database';
export * from './live-analytics-database';
export * from './dynamodb-destination';
export * from './grafana-visualisation';
export * from './s3-archive-destination';
export * from './eventbridge-destination';
export * from './iceberg-destination';
export * from './opensearch-destination';
export * from './redshift-streaming-ingestion';
