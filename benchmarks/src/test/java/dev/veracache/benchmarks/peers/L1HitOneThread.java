package dev.veracache.benchmarks.peers;

import org.openjdk.jmh.annotations.Threads;

/** {@link L1Hit} on one thread. */
@Threads(1)
public class L1HitOneThread extends L1Hit {
}
