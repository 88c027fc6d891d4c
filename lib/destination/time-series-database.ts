import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * What a writer of time series (e.g. the time-series calculator Lambda) needs from its database, whichever engine
 * holds it: `InfluxDbDatabase` (Timestream for InfluxDB) or `LiveAnalyticsDatabase` (Timestream for LiveAnalytics).
 * Network placement is engine-specific: an InfluxDB writer also runs in `InfluxDbDatabase.vpc` with its
 * `writerSecurityGroup`.
 */
export interface ITimeSeriesDatabase extends IConstruct {
  /** Lets `grantee` write time series to this database. */
  grantWrite(grantee: iam.IGrantable): iam.Grant;

  /**
   * The environment variables that select and configure the calculator's writer for this database
   * (`TIME_SERIES_BACKEND` and the engine's own settings); merge them into the writer Lambda's environment.
   */
  writerEnvironment(): { [key: string]: string };
}
