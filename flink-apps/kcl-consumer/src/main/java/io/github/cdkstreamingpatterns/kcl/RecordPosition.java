package io.github.cdkstreamingpatterns.kcl;

import java.math.BigInteger;

/**
 * Where a record is in its shard, as a string whose lexicographic order is the records' order: the sequence number
 * (a decimal of up to 129 digits) and the sub-sequence number of a record inside a KPL aggregate, both zero-padded.
 * DynamoDB compares strings by their UTF-8 bytes, so a condition {@code position < :position} orders records exactly.
 */
public final class RecordPosition {
    static final int SEQUENCE_DIGITS = 129;
    static final int SUB_SEQUENCE_DIGITS = 19;

    private RecordPosition() {}

    public static String of(String sequenceNumber, long subSequenceNumber) {
        if (sequenceNumber == null
                || sequenceNumber.isEmpty()
                || sequenceNumber.length() > SEQUENCE_DIGITS
                || !sequenceNumber.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(
                    "a sequence number is 1 to " + SEQUENCE_DIGITS + " decimal digits, got " + sequenceNumber);
        }
        if (subSequenceNumber < 0) {
            throw new IllegalArgumentException("a sub-sequence number is not negative, got " + subSequenceNumber);
        }
        // Leading zeros would make two spellings of one number; BigInteger gives the canonical one.
        String canonical = new BigInteger(sequenceNumber).toString();
        String sub = Long.toString(subSequenceNumber);
        return "0".repeat(SEQUENCE_DIGITS - canonical.length()) + canonical + ":"
                + "0".repeat(SUB_SEQUENCE_DIGITS - sub.length()) + sub;
    }
}
