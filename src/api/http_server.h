// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast/Asio. Owns the listening socket,
// the io_context and its worker threads; hands each complete request to one handler.
//
// Threads: Start() spawns `io_threads` threads that run the io_context. Every connection
// is driven by async operations on those threads. The handler may block (BatchPutMessage
// waits for fdatasync), so it does not run on an I/O thread: each complete request is
// handed to a pool of handler threads, grown on demand up to `max_handler_threads` (a
// request waits in a FIFO queue when all are busy), and the response is written back on
// the connection's strand. The handler must be thread-safe. Stop() may be called from
// any thread (e.g. the signal handler); it joins the I/O threads, then lets running
// handlers finish (queued requests whose connections are going away are dropped) and
// joins the handler threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "common/status.h"

namespace sluice {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8480;  // 0 = pick a free port
  int io_threads = 2;
  uint64_t max_body_bytes = 32ull << 20;  // BatchPutMessage: 100 x 128 KB, base64
  int request_timeout_seconds = 60;       // whole request (headers + body) must arrive within
  int idle_timeout_seconds = 120;         // keep-alive connection with no request
  int max_connections = 4096;
  // Requests handled at once (each may block in its handler). Threads are started as
  // needed and kept until Stop().
  int max_handler_threads = 64;
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions opts, HttpHandler handler);
  ~HttpServer();

  // Binds and starts serving. After OK, port() is the bound port.
  Status Start();
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  void Stop();
  // Blocks until Stop() has been called (from another thread) and completed.
  void Wait();
  int port() const { return bound_port_; }

  struct Impl;

 private:
  HttpServerOptions opts_;
  HttpHandler handler_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  std::atomic<int> bound_port_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace sluice
