package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import java.util.Objects;

/**
 * Address of a function instance: its function type plus an id. The keyed-stream key is {@code "type/id"}; a
 * function type never contains '/', so the key splits unambiguously at the first '/'.
 */
public final class Address {
    private final String type;
    private final String id;

    public Address(String type, String id) {
        if (type == null || type.isEmpty() || type.indexOf('/') >= 0) {
            throw new IllegalArgumentException("function type must be a non-empty string without '/': " + type);
        }
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("function id must be a non-empty string");
        }
        this.type = type;
        this.id = id;
    }

    public static Address fromKey(String key) {
        int slash = key.indexOf('/');
        if (slash <= 0) {
            throw new IllegalArgumentException("not an address key: " + key);
        }
        return new Address(key.substring(0, slash), key.substring(slash + 1));
    }

    public String type() {
        return type;
    }

    public String id() {
        return id;
    }

    public String key() {
        return type + "/" + id;
    }

    /** {@code {"type","id"}}, as the protocol and the dead letters write an address. */
    public ObjectNode toJson() {
        ObjectNode node = Json.object();
        node.put("type", type);
        node.put("id", id);
        return node;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Address && ((Address) o).type.equals(type) && ((Address) o).id.equals(id);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, id);
    }

    @Override
    public String toString() {
        return key();
    }
}
