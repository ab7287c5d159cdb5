// Injectable time source. Production uses SystemClock; tests use FakeClock to run
// days of schedules in milliseconds.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() const = 0;
  int64_t NowSeconds() const { return NowMicros() / 1000000; }
  double NowEpochSecondsFractional() const { return static_cast<double>(NowMicros()) / 1e6; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  static SystemClock* Default();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_micros = 0) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void SetMicros(int64_t t) { now_.store(t); }
  void AdvanceMicros(int64_t d) { now_.fetch_add(d); }
  void AdvanceSeconds(int64_t s) { now_.fetch_add(s * 1000000); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sluice
