import * as fc from 'fast-check';
import { runSimulation } from '../../../lambda/device-fleet-simulator/run';
import { ProducerRecord, SendResult } from '../../../lambda/shared/producer';

/**
 * `duplicatesSent` is what a dedupe by eventId drops from what reached the stream: with puts failing at random, it
 * must equal the sent records whose eventId an earlier sent record had.
 */
describe('runSimulation', () => {
  test('duplicatesSent counts the repeats among the records sent, whatever fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (seed, p) => {
          const sentRecords: ProducerRecord[] = [];
          let draw = seed;
          const sender = {
            send: async (records: readonly ProducerRecord[]): Promise<SendResult> => {
              const failed: SendResult['failed'] = [];
              for (const record of records) {
                draw = (draw * 1103515245 + 12345) % 2147483648;
                if (draw / 2147483648 < p) failed.push({ record, errorCode: 'InternalFailure', errorMessage: 'x' });
                else sentRecords.push(record);
              }
              return { sent: records.length - failed.length, failed };
            },
          };
          let clock = 0;
          const summary = await runSimulation(sender, {
            deviceCount: 3,
            ratePerSecond: 40,
            durationSeconds: 3,
            seed,
            duplicateRate: 0.3,
            // The run paces on this clock; each reading a second later, it never sleeps.
            now: () => (clock += 1000),
          });
          const seen = new Set<string>();
          let repeats = 0;
          for (const r of sentRecords) {
            const id = (JSON.parse(r.data.toString()) as { eventId?: string }).eventId;
            if (id === undefined) continue;
            if (seen.has(id)) repeats += 1;
            seen.add(id);
          }
          expect(summary.sent).toBe(sentRecords.length);
          expect(summary.duplicatesSent).toBe(repeats);
          expect(summary.duplicatesSent).toBeLessThanOrEqual(summary.byKind.duplicate);
        },
      ),
      { numRuns: 50 },
    );
  });
});
