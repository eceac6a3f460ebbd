// BatchLoader on a CUDA device: batches arrive on the device, equal to the host batches, with the
// copies on the loader's own stream ordered before the consumer's work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "data/loader.h"
#include "data/simulate.h"
#include "runtime/storage.h"
#include "tests/data/temp_files.h"
#include "tests/support/test_support.h"

namespace strand::data {
namespace {

TEST(LoaderCuda, DeviceBatchesEqualHostBatches) {
  STRAND_REQUIRE_CUDA_DEVICE();
  runtime::set_poison_allocations(true);  // an uncopied byte would show as 0xFF / NaN
  SimulationConfig c;
  c.num_sequences = 300;
  c.length = 120;
  auto d =
      std::make_shared<Dataset>(Dataset::from_records(simulate(c).records, simulate(c).labels));
  std::vector<int64_t> all(300);
  std::iota(all.begin(), all.end(), 0);
  LoaderOptions host_options;
  host_options.batch_size = 32;
  host_options.one_hot = true;
  host_options.reverse_complement = true;
  host_options.seed = 3;
  LoaderOptions device_options = host_options;
  device_options.device = runtime::Device::cuda(0);
  device_options.workers = 2;
  BatchLoader host(d, all, host_options), device(d, all, device_options);
  for (int64_t epoch : {0, 1}) {
    host.start_epoch(epoch);
    device.start_epoch(epoch);
    int64_t batches = 0;
    while (auto h = host.next()) {
      auto g = device.next();
      ASSERT_TRUE(g.has_value());
      EXPECT_TRUE(g->codes.is_cuda());
      EXPECT_TRUE(g->labels.is_cuda());
      EXPECT_TRUE(g->one_hot.is_cuda());
      EXPECT_EQ(g->examples, h->examples);
      // to_vector copies on the current stream, which waits on the loader's copy event.
      EXPECT_EQ(g->codes.to_vector<uint8_t>(), h->codes.to_vector<uint8_t>());
      EXPECT_EQ(g->labels.to_vector<float>(), h->labels.to_vector<float>());
      EXPECT_EQ(g->one_hot.to_vector<float>(), h->one_hot.to_vector<float>());
      ++batches;
    }
    EXPECT_FALSE(device.next().has_value());
    EXPECT_EQ(batches, host.batches_per_epoch());
  }
  runtime::set_poison_allocations(false);
}

}  // namespace
}  // namespace strand::data
