#include "channel/channel_store.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "channel/segment_format.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

#define ASSERT_OK(expr)                    \
  do {                                     \
    ::sluice::Status _s = (expr);          \
    ASSERT_TRUE(_s.ok()) << _s.ToString(); \
  } while (0)

class TempDir {
 public:
  TempDir() {
    std::string tmpl = fs::temp_directory_path().string() + "/sluice_channel_XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<ChannelStore> MustOpen(const std::string& dir, const Clock* clock,
                                       ChannelStoreOptions opts = {}, ChannelFs* cfs = nullptr) {
  auto r = ChannelStore::Open(dir, clock, opts, cfs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<IncomingMessage> Msgs(const std::string& prefix, int n, size_t pad = 0) {
  std::vector<IncomingMessage> v;
  for (int i = 0; i < n; ++i) {
    IncomingMessage m;
    m.message_id = prefix + "-" + std::to_string(i);
    m.payload = prefix + ":" + std::to_string(i) + std::string(pad, 'x');
    v.push_back(std::move(m));
  }
  return v;
}

std::vector<ChannelMessage> ReadAll(ChannelStore* store, const std::string& channel,
                                    uint64_t from = 0) {
  std::vector<ChannelMessage> all;
  for (;;) {
    auto r = store->Read(channel, from, 37, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->empty()) break;
    from = r->back().offset + 1;
    for (auto& m : *r) all.push_back(std::move(m));
  }
  return all;
}

std::vector<std::string> SegmentFiles(const std::string& channel_dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(channel_dir)) {
    if (e.path().extension() == ".log") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t DirLogBytes(const std::string& channel_dir) {
  uint64_t total = 0;
  for (const auto& n : SegmentFiles(channel_dir)) total += fs::file_size(channel_dir + "/" + n);
  return total;
}

// Spins (yielding) until pred holds or the deadline passes.
bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = steady_clock::now() + timeout;
  while (!pred()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Counts and optionally blocks or fails file operations.
class TestFs : public ChannelFs {
 public:
  Status Append(int fd, const char* data, size_t n) override {
    appends_.fetch_add(1);
    if (fail_writes_.load()) {
      // Leave half the bytes behind, like a write cut short by a full disk.
      if (n / 2 > 0) (void)ChannelFs::Default()->Append(fd, data, n / 2);
      return Status::IoError("write: No space left on device");
    }
    return ChannelFs::Default()->Append(fd, data, n);
  }
  Status Sync(int fd) override {
    const bool fail = fail_syncs_.load();  // decided on entry, before any gate
    {
      std::unique_lock<std::mutex> l(mu_);
      ++syncs_;
      cv_.notify_all();
      cv_.wait(l, [&] { return !gated_; });
    }
    if (fail) return Status::IoError("fdatasync: No space left on device");
    return ChannelFs::Default()->Sync(fd);
  }

  void CloseGate() {
    std::lock_guard<std::mutex> l(mu_);
    gated_ = true;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> l(mu_);
    gated_ = false;
    cv_.notify_all();
  }
  bool WaitForSyncs(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return syncs_ >= n; });
  }
  int syncs() {
    std::lock_guard<std::mutex> l(mu_);
    return syncs_;
  }
  void ResetCounts() {
    std::lock_guard<std::mutex> l(mu_);
    syncs_ = 0;
    appends_ = 0;
  }
  int appends() const { return appends_.load(); }
  void FailWrites(bool f) { fail_writes_.store(f); }
  void FailSyncs(bool f) { fail_syncs_.store(f); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int syncs_ = 0;
  bool gated_ = false;
  std::atomic<int> appends_{0};
  std::atomic<bool> fail_writes_{false};
  std::atomic<bool> fail_syncs_{false};
};

TEST(ChannelStoreTest, AppendReadRoundTrip) {
  TempDir dir;
  FakeClock clock(1'000'000);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->CreateChannel("c1"));

  auto r = store->Append("c1", Msgs("a", 3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<uint64_t>{0, 1, 2}));
  clock.AdvanceMicros(500);
  std::vector<IncomingMessage> bin(2);
  bin[0].message_id = "b0";
  bin[0].payload = std::string("\0\x01\xff", 3);
  bin[1].message_id = "b1";
  bin[1].payload = "";
  r = store->Append("c1", bin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<uint64_t>{3, 4}));

  auto all = store->Read("c1", 0, 100, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*all)[i].offset, i);
  EXPECT_EQ((*all)[0].message_id, "a-0");
  EXPECT_EQ((*all)[2].payload, "a:2");
  EXPECT_EQ((*all)[0].arrival_micros, 1'000'000);
  EXPECT_EQ((*all)[2].arrival_micros, 1'000'000);
  EXPECT_EQ((*all)[3].arrival_micros, 1'000'500);
  EXPECT_EQ((*all)[3].payload, std::string("\0\x01\xff", 3));
  EXPECT_EQ((*all)[4].payload, "");
  EXPECT_EQ((*all)[4].message_id, "b1");

  auto tail = store->Read("c1", 3, 100, 1 << 20);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].offset, 3u);

  auto mid = store->Read("c1", 1, 2, 1 << 20);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 2u);
  EXPECT_EQ((*mid)[0].offset, 1u);
  EXPECT_EQ((*mid)[1].offset, 2u);

  // max_bytes counts payload bytes; at least one record is returned.
  auto limited = store->Read("c1", 0, 100, 5);  // "a:0" + "a:1" = 6 bytes > 5
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  EXPECT_EQ(store->Read("c1", 0, 100, 6)->size(), 2u);
  auto one = store->Read("c1", 0, 100, 0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_TRUE(store->Read("c1", 5, 100, 1 << 20)->empty());
  EXPECT_TRUE(store->Read("c1", 1000, 100, 1 << 20)->empty());
  EXPECT_TRUE(store->Read("c1", 0, 0, 1 << 20)->empty());

  auto empty = store->Append("c1", {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  auto st = store->Stats("c1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->first_offset, 0u);
  EXPECT_EQ(st->end_offset, 5u);
  EXPECT_EQ(st->last_arrival_micros, std::optional<int64_t>(1'000'500));
  EXPECT_EQ(st->size_bytes, DirLogBytes(dir.path() + "/c1"));
  EXPECT_EQ(SegmentFiles(dir.path() + "/c1"), std::vector<std::string>{"00000000000000000000.log"});
}

TEST(ChannelStoreTest, MaxBytesStopsBeforeExceeding) {
  TempDir dir;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_OK(store->CreateChannel("c"));
  std::vector<IncomingMessage> v(3);
  v[0].payload = std::string(4, 'a');
  v[1].payload = std::string(4, 'b');
  v[2].payload = std::string(4, 'c');
  ASSERT_TRUE(store->Append("c", v).ok());
  EXPECT_EQ(store->Read("c", 0, 10, 7)->size(), 1u);
  EXPECT_EQ(store->Read("c", 0, 10, 8)->size(), 2u);
  EXPECT_EQ(store->Read("c", 0, 10, 12)->size(), 3u);
  EXPECT_EQ(store->Read("c", 1, 10, 3)->size(), 1u);
}

TEST(ChannelStoreTest, ArrivalTimeNeverGoesBackwards) {
  TempDir dir;
  FakeClock clock(2000);
  {
    auto store = MustOpen(dir.path(), &clock);
    ASSERT_OK(store->CreateChannel("c"));
    ASSERT_TRUE(store->Append("c", Msgs("x", 1)).ok());
    clock.SetMicros(1000);
    ASSERT_TRUE(store->Append("c", Msgs("y", 1)).ok());
    auto all = ReadAll(store.get(), "c");
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].arrival_micros, 2000);
  }
  clock.SetMicros(500);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_TRUE(store->Append("c", Msgs("z", 1)).ok());
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].arrival_micros, 2000);
}

TEST(ChannelStoreTest, UnknownChannelsNamesCreateAndDrop) {
  TempDir dir;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock);
  EXPECT_EQ(store->Append("nope", Msgs("a", 1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Read("nope", 0, 1, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Stats("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->OffsetAtOrAfter("nope", 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ApplyRetention("nope", 0).code(), StatusCode::kNotFound);
  EXPECT_EQ(store->WaitForData("nope", 0, 0), 0u);
  for (const char* bad : {"", "..", "a/b", "../x", ".hidden", "a b", "a.b"}) {
    EXPECT_EQ(store->CreateChannel(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store->DropChannel(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store->Append(bad, Msgs("a", 1)).status().code(), StatusCode::kInvalidArgument);
  }

  ASSERT_OK(store->CreateChannel("c1"));
  ASSERT_TRUE(store->Append("c1", Msgs("a", 4)).ok());
  ASSERT_OK(store->CreateChannel("c1"));  // idempotent, keeps the data
  EXPECT_EQ(store->Stats("c1")->end_offset, 4u);

  ASSERT_OK(store->DropChannel("c1"));
  EXPECT_FALSE(fs::exists(dir.path() + "/c1"));
  ASSERT_OK(store->DropChannel("c1"));  // idempotent
  EXPECT_EQ(store->Append("c1", Msgs("a", 1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Stats("c1").status().code(), StatusCode::kNotFound);

  ASSERT_OK(store->CreateChannel("c1"));
  EXPECT_EQ(store->Stats("c1")->end_offset, 0u);
  auto r = store->Append("c1", Msgs("b", 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], 0u);
  store.reset();

  // Only remaining channels come back; no tombstones are left.
  store = MustOpen(dir.path(), &clock);
  EXPECT_EQ(store->Stats("c1")->end_offset, 1u);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().rfind(".dropped", 0), std::string::npos);
  }
}

TEST(ChannelStoreTest, SecondOpenOfSameDirectoryIsRefused) {
  TempDir dir;
  FakeClock clock(1);
  auto a = MustOpen(dir.path(), &clock);
  ASSERT_NE(a, nullptr);
  auto b = ChannelStore::Open(dir.path(), &clock);
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
}

TEST(ChannelStoreTest, ConcurrentAppendersKeepEveryAckOnceInOrder) {
  TempDir dir;
  auto store = MustOpen(dir.path(), SystemClock::Default());
  ASSERT_OK(store->CreateChannel("even"));
  ASSERT_OK(store->CreateChannel("odd"));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::vector<uint64_t>> acked(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string ch = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kPerThread; ++i) {
        IncomingMessage m;
        m.message_id = std::to_string(t) + "/" + std::to_string(i);
        m.payload = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = store->Append(ch, {m});
        if (!r.ok() || r->size() != 1) {
          failures.fetch_add(1);
          continue;
        }
        acked[t].push_back((*r)[0]);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  auto check = [&](ChannelStore* s) {
    for (const std::string ch : {"even", "odd"}) {
      auto all = ReadAll(s, ch);
      ASSERT_EQ(all.size(), static_cast<size_t>(kThreads / 2 * kPerThread)) << ch;
      EXPECT_EQ(s->Stats(ch)->end_offset, all.size());
      std::set<std::string> seen;
      for (size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].offset, i);
        EXPECT_TRUE(seen.insert(all[i].payload).second) << "duplicate " << all[i].payload;
        if (i > 0) EXPECT_GE(all[i].arrival_micros, all[i - 1].arrival_micros);
      }
      for (int t = (ch == "even" ? 0 : 1); t < kThreads; t += 2) {
        ASSERT_EQ(acked[t].size(), static_cast<size_t>(kPerThread));
        for (int i = 0; i < kPerThread; ++i) {
          uint64_t off = acked[t][i];
          ASSERT_LT(off, all.size());
          EXPECT_EQ(all[off].payload, "t" + std::to_string(t) + "-" + std::to_string(i));
          if (i > 0) EXPECT_GT(off, acked[t][i - 1]);  // a thread's appends stay in order
        }
      }
    }
  };
  check(store.get());
  store.reset();
  auto reopened = MustOpen(dir.path(), SystemClock::Default());
  check(reopened.get());
}

TEST(ChannelStoreTest, GroupCommitBatchesConcurrentAppends) {
  TempDir dir;
  TestFs tfs;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock, {}, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  tfs.ResetCounts();
  uint64_t groups_before = store->Metrics().commit_groups;

  // The first append's sync blocks; everything that arrives meanwhile must be committed
  // together by the next group.
  tfs.CloseGate();
  std::thread first([&] { EXPECT_TRUE(store->Append("c", Msgs("first", 1)).ok()); });
  ASSERT_TRUE(tfs.WaitForSyncs(1));
  constexpr int kN = 16;
  std::vector<uint64_t> offsets(kN, UINT64_MAX);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      auto r = store->Append("c", Msgs("m" + std::to_string(i), 1));
      EXPECT_TRUE(r.ok());
      if (r.ok()) offsets[i] = (*r)[0];
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return store->Metrics().queued_appends == kN; }));
  tfs.OpenGate();
  first.join();
  for (auto& th : threads) th.join();

  EXPECT_EQ(tfs.syncs(), 2);    // one for the first append, one for the other 16
  EXPECT_EQ(tfs.appends(), 2);  // one write() per group
  EXPECT_EQ(store->Metrics().commit_groups - groups_before, 2u);
  std::sort(offsets.begin(), offsets.end());
  for (int i = 0; i < kN; ++i) EXPECT_EQ(offsets[i], static_cast<uint64_t>(i + 1));
  EXPECT_EQ(store->Stats("c")->end_offset, static_cast<uint64_t>(kN + 1));
}

TEST(ChannelStoreTest, GroupCommitUnderFreeRunningLoadUsesFewerSyncsThanAppends) {
  TempDir dir;
  TestFs tfs;
  auto store = MustOpen(dir.path(), SystemClock::Default(), {}, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  tfs.ResetCounts();
  constexpr int kThreads = 8, kPer = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPer; ++i) EXPECT_TRUE(store->Append("c", Msgs("m", 1)).ok());
    });
  }
  for (auto& th : threads) th.join();
  std::printf("[group commit] %d appends, %d syncs\n", kThreads * kPer, tfs.syncs());
  EXPECT_LT(tfs.syncs(), kThreads * kPer);
}

TEST(ChannelStoreTest, SegmentsRollAndReadsCrossThem) {
  TempDir dir;
  FakeClock clock(10);
  ChannelStoreOptions opts;
  opts.segment_bytes = 1024;
  auto store = MustOpen(dir.path(), &clock, opts);
  ASSERT_OK(store->CreateChannel("c"));
  for (int b = 0; b < 12; ++b) {
    auto r = store->Append("c", Msgs("b" + std::to_string(b), 5, 100));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0], static_cast<uint64_t>(b * 5));
    clock.AdvanceMicros(10);
  }
  std::string cdir = dir.path() + "/c";
  auto files = SegmentFiles(cdir);
  ASSERT_GE(files.size(), 5u);
  EXPECT_EQ(files[0], "00000000000000000000.log");

  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 60u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].offset, i);
    EXPECT_EQ(all[i].payload,
              "b" + std::to_string(i / 5) + ":" + std::to_string(i % 5) + std::string(100, 'x'));
  }
  // Every segment starts where its name says and holds at most one record past the limit.
  for (const auto& f : files) {
    uint64_t first = 0;
    ASSERT_TRUE(channel_internal::ParseSegmentFileName(f, &first));
    auto r = store->Read("c", first, 1, 1 << 20);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].offset, first);
    EXPECT_LT(fs::file_size(cdir + "/" + f), 1024u + 200u);
  }
  for (uint64_t from = 0; from < 60; ++from) {
    auto r = store->Read("c", from, 7, 1 << 20);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), std::min<uint64_t>(7, 60 - from));
    for (size_t i = 0; i < r->size(); ++i) EXPECT_EQ((*r)[i].offset, from + i);
  }
  EXPECT_EQ(store->Stats("c")->size_bytes, DirLogBytes(cdir));
}

TEST(ChannelStoreTest, ReopenRestoresStateAndContinues) {
  TempDir dir;
  FakeClock clock(1'000);
  ChannelStoreOptions opts;
  opts.segment_bytes = 2048;
  ChannelStats before;
  std::vector<ChannelMessage> before_all;
  {
    auto store = MustOpen(dir.path(), &clock, opts);
    ASSERT_OK(store->CreateChannel("c"));
    ASSERT_OK(store->CreateChannel("empty"));
    for (int b = 0; b < 20; ++b) {
      ASSERT_TRUE(store->Append("c", Msgs("b" + std::to_string(b), 4, 60)).ok());
      clock.AdvanceMicros(1'000);
    }
    before = *store->Stats("c");
    before_all = ReadAll(store.get(), "c");
  }
  auto store = MustOpen(dir.path(), &clock, opts);
  auto after = store->Stats("c");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->first_offset, before.first_offset);
  EXPECT_EQ(after->end_offset, 80u);
  EXPECT_EQ(after->size_bytes, before.size_bytes);
  EXPECT_EQ(after->last_arrival_micros, before.last_arrival_micros);
  EXPECT_EQ(store->Stats("empty")->end_offset, 0u);
  EXPECT_FALSE(store->Stats("empty")->last_arrival_micros.has_value());

  // Reads of older segments go through the lazily built index.
  auto r = store->Read("c", 41, 3, 1 << 20);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].offset, 41u);
  EXPECT_EQ((*r)[0].payload, before_all[41].payload);
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), before_all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].payload, before_all[i].payload);
    EXPECT_EQ(all[i].arrival_micros, before_all[i].arrival_micros);
    EXPECT_EQ(all[i].message_id, before_all[i].message_id);
  }
  EXPECT_EQ(*store->OffsetAtOrAfter("c", 1'000 + 7 * 1'000), 28u);

  auto next = store->Append("c", Msgs("after", 2));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, (std::vector<uint64_t>{80, 81}));
}

// Cuts the last segment inside record 9 of 10 and appends garbage; reopen must drop the
// torn record and continue at offset 9.
TEST(ChannelStoreTest, TornTailIsTruncatedOnOpen) {
  for (size_t cut : {1u, 10u, 26u, 40u}) {
    SCOPED_TRACE(cut);
    TempDir dir;
    FakeClock clock(5);
    std::string seg = dir.path() + "/c/00000000000000000000.log";
    uint64_t good_size = 0;
    {
      auto store = MustOpen(dir.path(), &clock);
      ASSERT_OK(store->CreateChannel("c"));
      ASSERT_TRUE(store->Append("c", Msgs("m", 9, 20)).ok());
      good_size = fs::file_size(seg);
      ASSERT_TRUE(store->Append("c", Msgs("last", 1, 20)).ok());
    }
    uint64_t full = fs::file_size(seg);
    ASSERT_GT(full, good_size + cut);
    fs::resize_file(seg, good_size + cut);
    {
      FILE* f = std::fopen(seg.c_str(), "ab");
      ASSERT_NE(f, nullptr);
      std::fputs("GARBAGE-GARBAGE-GARBAGE", f);
      std::fclose(f);
    }
    auto store = MustOpen(dir.path(), &clock);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Stats("c")->end_offset, 9u);
    EXPECT_EQ(fs::file_size(seg), good_size);
    EXPECT_EQ(ReadAll(store.get(), "c").size(), 9u);
    auto r = store->Append("c", Msgs("new", 2));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, (std::vector<uint64_t>{9, 10}));
    store.reset();
    store = MustOpen(dir.path(), &clock);
    auto all = ReadAll(store.get(), "c");
    ASSERT_EQ(all.size(), 11u);
    EXPECT_EQ(all[9].payload, "new:0");
    EXPECT_EQ(all[10].payload, "new:1");
  }
}

TEST(ChannelStoreTest, CrcCorruptionTruncatesFromTheBadRecord) {
  for (int victim : {9, 5, 0}) {
    SCOPED_TRACE(victim);
    TempDir dir;
    FakeClock clock(5);
    std::string seg = dir.path() + "/c/00000000000000000000.log";
    std::vector<uint64_t> pos;  // start of each record
    {
      auto store = MustOpen(dir.path(), &clock);
      ASSERT_OK(store->CreateChannel("c"));
      for (int i = 0; i < 10; ++i) {
        pos.push_back(fs::file_size(seg));
        ASSERT_TRUE(store->Append("c", Msgs("m" + std::to_string(i), 1, 30)).ok());
      }
    }
    {
      // Flip a payload byte of the victim record.
      int fd = ::open(seg.c_str(), O_RDWR);
      ASSERT_GE(fd, 0);
      off_t at = static_cast<off_t>(pos[victim] + channel_internal::kRecordHeaderSize + 8);
      char b;
      ASSERT_EQ(::pread(fd, &b, 1, at), 1);
      b ^= 0x01;
      ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
      ::close(fd);
    }
    auto store = MustOpen(dir.path(), &clock);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Stats("c")->end_offset, static_cast<uint64_t>(victim));
    EXPECT_EQ(fs::file_size(seg), pos[victim]);
    auto r = store->Append("c", Msgs("new", 1));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0], static_cast<uint64_t>(victim));
    auto all = ReadAll(store.get(), "c");
    ASSERT_EQ(all.size(), static_cast<size_t>(victim + 1));
    EXPECT_EQ(all.back().payload, "new:0");
  }
}

void CheckFailureLeavesNothing(bool fail_sync) {
  TempDir dir;
  TestFs tfs;
  FakeClock clock(100);
  auto store = MustOpen(dir.path(), &clock, {}, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  ASSERT_TRUE(store->Append("c", Msgs("ok", 3, 50)).ok());
  std::string cdir = dir.path() + "/c";
  uint64_t size_before = DirLogBytes(cdir);

  if (fail_sync) {
    tfs.FailSyncs(true);
  } else {
    tfs.FailWrites(true);
  }
  auto bad = store->Append("c", Msgs("bad", 2, 50));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_NE(bad.status().message().find("No space left on device"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(store->Stats("c")->end_offset, 3u);
  EXPECT_TRUE(store->Read("c", 3, 10, 1 << 20)->empty());
  EXPECT_EQ(store->WaitForData("c", 2, 0), 3u);
  EXPECT_EQ(DirLogBytes(cdir), size_before);
  EXPECT_EQ(store->Metrics().failed_appends, 1u);

  tfs.FailSyncs(false);
  tfs.FailWrites(false);
  auto good = store->Append("c", Msgs("again", 2, 50));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(*good, (std::vector<uint64_t>{3, 4}));
  store.reset();

  store = MustOpen(dir.path(), &clock);
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].payload, "again:0" + std::string(50, 'x'));
  EXPECT_EQ(all[4].payload, "again:1" + std::string(50, 'x'));
}

TEST(ChannelStoreTest, WriteFailureIsCleanAndOffsetsAreReused) { CheckFailureLeavesNothing(false); }
TEST(ChannelStoreTest, SyncFailureIsCleanAndOffsetsAreReused) { CheckFailureLeavesNothing(true); }

TEST(ChannelStoreTest, FailedGroupFailsEveryAppendInIt) {
  TempDir dir;
  TestFs tfs;
  FakeClock clock(100);
  auto store = MustOpen(dir.path(), &clock, {}, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  tfs.ResetCounts();
  tfs.CloseGate();
  std::thread first([&] { EXPECT_TRUE(store->Append("c", Msgs("first", 1)).ok()); });
  ASSERT_TRUE(tfs.WaitForSyncs(1));
  constexpr int kN = 4;
  std::vector<Status> results(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] { results[i] = store->Append("c", Msgs("g", 2)).status(); });
  }
  ASSERT_TRUE(WaitUntil([&] { return store->Metrics().queued_appends == kN; }));
  tfs.FailWrites(true);
  tfs.OpenGate();
  first.join();
  for (auto& th : threads) th.join();
  for (const Status& s : results) {
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos);
  }
  EXPECT_EQ(store->Stats("c")->end_offset, 1u);
  tfs.FailWrites(false);
  // The reserved offsets were released: the next append gets offset 1.
  auto r = store->Append("c", Msgs("later", 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], 1u);
  auto r2 = store->Append("c", Msgs("later2", 1));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r2)[0], 2u);
}

// Appends queued behind a failing group carry offsets past it; they are re-stamped.
TEST(ChannelStoreTest, AppendsQueuedBehindAFailedGroupAreRestamped) {
  TempDir dir;
  TestFs tfs;
  FakeClock clock(100);
  auto store = MustOpen(dir.path(), &clock, {}, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  tfs.ResetCounts();
  tfs.FailSyncs(true);
  tfs.CloseGate();
  Status first_status;
  std::thread first([&] { first_status = store->Append("c", Msgs("doomed", 3)).status(); });
  ASSERT_TRUE(tfs.WaitForSyncs(1));
  // Queued while the doomed group is syncing: reserved offsets 3 and 4.
  Result<std::vector<uint64_t>> second = Status::Internal("unset");
  std::thread t2([&] { second = store->Append("c", Msgs("second", 2)); });
  ASSERT_TRUE(WaitUntil([&] { return store->Metrics().queued_appends == 1; }));
  tfs.FailSyncs(false);  // only the first group's sync fails (it already entered Sync)
  tfs.OpenGate();
  first.join();
  t2.join();
  EXPECT_EQ(first_status.code(), StatusCode::kIoError);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, (std::vector<uint64_t>{0, 1}));
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].payload, "second:0");
  EXPECT_EQ(all[1].offset, 1u);
  store.reset();
  store = MustOpen(dir.path(), &clock);
  EXPECT_EQ(ReadAll(store.get(), "c").size(), 2u);  // CRCs of the re-stamped records hold
}

TEST(ChannelStoreTest, FailureWhileRollingLeavesNoNewSegment) {
  TempDir dir;
  TestFs tfs;
  FakeClock clock(100);
  ChannelStoreOptions opts;
  opts.segment_bytes = 300;
  auto store = MustOpen(dir.path(), &clock, opts, &tfs);
  ASSERT_OK(store->CreateChannel("c"));
  ASSERT_TRUE(store->Append("c", Msgs("a", 2, 100)).ok());  // ~270 bytes, one segment
  std::string cdir = dir.path() + "/c";
  ASSERT_EQ(SegmentFiles(cdir).size(), 1u);
  uint64_t size_before = DirLogBytes(cdir);

  tfs.FailSyncs(true);                               // the first chunk writes, its sync fails
  auto bad = store->Append("c", Msgs("b", 4, 100));  // fills segment 0, then rolls
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_EQ(SegmentFiles(cdir).size(), 1u);
  EXPECT_EQ(DirLogBytes(cdir), size_before);
  tfs.FailSyncs(false);

  auto good = store->Append("c", Msgs("c", 4, 100));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_GE(SegmentFiles(cdir).size(), 2u);
  store.reset();
  store = MustOpen(dir.path(), &clock, opts);
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[5].payload, "c:3" + std::string(100, 'x'));
}

TEST(ChannelStoreTest, RetentionDropsOnlyWholeOldSegments) {
  TempDir dir;
  FakeClock clock(0);
  ChannelStoreOptions opts;
  opts.segment_bytes = 512;
  std::string cdir = dir.path() + "/c";
  constexpr int64_t kDay = 86'400'000'000LL;
  auto store = MustOpen(dir.path(), &clock, opts);
  ASSERT_OK(store->CreateChannel("c"));
  for (int d = 0; d < 5; ++d) {
    clock.SetMicros(d * kDay);
    for (int i = 0; i < 10; ++i)
      ASSERT_TRUE(store->Append("c", Msgs("d" + std::to_string(d), 1, 100)).ok());
  }
  auto all = ReadAll(store.get(), "c");
  ASSERT_EQ(all.size(), 50u);

  // Expected: leading segments whose last record arrived before the cut-off, never the last.
  auto expected_first = [&](int64_t cutoff) {
    auto files = SegmentFiles(cdir);
    std::vector<uint64_t> firsts;
    for (const auto& f : files) {
      uint64_t v;
      EXPECT_TRUE(channel_internal::ParseSegmentFileName(f, &v));
      firsts.push_back(v);
    }
    for (size_t i = 0; i + 1 < firsts.size(); ++i) {
      uint64_t last = firsts[i + 1] - 1;
      if (all[last].arrival_micros >= cutoff) return firsts[i];
    }
    return firsts.back();
  };

  int64_t cutoff = 2 * kDay + 1;  // records of days 0..2 are older
  uint64_t want = expected_first(cutoff);
  ASSERT_GT(want, 0u);
  ASSERT_OK(store->ApplyRetention("c", cutoff));
  auto st = store->Stats("c");
  EXPECT_EQ(st->first_offset, want);
  EXPECT_LE(st->first_offset, 30u);  // nothing newer than the cut-off is gone
  EXPECT_EQ(st->end_offset, 50u);
  EXPECT_EQ(st->size_bytes, DirLogBytes(cdir));
  auto kept = ReadAll(store.get(), "c");
  ASSERT_EQ(kept.size(), 50u - want);
  EXPECT_EQ(kept.front().offset, want);
  EXPECT_EQ(*store->OffsetAtOrAfter("c", 0), want);
  // A record before the cut-off may survive only in the segment that straddles it.
  ASSERT_OK(store->ApplyRetention("c", cutoff));
  EXPECT_EQ(store->Stats("c")->first_offset, want);

  // After reopen (unindexed older segments) retention still works; the active segment stays
  // even when everything is older than the cut-off.
  store.reset();
  store = MustOpen(dir.path(), &clock, opts);
  ASSERT_OK(store->ApplyRetention("c", 100 * kDay));
  st = store->Stats("c");
  auto files = SegmentFiles(cdir);
  ASSERT_EQ(files.size(), 1u);
  uint64_t last_first = 0;
  ASSERT_TRUE(channel_internal::ParseSegmentFileName(files[0], &last_first));
  EXPECT_EQ(st->first_offset, last_first);
  EXPECT_EQ(st->end_offset, 50u);
  EXPECT_EQ(ReadAll(store.get(), "c").size(), 50u - last_first);
  auto r = store->Append("c", Msgs("new", 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], 50u);
  store.reset();
  store = MustOpen(dir.path(), &clock, opts);
  EXPECT_EQ(store->Stats("c")->first_offset, last_first);
  EXPECT_EQ(store->Stats("c")->end_offset, 51u);
}

TEST(ChannelStoreTest, OffsetAtOrAfterFindsTheFirstRecordAtOrAfterATime) {
  TempDir dir;
  FakeClock clock(100);
  ChannelStoreOptions opts;
  opts.segment_bytes = 600;
  auto store = MustOpen(dir.path(), &clock, opts);
  ASSERT_OK(store->CreateChannel("c"));
  EXPECT_EQ(*store->OffsetAtOrAfter("c", 0), 0u);
  // Batch b (3 records of ~80 bytes) arrives at 100 * (b + 1).
  for (int b = 0; b < 30; ++b) {
    clock.SetMicros(100 * (b + 1));
    ASSERT_TRUE(store->Append("c", Msgs("b", 3, 50)).ok());
  }
  auto check = [&](ChannelStore* s) {
    EXPECT_EQ(*s->OffsetAtOrAfter("c", -5), 0u);
    EXPECT_EQ(*s->OffsetAtOrAfter("c", 100), 0u);
    EXPECT_EQ(*s->OffsetAtOrAfter("c", 101), 3u);
    for (int b = 0; b < 30; ++b) {
      EXPECT_EQ(*s->OffsetAtOrAfter("c", 100 * (b + 1)), static_cast<uint64_t>(3 * b));
      EXPECT_EQ(*s->OffsetAtOrAfter("c", 100 * (b + 1) - 50), static_cast<uint64_t>(3 * b));
    }
    EXPECT_EQ(*s->OffsetAtOrAfter("c", 3001), 90u);
    EXPECT_EQ(*s->OffsetAtOrAfter("c", INT64_MAX), 90u);
  };
  check(store.get());
  ASSERT_GT(SegmentFiles(dir.path() + "/c").size(), 3u);
  store.reset();
  store = MustOpen(dir.path(), &clock, opts);
  check(store.get());
}

TEST(ChannelStoreTest, WaitForDataWakesOnAppend) {
  TempDir dir;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_OK(store->CreateChannel("c"));
  auto start = steady_clock::now();
  uint64_t got = 0;
  std::thread waiter([&] { got = store->WaitForData("c", 0, 60'000'000); });
  ASSERT_TRUE(store->Append("c", Msgs("m", 2)).ok());
  waiter.join();
  EXPECT_EQ(got, 2u);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
  // Already past the offset: returns at once.
  EXPECT_EQ(store->WaitForData("c", 1, 60'000'000), 2u);
  // Deadline: returns the unchanged end offset.
  auto t0 = steady_clock::now();
  EXPECT_EQ(store->WaitForData("c", 2, 20'000), 2u);
  EXPECT_GE(steady_clock::now() - t0, std::chrono::milliseconds(20));
}

TEST(ChannelStoreTest, WaitForDataWakesOnDrop) {
  TempDir dir;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_OK(store->CreateChannel("c"));
  auto start = steady_clock::now();
  std::thread waiter([&] { (void)store->WaitForData("c", 0, 60'000'000); });
  ASSERT_OK(store->DropChannel("c"));
  waiter.join();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(ChannelStoreTest, ShutdownWakesWaitersAndRefusesAppends) {
  TempDir dir;
  FakeClock clock(1);
  auto store = MustOpen(dir.path(), &clock);
  ASSERT_OK(store->CreateChannel("c"));
  ASSERT_TRUE(store->Append("c", Msgs("m", 1)).ok());
  auto start = steady_clock::now();
  uint64_t got = 99;
  std::thread waiter([&] { got = store->WaitForData("c", 1, 60'000'000); });
  store->Shutdown();
  waiter.join();
  EXPECT_EQ(got, 1u);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(store->Append("c", Msgs("late", 1)).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->WaitForData("c", 1, 60'000'000), 1u);  // returns at once after shutdown
  EXPECT_EQ(ReadAll(store.get(), "c").size(), 1u);        // reads keep working
  store->Shutdown();                                      // idempotent
}

// ---- Crash test: SIGKILL a writer process and check every acknowledged message. ----

struct AckReport {
  uint32_t round;
  uint32_t thread;
  uint32_t seq;
  uint32_t count;
  uint64_t first;
  uint32_t channel;
  uint32_t pad;
};

std::string CrashPayload(uint32_t round, uint32_t t, uint32_t seq, uint32_t i) {
  std::string p = "r" + std::to_string(round) + "-t" + std::to_string(t) + "-s" +
                  std::to_string(seq) + "-m" + std::to_string(i) + ":";
  size_t len = (seq * 131 + i * 977) % 3000;
  for (size_t k = 0; k < len; ++k) p.push_back(static_cast<char>('a' + (k + seq + i) % 26));
  return p;
}

const char* const kCrashChannels[] = {"alpha", "beta"};

[[noreturn]] void CrashChild(const std::string& dir, int wfd, uint32_t round) {
  ::signal(SIGPIPE, SIG_IGN);
  ChannelStoreOptions opts;
  opts.segment_bytes = 64 * 1024;
  auto opened = ChannelStore::Open(dir, SystemClock::Default(), opts);
  if (!opened.ok()) ::_exit(2);
  std::unique_ptr<ChannelStore> store = std::move(opened).value();
  for (const char* c : kCrashChannels) {
    if (!store->CreateChannel(c).ok()) ::_exit(3);
  }
  std::mutex wmu;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t seq = 0;; ++seq) {
        uint32_t ch = (t + seq) % 2;
        uint32_t n = 1 + seq % 4;
        std::vector<IncomingMessage> msgs(n);
        for (uint32_t i = 0; i < n; ++i) {
          msgs[i].message_id = "r" + std::to_string(round) + "t" + std::to_string(t) + "s" +
                               std::to_string(seq) + "m" + std::to_string(i);
          msgs[i].payload = CrashPayload(round, t, seq, i);
        }
        auto r = store->Append(kCrashChannels[ch], std::move(msgs));
        if (!r.ok() || r->size() != n) ::_exit(4);
        AckReport rep{round, t, seq, n, (*r)[0], ch, 0};
        std::lock_guard<std::mutex> l(wmu);
        if (::write(wfd, &rep, sizeof(rep)) != static_cast<ssize_t>(sizeof(rep))) ::_exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::_exit(0);
}

TEST(ChannelStoreCrashTest, Kill9KeepsEveryAcknowledgedMessageExactlyOnce) {
  TempDir dir;
  std::vector<AckReport> acks;
  std::set<std::string> parent_payloads;
  for (uint32_t round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CrashChild(dir.path(), fds[1], round);
    }
    ::close(fds[1]);
    const size_t target = 40 + round * 60;
    size_t got = 0;
    bool killed = false;
    std::string pending;
    auto deadline = steady_clock::now() + std::chrono::seconds(120);
    for (;;) {
      if (!killed && got >= target) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      if (!killed && steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        killed = true;
        ADD_FAILURE() << "child made too little progress";
      }
      pollfd p{fds[0], POLLIN, 0};
      int rc = ::poll(&p, 1, 1000);
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF: the child is gone and the pipe drained
      pending.append(buf, static_cast<size_t>(n));
      while (pending.size() >= sizeof(AckReport)) {
        AckReport rep;
        std::memcpy(&rep, pending.data(), sizeof(rep));
        pending.erase(0, sizeof(rep));
        acks.push_back(rep);
        ++got;
      }
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited with status " << status;
    ASSERT_GE(got, target);

    auto store = MustOpen(dir.path(), SystemClock::Default());
    ASSERT_NE(store, nullptr);
    std::map<std::string, uint64_t> where[2];
    for (uint32_t c = 0; c < 2; ++c) {
      auto st = store->Stats(kCrashChannels[c]);
      ASSERT_TRUE(st.ok());
      auto all = ReadAll(store.get(), kCrashChannels[c]);
      ASSERT_EQ(all.size(), st->end_offset);
      for (size_t i = 0; i < all.size(); ++i) {
        ASSERT_EQ(all[i].offset, i);
        EXPECT_TRUE(where[c].emplace(all[i].payload, i).second)
            << "payload stored twice: " << all[i].payload.substr(0, 30);
      }
      EXPECT_TRUE(store->Read(kCrashChannels[c], st->end_offset, 10, 1 << 20)->empty());
    }
    for (const AckReport& a : acks) {
      for (uint32_t i = 0; i < a.count; ++i) {
        std::string p = CrashPayload(a.round, a.thread, a.seq, i);
        auto it = where[a.channel].find(p);
        ASSERT_NE(it, where[a.channel].end()) << "acknowledged message lost: " << p.substr(0, 30);
        EXPECT_EQ(it->second, a.first + i);
      }
    }
    for (const std::string& p : parent_payloads) {
      EXPECT_EQ(where[0].count(p), 1u) << p;
    }
    // The recovered log accepts appends at its end.
    std::string mine = "parent-" + std::to_string(round);
    auto r = store->Append(kCrashChannels[0], {IncomingMessage{"p", mine}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0], where[0].size());
    parent_payloads.insert(mine);
  }
}

// Not a pass/fail benchmark: prints the throughput of 100-message batches.
TEST(ChannelStoreBenchTest, PrintsBatchAppendThroughput) {
  for (bool shared_channel : {true, false}) {
    TempDir dir;
    auto store = MustOpen(dir.path(), SystemClock::Default());
    constexpr int kThreads = 8, kBatches = 60, kBatch = 100;
    for (int t = 0; t < kThreads; ++t) ASSERT_OK(store->CreateChannel("ch" + std::to_string(t)));
    std::vector<IncomingMessage> batch(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      batch[i].message_id = "msg" + std::to_string(i);
      batch[i].payload = std::string(150, static_cast<char>('a' + i % 26));
    }
    uint64_t syncs_before = store->Metrics().syncs;
    auto start = steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::string ch = shared_channel ? "ch0" : "ch" + std::to_string(t);
        for (int b = 0; b < kBatches; ++b) EXPECT_TRUE(store->Append(ch, batch).ok());
      });
    }
    for (auto& th : threads) th.join();
    double secs = std::chrono::duration<double>(steady_clock::now() - start).count();
    uint64_t syncs = store->Metrics().syncs - syncs_before;
    std::printf(
        "[bench] %s: %d appenders x %d appends of %d x 150 B: %.0f appends/s, %.0f messages/s, "
        "%llu fdatasyncs (%.1f appends per sync)\n",
        shared_channel ? "one channel" : "channel per appender", kThreads, kBatches, kBatch,
        kThreads * kBatches / secs, kThreads * kBatches * kBatch / secs,
        static_cast<unsigned long long>(syncs),
        static_cast<double>(kThreads * kBatches) /
            static_cast<double>(std::max<uint64_t>(1, syncs)));
    uint64_t total = 0;
    for (int t = 0; t < kThreads; ++t) total += store->Stats("ch" + std::to_string(t))->end_offset;
    EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kBatches * kBatch));
  }
}

}  // namespace
}  // namespace sluice
