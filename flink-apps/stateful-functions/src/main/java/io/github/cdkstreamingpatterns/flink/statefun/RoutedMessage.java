package io.github.cdkstreamingpatterns.flink.statefun;

/**
 * A message on its way to a function instance, as it travels between operators (ingress router to dispatcher, and
 * dispatcher to itself through the feedback loop). A Flink POJO: public fields and a no-arg constructor, so Flink
 * serializes it without Kryo. {@code messageJson} is the invocation-protocol message object
 * ({@code {"id","type","from","payload"}}) exactly as it will be sent to the function.
 */
public class RoutedMessage {
    public String targetType;
    public String targetId;
    public String messageId;
    public String messageJson;

    public RoutedMessage() {}

    public RoutedMessage(Address target, String messageId, String messageJson) {
        this.targetType = target.type();
        this.targetId = target.id();
        this.messageId = messageId;
        this.messageJson = messageJson;
    }

    public String addressKey() {
        return targetType + "/" + targetId;
    }

    public Address target() {
        return new Address(targetType, targetId);
    }

    @Override
    public String toString() {
        return "RoutedMessage{" + addressKey() + ", " + messageId + "}";
    }
}
