package io.mqdrill.emulator;

import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;

/**
 * fabric8's kubernetes-server-mock in CRUD mode (the mixed dispatcher, exactly as the JUnit
 * extension builds it for {@code crud = true}), over plain HTTP on loopback.
 *
 * <p>On top of it, one test-only door: {@code POST /__emulator/expect} records a canned answer
 * (method, path, the query parameters that must match, status, body, optional delay, optional
 * count) that is served
 * before CRUD. The tests use it for what the mock does not model: pod logs, RBAC refusals (403)
 * and a slow API server. {@code DELETE /__emulator/expect} forgets them all.
 *
 * <p>Prints {@code LISTENING <port>} on stdout once bound, then blocks until killed.
 * Usage: {@code Main [port]} (0 or absent: a random free port).
 */
public final class Main {
  private static final String CONTROL = "/__emulator/expect";

  /** One canned answer; {@code remaining < 0} means forever. */
  private static final class Canned {
    final String method;
    final String path;
    final Map<String, String> query = new HashMap<>();
    final int status;
    final String body;
    final long delayMs;
    int remaining;

    /** Same method and path, and every query parameter this answer names has the same value. */
    boolean matches(String method, String requestPath) {
      int q = requestPath.indexOf('?');
      String base = q < 0 ? requestPath : requestPath.substring(0, q);
      if (!this.method.equals(method) || !this.path.equals(base)) {
        return false;
      }
      Map<String, String> got = q < 0 ? Map.of() : parseQuery(requestPath.substring(q + 1));
      for (Map.Entry<String, String> e : query.entrySet()) {
        if (!e.getValue().equals(got.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }

    Canned(JsonNode n) {
      method = n.path("method").asString("GET").toUpperCase();
      String full = n.path("path").asString();
      int q = full.indexOf('?');
      path = q < 0 ? full : full.substring(0, q);
      if (q >= 0) {
        query.putAll(parseQuery(full.substring(q + 1)));
      }
      JsonNode wanted = n.path("query");
      if (wanted.isObject()) {
        for (Map.Entry<String, JsonNode> e : wanted.properties()) {
          query.put(e.getKey(), e.getValue().asString());
        }
      }
      status = n.path("status").asInt(200);
      body = n.path("body").asString("");
      delayMs = n.path("delay_ms").asLong(0);
      remaining = n.path("times").asInt(-1);
    }
  }

  /** Answers canned expectations first, the control door second, then CRUD. */
  private static final class ControlDispatcher extends Dispatcher {
    private final Dispatcher crud;
    private final CopyOnWriteArrayList<Canned> canned = new CopyOnWriteArrayList<>();

    ControlDispatcher(Dispatcher crud) {
      this.crud = crud;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
      String path = request.getPath();
      if (path.startsWith(CONTROL)) {
        return control(request);
      }
      for (Canned c : canned) {
        if (c.matches(request.getMethod(), path)) {
          synchronized (c) {
            if (c.remaining == 0) {
              continue;
            }
            if (c.remaining > 0) {
              c.remaining--;
            }
          }
          MockResponse r = new MockResponse().setResponseCode(c.status).setBody(c.body);
          r.setHeader("Content-Type", c.body.startsWith("{") ? "application/json" : "text/plain");
          if (c.delayMs > 0) {
            r.setBodyDelay(c.delayMs, TimeUnit.MILLISECONDS);
          }
          return r;
        }
      }
      return crud.dispatch(request);
    }

    private MockResponse control(RecordedRequest request) {
      if ("DELETE".equals(request.getMethod())) {
        canned.clear();
        return new MockResponse().setResponseCode(200).setBody("{}");
      }
      try {
        JsonNode node = Serialization.jsonMapper().readTree(request.getUtf8Body());
        canned.add(0, new Canned(node)); // newest first: a test can override an earlier answer
        return new MockResponse().setResponseCode(201).setBody("{}");
      } catch (RuntimeException e) {
        return new MockResponse().setResponseCode(400).setBody(String.valueOf(e.getMessage()));
      }
    }

    @Override
    public void shutdown() {
      crud.shutdown();
    }
  }

  private static Map<String, String> parseQuery(String raw) {
    Map<String, String> out = new HashMap<>();
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }

  private Main() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
    Dispatcher dispatcher = new ControlDispatcher(new KubernetesMixedDispatcher(responses));
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(Serialization.jsonMapper()), new MockWebServer(), responses, dispatcher, false);
    server.init(InetAddress.getLoopbackAddress(), port);
    System.out.println("LISTENING " + server.getPort());
    System.out.flush();
    CountDownLatch forever = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(server::destroy));
    forever.await();
  }
}
