//===- ServiceMetricsTest.cpp - The server's counters in Prometheus's form ===//

#include "runtime/server/ServiceMetrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using ::testing::HasSubstr;

TEST(ServiceMetricsTest, HistogramBucketsCountUpToTheirBoundInclusive) {
  SecondsHistogram histogram;
  for (double seconds : {0.004, 0.005, 0.2, 1000.0})
    histogram.observe(seconds);
  EXPECT_EQ(histogram.count(), 4);
  const std::string text = histogram.exposition("t_seconds", "A time.");
  EXPECT_THAT(text, HasSubstr("# HELP t_seconds A time.\n"
                              "# TYPE t_seconds histogram\n"
                              "t_seconds_bucket{le=\"0.005\"} 2\n"
                              "t_seconds_bucket{le=\"0.01\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("t_seconds_bucket{le=\"0.1\"} 2\n"
                              "t_seconds_bucket{le=\"0.25\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("t_seconds_bucket{le=\"300\"} 3\n"
                              "t_seconds_bucket{le=\"+Inf\"} 4\n"
                              "t_seconds_sum 1000.2089999999999\n"
                              "t_seconds_count 4\n"));
}

TEST(ServiceMetricsTest, CountsRequestsAndBatches) {
  ServiceMetrics metrics;
  for (int i = 0; i < 3; ++i)
    metrics.requestWaiting();
  metrics.requestStarted(0.02);
  metrics.requestStarted(0.03);
  metrics.requestFinished(200, 1.5, {10, 4, 20, 0, 0}, 0.1);
  metrics.batchRan(2, 0.25, 1.25);
  const std::string text = metrics.exposition();
  for (const char *line :
       {"llamac_requests_total{status=\"200\"} 1\n",
        "llamac_requests_running 1\n", "llamac_requests_waiting 1\n",
        "llamac_request_queue_seconds_bucket{le=\"0.025\"} 1\n",
        "llamac_request_queue_seconds_bucket{le=\"0.05\"} 2\n",
        "llamac_request_duration_seconds_bucket{le=\"1\"} 0\n",
        "llamac_request_duration_seconds_bucket{le=\"2.5\"} 1\n",
        "llamac_time_to_first_token_seconds_count 1\n",
        "llamac_prompt_tokens_total 10\n",
        "llamac_prompt_tokens_cached_total 4\n",
        "llamac_generation_tokens_total 20\n",
        "llamac_batch_requests_sum 2\nllamac_batch_requests_count 1\n",
        "llamac_prefill_seconds_total 0.25\n",
        "llamac_decode_seconds_total 1.25\n"})
    EXPECT_THAT(text, HasSubstr(line));
}
