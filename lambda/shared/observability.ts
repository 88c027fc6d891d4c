import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** Structured logger and EMF metrics, named by POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({
      serviceName,
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'CdkStreamingPatterns',
    }),
  };
}

export { MetricUnit };
