/**
 * Stateful functions: events/s through the Flink runtime with a remote function answering in 20 ms, 1,000 addresses
 * against 1 (serial). The measurement is Java (`StatefunConcurrencyBench` in the module's test sources: the real
 * topology on a local MiniCluster against a JDK HTTP server that speaks the function protocol); this row launches it
 * with the classpath Maven writes and reads the one JSON line it prints.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { BenchMode, BenchRow, Measurement } from '../harness';

const MODULE = path.resolve(__dirname, '..', '..', 'flink-apps', 'stateful-functions');
const MAIN = 'io.github.cdkstreamingpatterns.flink.statefun.StatefunConcurrencyBench';
const BUILD = 'mvn -B -q -f flink-apps/pom.xml -DskipTests install';

/** test-classes, classes and the test classpath Maven wrote; throws with the build command when any is missing. */
export function statefunBenchClasspath(moduleDir = MODULE): string {
  const target = path.join(moduleDir, 'target');
  const classpathFile = path.join(target, 'test-classpath.txt');
  const dirs = [path.join(target, 'test-classes'), path.join(target, 'classes')];
  const missing = [...dirs, classpathFile].find((p) => !fs.existsSync(p));
  if (missing) throw new Error(`the stateful-functions bench is not built (${missing} missing): run ${BUILD}`);
  const entries = fs.readFileSync(classpathFile, 'utf8').trim().split(path.delimiter).filter(Boolean);
  const absent = entries.find((entry) => !fs.existsSync(entry));
  if (absent) throw new Error(`${classpathFile} names ${absent}, which does not exist: run ${BUILD}`);
  return [...dirs, ...entries].join(path.delimiter);
}

function isNumbers(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0);
}

/** The bench's JSON line as a Measurement; throws on anything else, with what was received. */
export function parseStatefunBenchOutput(stdout: string): Measurement {
  // Flink logs warnings to stdout as well: the result is the last line that is a JSON object.
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line)
    throw new Error(`the stateful-functions bench printed no JSON line; its output ended with: ${stdout.slice(-500)}`);
  const out = JSON.parse(line) as Record<string, unknown>;
  if (typeof out.error === 'string') throw new Error(`the stateful-functions bench failed: ${out.error}`);
  const { variant, unit, subject, baseline, notes } = out;
  if (typeof variant !== 'string' || typeof unit !== 'string' || !isNumbers(subject) || !isNumbers(baseline)) {
    throw new Error(`unexpected stateful-functions bench output: ${line.slice(0, 500)}`);
  }
  if (subject.length !== baseline.length) {
    throw new Error(`stateful-functions bench: ${subject.length} subject rounds, ${baseline.length} baseline`);
  }
  return {
    variant,
    unit,
    subject,
    baseline,
    ratio: 'speed',
    notes: Array.isArray(notes) ? notes.filter((n): n is string => typeof n === 'string') : [],
  };
}

/** Runs the bench; resolves with its stdout, or rejects with the end of its stderr when it printed no result line. */
function runJava(mode: BenchMode): Promise<string> {
  const classpath = statefunBenchClasspath();
  return new Promise((resolve, reject) => {
    // A bounded heap: the bench shares the machine; the MiniCluster needs far less.
    const child = spawn('java', ['-Xmx1g', '-cp', classpath, MAIN, '--mode', mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      // Exit 1 with a result line carries the reason (an ordering violation, a dead letter): the parser reports it.
      const printed = stdout.split('\n').some((l) => l.trim().startsWith('{'));
      if ((code === 0 || code === 1) && printed) resolve(stdout);
      else reject(new Error(`the stateful-functions bench exited with ${code}: ${stderr.slice(-1500)}`));
    });
  });
}

export const rows: BenchRow[] = [
  {
    id: 'statefun-concurrency',
    figure: 'stateful functions, events/s with a remote function answering in 20 ms',
    baseline: '1 distinct address (serial)',
    target: { op: '>=', value: 50 },
    async measure(mode: BenchMode): Promise<Measurement[]> {
      return [parseStatefunBenchOutput(await runJava(mode))];
    },
  },
];
