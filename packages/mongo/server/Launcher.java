import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.concurrent.CountDownLatch;

/**
 * Test server for @queueflow/mongo: mongo-java-server on its in-memory backend, bound to
 * loopback. Usage: java -cp ... Launcher <port> [--oplog]. With --oplog the server keeps an
 * oplog, so change streams work (the adapter's wake-up path); without it the adapter polls.
 */
public final class Launcher {
  public static void main(String[] args) throws InterruptedException {
    if (args.length < 1) {
      System.err.println("usage: Launcher <port> [--oplog]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    boolean oplog = args.length > 1 && "--oplog".equals(args[1]);
    MongoServer server = new MongoServer(new MemoryBackend());
    if (oplog) server.enableOplog();
    server.bind("127.0.0.1", port);
    System.err.println("mongo-java-server listening on 127.0.0.1:" + port + (oplog ? " (oplog)" : ""));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      stopped.countDown();
    }));
    stopped.await();
  }
}
