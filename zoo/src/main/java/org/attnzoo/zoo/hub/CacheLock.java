package org.attnzoo.zoo.hub;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * An exclusive lock that works across threads of this JVM (a {@link ReentrantLock} per lock file)
 * and across processes ({@link FileChannel#lock}). Re-entrant within a thread. Lock files are
 * never deleted (deleting a lock file races with processes that already opened it); they are
 * empty-ish and live under {@code <cache>/locks/}. While held, the file holds a one-line note
 * naming the holder's pid and purpose, shown to waiters.
 */
final class CacheLock implements AutoCloseable {

    private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL = new ConcurrentHashMap<>();

    private final ReentrantLock local;
    private final FileChannel channel;
    private final FileLock fileLock;

    private CacheLock(ReentrantLock local, FileChannel channel, FileLock fileLock) {
        this.local = local;
        this.channel = channel;
        this.fileLock = fileLock;
    }

    /**
     * Blocks until the lock is held or {@code timeout} passes.
     *
     * @param purpose written into the lock file for waiters to read
     * @param onWait  called once with a human-readable line if the lock is busy
     */
    static CacheLock acquire(Path file, Duration timeout, String purpose, Consumer<String> onWait) throws IOException {
        Path key = key(file);
        ReentrantLock local = LOCAL.computeIfAbsent(key, k -> new ReentrantLock());
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean told = false;
        try {
            if (!local.tryLock()) {
                onWait.accept("waiting for another thread: " + holder(key));
                told = true;
                if (!local.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    throw timeout(key, timeout);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for lock " + key);
        }
        if (local.getHoldCount() > 1) {
            return new CacheLock(local, null, null); // re-entered: the file lock is already ours
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            long sleep = 20;
            while (true) {
                FileLock fl = ch.tryLock();
                if (fl != null) {
                    note(ch, purpose);
                    return new CacheLock(local, ch, fl);
                }
                if (!told) {
                    onWait.accept("waiting for another process: " + holder(key));
                    told = true;
                }
                if (System.nanoTime() > deadline) {
                    throw timeout(key, timeout);
                }
                Thread.sleep(sleep);
                sleep = Math.min(250, sleep * 2);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeQuietly(ch);
            local.unlock();
            throw new InterruptedIOException("interrupted while waiting for lock " + key);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            local.unlock();
            throw e;
        }
    }

    /**
     * Takes the lock only if nobody - including the calling thread - holds it right now (used by
     * maintenance to skip files that are being written).
     */
    static Optional<CacheLock> tryAcquire(Path file, String purpose) throws IOException {
        Path key = key(file);
        ReentrantLock local = LOCAL.computeIfAbsent(key, k -> new ReentrantLock());
        if (local.isHeldByCurrentThread() || !local.tryLock()) {
            return Optional.empty();
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            FileLock fl = ch.tryLock();
            if (fl == null) {
                ch.close();
                local.unlock();
                return Optional.empty();
            }
            note(ch, purpose);
            return Optional.of(new CacheLock(local, ch, fl));
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            local.unlock();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (channel != null) {
                try {
                    channel.truncate(0);
                } catch (IOException ignored) {
                    // best effort: the note is informational only
                }
                fileLock.release();
                channel.close();
            }
        } finally {
            local.unlock();
        }
    }

    private static Path key(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        Files.createDirectories(abs.getParent());
        return abs.getParent().toRealPath().resolve(abs.getFileName());
    }

    private static void note(FileChannel ch, String purpose) {
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + ": " + purpose + "\n")
                    .getBytes(StandardCharsets.UTF_8)), 0);
        } catch (IOException ignored) {
            // informational only
        }
    }

    private static String holder(Path key) {
        try {
            String s = Files.readString(key, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? key.getFileName().toString() : s;
        } catch (IOException | RuntimeException e) {
            return key.getFileName().toString();
        }
    }

    private static DownloadException timeout(Path key, Duration timeout) {
        return new DownloadException(DownloadException.Kind.LOCK_TIMEOUT, null,
                "gave up after " + Downloader.seconds(timeout) + " waiting for lock " + key + " (held by " + holder(key)
                        + "); if no other attnzoo process is running, the lock is stale only if the holder hung",
                false, null);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
