import { mulberry32 } from '../../lambda/device-fleet-simulator/generator';
import type { ProducerRecord } from '../../lambda/shared/producer';
import type { RecordSender } from '../../lambda/device-fleet-simulator/run';

/**
 * Commands for the event-sourced stack, as envelopes the ingestion API writes to the event store
 * (`{"eventId","type","aggregateId","occurredAt","payload"}`, partition key = aggregateId): orders placed, paid,
 * shipped and cancelled, items restocked, and at chosen rates the bad records a direct producer could write.
 */

export type CommandKind = 'command' | 'duplicate' | 'malformed' | 'unknown-type' | 'invalid-payload';

export interface CommandEnvelope {
  readonly eventId: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly occurredAt: string;
  readonly payload: Record<string, unknown>;
}

export interface GeneratedCommand {
  readonly kind: CommandKind;
  readonly partitionKey: string;
  readonly data: Buffer;
  /** The envelope; undefined for a malformed record. */
  readonly envelope?: CommandEnvelope;
}

export interface CommandGeneratorOptions {
  /** Seed of the pseudo-random choices: the same seed gives the same commands. */
  readonly seed: number;
  /** SKUs in the catalogue. @default 20 */
  readonly skus?: number;
  /** Share of orders cancelled instead of shipped (0..1). @default 0.2 */
  readonly cancelRate?: number;
  readonly duplicateRate?: number;
  readonly malformedRate?: number;
  readonly unknownTypeRate?: number;
  readonly invalidPayloadRate?: number;
  /** Time of the first command. @default Date.now() */
  readonly startMs?: number;
}

interface OpenOrder {
  readonly id: string;
  readonly totalCents: number;
  /** The next step: 1 pay, 2 ship or cancel. */
  step: number;
}

const RATE_OPTIONS = ['cancelRate', 'duplicateRate', 'malformedRate', 'unknownTypeRate', 'invalidPayloadRate'] as const;

/**
 * A pseudo-random but reproducible command stream. It restocks every SKU first, so reservations can succeed, then
 * places orders and moves open ones on (pay with the exact total, then ship, or cancel), restocking now and then.
 * Every order's commands keep their order; a later command of an order comes at least `minStepGap` commands later,
 * which gives the stock reservations time to land before a ship.
 */
export class CommandGenerator {
  private readonly random: () => number;
  private readonly open: OpenOrder[] = [];
  private readonly skus: number;
  private readonly recent: GeneratedCommand[] = [];
  private nextOrder = 0;
  private nextEvent = 0;
  private clock: number;
  private restocked = 0;
  /** Commands generated so far, by kind. */
  public readonly byKind: Record<CommandKind, number> = {
    command: 0,
    duplicate: 0,
    malformed: 0,
    'unknown-type': 0,
    'invalid-payload': 0,
  };
  /** Valid commands generated so far, by type. */
  public readonly byType: Record<string, number> = {};

  constructor(private readonly options: CommandGeneratorOptions) {
    for (const key of RATE_OPTIONS) {
      const rate = options[key];
      if (rate !== undefined && !(rate >= 0 && rate <= 1))
        throw new Error(`${key} must be between 0 and 1, got ${rate}`);
    }
    this.skus = options.skus ?? 20;
    if (!Number.isInteger(this.skus) || this.skus < 1)
      throw new Error(`skus must be a positive integer, got ${this.skus}`);
    this.random = mulberry32(options.seed);
    this.clock = options.startMs ?? Date.now();
  }

  /** The next record to write. */
  public next(): GeneratedCommand {
    this.clock += 1;
    const r = this.random();
    let threshold = 0;
    const pick = (rate: number | undefined) => {
      threshold += rate ?? 0;
      return r < threshold;
    };
    if (pick(this.options.duplicateRate) && this.recent.length > 0) {
      // A client retry: the same envelope (same eventId) written again.
      const again = this.recent[Math.floor(this.random() * this.recent.length)];
      return this.count({ ...again, kind: 'duplicate' });
    }
    if (pick(this.options.malformedRate)) {
      const partitionKey = `malformed-${this.nextEvent++}`;
      return this.count({ kind: 'malformed', partitionKey, data: Buffer.from('{"eventId": "broken", "type": ') });
    }
    if (pick(this.options.unknownTypeRate)) {
      return this.count(this.envelope('unknown-type', 'RefundOrder', `order-${this.nextOrder}`, { amountCents: 1 }));
    }
    if (pick(this.options.invalidPayloadRate)) {
      return this.count(this.envelope('invalid-payload', 'RestockItem', this.sku(0), { quantity: -5 }));
    }
    const command = this.command();
    this.recent.push(command);
    if (this.recent.length > 64) this.recent.shift();
    return this.count(command);
  }

  /** `count` records. */
  public batch(count: number): GeneratedCommand[] {
    return Array.from({ length: count }, () => this.next());
  }

  private command(): GeneratedCommand {
    if (this.restocked < this.skus) {
      return this.envelope('command', 'RestockItem', this.sku(this.restocked++), { quantity: 1_000_000 });
    }
    const r = this.random();
    if (r < 0.05) {
      const sku = this.sku(Math.floor(this.random() * this.skus));
      return this.envelope('command', 'RestockItem', sku, { quantity: 1 + Math.floor(this.random() * 1000) });
    }
    // Move an order on only once enough other commands have gone by; otherwise place a new one.
    const ready = this.open.length > 8 && r < 0.65;
    if (ready) {
      const index = Math.floor(this.random() * Math.min(this.open.length - 8, 16));
      const order = this.open[index];
      if (order.step === 1) {
        order.step = 2;
        // Re-queue at the back, so its ship or cancel comes after later orders' steps.
        this.open.splice(index, 1);
        this.open.push(order);
        if (this.random() < (this.options.cancelRate ?? 0.2) / 2) {
          this.open.pop();
          return this.envelope('command', 'CancelOrder', order.id, { reason: 'changed my mind' });
        }
        return this.envelope('command', 'PayOrder', order.id, { amountCents: order.totalCents });
      }
      this.open.splice(index, 1);
      if (this.random() < (this.options.cancelRate ?? 0.2) / 2) {
        return this.envelope('command', 'CancelOrder', order.id, { reason: 'out of patience' });
      }
      return this.envelope('command', 'ShipOrder', order.id, {});
    }
    const id = `order-${this.nextOrder++}`;
    const lineCount = 1 + Math.floor(this.random() * 3);
    const first = Math.floor(this.random() * this.skus);
    const lines = Array.from({ length: Math.min(lineCount, this.skus) }, (_, i) => ({
      sku: this.sku((first + i) % this.skus),
      quantity: 1 + Math.floor(this.random() * 5),
      unitPriceCents: 100 + Math.floor(this.random() * 10000),
    }));
    const totalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
    this.open.push({ id, totalCents, step: 1 });
    return this.envelope('command', 'PlaceOrder', id, { customerId: `customer-${this.nextOrder % 97}`, lines });
  }

  private sku(index: number): string {
    return `sku-${String(index).padStart(4, '0')}`;
  }

  private envelope(kind: CommandKind, type: string, aggregateId: string, payload: Record<string, unknown>) {
    const envelope: CommandEnvelope = {
      eventId: `evt-${this.options.seed}-${this.nextEvent++}`,
      type,
      aggregateId,
      occurredAt: new Date(this.clock).toISOString(),
      payload,
    };
    return { kind, partitionKey: aggregateId, data: Buffer.from(JSON.stringify(envelope)), envelope };
  }

  private count(command: GeneratedCommand): GeneratedCommand {
    this.byKind[command.kind] += 1;
    if (command.kind === 'command')
      this.byType[command.envelope!.type] = (this.byType[command.envelope!.type] ?? 0) + 1;
    return command;
  }
}

export interface CommandRunOptions extends CommandGeneratorOptions {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Called after each second with the totals so far. */
  readonly onProgress?: (progress: CommandRunSummary & { second: number }) => void;
  /** Stops the run early, after the current second. */
  readonly signal?: AbortSignal;
}

export interface CommandRunSummary {
  readonly generated: number;
  readonly sent: number;
  readonly failed: number;
  readonly byKind: Record<CommandKind, number>;
  readonly byType: Record<string, number>;
}

/**
 * Writes `ratePerSecond` commands per second for `durationSeconds`, paced on the wall clock (falling behind rather
 * than dropping when sending is slow). Every record is either sent or counted as failed.
 */
export async function runCommands(sender: RecordSender, options: CommandRunOptions): Promise<CommandRunSummary> {
  for (const [name, value] of [
    ['ratePerSecond', options.ratePerSecond],
    ['durationSeconds', options.durationSeconds],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  const generator = new CommandGenerator(options);
  let sent = 0;
  let failed = 0;
  const start = Date.now();
  const summary = (): CommandRunSummary => ({
    generated: sent + failed,
    sent,
    failed,
    byKind: { ...generator.byKind },
    byType: { ...generator.byType },
  });
  for (let second = 0; second < options.durationSeconds && !options.signal?.aborted; second++) {
    const records: ProducerRecord[] = generator
      .batch(options.ratePerSecond)
      .map((c) => ({ partitionKey: c.partitionKey, data: c.data }));
    const result = await sender.send(records);
    failed += result.failed.length;
    sent += records.length - result.failed.length;
    options.onProgress?.({ ...summary(), second });
    const wait = start + (second + 1) * 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return summary();
}
