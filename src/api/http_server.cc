#include "api/http_server.h"

#include "api/errors.h"
#include "common/strings.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace sluice {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// Threads that run (possibly blocking) request handlers, so the I/O threads keep reading
// and writing other connections meanwhile. Started on demand up to a cap; FIFO queue.
class HandlerPool {
 public:
  explicit HandlerPool(size_t max_threads) : max_threads_(std::max<size_t>(max_threads, 1)) {}
  ~HandlerPool() { Stop(); }

  // Runs `task` on a pool thread (queued if all are busy). After Stop() it is dropped.
  void Submit(std::function<void()> task) {
    std::unique_lock<std::mutex> l(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
    if (idle_ == 0 && threads_.size() < max_threads_) {
      try {
        threads_.emplace_back([this] { Loop(); });
        return;  // the new thread takes the task
      } catch (const std::system_error&) {
        // Out of threads: a busy one picks it up when done.
      }
    }
    l.unlock();
    cv_.notify_one();
  }

  // Drops queued tasks, waits for running ones and joins the threads. Idempotent.
  void Stop() {
    std::vector<std::thread> threads;
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
      threads.swap(threads_);
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (std::thread& t : threads) t.join();
    // `dropped` (holding sessions) is destroyed here, outside the lock.
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      while (queue_.empty() && !stopping_) {
        ++idle_;
        cv_.wait(l);
        --idle_;
      }
      if (stopping_) return;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      l.unlock();
      task();
      task = nullptr;  // release what it holds before sleeping
      l.lock();
    }
  }

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace

struct HttpServer::Impl {
  explicit Impl(size_t handler_threads) : pool(handler_threads) {}
  HandlerPool pool;
  // Declared before `io`: sessions still queued in `io` when it is destroyed decrement it.
  std::atomic<int> connections{0};
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& opts, const HttpHandler& handler,
          std::atomic<int>* connections, HandlerPool* pool)
      : stream_(std::move(socket)),
        opts_(opts),
        handler_(handler),
        connections_(connections),
        pool_(pool) {}

  ~Session() { connections_->fetch_sub(1); }

  void Start() { ReadHeader(); }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // An idle keep-alive connection gets the idle timeout; once bytes arrive the request
    // timeout bounds the rest (set again below).
    stream_.expires_after(
        std::chrono::seconds(first_ ? opts_.request_timeout_seconds : opts_.idle_timeout_seconds));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    first_ = false;
    if (ec) return FailRequest(ec);
    stream_.expires_after(std::chrono::seconds(opts_.request_timeout_seconds));
    auto& req = parser_->get();
    auto expect = req[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec2, size_t) {
                          if (ec2) return self->Fail(ec2);
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return FailRequest(ec);
    auto msg = parser_->release();
    auto req = std::make_shared<HttpRequest>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    req->headers.reserve(16);
    for (const auto& f : msg) {
      req->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    req->body = std::move(msg.body());
    beast::error_code rec;
    auto ep = stream_.socket().remote_endpoint(rec);
    if (!rec) req->remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    keep_alive_ = msg.keep_alive();
    // Nothing else happens on this connection until the response is written (the next
    // read starts after it), so the session is idle while the handler runs elsewhere.
    pool_->Submit([self = shared_from_this(), req = std::move(req)] {
      auto resp = std::make_shared<HttpResponse>(self->handler_(*req));
      asio::post(self->stream_.get_executor(), [self, resp] { self->Write(std::move(*resp)); });
    });
  }

  // A request that cannot be read completely: answer what we can, then close.
  void FailRequest(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return WriteError(
          413, "RequestEntityTooLargeException",
          "Request body exceeds the limit of " + std::to_string(opts_.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return WriteError(431, "RequestHeaderFieldsTooLargeException",
                        "Request headers exceed the limit of 65536 bytes");
    }
    if (ec.category() == beast::error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return WriteError(400, "BadRequestException", "Malformed HTTP request: " + ec.message());
    }
    Fail(ec);  // timeout, reset or EOF: nobody to answer
  }

  void WriteError(int status, const std::string& code, const std::string& message) {
    HttpResponse r = JsonErrorResponse(status, code, message);
    r.SetHeader("x-amzn-RequestId", NewUuid());
    keep_alive_ = false;
    Write(std::move(r));
  }

  void Write(HttpResponse resp) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(resp.status));
    for (auto& [k, v] : resp.headers) res->insert(k, v);
    res->set(http::field::server, "sluice");
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(opts_.request_timeout_seconds));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->Fail(ec);
                        if (!self->keep_alive_) return self->LingeringClose();
                        self->ReadHeader();
                      });
  }

  void Fail(beast::error_code) { Close(); }

  // Half-close and drain what the client is still sending, so closing with unread bytes
  // does not reset the connection before the client has read our response.
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpServerOptions& opts_;
  const HttpHandler& handler_;
  std::atomic<int>* connections_;
  HandlerPool* pool_;
  bool keep_alive_ = true;
  bool first_ = true;
  std::array<char, 4096> drain_buf_;
};

void DoAccept(HttpServer::Impl* impl, const HttpServerOptions* opts, const HttpHandler* handler) {
  impl->acceptor.async_accept(
      asio::make_strand(impl->io), [impl, opts, handler](beast::error_code ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted || !impl->acceptor.is_open()) return;
        if (!ec) {
          if (impl->connections.fetch_add(1) >= opts->max_connections) {
            impl->connections.fetch_sub(1);
            beast::error_code ignore;
            s.close(ignore);
          } else {
            std::make_shared<Session>(std::move(s), *opts, *handler, &impl->connections,
                                      &impl->pool)
                ->Start();
          }
        }
        DoAccept(impl, opts, handler);
      });
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions opts, HttpHandler handler)
    : opts_(std::move(opts)),
      handler_(std::move(handler)),
      impl_(std::make_unique<Impl>(static_cast<size_t>(std::max(opts_.max_handler_threads, 1)))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(opts_.host, ec);
  if (ec) return Status::InvalidArgument("invalid listen address '" + opts_.host + "'");
  tcp::endpoint ep(addr, static_cast<unsigned short>(opts_.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) +
                           ": " + ec.message());
  }
  bound_port_ = impl_->acceptor.local_endpoint().port();
  impl_->work.emplace(impl_->io.get_executor());
  DoAccept(impl_.get(), &opts_, &handler_);
  int n = opts_.io_threads > 0 ? opts_.io_threads : 1;
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { impl_->io.run(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // Handlers still running finish (their responses go nowhere: the io_context is stopped).
  impl_->pool.Stop();
  {
    std::lock_guard<std::mutex> l(impl_->done_mu);
    impl_->done = true;
  }
  impl_->done_cv.notify_all();
}

void HttpServer::Wait() {
  std::unique_lock<std::mutex> l(impl_->done_mu);
  impl_->done_cv.wait(l, [this] { return impl_->done; });
}

}  // namespace sluice
