import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Test server for @queueflow/mongo: mongo-java-server on its in-memory backend, bound to
 * loopback. Usage: java -cp ... Launcher <port> [--oplog]. With --oplog the server keeps an
 * oplog, so change streams work (the adapter's wake-up path); without it the adapter polls.
 */
public final class Launcher {
  /**
   * The version the server reports: MongoDB 4.4, wire version 9. mongo-java-server's newest,
   * ServerVersion.MONGO_5_0, reports wire version 8 (MongoDB 4.2's), under the minimum of the
   * mongodb driver 7 (4.4); the version is only reported, the server works the same whatever it is.
   */
  private static final MongoVersion REPORTED =
      new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
          return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
          return 9;
        }
      };

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 1) {
      System.err.println("usage: Launcher <port> [--oplog]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    boolean oplog = args.length > 1 && "--oplog".equals(args[1]);
    MongoServer server = new MongoServer(new MemoryBackend().version(REPORTED));
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
