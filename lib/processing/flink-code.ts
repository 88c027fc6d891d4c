import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { findInPackage } from '../internal/paths';

/** Where a Managed Flink application's jar is, as `FlinkCode.bind` returns it. */
export interface FlinkCodeConfig {
  /** The bucket holding the jar. The application role is granted read on it. */
  readonly bucket: s3.IBucket;
  /** Object key of the jar in `bucket`. */
  readonly key: string;
  /** @default - the latest version of the object */
  readonly objectVersion?: string;
}

/** Options of `FlinkCode.fromMavenModule`. */
export interface FlinkMavenModuleOptions {
  /** The Maven parent project (the folder holding the parent `pom.xml`) that holds the module. @default - the package's `flink-apps` folder */
  readonly flinkAppsDirectory?: string;
}

/**
 * The code of a Managed Service for Apache Flink application: a jar on this machine (uploaded as a CDK asset) or
 * a jar already in S3. Constructs only point at code; building a jar is the build's job (`npm run main`,
 * `mvn package`), not synth's.
 */
export abstract class FlinkCode {
  /** A jar file on this machine, uploaded as a CDK asset. The file must exist when this is called. */
  public static fromJar(jarPath: string): FlinkCode {
    return new JarFlinkCode(checkJar(jarPath, `FlinkCode.fromJar needs an existing jar file, got ${jarPath}`));
  }

  /**
   * A jar already in S3, e.g. one a CI pipeline built once. `key` and `objectVersion` may be tokens.
   * @param objectVersion - the object version to deploy; the latest version when not given
   */
  public static fromBucket(bucket: s3.IBucket, key: string, objectVersion?: string): FlinkCode {
    return new BucketFlinkCode(bucket, key, objectVersion);
  }

  /**
   * The shaded jar of a Maven module, `<flinkAppsDirectory>/<module>/target/<module>.jar`, uploaded as a CDK asset.
   * The jar must have been built: when it is missing this fails with the command that builds it. An existing jar is
   * used as it is, so build again after changing the application.
   */
  public static fromMavenModule(module: string, options: FlinkMavenModuleOptions = {}): FlinkCode {
    if (!/^[A-Za-z0-9_.-]+$/.test(module) || module === '.' || module === '..') {
      throw new Error(`FlinkCode.fromMavenModule needs a module folder name, got '${module}'`);
    }
    const appsDir = path.resolve(options.flinkAppsDirectory ?? packageFlinkApps(module));
    const moduleDir = path.join(appsDir, module);
    const jar = path.join(moduleDir, 'target', `${module}.jar`);
    if (!fs.existsSync(jar) && !fs.existsSync(path.join(moduleDir, 'pom.xml'))) {
      throw new Error(`Flink module '${module}' has no pom.xml in ${moduleDir}`);
    }
    return new JarFlinkCode(
      checkJar(
        jar,
        `Flink module '${module}' has no jar at ${jar}: build it with ` +
          `\`mvn -f ${path.join(appsDir, 'pom.xml')} -pl ${module} -am package -DskipTests\` ` +
          '(or `npm run main` in this repository), then synthesize again',
      ),
    );
  }

  /**
   * Called when the application is defined: returns where its jar is. `scope` is the construct of the application,
   * under which an asset is created; the application grants its role read on the returned bucket.
   */
  public abstract bind(scope: Construct): FlinkCodeConfig;
}

class JarFlinkCode extends FlinkCode {
  constructor(private readonly jarPath: string) {
    super();
  }

  public bind(scope: Construct): FlinkCodeConfig {
    const asset = new s3assets.Asset(scope, 'Code', { path: this.jarPath });
    return { bucket: asset.bucket, key: asset.s3ObjectKey };
  }
}

class BucketFlinkCode extends FlinkCode {
  constructor(
    private readonly bucket: s3.IBucket,
    private readonly key: string,
    private readonly objectVersion?: string,
  ) {
    super();
    if (!Token.isUnresolved(key) && key.length === 0) {
      throw new Error(`FlinkCode.fromBucket needs an object key, got '${key}'`);
    }
    if (objectVersion !== undefined && !Token.isUnresolved(objectVersion) && objectVersion.length === 0) {
      throw new Error(`FlinkCode.fromBucket objectVersion must not be empty, got '${objectVersion}'`);
    }
  }

  public bind(_scope: Construct): FlinkCodeConfig {
    return { bucket: this.bucket, key: this.key, objectVersion: this.objectVersion };
  }
}

function checkJar(jarPath: string, message: string): string {
  const resolved = path.resolve(jarPath);
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) throw new Error(message);
  return resolved;
}

/** The `flink-apps` folder of this package: the nearest one above this file (sources or dist/). */
function packageFlinkApps(module: string): string {
  const directory = findInPackage('flink-apps');
  if (directory) return directory;
  throw new Error(
    `FlinkCode.fromMavenModule('${module}') found no flink-apps/ folder above ${__dirname}: pass flinkAppsDirectory`,
  );
}
