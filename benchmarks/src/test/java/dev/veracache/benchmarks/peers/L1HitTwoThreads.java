package dev.veracache.benchmarks.peers;

import org.openjdk.jmh.annotations.Threads;

/** {@link L1Hit} on two threads (both cores of the reference machine). */
@Threads(2)
public class L1HitTwoThreads extends L1Hit {
}
