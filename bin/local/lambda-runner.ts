import { ChildProcess, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { WORKER_SOURCE } from './lambda-worker-source';

/**
 * Runs a synthesized `AWS::Lambda::Function` locally from the bundle `cdk synth` wrote to the cloud assembly, the
 * same code Lambda would run. Each function gets its own child processes (one per concurrent invocation, like
 * Lambda's execution environments), so functions never share `process.env` or module state; a timed-out invocation
 * kills its process, which is replaced on the next invocation.
 */

/** A Lambda error as the Invoke API reports it. */
export class LambdaInvokeError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: string[] = [],
  ) {
    super(`${errorType}: ${errorMessage}`);
    this.name = 'LambdaInvokeError';
  }
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface LambdaRunnerOptions {
  /** The cloud assembly directory (`cdk.out`). */
  readonly assemblyDir: string;
  readonly stackName: string;
  readonly logicalId: string;
  /** The function's resource; default: read from `<assemblyDir>/<stackName>.template.json`. */
  readonly resource?: CfnResource;
  /**
   * Resolves an environment value that is not a plain string (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, ...) to
   * its local value, e.g. a table's Ref to the local table name. Returning undefined fails `start()`.
   */
  readonly resolve?: (value: unknown, variable: string) => string | undefined;
  /**
   * Added to the function's environment after the template's variables: local endpoints
   * (`AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`, ...), credentials
   * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), `AWS_REGION`.
   */
  readonly extraEnv?: Record<string, string>;
  /** `context.functionName` and AWS_LAMBDA_FUNCTION_NAME. Default: `<stackName>-<logicalId>`. */
  readonly functionName?: string;
  readonly region?: string;
  /** Execution environments that may run at once (concurrent invocations beyond this wait). Default 1. */
  readonly maxConcurrency?: number;
  /** Overrides the template's Timeout (seconds). */
  readonly timeoutSeconds?: number;
  /** Where the function's stdout/stderr go. Default: this process's stderr, prefixed with the function name. */
  readonly output?: (line: string) => void;
}

interface Worker {
  child: ChildProcess;
  busy: boolean;
  ready: Promise<void>;
  pending?: { id: string; resolve: (v: unknown) => void; reject: (e: Error) => void };
  dead: boolean;
}

/** Maps a function's `Code.S3Key` to its asset directory through `<stack>.assets.json`. */
export function assetDirectory(assemblyDir: string, stackName: string, s3Key: string): string {
  const hash = s3Key.replace(/\.zip$/, '');
  const manifestPath = path.join(assemblyDir, `${stackName}.assets.json`);
  if (fs.existsSync(manifestPath)) {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
      files?: Record<string, { source?: { path?: string }; destinations?: Record<string, { objectKey?: string }> }>;
    };
    for (const [id, file] of Object.entries(manifest.files ?? {})) {
      const keys = Object.values(file.destinations ?? {}).map((d) => d.objectKey);
      if ((id === hash || keys.includes(s3Key)) && file.source?.path) {
        return path.resolve(assemblyDir, file.source.path);
      }
    }
  }
  const fallback = path.join(assemblyDir, `asset.${hash}`);
  if (fs.existsSync(fallback)) return fallback;
  throw new Error(`no asset for S3Key ${s3Key} in ${manifestPath}`);
}

/** `index.handler` → the bundle file in the asset directory and its export. */
export function handlerLocation(assetDir: string, handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new Error(`Handler '${handler}' is not <file>.<export>`);
  const base = path.join(assetDir, handler.slice(0, dot));
  for (const ext of ['.js', '.cjs', '.mjs']) {
    if (fs.existsSync(base + ext)) return { file: base + ext, exportName: handler.slice(dot + 1) };
  }
  throw new Error(`Handler file ${base}.js not found`);
}

export class LambdaRunner {
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly memoryLimitInMB: number;
  private readonly properties: Record<string, unknown>;
  private readonly workers: Worker[] = [];
  private readonly waiting: Array<() => void> = [];
  private env?: Record<string, string>;
  private location?: { file: string; exportName: string };
  private stopped = false;

  constructor(private readonly options: LambdaRunnerOptions) {
    const resource =
      options.resource ??
      (
        JSON.parse(fs.readFileSync(path.join(options.assemblyDir, `${options.stackName}.template.json`), 'utf8')) as {
          Resources: Record<string, CfnResource>;
        }
      ).Resources[options.logicalId];
    if (!resource || resource.Type !== 'AWS::Lambda::Function') {
      throw new Error(`${options.stackName}/${options.logicalId} is not an AWS::Lambda::Function`);
    }
    this.properties = resource.Properties ?? {};
    const runtime = String(this.properties.Runtime ?? '');
    if (!runtime.startsWith('nodejs')) throw new Error(`${options.logicalId}: runtime ${runtime} is not Node.js`);
    this.functionName = options.functionName ?? `${options.stackName}-${options.logicalId}`;
    this.timeoutMs = (options.timeoutSeconds ?? Number(this.properties.Timeout ?? 3)) * 1000;
    this.memoryLimitInMB = Number(this.properties.MemorySize ?? 128);
  }

  /** Resolves the environment and the bundle, and starts one execution environment (its init phase). */
  async start(): Promise<void> {
    const code = this.properties.Code as { S3Key?: unknown } | undefined;
    if (typeof code?.S3Key !== 'string') throw new Error(`${this.options.logicalId}: Code.S3Key is not a string`);
    const assetDir = assetDirectory(this.options.assemblyDir, this.options.stackName, code.S3Key);
    this.location = handlerLocation(assetDir, String(this.properties.Handler ?? 'index.handler'));
    this.env = this.environment(assetDir);
    const w = this.spawnWorker();
    await w.ready;
  }

  /** The environment the function sees: Lambda's reserved variables, the template's, then `extraEnv`. */
  environment(assetDir: string): Record<string, string> {
    const region = this.options.region ?? this.options.extraEnv?.AWS_REGION ?? 'us-east-1';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_LAMBDA_FUNCTION_NAME: this.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.memoryLimitInMB),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_EXECUTION_ENV: `AWS_Lambda_${this.properties.Runtime}`,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${this.functionName}`,
      LAMBDA_TASK_ROOT: assetDir,
      _HANDLER: String(this.properties.Handler ?? 'index.handler'),
    };
    const vars = ((this.properties.Environment as { Variables?: Record<string, unknown> }) ?? {}).Variables ?? {};
    for (const [name, value] of Object.entries(vars)) {
      if (typeof value === 'string') {
        env[name] = value;
        continue;
      }
      const resolved = this.options.resolve?.(value, name);
      if (resolved === undefined) {
        throw new Error(`${this.options.logicalId}: no local value for ${name} = ${JSON.stringify(value)}`);
      }
      env[name] = resolved;
    }
    return { ...env, ...this.options.extraEnv };
  }

  /** Invokes the function with a Lambda-like context; rejects with `LambdaInvokeError` as Invoke reports errors. */
  async invoke(event: unknown): Promise<unknown> {
    if (this.stopped) throw new Error(`${this.functionName} is stopped`);
    if (!this.env) await this.start();
    const worker = await this.acquire();
    try {
      await worker.ready;
      return await this.run(worker, event);
    } finally {
      worker.busy = false;
      this.waiting.shift()?.();
    }
  }

  /** Kills every execution environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.splice(0).map((w) => this.kill(w)));
  }

  private async acquire(): Promise<Worker> {
    for (;;) {
      const idle = this.workers.find((w) => !w.busy && !w.dead);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.workers.length < (this.options.maxConcurrency ?? 1)) {
        const w = this.spawnWorker();
        w.busy = true;
        return w;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private spawnWorker(): Worker {
    const child = spawn(process.execPath, ['-e', WORKER_SOURCE], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: path.dirname(this.location!.file),
      env: this.env,
    });
    const out = this.options.output ?? ((line: string) => process.stderr.write(`[${this.functionName}] ${line}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream?.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) out(l);
      });
    }
    const worker: Worker = { child, busy: false, dead: false, ready: Promise.resolve() };
    worker.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (msg: { type: string; id?: string; result?: unknown; error?: LambdaInvokeErrorShape }) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'init-error') {
          reject(new LambdaInvokeError(msg.error!.errorType, msg.error!.errorMessage, msg.error!.trace));
          void this.kill(worker);
        }
        const pending = worker.pending;
        if (msg.type === 'result' && pending && pending.id === msg.id) pending.resolve(msg.result);
        else if ((msg.type === 'error' || msg.type === 'crash') && pending) {
          pending.reject(new LambdaInvokeError(msg.error!.errorType, msg.error!.errorMessage, msg.error!.trace));
        }
      });
      child.on('exit', (code, signal) => {
        worker.dead = true;
        const i = this.workers.indexOf(worker);
        if (i >= 0) this.workers.splice(i, 1);
        const err = new LambdaInvokeError('Runtime.ExitError', `RequestId: exited with ${signal ?? code}`);
        reject(err);
        worker.pending?.reject(err);
        this.waiting.shift()?.();
      });
    });
    worker.ready.catch(() => undefined);
    child.send({ type: 'init', file: this.location!.file, exportName: this.location!.exportName, env: this.env });
    this.workers.push(worker);
    return worker;
  }

  private run(worker: Worker, event: unknown): Promise<unknown> {
    const awsRequestId = randomUUID();
    const region = this.env!.AWS_REGION;
    const context = {
      functionName: this.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${this.functionName}`,
      memoryLimitInMB: String(this.memoryLimitInMB),
      awsRequestId,
      logGroupName: `/aws/lambda/${this.functionName}`,
      logStreamName: `local/${worker.child.pid}`,
      deadline: Date.now() + this.timeoutMs,
    };
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.pending = undefined;
        reject(
          new LambdaInvokeError(
            'Sandbox.Timedout',
            `RequestId: ${awsRequestId} Error: Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`,
          ),
        );
        void this.kill(worker);
      }, this.timeoutMs);
      worker.pending = {
        id: awsRequestId,
        resolve: (v) => {
          clearTimeout(timer);
          worker.pending = undefined;
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          worker.pending = undefined;
          reject(e);
        },
      };
      worker.child.send({ type: 'invoke', id: awsRequestId, event, context });
    });
  }

  private kill(worker: Worker): Promise<void> {
    const child = worker.child;
    worker.dead = true;
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

interface LambdaInvokeErrorShape {
  errorType: string;
  errorMessage: string;
  trace: string[];
}
