import { KinesisClient, ListShardsCommand, ListShardsCommandOutput, ShardFilterType } from '@aws-sdk/client-kinesis';

/**
 * Parent shards, for the duplicate memory to survive a reshard: a child shard's first window starts from the event ids
 * its parents' last windows remembered (a split has one parent, a merge two), since a producer retry of a record whose
 * first copy went to a parent lands in a child. The Kinesis event does not carry the parents, so they come from
 * `ListShards`: one listing (paged, 10,000 shards a page) per stream and container, then, when a shard newer than the
 * listing shows up, one more call for the shards created after the newest one known (`AFTER_SHARD_ID`). Only a shard
 * whose own memory is empty asks, so that is a call or two per new shard, not per window.
 */

/** ListShards errors that no retry can cure; anything else (throttling, 5xx, the network) is retried by failing the batch. */
const PERMANENT_ERRORS = new Set(['AccessDeniedException', 'ResourceNotFoundException', 'InvalidArgumentException']);

/** Generations walked up when parents remembered nothing (a parent that lived without records, say). */
export const MAX_LINEAGE_DEPTH = 3;

const PAGE_SIZE = 10000;

/** Why a shard's parents are unknown; the shard then starts without their ids. */
export interface LineageUnavailable {
  readonly streamArn?: string;
  readonly shardId: string;
  readonly reason: string;
}

export interface ShardLineageOptions {
  readonly client: KinesisClient;
  /** Told when the parents cannot be known for good (never for a transient error, which throws). @default - nothing */
  readonly onUnavailable?: (info: LineageUnavailable) => void;
}

interface StreamShards {
  readonly parents: Map<string, readonly string[]>;
  /** The newest shard id listed: shard ids are zero-padded, so they sort by creation. */
  newest: string;
}

/** The stream an event source ARN names: an enhanced fan-out consumer's ARN is `<stream ARN>/consumer/<name>:<time>`. */
export function streamArnOf(eventSourceArn: string): string {
  const i = eventSourceArn.indexOf('/consumer/');
  return i < 0 ? eventSourceArn : eventSourceArn.slice(0, i);
}

export class ShardLineage {
  private readonly streams = new Map<string, StreamShards>();

  constructor(private readonly options: ShardLineageOptions) {}

  /**
   * The shard's parents (none for an original shard). Throws on a transient ListShards error, so the batch fails
   * and is retried rather than applied without the parents' ids; reports a permanent one (no permission, no such
   * stream) to `onUnavailable` and returns none, so the shard does not stall.
   */
  async parentsOf(eventSourceArn: string | undefined, shardId: string): Promise<readonly string[]> {
    if (!eventSourceArn) return this.unavailable(undefined, shardId, 'the event names no stream');
    const streamArn = streamArnOf(eventSourceArn);
    try {
      let known = this.streams.get(streamArn);
      if (!known) {
        known = { parents: new Map(), newest: '' };
        await this.list(streamArn, known, undefined);
        this.streams.set(streamArn, known);
      }
      const parents = known.parents.get(shardId);
      if (parents) return parents;
      // Older than the newest listed yet not listed: trimmed from the stream with its lineage.
      if (shardId <= known.newest) return [];
      await this.list(streamArn, known, known.newest);
      return (
        known.parents.get(shardId) ??
        this.unavailable(streamArn, shardId, `ListShards does not list ${shardId} after ${known.newest}`)
      );
    } catch (e) {
      const name = (e as Error).name;
      if (!PERMANENT_ERRORS.has(name)) throw e;
      return this.unavailable(streamArn, shardId, `ListShards failed: ${name}: ${(e as Error).message}`);
    }
  }

  private async list(streamArn: string, known: StreamShards, after: string | undefined): Promise<void> {
    let nextToken: string | undefined;
    do {
      // NextToken carries the stream and the filter: the API refuses them beside it.
      const out: ListShardsCommandOutput = await this.options.client.send(
        new ListShardsCommand(
          nextToken
            ? { NextToken: nextToken, MaxResults: PAGE_SIZE }
            : {
                StreamARN: streamArn,
                MaxResults: PAGE_SIZE,
                ...(after ? { ShardFilter: { Type: ShardFilterType.AFTER_SHARD_ID, ShardId: after } } : {}),
              },
        ),
      );
      for (const s of out.Shards ?? []) {
        if (!s.ShardId) continue;
        const parents = [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => !!p);
        known.parents.set(s.ShardId, parents);
        if (s.ShardId > known.newest) known.newest = s.ShardId;
      }
      nextToken = out.NextToken;
    } while (nextToken);
  }

  private unavailable(streamArn: string | undefined, shardId: string, reason: string): readonly string[] {
    this.options.onUnavailable?.({ ...(streamArn ? { streamArn } : {}), shardId, reason });
    return [];
  }
}

/**
 * The event ids a shard inherits from its parents: each parent's remembered ids (a parent that remembered none stands
 * for its own parents, up to `MAX_LINEAGE_DEPTH` generations), at most `max` in all, oldest first. Parents are taken
 * newest id first in turn, so after a merge each parent keeps its latest ids when the union is over `max`.
 */
export async function inheritedEventIds(
  lineage: ShardLineage,
  loadEventIds: (shardId: string) => Promise<readonly string[]>,
  eventSourceArn: string | undefined,
  shardId: string,
  max: number,
): Promise<string[]> {
  const lists: (readonly string[])[] = [];
  const seen = new Set([shardId]);
  let generation = [shardId];
  for (let depth = 0; depth < MAX_LINEAGE_DEPTH && generation.length > 0; depth++) {
    const next: string[] = [];
    for (const child of generation) {
      for (const parent of await lineage.parentsOf(eventSourceArn, child)) {
        if (seen.has(parent)) continue;
        seen.add(parent);
        const ids = await loadEventIds(parent);
        if (ids.length > 0) lists.push(ids);
        else next.push(parent);
      }
    }
    generation = next;
  }
  return interleaveNewest(lists, max);
}

/** Up to `max` distinct ids of the lists (each oldest first), newest of each in turn; returned oldest first. */
export function interleaveNewest(lists: readonly (readonly string[])[], max: number): string[] {
  const picked: string[] = [];
  const seen = new Set<string>();
  const at = lists.map((l) => l.length - 1);
  let left = lists.some((l) => l.length > 0);
  while (left && picked.length < max) {
    left = false;
    for (let i = 0; i < lists.length && picked.length < max; i++) {
      while (at[i] >= 0) {
        const id = lists[i][at[i]--];
        if (seen.has(id)) continue;
        seen.add(id);
        picked.push(id);
        break;
      }
      if (at[i] >= 0) left = true;
    }
  }
  return picked.reverse();
}
