#!/usr/bin/env node
import { ArgumentError, formatSummary, kinesisClientFor, parseReplayArgs, runReplay, s3ClientFor, USAGE } from '.';
import type { ReplayDependencies } from '.';

export interface ReplayIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Overrides for tests (clock, sink); clients are built from the options when absent. */
  readonly deps?: Partial<ReplayDependencies>;
}

const consoleIo: ReplayIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/**
 * Replays a time range of a stream or of its Firehose archive into a target stream (see USAGE).
 * Returns the exit code: 0 all written, 1 something failed (summary says what), 2 invalid arguments.
 */
export async function main(argv: readonly string[], io: ReplayIo = consoleIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let options;
  try {
    options = parseReplayArgs(argv);
  } catch (e) {
    if (e instanceof ArgumentError) {
      io.err(`replay: ${e.message}`);
      io.err(USAGE);
      return 2;
    }
    throw e;
  }
  const kinesis = io.deps?.kinesis ?? kinesisClientFor(options);
  const s3 = io.deps?.s3 ?? (options.source === 'archive' ? s3ClientFor(options) : undefined);
  try {
    const summary = await runReplay(options, { log: io.err, ...io.deps, kinesis, s3 });
    for (const line of formatSummary(summary)) io.out(line);
    return summary.failed + summary.unreadable === 0 ? 0 : 1;
  } catch (e) {
    io.err(`replay failed: ${(e as Error).name}: ${(e as Error).message}`);
    return 1;
  } finally {
    if (!io.deps?.kinesis) kinesis.destroy();
    if (!io.deps?.s3) s3?.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
