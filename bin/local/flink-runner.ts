import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssemblyStack, assetPath, LocalResolver } from './assembly';

/**
 * Runs a Managed Service for Apache Flink application of a synthesized stack as a local Flink job: the same shaded
 * jar `cdk synth` put in cdk.out, its property groups resolved for the local resources, in a mini cluster started by
 * `flink-apps/local-runner` (`LocalJobRunner`), with file checkpoints that survive a kill so the job can be restarted
 * from its latest checkpoint as Managed Flink would after a failure.
 */

/** One group of `ApplicationConfiguration.EnvironmentProperties.PropertyGroups`, resolved. */
export interface PropertyGroup {
  readonly PropertyGroupId: string;
  readonly PropertyMap: Readonly<Record<string, string>>;
}

/**
 * Changes to one resolved property group for the local run: the entries returned are set (an `undefined` value
 * removes the key); returning `undefined` keeps the group as it is.
 */
export type PropertyOverride = (
  groupId: string,
  properties: Readonly<Record<string, string>>,
) => Readonly<Record<string, string | undefined>> | undefined;

export interface LocalFlinkApplicationOptions {
  /** The stack of the cloud assembly (`readAssembly`). */
  readonly stack: AssemblyStack;
  /** Logical id of the `AWS::KinesisAnalyticsV2::Application`. */
  readonly logicalId: string;
  /** Resolves the property groups' intrinsics to the local resources. */
  readonly resolver: LocalResolver;
  /** Local endpoints and other per-group changes (see `localEndpointOverrides`). */
  readonly overrideProperties?: PropertyOverride;
  /**
   * Directory of the properties file, the checkpoints and the runner's stderr log.
   * @default a new temporary directory, removed by `stop()`
   */
  readonly workDir?: string;
  /**
   * Checkpoint interval of the local run, e.g. 2000 so a short run checkpoints often.
   * @default the template's `CheckpointConfiguration.CheckpointInterval` (60000 when it has none)
   */
  readonly checkpointIntervalMs?: number;
  /** @default the template's `ParallelismConfiguration.Parallelism`, else 1 */
  readonly parallelism?: number;
  /** In-job restarts after a failure before the run fails. @default 3 */
  readonly restartAttempts?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. @default 15000 */
  readonly stopGraceMs?: number;
  /** Extra JVM options, e.g. `['-Xmx768m']`. @default ['-Xmx768m'] */
  readonly jvmArgs?: readonly string[];
  /** Extra environment of the JVM (after the local AWS credentials, so it can replace them). */
  readonly env?: Readonly<Record<string, string>>;
  /** Every line the JVM prints (runner events included), for logs. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** @default `flink-apps` of this repository (bin/local → ../../flink-apps) */
  readonly flinkAppsDir?: string;
  /** @default `java` on the PATH (or `$JAVA_HOME/bin/java`) */
  readonly java?: string;
}

/** A completed checkpoint, as the runner reported it. */
export interface FlinkCheckpoint {
  readonly id: number;
  readonly durationMs: number;
  readonly sizeBytes: number;
  /** `file:/.../<jobId>/chk-<id>`: what `--restore` takes. */
  readonly path: string;
  /** Which run (1 = first start) completed it. */
  readonly run: number;
}

export type LocalFlinkState = 'not-started' | 'starting' | 'running' | 'finished' | 'failed' | 'killed' | 'stopped';

export interface LocalFlinkMetrics {
  readonly state: LocalFlinkState;
  readonly running: boolean;
  readonly failed: boolean;
  /** Why the last run failed (root cause), when it did. */
  readonly failureReason?: string;
  /** Starts so far, restarts from a checkpoint included. */
  readonly runs: number;
  /** Completed checkpoints over all runs. */
  readonly checkpointsCompleted: number;
  /** Failed (declined, expired) checkpoints over all runs, as Flink counts them. */
  readonly checkpointFailures: number;
  readonly lastCheckpointDurationMs?: number;
  readonly lastCheckpoint?: FlinkCheckpoint;
  /** In-job restarts (failovers) over all runs. */
  readonly jobRestarts: number;
  readonly jobId?: string;
  readonly pid?: number;
}

/** What the runner module built: its jar and the classpath (Flink's runtime, log4j2). */
export interface FlinkRunnerBuild {
  readonly jar: string;
  readonly classpath: readonly string[];
}

const REPO_FLINK_APPS = path.resolve(__dirname, '..', '..', 'flink-apps');
const RUNNER_CLASS = 'io.github.cdkstreamingpatterns.flink.local.LocalJobRunner';

/** `local-runner/target/local-runner.jar` and `classpath.txt`; throws with the Maven command when they are missing. */
export function flinkRunnerBuild(flinkAppsDir = REPO_FLINK_APPS): FlinkRunnerBuild {
  const target = path.join(flinkAppsDir, 'local-runner', 'target');
  const jar = path.join(target, 'local-runner.jar');
  const classpathFile = path.join(target, 'classpath.txt');
  const build = `mvn -B -q -f ${path.relative(process.cwd(), path.join(flinkAppsDir, 'pom.xml')) || 'pom.xml'} -DskipTests install`;
  if (!fs.existsSync(jar) || !fs.existsSync(classpathFile)) {
    throw new Error(`the local Flink runner is not built (${jar} or ${classpathFile} missing): run ${build}`);
  }
  const classpath = fs.readFileSync(classpathFile, 'utf8').trim().split(path.delimiter).filter(Boolean);
  const missing = classpath.find((entry) => !fs.existsSync(entry));
  if (missing) throw new Error(`${classpathFile} names ${missing}, which does not exist: run ${build}`);
  return { jar, classpath };
}

/** The resolved property groups of an application resource, every value a string (as Managed Flink passes them). */
export function resolvePropertyGroups(
  properties: Record<string, unknown>,
  resolver: LocalResolver,
  what: string,
): PropertyGroup[] {
  const config = properties.ApplicationConfiguration as
    | { EnvironmentProperties?: { PropertyGroups?: Array<{ PropertyGroupId: unknown; PropertyMap?: unknown }> } }
    | undefined;
  return (config?.EnvironmentProperties?.PropertyGroups ?? []).map((group) => {
    const id = resolver.string(group.PropertyGroupId, `${what} PropertyGroupId`);
    const map = (resolver.resolve(group.PropertyMap ?? {}) ?? {}) as Record<string, unknown>;
    return {
      PropertyGroupId: id,
      PropertyMap: Object.fromEntries(
        Object.entries(map)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => {
            if (typeof v === 'object' && v !== null) throw new Error(`${what} ${id}.${k} resolves to an object`);
            return [k, String(v)];
          }),
      ),
    };
  });
}

/** Applies an override to every group (see `PropertyOverride`). */
export function applyPropertyOverride(groups: readonly PropertyGroup[], override?: PropertyOverride): PropertyGroup[] {
  return groups.map((group) => {
    const changes = override?.(group.PropertyGroupId, group.PropertyMap);
    if (!changes) return group;
    const map: Record<string, string> = { ...group.PropertyMap };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete map[k];
      else map[k] = v;
    }
    return { PropertyGroupId: group.PropertyGroupId, PropertyMap: map };
  });
}

/**
 * The usual local override: `aws.endpoint` in every group that names a stream (`stream.arn`), and `s3.endpoint` with
 * path-style addressing in every group that names an S3 object (`*.s3.uri`, or `s3.endpoint` already).
 */
export function localEndpointOverrides(endpoints: { kinesis?: string; s3?: string }): PropertyOverride {
  return (_, properties) => {
    const changes: Record<string, string> = {};
    if (endpoints.kinesis && 'stream.arn' in properties) changes['aws.endpoint'] = endpoints.kinesis;
    const s3Group = Object.keys(properties).some((k) => k.endsWith('s3.uri') || k === 's3.endpoint');
    if (endpoints.s3 && s3Group) Object.assign(changes, { 's3.endpoint': endpoints.s3, 's3.path.style': 'true' });
    return Object.keys(changes).length > 0 ? changes : undefined;
  };
}

/** The template's checkpoint interval (ms), or undefined when checkpointing is disabled there. */
export function templateCheckpointInterval(properties: Record<string, unknown>): number | undefined {
  const config = (properties.ApplicationConfiguration as Record<string, unknown> | undefined)
    ?.FlinkApplicationConfiguration as
    | {
        CheckpointConfiguration?: {
          ConfigurationType?: string;
          CheckpointingEnabled?: boolean;
          CheckpointInterval?: number;
        };
      }
    | undefined;
  const c = config?.CheckpointConfiguration;
  // DEFAULT configuration: Managed Flink checkpoints every 60 s.
  if (!c || c.ConfigurationType !== 'CUSTOM') return 60000;
  if (c.CheckpointingEnabled === false) return undefined;
  return Number(c.CheckpointInterval ?? 60000);
}

/**
 * The newest completed checkpoint (`chk-<n>` with a `_metadata` file) under a checkpoint directory, over every job
 * id in it, as a `file:` path; undefined when there is none.
 */
export function latestCheckpointIn(checkpointDir: string): string | undefined {
  if (!fs.existsSync(checkpointDir)) return undefined;
  let best: { path: string; mtime: number; id: number } | undefined;
  for (const job of fs.readdirSync(checkpointDir)) {
    const jobDir = path.join(checkpointDir, job);
    if (!fs.statSync(jobDir).isDirectory()) continue;
    for (const chk of fs.readdirSync(jobDir)) {
      const m = /^chk-(\d+)$/.exec(chk);
      const metadata = path.join(jobDir, chk, '_metadata');
      if (!m || !fs.existsSync(metadata)) continue;
      const mtime = fs.statSync(metadata).mtimeMs;
      const id = Number(m[1]);
      if (!best || mtime > best.mtime || (mtime === best.mtime && id > best.id)) {
        best = { path: `file:${path.join(jobDir, chk)}`, mtime, id };
      }
    }
  }
  return best?.path;
}

interface Run {
  readonly child: ChildProcess;
  readonly number: number;
  readonly exited: Promise<number | null>;
  exitCode?: number | null;
}

/** A Flink application of the assembly, run locally; see the file comment. */
export class LocalFlinkApplication {
  /** The application jar in the assembly. */
  public readonly jar: string;
  /** The resolved, overridden property groups the job reads. */
  public readonly propertyGroups: readonly PropertyGroup[];
  public readonly workDir: string;
  public readonly propertiesFile: string;
  public readonly checkpointDir: string;
  /** Checkpoint interval of the local run (ms); undefined when checkpointing is off. */
  public readonly checkpointIntervalMs?: number;
  public readonly parallelism: number;

  private readonly build: FlinkRunnerBuild;
  private readonly ownsWorkDir: boolean;
  private readonly stderrLog: string;
  private run?: Run;
  private runs = 0;
  private state: LocalFlinkState = 'not-started';
  private failureReason?: string;
  private jobId?: string;
  private checkpoints: FlinkCheckpoint[] = [];
  private checkpointFailures = 0;
  private jobRestarts = 0;
  /** Failed and restart counts of the current run (the runner's are per process). */
  private runFailures = 0;
  private runRestarts = 0;
  private restoredFrom?: string;
  private readonly recent: string[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: LocalFlinkApplicationOptions) {
    const { stack, logicalId, resolver } = options;
    const resource = stack.template.Resources[logicalId];
    if (!resource || resource.Type !== 'AWS::KinesisAnalyticsV2::Application') {
      throw new Error(`${stack.name} has no AWS::KinesisAnalyticsV2::Application ${logicalId}`);
    }
    const props = resource.Properties ?? {};
    const code = (props.ApplicationConfiguration as Record<string, unknown> | undefined)
      ?.ApplicationCodeConfiguration as { CodeContent?: { S3ContentLocation?: { FileKey?: unknown } } } | undefined;
    this.jar = assetPath(stack, code?.CodeContent?.S3ContentLocation?.FileKey);
    this.build = flinkRunnerBuild(options.flinkAppsDir);
    this.propertyGroups = applyPropertyOverride(
      resolvePropertyGroups(props, resolver, `${stack.name}/${logicalId}`),
      options.overrideProperties,
    );
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? templateCheckpointInterval(props);
    const parallelism = (
      (props.ApplicationConfiguration as Record<string, unknown> | undefined)?.FlinkApplicationConfiguration as
        { ParallelismConfiguration?: { Parallelism?: number } } | undefined
    )?.ParallelismConfiguration?.Parallelism;
    this.parallelism = options.parallelism ?? Number(resolver.resolve(parallelism ?? 1));

    this.ownsWorkDir = options.workDir === undefined;
    this.workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `flink-${logicalId}-`));
    fs.mkdirSync(this.workDir, { recursive: true });
    this.propertiesFile = path.join(this.workDir, 'application-properties.json');
    this.checkpointDir = path.join(this.workDir, 'checkpoints');
    this.stderrLog = path.join(this.workDir, 'runner.stderr.log');
    fs.writeFileSync(this.propertiesFile, JSON.stringify(this.propertyGroups, null, 2) + '\n');
  }

  /** Starts the job (from `restoreFrom`, a checkpoint path, when given); resolves once the job is submitted. */
  public async start(options: { restoreFrom?: string; timeoutMs?: number } = {}): Promise<void> {
    if (this.run && this.run.exitCode === undefined) throw new Error('the Flink job is already running');
    const args = [
      ...(this.options.jvmArgs ?? ['-Xmx768m']),
      '-cp',
      [this.build.jar, ...this.build.classpath, this.jar].join(path.delimiter),
      RUNNER_CLASS,
      '--jar',
      this.jar,
      '--properties',
      this.propertiesFile,
      '--checkpoint-dir',
      this.checkpointDir,
      '--parallelism',
      String(this.parallelism),
      '--restart-attempts',
      String(this.options.restartAttempts ?? 3),
      '--exit-on-stdin-eof',
      'true',
      ...(this.checkpointIntervalMs ? ['--checkpoint-interval-ms', String(this.checkpointIntervalMs)] : []),
      ...(options.restoreFrom ? ['--restore', options.restoreFrom] : []),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Never the machine's own AWS identity: the local servers accept the local account's keys.
    for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
      delete env[k];
    }
    Object.assign(
      env,
      {
        AWS_ACCESS_KEY_ID: '000000000000',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      this.options.env,
    );
    const java =
      this.options.java ?? (process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
    // stdin stays an open pipe: the runner exits when it closes, so a crashed parent leaves no JVM behind.
    const child = spawn(java, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.runs += 1;
    this.runFailures = 0;
    this.runRestarts = 0;
    this.state = 'starting';
    this.failureReason = undefined;
    this.jobId = undefined;
    this.restoredFrom = options.restoreFrom;
    const run: Run = {
      child,
      number: this.runs,
      exited: new Promise((resolve) => {
        // 'close', not 'exit': stdout and stderr are drained by then, so no line comes after it.
        child.once('close', (code) => resolve(code));
        child.once('error', (e) => {
          this.failureReason = `${java} could not be started: ${e.message}`;
          resolve(-1);
        });
      }),
    };
    this.run = run;
    const stderr = fs.createWriteStream(this.stderrLog, { flags: 'a' });
    lines(child.stdout!, (line) => this.onStdout(line, run));
    lines(child.stderr!, (line) => {
      stderr.write(line + '\n');
      this.remember(line);
      this.options.onLine?.(line, 'stderr');
    });
    void run.exited.then((code) => {
      run.exitCode = code;
      stderr.end();
      if (this.run === run && (this.state === 'starting' || this.state === 'running')) {
        this.state = code === 0 ? 'finished' : 'failed';
        if (code !== 0 && !this.failureReason) this.failureReason = `runner exited with code ${code}`;
      }
      this.notify();
    });
    await this.waitFor(() => this.state !== 'starting', options.timeoutMs ?? 120000, 'the Flink job to start');
    // Changed by the event handlers while awaiting (TypeScript's narrowing does not know).
    const state = this.state as LocalFlinkState;
    if (state !== 'running') {
      throw new Error(`the Flink job did not start: ${this.failureReason ?? state}\n${this.recent.join('\n')}`);
    }
  }

  /** Resolves with the first checkpoint completed after `afterId` (default: the latest so far). */
  public async waitForCheckpoint(afterId?: number, timeoutMs = 60000): Promise<FlinkCheckpoint> {
    const after = afterId ?? this.checkpoints[this.checkpoints.length - 1]?.id ?? 0;
    const seenBefore = this.checkpoints.length;
    const found = () =>
      this.checkpoints.slice(afterId === undefined ? seenBefore : 0).find((c) => c.run === this.runs && c.id > after);
    await this.waitFor(() => found() !== undefined || !this.isRunning(), timeoutMs, `a checkpoint after ${after}`);
    const checkpoint = found();
    if (!checkpoint) throw new Error(`the Flink job ended (${this.state}) before a checkpoint after ${after}`);
    return checkpoint;
  }

  /**
   * The path of the newest completed checkpoint: the newest in the checkpoint dir with its `_metadata` (a job killed
   * right after finishing one has not reported it yet, and restoring from it replays less), else the last reported.
   */
  public latestCheckpoint(): string | undefined {
    const reported = this.checkpoints[this.checkpoints.length - 1]?.path;
    return latestCheckpointIn(this.checkpointDir) ?? reported ?? this.restoredFrom;
  }

  /** SIGKILL, as a crash would: no cancellation, the checkpoints stay as they are. */
  public async kill(): Promise<void> {
    const run = this.run;
    if (!run || run.exitCode !== undefined) return;
    this.state = 'killed';
    run.child.kill('SIGKILL');
    await run.exited;
  }

  /**
   * Kills the job if it runs, then starts it again from the latest completed checkpoint (from scratch when there is
   * none). Resolves with the checkpoint path restored from.
   */
  public async restartFromLatestCheckpoint(options: { timeoutMs?: number } = {}): Promise<string | undefined> {
    await this.kill();
    const latest = this.latestCheckpoint();
    await this.start({ restoreFrom: latest, timeoutMs: options.timeoutMs });
    return latest;
  }

  /**
   * Graceful stop: SIGTERM (the runner cancels the job, keeping its checkpoints), SIGKILL after the grace period.
   * Resolves once the JVM has exited; removes the work directory when this object created it.
   */
  public async stop(): Promise<void> {
    const run = this.run;
    if (run && run.exitCode === undefined) {
      this.state = 'stopped';
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), this.options.stopGraceMs ?? 15000);
      await run.exited;
      clearTimeout(timer);
    } else if (this.state === 'running' || this.state === 'starting') {
      this.state = 'stopped';
    }
    if (this.ownsWorkDir) fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  public metrics(): LocalFlinkMetrics {
    const last = this.checkpoints[this.checkpoints.length - 1];
    return {
      state: this.state,
      running: this.isRunning(),
      failed: this.state === 'failed',
      failureReason: this.failureReason,
      runs: this.runs,
      checkpointsCompleted: this.checkpoints.length,
      checkpointFailures: this.checkpointFailures,
      lastCheckpointDurationMs: last?.durationMs,
      lastCheckpoint: last,
      jobRestarts: this.jobRestarts,
      jobId: this.jobId,
      pid: this.run && this.run.exitCode === undefined ? this.run.child.pid : undefined,
    };
  }

  /** Every checkpoint reported so far, oldest first. */
  public completedCheckpoints(): readonly FlinkCheckpoint[] {
    return this.checkpoints;
  }

  /** The last lines of the runner's output (stderr included), for error messages. */
  public recentOutput(): string {
    return this.recent.join('\n');
  }

  private isRunning(): boolean {
    return this.state === 'running' && this.run?.exitCode === undefined;
  }

  private onStdout(line: string, run: Run): void {
    this.options.onLine?.(line, 'stdout');
    const m = /^([A-Z_]+) (\{.*\})$/.exec(line);
    if (!m || this.run !== run) {
      this.remember(line);
      return;
    }
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(m[2]) as Record<string, unknown>;
    } catch {
      this.remember(line);
      return;
    }
    this.remember(line);
    switch (m[1]) {
      case 'JOB_STARTED':
        this.jobId = String(event.jobId);
        if (this.state === 'starting') this.state = 'running';
        break;
      case 'CHECKPOINT':
        this.checkpoints.push({
          id: Number(event.id),
          durationMs: Number(event.durationMs),
          sizeBytes: Number(event.sizeBytes),
          path: String(event.path),
          run: run.number,
        });
        break;
      case 'CHECKPOINT_FAILED': {
        const failed = Number(event.failed);
        this.checkpointFailures += Math.max(0, failed - this.runFailures);
        this.runFailures = Math.max(this.runFailures, failed);
        break;
      }
      case 'JOB_RESTARTING': {
        const restarts = Number(event.restarts);
        this.jobRestarts += Math.max(0, restarts - this.runRestarts);
        this.runRestarts = Math.max(this.runRestarts, restarts);
        break;
      }
      case 'JOB_FAILED':
        this.state = 'failed';
        this.failureReason = String(event.reason);
        break;
      case 'JOB_FINISHED':
        this.state = 'finished';
        break;
      default:
        break;
    }
    this.notify();
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 40) this.recent.shift();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.recent.join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, i).replace(/\r$/, ''));
      buffer = buffer.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buffer) onLine(buffer);
    buffer = '';
  });
}
