// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast/Asio. Owns the listening socket,
// the io_context and its worker threads; hands each complete request to one handler.
//
// Threads: Start() spawns `io_threads` threads that run the io_context. Every connection
// is driven by async operations on those threads; the handler is called on an I/O thread,
// synchronously, and must be thread-safe. Stop() may be called from any thread (e.g. the
// signal handler) and joins the workers.
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
