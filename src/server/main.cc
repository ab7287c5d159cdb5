// sluice: the single binary. `sluice serve` runs the whole system on one port.
// Threads: main parses flags, opens the catalog, starts the HTTP server's I/O threads and
// then waits in sigwait() for SIGINT/SIGTERM (blocked in every thread), after which it
// stops the server and closes the catalog.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http_server.h"
#include "api/iotanalytics/service.h"
#include "api/router.h"
#include "api/sigv4.h"
#include "catalog/catalog.h"
#include "channel/channel_store.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/strings.h"
#include "datastore/datastore_store.h"
#include "pipeline/lambda.h"
#include "pipeline/pipeline_manager.h"
#include "server/credentials.h"
#include "server/flags.h"
#include "server/retention.h"
#include "things/iot_data_service.h"
#include "things/iot_service.h"
#include "things/thing_registry.h"

namespace sluice {
namespace {

constexpr const char* kVersion = "0.1.0";

void PrintUsage(std::FILE* out) {
  std::fprintf(
      out,
      "sluice %s - self-hosted, wire-compatible AWS IoT Analytics\n\n"
      "usage:\n"
      "  sluice serve [flags]   run the server (sluice serve --help for flags)\n"
      "  sluice dump-channel --data-dir DIR --channel NAME\n"
      "                         print a channel's messages as JSON lines (server stopped)\n"
      "  sluice query --data-dir DIR \"SELECT ...\"\n"
      "                         run read-only SQL over the datastores (server stopped)\n"
      "  sluice version         print the version\n"
      "  sluice help            this text\n",
      kVersion);
}

int Serve(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << ServeHelp();
      return 0;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto cfg = ParseServeFlags(args, [](const char* n) -> const char* { return std::getenv(n); });
  if (!cfg.ok()) {
    std::fprintf(stderr, "sluice: %s\n", cfg.status().message().c_str());
    return 2;
  }
  std::string host;
  int port = 0;
  if (Status st = SplitHostPort(cfg->listen, &host, &port); !st.ok()) {
    std::fprintf(stderr, "sluice: %s\n", st.message().c_str());
    return 2;
  }

  // Block the shutdown signals in every thread; main waits for them with sigwait.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Env* env = Env::Default();
  if (Status st = env->CreateDirs(cfg->data_dir); !st.ok()) {
    std::fprintf(stderr, "sluice: %s\n", st.message().c_str());
    return 1;
  }
  const char* id = std::getenv("SLUICE_ACCESS_KEY_ID");
  const char* secret = std::getenv("SLUICE_SECRET_ACCESS_KEY");
  auto creds = LoadOrCreateRootCredentials(env, cfg->data_dir, id ? id : "", secret ? secret : "");
  if (!creds.ok()) {
    std::fprintf(stderr, "sluice: credentials: %s\n", creds.status().message().c_str());
    return 1;
  }
  if (creds->generated) {
    std::printf(
        "generated root credentials (saved in %s):\n  AWS_ACCESS_KEY_ID=%s\n"
        "  AWS_SECRET_ACCESS_KEY=%s\n",
        creds->path.c_str(), creds->root.access_key_id.c_str(),
        creds->root.secret_access_key.c_str());
  }

  Clock* clock = SystemClock::Default();
  auto catalog = Catalog::Open(cfg->data_dir + "/catalog.db", clock);
  if (!catalog.ok()) {
    std::fprintf(stderr, "sluice: catalog: %s\n", catalog.status().message().c_str());
    return 1;
  }

  auto things =
      ThingRegistry::Open(cfg->data_dir + "/things.db", clock, cfg->region, cfg->account_id);
  if (!things.ok()) {
    std::fprintf(stderr, "sluice: things: %s\n", things.status().message().c_str());
    return 1;
  }

  auto channels = ChannelStore::Open(cfg->data_dir + "/channels", clock);
  if (!channels.ok()) {
    std::fprintf(stderr, "sluice: channels: %s\n", channels.status().message().c_str());
    return 1;
  }
  auto datastores = DatastoreStore::Open(cfg->data_dir + "/datastores", clock);
  if (!datastores.ok()) {
    std::fprintf(stderr, "sluice: datastores: %s\n", datastores.status().message().c_str());
    return 1;
  }

  pipeline::ProcessLambdaInvoker lambdas(cfg->lambda_dir.empty() ? cfg->data_dir + "/lambdas"
                                                                 : cfg->lambda_dir);
  pipeline::PipelineManagerOptions popts;
  popts.region = cfg->region;
  popts.account_id = cfg->account_id;
  popts.state_dir = cfg->data_dir + "/pipelines";
  if (Status st = env->CreateDirs(popts.state_dir); !st.ok()) {
    std::fprintf(stderr, "sluice: %s\n", st.message().c_str());
    return 1;
  }
  pipeline::PipelineManager pipelines(channels->get(), datastores->get(), things->get(), &lambdas,
                                      clock, popts);
  // Resume every pipeline from its committed position.
  if (auto defs = (*catalog)->ListAll(ResourceType::kPipeline); defs.ok()) {
    for (const ResourceRecord& rec : *defs) {
      Status st = pipelines.Start(rec.name, nlohmann::json::parse(rec.definition));
      if (!st.ok()) {
        std::fprintf(stderr, "sluice: pipeline %s not started: %s\n", rec.name.c_str(),
                     st.message().c_str());
      }
    }
  } else {
    std::fprintf(stderr, "sluice: catalog: %s\n", defs.status().message().c_str());
    return 1;
  }

  StaticCredentialProvider provider(creds->root);
  SigV4Verifier verifier(&provider, clock);
  Router router(&verifier);
  router.RegisterPublic(
      "health", [](const HttpRequest&) { return HttpResponse::Json(200, "{\"status\":\"ok\"}"); });
  iota::IotAnalyticsConfig icfg;
  icfg.region = cfg->region;
  icfg.account_id = cfg->account_id;
  icfg.max_channels = cfg->max_channels;
  icfg.max_datastores = cfg->max_datastores;
  icfg.max_pipelines = cfg->max_pipelines;
  icfg.max_datasets = cfg->max_datasets;
  iota::DataPlane data_plane;
  data_plane.channels = channels->get();
  data_plane.datastores = datastores->get();
  data_plane.pipelines = &pipelines;
  router.RegisterPublic("metrics", [&](const HttpRequest&) {
    nlohmann::json out = {{"pipelines", nlohmann::json::object()}};
    if (auto defs = (*catalog)->ListAll(ResourceType::kPipeline); defs.ok()) {
      for (const ResourceRecord& rec : *defs) {
        auto st = pipelines.GetStatus(rec.name);
        if (!st.ok()) continue;
        out["pipelines"][rec.name] = st->ToJson();
        // Lambda failures in the EventBridge "IoT Analytics Pipeline Failure Notification"
        // shape; their channel-messages paths feed StartPipelineReprocessing.
        auto events = pipelines.FailureEvents(rec.name);
        if (events.ok()) out["pipelines"][rec.name]["failureEvents"] = *events;
      }
    }
    ChannelStoreMetrics cm = (*channels)->Metrics();
    out["channels"] = {{"appends", cm.appends},
                       {"records", cm.records},
                       {"failedAppends", cm.failed_appends},
                       {"commitGroups", cm.commit_groups},
                       {"syncs", cm.syncs}};
    return HttpResponse::Json(200, out.dump());
  });
  router.RegisterService(
      std::make_unique<iota::IotAnalyticsService>(catalog->get(), clock, icfg, data_plane));

  router.RegisterService(std::make_unique<things::IotService>(things->get()));      // execute-api
  router.RegisterService(std::make_unique<things::IotDataService>(things->get()));  // iotdata

  HttpServerOptions hopts;
  hopts.host = host;
  hopts.port = port;
  hopts.io_threads = static_cast<int>(cfg->io_threads);
  hopts.max_body_bytes = static_cast<uint64_t>(cfg->max_body_bytes);
  hopts.request_timeout_seconds = static_cast<int>(cfg->request_timeout_seconds);
  HttpServer server(hopts, [&router](HttpRequest& req) { return router.Route(req); });
  if (Status st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "sluice: %s\n", st.message().c_str());
    return 1;
  }
  double startup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("listening on %s:%d\n", host.c_str(), server.port());
  std::fflush(stdout);
  std::fprintf(stderr, "sluice %s: data dir %s, region %s, account %s, started in %.1f ms\n",
               kVersion, cfg->data_dir.c_str(), cfg->region.c_str(), cfg->account_id.c_str(),
               startup_ms);

  // Maintenance thread: applies retention once a minute (and at start).
  std::mutex maint_mu;
  std::condition_variable maint_cv;
  bool maint_stop = false;
  std::thread maintenance([&] {
    std::unique_lock<std::mutex> l(maint_mu);
    while (!maint_stop) {
      l.unlock();
      auto r = SweepRetention(catalog->get(), channels->get(), datastores->get(), clock);
      if (!r.ok()) std::fprintf(stderr, "sluice: retention: %s\n", r.status().message().c_str());
      l.lock();
      maint_cv.wait_for(l, std::chrono::seconds(60), [&] { return maint_stop; });
    }
  });

  int sig = 0;
  sigwait(&sigs, &sig);
  std::fprintf(stderr, "sluice: received %s, shutting down\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.Stop();
  {
    std::lock_guard<std::mutex> l(maint_mu);
    maint_stop = true;
  }
  maint_cv.notify_all();
  maintenance.join();
  pipelines.Shutdown();
  (*channels)->Shutdown();
  catalog->reset();
  return 0;
}

// `sluice dump-channel --data-dir DIR --channel NAME`: prints every retained message of a
// channel as JSON lines {offset, arrivalTime, messageId, payload (base64)}. Reads the data
// directory directly, so the server must be stopped (the channel store holds a lock).
int DumpChannel(const std::vector<std::string>& args) {
  std::string data_dir = "./sluice-data", channel;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--data-dir") {
      data_dir = args[i + 1];
    } else if (args[i] == "--channel") {
      channel = args[i + 1];
    } else {
      std::fprintf(stderr, "sluice dump-channel: unknown flag %s\n", args[i].c_str());
      return 2;
    }
  }
  if (channel.empty() || args.size() % 2 != 0) {
    std::fprintf(stderr, "usage: sluice dump-channel --data-dir DIR --channel NAME\n");
    return 2;
  }
  auto store = ChannelStore::Open(data_dir + "/channels", SystemClock::Default());
  if (!store.ok()) {
    std::fprintf(stderr, "sluice: %s\n", store.status().message().c_str());
    return 1;
  }
  auto stats = (*store)->Stats(channel);
  if (!stats.ok()) {
    std::fprintf(stderr, "sluice: %s\n", stats.status().message().c_str());
    return 1;
  }
  uint64_t next = stats->first_offset;
  while (next < stats->end_offset) {
    auto batch = (*store)->Read(channel, next, 1000, 8u << 20);
    if (!batch.ok()) {
      std::fprintf(stderr, "sluice: %s\n", batch.status().message().c_str());
      return 1;
    }
    if (batch->empty()) break;
    for (const ChannelMessage& m : *batch) {
      nlohmann::json line = {{"offset", m.offset},
                             {"arrivalTime", static_cast<double>(m.arrival_micros) / 1e6},
                             {"messageId", m.message_id},
                             {"payload", Base64Encode(m.payload)}};
      std::printf("%s\n", line.dump().c_str());
      next = m.offset + 1;
    }
  }
  (*store)->Shutdown();
  return 0;
}

// `sluice query --data-dir DIR "SELECT ..."`: runs one read-only SQL statement over the
// datastores and prints {"columns": [...], "rows": [[...]]}. Reads the data directory
// directly, so the server must be stopped.
int Query(const std::vector<std::string>& args) {
  std::string data_dir = "./sluice-data", sql;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data-dir" && i + 1 < args.size()) {
      data_dir = args[++i];
    } else if (sql.empty()) {
      sql = args[i];
    } else {
      std::fprintf(stderr, "usage: sluice query --data-dir DIR \"SELECT ...\"\n");
      return 2;
    }
  }
  if (sql.empty()) {
    std::fprintf(stderr, "usage: sluice query --data-dir DIR \"SELECT ...\"\n");
    return 2;
  }
  auto store = DatastoreStore::Open(data_dir + "/datastores", SystemClock::Default());
  if (!store.ok()) {
    std::fprintf(stderr, "sluice: %s\n", store.status().message().c_str());
    return 1;
  }
  auto result = (*store)->Query(sql);
  if (!result.ok()) {
    std::fprintf(stderr, "sluice: %s\n", result.status().message().c_str());
    return 1;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : result->rows) {
    nlohmann::json r = nlohmann::json::array();
    for (const auto& v : row) r.push_back(v ? nlohmann::json(*v) : nlohmann::json());
    rows.push_back(r);
  }
  nlohmann::json out = {{"columns", result->columns}, {"rows", rows}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace sluice

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    sluice::PrintUsage(stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::printf("sluice 0.1.0\n");
    return 0;
  }
  if (args[0] == "serve") return sluice::Serve({args.begin() + 1, args.end()});
  if (args[0] == "dump-channel") return sluice::DumpChannel({args.begin() + 1, args.end()});
  if (args[0] == "query") return sluice::Query({args.begin() + 1, args.end()});
  std::fprintf(stderr, "sluice: unknown command '%s'\n\n", args[0].c_str());
  sluice::PrintUsage(stderr);
  return 2;
}
