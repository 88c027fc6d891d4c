export * from './streaming-foundation-stack';
export * from './time-series-analytics-stack';
export * from './event-sourced-microservices-stack';
export * from './change-data-capture-stack';
