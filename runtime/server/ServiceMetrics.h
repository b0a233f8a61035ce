//===- ServiceMetrics.h - The server's counters, for Prometheus -*- C++ -*-===//
//
// Counters of `llamac-run serve` since it started, answered on GET /metrics
// in Prometheus's text format (version 0.0.4), as vLLM's and TGI's servers
// answer it: completions by status, their tokens (prompt, cached, generated,
// drafted and kept), the time spent prefilling and decoding, histograms of
// how long completions took to answer, waited for their turn and for their
// first token (so that dashboards can show percentiles, as vLLM's do), how
// many requests run and wait their turn now, and how many ran together in
// a batch. Written by the thread that
// runs the model and by connection threads, read by the latter: one mutex.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SERVER_SERVICEMETRICS_H
#define LLAMAC_RUNTIME_SERVER_SERVICEMETRICS_H

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// What one completion computed.
struct CompletionWork {
  int64_t promptTokens = 0; ///< As its usage counts them.
  int64_t cachedTokens = 0; ///< Of those, kept in the cache.
  int64_t generatedTokens = 0;
  int64_t draftTokens = 0;
  int64_t acceptedDraftTokens = 0;
};

/// Observations of a time in seconds, counted in Prometheus's cumulative
/// buckets.
class SecondsHistogram {
public:
  void observe(double seconds);
  /// The family's HELP, TYPE, bucket, sum and count lines.
  std::string exposition(const char *name, const char *help) const;
  int64_t count() const { return observations; }

private:
  /// Observations at most each of kBounds, then above them all.
  std::vector<int64_t> buckets = std::vector<int64_t>(kBounds.size() + 1);
  double sum = 0;
  int64_t observations = 0;

public:
  /// The buckets' upper bounds, from 5 ms to 5 minutes.
  static constexpr std::array<double, 15> kBounds = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
      2.5,   5,    10,    30,   60,  120,  300};
};

class ServiceMetrics {
public:
  /// A completion read, now waiting its turn.
  void requestWaiting();
  /// A waiting completion's turn came, `queueSeconds` after it arrived.
  void requestStarted(double queueSeconds);
  /// A completion answered with `status` (499: its client left) after
  /// `seconds` of its turn; its first token came `secondsToFirstToken`
  /// after it arrived, if it generated one.
  void requestFinished(int status, double seconds, const CompletionWork &work,
                       std::optional<double> secondsToFirstToken);
  /// The model ran `requests` completions as one batch, in that time.
  void batchRan(int64_t requests, double prefillSeconds, double decodeSeconds);
  /// The exposition of every metric.
  std::string exposition() const;

private:
  mutable std::mutex mutex;
  int64_t waiting = 0;
  int64_t running = 0;
  std::map<int, int64_t> requestsByStatus;
  SecondsHistogram requestSeconds;
  SecondsHistogram queueSeconds;
  SecondsHistogram firstTokenSeconds;
  CompletionWork total;
  int64_t batches = 0;
  int64_t batchedRequests = 0;
  double prefillSeconds = 0;
  double decodeSeconds = 0;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_SERVER_SERVICEMETRICS_H
