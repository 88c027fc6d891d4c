package io.github.cdkstreamingpatterns.flink.kinesis;

import java.io.Serializable;

/**
 * Derives the Kinesis partition key of an element. Records with the same key land on the same shard and keep
 * their relative order, so use the entity id (device id, aggregate id) whose order matters.
 */
@FunctionalInterface
public interface PartitionKeyGenerator<T> extends Serializable {
    /** Returns a non-empty key of at most 256 Unicode characters. */
    String apply(T element);
}
