// sluice_bench: load generator for Sluice's HTTP APIs, with a peer mode for side-by-side
// comparisons. Each worker thread holds one keep-alive connection and issues requests
// back to back; the tool reports throughput and latency percentiles per run and the
// median over runs.
//
//   sluice_bench control-plane --endpoint 127.0.0.1:8480 --key ID --secret S
//       [--threads 4] [--requests 2000] [--runs 5] [--op describe|list|create-delete]
//   sluice_bench ingest --endpoint 127.0.0.1:8480 --key ID --secret S [--channel bench_ch]
//       BatchPutMessage with 100 messages of ~150-byte JSON per request
//   sluice_bench influxdb --endpoint 127.0.0.1:8086 [--op show|create-drop|write] ...
//       `write` posts the same 100 points per request as line protocol to /write?db=bench
//
// Threads: the main thread parses flags and aggregates; each worker owns its socket.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/sigv4.h"
#include "common/clock.h"
#include "common/strings.h"

namespace sluice {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Options {
  std::string mode;
  std::string endpoint = "127.0.0.1:8480";
  std::string key, secret;
  std::string op = "describe";
  std::string channel = "bench_ch";
  std::string pipeline;  // ingest: wait until this pipeline has written every message
  int threads = 4;
  int requests = 2000;  // per run, split over threads
  int runs = 5;
};

struct Req {
  std::string method, target, body;
};

// Builds the i-th request of worker `w` for the chosen operation. Create/delete pairs
// alternate so every create is undone by the next request.
constexpr int kPointsPerRequest = 100;

// One sensor reading, ~150 bytes as JSON; the same values go to InfluxDB as a point.
struct Reading {
  int device, seq;
  double temp, pressure;
  int humidity;
  int64_t ts_ms;
};

Reading MakeReading(int w, int i, int k) {
  int seq = i * kPointsPerRequest + k;
  return {w * 1000 + k % 50,           seq,           15.0 + (seq % 200) / 10.0,
          1000.0 + (seq % 300) / 10.0, 30 + seq % 40, 1764000000000LL + seq};
}

std::string JsonPayload(const Reading& r) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"device\":\"dev-%05d\",\"site\":\"plant-1\",\"temp\":%.2f,\"humidity\":%d,"
                "\"pressure\":%.2f,\"status\":\"ok\",\"seq\":%d,\"ts\":%lld}",
                r.device, r.temp, r.humidity, r.pressure, r.seq, static_cast<long long>(r.ts_ms));
  return buf;
}

std::string LinePoint(const Reading& r) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "sensor,device=dev-%05d,site=plant-1 temp=%.2f,humidity=%di,pressure=%.2f,"
                "status=\"ok\",seq=%di %lld000000\n",
                r.device, r.temp, r.humidity, r.pressure, r.seq, static_cast<long long>(r.ts_ms));
  return buf;
}

Req MakeRequest(const Options& o, int w, int i) {
  std::string name = "bench_" + std::to_string(w) + "_" + std::to_string(i / 2);
  if (o.mode == "ingest") {
    std::string body = "{\"channelName\":\"" + o.channel + "\",\"messages\":[";
    for (int k = 0; k < kPointsPerRequest; ++k) {
      Reading r = MakeReading(w, i, k);
      if (k) body += ",";
      body += "{\"messageId\":\"" + std::to_string(r.seq) + "\",\"payload\":\"" +
              Base64Encode(JsonPayload(r)) + "\"}";
    }
    body += "]}";
    return {"POST", "/messages/batch", body};
  }
  if (o.mode == "influxdb") {
    if (o.op == "write") {
      std::string body;
      for (int k = 0; k < kPointsPerRequest; ++k) body += LinePoint(MakeReading(w, i, k));
      return {"POST", "/write?db=bench&precision=ns", body};
    }
    if (o.op == "show") return {"GET", "/query?q=SHOW%20DATABASES", ""};
    if (i % 2 == 0) return {"POST", "/query?q=CREATE%20DATABASE%20" + name, ""};
    return {"POST", "/query?q=DROP%20DATABASE%20" + name, ""};
  }
  if (o.op == "describe") return {"GET", "/channels/bench_fixed", ""};
  if (o.op == "list") return {"GET", "/channels?maxResults=100", ""};
  if (i % 2 == 0) return {"POST", "/channels", "{\"channelName\":\"" + name + "\"}"};
  return {"DELETE", "/channels/" + name, ""};
}

bool Send(tcp::socket& sock, beast::flat_buffer& buf, const Options& o, const Req& r,
          const std::string& host, int* status) {
  http::request<http::string_body> req{r.method == "GET"    ? http::verb::get
                                       : r.method == "POST" ? http::verb::post
                                                            : http::verb::delete_,
                                       r.target, 11};
  req.set(http::field::host, host);
  req.keep_alive(true);
  if (!r.body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = r.body;
  req.prepare_payload();
  if (o.mode != "influxdb") {
    HttpRequestView view{r.method, r.target, {{"Host", host}}, &r.body};
    if (!r.body.empty()) view.headers.emplace_back("Content-Type", "application/json");
    SignOptions so;
    so.service = "iotanalytics";
    so.now_seconds = SystemClock::Default()->NowSeconds();
    SignRequest(&view, Credential{o.key, o.secret, ""}, so);
    for (auto& [k, v] : view.headers) {
      if (ToLower(k) != "host" && ToLower(k) != "content-type") req.set(k, v);
    }
  }
  beast::error_code ec;
  http::write(sock, req, ec);
  if (ec) return false;
  http::response<http::string_body> res;
  http::read(sock, buf, res, ec);
  if (ec) return false;
  *status = static_cast<int>(res.result_int());
  return true;
}

// Reads messagesWritten of `pipeline` from the unauthenticated metrics endpoint.
int64_t PipelineWritten(const std::string& host, const std::string& port,
                        const std::string& pipeline) {
  asio::io_context io;
  tcp::resolver resolver(io);
  tcp::socket sock(io);
  beast::error_code ec;
  asio::connect(sock, resolver.resolve(host, port, ec), ec);
  if (ec) return -1;
  http::request<http::empty_body> req{http::verb::get, "/_sluice/metrics", 11};
  req.set(http::field::host, host + ":" + port);
  http::write(sock, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res, ec);
  if (ec) return -1;
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j["pipelines"].contains(pipeline)) return -1;
  return j["pipelines"][pipeline].value("messagesWritten", int64_t{-1});
}

struct RunResult {
  double seconds = 0;
  std::vector<double> latencies_us;
  int errors = 0;
};

RunResult RunOnce(const Options& o, const std::string& host, const std::string& port) {
  RunResult out;
  std::vector<std::vector<double>> lat(o.threads);
  std::atomic<int> errors{0};
  // Request bodies are built before the clock starts, so the generator spends its share of
  // the machine on sending, as a device fleet would, not on formatting.
  int per_worker = o.requests / o.threads;
  per_worker -= per_worker % 2;
  std::vector<std::vector<Req>> reqs(o.threads);
  for (int w = 0; w < o.threads; ++w) {
    for (int i = 0; i < per_worker; ++i) reqs[w].push_back(MakeRequest(o, w, i));
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int w = 0; w < o.threads; ++w) {
    ts.emplace_back([&, w] {
      asio::io_context io;
      tcp::resolver resolver(io);
      tcp::socket sock(io);
      beast::error_code ec;
      asio::connect(sock, resolver.resolve(host, port, ec), ec);
      if (ec) {
        errors += o.requests / o.threads;
        return;
      }
      sock.set_option(tcp::no_delay(true));
      beast::flat_buffer buf;
      std::string hosthdr = host + ":" + port;
      for (const Req& r : reqs[w]) {
        auto a = std::chrono::steady_clock::now();
        int status = 0;
        bool ok = Send(sock, buf, o, r, hosthdr, &status);
        auto b = std::chrono::steady_clock::now();
        if (!ok || status >= 300) ++errors;
        lat[w].push_back(std::chrono::duration<double, std::micro>(b - a).count());
        if (!ok) return;
      }
    });
  }
  for (auto& t : ts) t.join();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& l : lat) out.latencies_us.insert(out.latencies_us.end(), l.begin(), l.end());
  std::sort(out.latencies_us.begin(), out.latencies_us.end());
  out.errors = errors;
  return out;
}

double Pct(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Main(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: sluice_bench control-plane|influxdb --endpoint HOST:PORT [--key ID "
                 "--secret S] [--op OP] [--threads N] [--requests N] [--runs N]\n");
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--endpoint")
      o.endpoint = v;
    else if (f == "--key")
      o.key = v;
    else if (f == "--secret")
      o.secret = v;
    else if (f == "--op")
      o.op = v;
    else if (f == "--channel")
      o.channel = v;
    else if (f == "--pipeline")
      o.pipeline = v;
    else if (f == "--threads")
      o.threads = std::atoi(v.c_str());
    else if (f == "--requests")
      o.requests = std::atoi(v.c_str());
    else if (f == "--runs")
      o.runs = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  if (o.mode != "control-plane" && o.mode != "influxdb" && o.mode != "ingest") {
    std::fprintf(stderr, "mode must be control-plane, ingest or influxdb\n");
    return 2;
  }
  if (o.threads < 1 || o.requests < 2 || o.runs < 1) {
    std::fprintf(stderr, "--threads, --requests and --runs must be positive\n");
    return 2;
  }
  size_t colon = o.endpoint.rfind(':');
  std::string host = o.endpoint.substr(0, colon), port = o.endpoint.substr(colon + 1);
  if (o.mode == "ingest" || (o.mode == "influxdb" && o.op == "write")) {
    asio::io_context io;
    tcp::resolver resolver(io);
    tcp::socket sock(io);
    asio::connect(sock, resolver.resolve(host, port));
    beast::flat_buffer buf;
    int status = 0;
    Req r = o.mode == "ingest" ? Req{"POST", "/channels", "{\"channelName\":\"" + o.channel + "\"}"}
                               : Req{"POST", "/query?q=CREATE%20DATABASE%20bench", ""};
    (void)Send(sock, buf, o, r, host + ":" + port, &status);
    if (o.mode == "ingest" && !o.pipeline.empty()) {
      std::string ds = o.pipeline + "_ds";
      Req d{"POST", "/datastores", "{\"datastoreName\":\"" + ds + "\"}"};
      (void)Send(sock, buf, o, d, host + ":" + port, &status);
      Req p{"POST", "/pipelines",
            "{\"pipelineName\":\"" + o.pipeline +
                "\",\"pipelineActivities\":[{\"channel\":{\"name\":\"in\",\"channelName\":\"" +
                o.channel +
                "\",\"next\":\"out\"}},{\"datastore\":{\"name\":\"out\","
                "\"datastoreName\":\"" +
                ds + "\"}}]}"};
      (void)Send(sock, buf, o, p, host + ":" + port, &status);
    }
  }
  if (o.mode == "control-plane" && o.op == "describe") {
    Options setup = o;
    setup.op = "create-delete";
    asio::io_context io;
    tcp::resolver resolver(io);
    tcp::socket sock(io);
    asio::connect(sock, resolver.resolve(host, port));
    beast::flat_buffer buf;
    int status = 0;
    Req r{"POST", "/channels", "{\"channelName\":\"bench_fixed\"}"};
    (void)Send(sock, buf, setup, r, host + ":" + port, &status);
  }
  const char* unit = (o.mode == "ingest" || o.op == "write") ? "msg" : "req";
  std::vector<double> rates, p50s, p99s;
  int total_errors = 0;
  std::vector<double> queryable_rates, lags_ms;
  for (int run = 0; run < o.runs; ++run) {
    int64_t written_before = o.pipeline.empty() ? 0 : PipelineWritten(host, port, o.pipeline);
    auto start = std::chrono::steady_clock::now();
    RunResult r = RunOnce(o, host, port);
    if (!o.pipeline.empty()) {
      // Ingest -> queryable: wait until the pipeline has committed every message of the run
      // into the datastore.
      int64_t want =
          written_before + static_cast<int64_t>(r.latencies_us.size()) * kPointsPerRequest;
      auto acked = std::chrono::steady_clock::now();
      auto deadline = acked + std::chrono::seconds(300);
      while (PipelineWritten(host, port, o.pipeline) < want &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      auto done = std::chrono::steady_clock::now();
      double total = std::chrono::duration<double>(done - start).count();
      queryable_rates.push_back(static_cast<double>(want - written_before) / total);
      lags_ms.push_back(std::chrono::duration<double, std::milli>(done - acked).count());
      std::printf(
          "run %d: queryable %.0f msg/s (all rows in the datastore %.0f ms after the "
          "last ack)\n",
          run + 1, queryable_rates.back(), lags_ms.back());
    }
    double rate = static_cast<double>(r.latencies_us.size()) / r.seconds;
    if (o.mode == "ingest" || o.op == "write") rate *= kPointsPerRequest;
    rates.push_back(rate);
    p50s.push_back(Pct(r.latencies_us, 0.5));
    p99s.push_back(Pct(r.latencies_us, 0.99));
    total_errors += r.errors;
    std::printf("run %d: %zu requests in %.3f s = %.0f %s/s, p50 %.0f us, p99 %.0f us, errors %d\n",
                run + 1, r.latencies_us.size(), r.seconds, rate, unit, p50s.back(), p99s.back(),
                r.errors);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "median of %d runs: %.0f %s/s, p50 %.0f us, p99 %.0f us (mode %s, op %s, %d threads)\n",
      o.runs, median(rates), unit, median(p50s), median(p99s), o.mode.c_str(), o.op.c_str(),
      o.threads);
  if (!queryable_rates.empty()) {
    std::printf("median of %d runs: queryable %.0f msg/s, ingest->queryable lag %.0f ms\n", o.runs,
                median(queryable_rates), median(lags_ms));
  }
  return total_errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) { return sluice::Main(argc, argv); }
