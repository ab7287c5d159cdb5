#include "api/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sluice {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Client {
  asio::io_context io;
  tcp::socket sock{io};
  beast::flat_buffer buf;

  explicit Client(int port) {
    sock.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }

  http::response<http::string_body> Send(http::verb verb, const std::string& target,
                                         const std::string& body = "") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = body;
    req.prepare_payload();
    http::write(sock, req);
    http::response<http::string_body> res;
    http::read(sock, buf, res);
    return res;
  }
};

HttpServerOptions Opts() {
  HttpServerOptions o;
  o.port = 0;
  o.max_body_bytes = 1024;
  return o;
}

TEST(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  HttpServer server(Opts(), [&](HttpRequest& req) {
    ++calls;
    return HttpResponse::Json(200, "{\"path\":\"" + req.target + "\"}");
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  for (int i = 0; i < 20; ++i) {
    auto res = c.Send(http::verb::get, "/x" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), "{\"path\":\"/x" + std::to_string(i) + "\"}");
  }
  EXPECT_EQ(calls.load(), 20);
  server.Stop();
}

TEST(HttpServerTest, OversizedBodyGets413AndHandlerIsNotCalled) {
  std::atomic<int> calls{0};
  HttpServer server(Opts(), [&](HttpRequest&) {
    ++calls;
    return HttpResponse::Json(200, "{}");
  });
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  auto res = c.Send(http::verb::post, "/big", std::string(4096, 'a'));
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(std::string(res["x-amzn-ErrorType"]), "RequestEntityTooLargeException");
  EXPECT_FALSE(std::string(res["x-amzn-RequestId"]).empty());
  EXPECT_EQ(calls.load(), 0);
  server.Stop();
}

TEST(HttpServerTest, SlowHandlersDoNotBlockOtherConnections) {
  // One handler blocks until released; a second connection must still be served.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  HttpServer server(Opts(), [&](HttpRequest& req) {
    if (req.target == "/block") {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return release; });
    }
    return HttpResponse::Json(200, "{}");
  });
  ASSERT_TRUE(server.Start().ok());
  std::thread blocked([&] {
    Client c(server.port());
    EXPECT_EQ(c.Send(http::verb::get, "/block").result_int(), 200u);
  });
  for (int i = 0; i < 3; ++i) {  // more than the 2 I/O threads
    Client other(server.port());
    EXPECT_EQ(other.Send(http::verb::get, "/fast").result_int(), 200u);
  }
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  blocked.join();
  server.Stop();
}

TEST(HttpServerTest, StopWithAnIdleConnectionOpenReturns) {
  HttpServer server(Opts(), [](HttpRequest&) { return HttpResponse::Json(200, "{}"); });
  ASSERT_TRUE(server.Start().ok());
  Client idle(server.port());
  EXPECT_EQ(idle.Send(http::verb::get, "/").result_int(), 200u);
  server.Stop();  // must not hang on the open keep-alive connection
  server.Stop();  // idempotent
}

}  // namespace
}  // namespace sluice
