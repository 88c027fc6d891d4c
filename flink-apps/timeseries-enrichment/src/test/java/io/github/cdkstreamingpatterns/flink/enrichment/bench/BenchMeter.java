package io.github.cdkstreamingpatterns.flink.enrichment.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one benchmark job cost, from the source's first fetch to the moment the last sink saw the end of its input:
 * wall time, the JVM's CPU time (every thread, garbage collection and JIT included) and the CPU time of the Java
 * threads alone (task threads and the source's fetcher thread, without the collector's and compiler's threads).
 * Job start-up and tear-down fall outside that interval, so the numbers are the per-record cost of the graph.
 */
final class BenchMeter {
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final AtomicInteger SINKS_LEFT = new AtomicInteger();
    private static final AtomicLong SINK_RECORDS = new AtomicLong();
    private static final AtomicLong SINK_BYTES = new AtomicLong();
    private static volatile long startWall;
    private static volatile long startCpu;
    private static volatile long startThreadCpu;
    private static volatile long startGc;
    private static volatile long endWall;
    private static volatile long endCpu;
    private static volatile long endThreadCpu;
    private static volatile long endGc;

    private BenchMeter() {}

    /** Before a job: how many sinks must report the end of their input. */
    static void reset(int sinks) {
        STARTED.set(false);
        SINKS_LEFT.set(sinks);
        SINK_RECORDS.set(0);
        SINK_BYTES.set(0);
        endWall = 0;
    }

    static void started() {
        if (STARTED.compareAndSet(false, true)) {
            startGc = gcMillis();
            startThreadCpu = javaThreadsCpu();
            startCpu = OS.getProcessCpuTime();
            startWall = System.nanoTime();
        }
    }

    /** A sink's writer saw the end of its input, after writing {@code records} records of {@code bytes} bytes. */
    static void sinkFinished(long records, long bytes) {
        SINK_RECORDS.addAndGet(records);
        SINK_BYTES.addAndGet(bytes);
        if (SINKS_LEFT.decrementAndGet() == 0) {
            endWall = System.nanoTime();
            endCpu = OS.getProcessCpuTime();
            endThreadCpu = javaThreadsCpu();
            endGc = gcMillis();
        }
    }

    /** The last job's sample; fails when it did not finish. */
    static Sample sample() {
        if (!STARTED.get() || endWall == 0) {
            throw new IllegalStateException("the job ended without every sink reaching the end of its input");
        }
        return new Sample(
                endWall - startWall,
                endCpu - startCpu,
                endThreadCpu - startThreadCpu,
                endGc - startGc,
                SINK_RECORDS.get(),
                SINK_BYTES.get());
    }

    /**
     * CPU time of the live Java threads. A thread that ended inside the interval loses its time, so this is taken
     * while the job's task threads still run (at the start, its threads are up before the first fetch).
     */
    private static long javaThreadsCpu() {
        long sum = 0;
        for (long id : THREADS.getAllThreadIds()) {
            long t = THREADS.getThreadCpuTime(id);
            if (t > 0) {
                sum += t;
            }
        }
        return sum;
    }

    private static long gcMillis() {
        long sum = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            sum += Math.max(0, gc.getCollectionTime());
        }
        return sum;
    }

    /** One job's cost. */
    static final class Sample {
        final long wallNanos;
        final long cpuNanos;
        final long threadCpuNanos;
        final long gcMillis;
        final long sinkRecords;
        final long sinkBytes;

        Sample(long wallNanos, long cpuNanos, long threadCpuNanos, long gcMillis, long sinkRecords, long sinkBytes) {
            this.wallNanos = wallNanos;
            this.cpuNanos = cpuNanos;
            this.threadCpuNanos = threadCpuNanos;
            this.gcMillis = gcMillis;
            this.sinkRecords = sinkRecords;
            this.sinkBytes = sinkBytes;
        }
    }
}
