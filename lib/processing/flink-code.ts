import * as crypto from 'crypto';
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

/** The Flink applications this package ships, for `FlinkCode.fromPackage`. */
const PACKAGED_APPLICATIONS = ['timeseries-enrichment', 'stateful-functions'];

/**
 * The code of a Managed Service for Apache Flink application: one of the jars this package ships, a jar on this
 * machine (uploaded as a CDK asset) or a jar already in S3. Constructs only point at code; building a jar is the
 * build's job (`npm run main`, `mvn package`), not synth's.
 */
export abstract class FlinkCode {
  /**
   * One of the Flink applications of this package, `timeseries-enrichment` or `stateful-functions`, uploaded as a
   * CDK asset. From the published package it is the jar the package ships (`jars/<application>.jar`, checked against
   * `jars/SHA256SUMS` here), so synth needs no JDK or Maven; in a checkout of the repository it is the Maven module's
   * build, `flink-apps/<application>/target/<application>.jar`, which must have been built (`npm run main`).
   */
  public static fromPackage(application: string): FlinkCode {
    if (!PACKAGED_APPLICATIONS.includes(application)) {
      throw new Error(
        `FlinkCode.fromPackage needs one of ${PACKAGED_APPLICATIONS.map((a) => `'${a}'`).join(', ')}, got '${application}'`,
      );
    }
    // A checkout builds its own jar; the published package has no flink-apps/ and ships the jar instead.
    const checkout = findInPackage(path.join('flink-apps', application, 'pom.xml'));
    if (checkout) {
      const jar = path.join(path.dirname(checkout), 'target', `${application}.jar`);
      return new JarFlinkCode(
        checkJar(
          jar,
          `Flink application '${application}' has no jar at ${jar}: build it with \`npm run main\` (or ` +
            `\`mvn -f ${path.join(path.dirname(path.dirname(checkout)), 'pom.xml')} -pl ${application} -am package -DskipTests\`), ` +
            'or pass a FlinkCode.fromJar or FlinkCode.fromBucket of your own',
        ),
      );
    }
    const shipped = findInPackage(path.join('jars', `${application}.jar`));
    if (!shipped) {
      throw new Error(
        `FlinkCode.fromPackage('${application}') found neither jars/${application}.jar (the published package) nor ` +
          `flink-apps/${application}/ (a checkout) above ${__dirname}: reinstall the package, or pass a ` +
          'FlinkCode.fromJar or FlinkCode.fromBucket of your own',
      );
    }
    return new JarFlinkCode(verifiedJar(shipped));
  }

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

const verified = new Set<string>();

/** A shipped jar whose SHA-256 is the one `SHA256SUMS` beside it lists: a damaged package fails synth, not deploy. */
function verifiedJar(jarPath: string): string {
  if (verified.has(jarPath)) return jarPath;
  const sums = path.join(path.dirname(jarPath), 'SHA256SUMS');
  const name = path.basename(jarPath);
  const listed = fs.existsSync(sums)
    ? fs
        .readFileSync(sums, 'utf8')
        .split('\n')
        .map((line) => /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim()))
        .find((m) => m?.[2] === name)?.[1]
    : undefined;
  if (!listed) throw new Error(`${jarPath} is not listed in ${sums}: the package is damaged, reinstall it`);
  const actual = crypto.createHash('sha256').update(fs.readFileSync(jarPath)).digest('hex');
  if (actual !== listed) {
    throw new Error(
      `${jarPath} has SHA-256 ${actual}, but ${sums} lists ${listed}: the package is damaged, reinstall it`,
    );
  }
  verified.add(jarPath);
  return jarPath;
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
