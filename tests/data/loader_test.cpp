// BatchLoader: every example once per epoch, seeded shuffles, augmentation, prefetch workers,
// errors rethrown in the consumer, clean shutdown mid-epoch.
#include "data/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data/encoding.h"
#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::ThrowsMessage;
using testing::write_text;

// n records "s<i>" of length 12 with random bases; label = i.
std::shared_ptr<Dataset> make(TempDir& dir, int n, int bad_record = -1) {
  std::string fa, lab = "name\tvalue\n";
  uint64_t state = 12345;
  for (int i = 0; i < n; ++i) {
    std::string seq;
    for (int k = 0; k < 12; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      seq += "ACGTN"[(state >> 33) % 5];
    }
    if (i == bad_record) seq[3] = '?';
    fa += ">s" + std::to_string(i) + "\n" + seq + "\n";
    lab += "s" + std::to_string(i) + "\t" + std::to_string(i) + ".5\n";
  }
  const auto fa_path = write_text(dir.file("s.fa"), fa);
  if (bad_record >= 0) {
    // Index a clean twin of the same layout, so the bad base surfaces only when read.
    std::string clean = fa;
    std::replace(clean.begin(), clean.end(), '?', 'A');
    write_text(fa_path, clean);
    { IndexedFasta index(fa_path); }
    write_text(fa_path, fa);
    std::filesystem::last_write_time(fa_path, std::filesystem::last_write_time(fa_path + ".fai"));
  }
  return std::make_shared<Dataset>(
      Dataset::from_fasta(fa_path, write_text(dir.file("l.tsv"), lab)));
}

std::vector<int64_t> first_n(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<Batch> drain(BatchLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

TEST(Loader, EveryExampleOncePerEpochWithMatchingContent) {
  TempDir dir;
  const auto d = make(dir, 53);
  const std::vector<int64_t> all = first_n(53);
  for (int workers : {1, 3}) {
    LoaderOptions o;
    o.batch_size = 8;
    o.workers = workers;
    o.prefetch = 2;
    o.one_hot = true;
    BatchLoader loader(d, all, o);
    EXPECT_EQ(loader.batches_per_epoch(), 7);
    const auto batches = drain(loader, 0);
    ASSERT_EQ(batches.size(), 7u);
    std::vector<int64_t> seen;
    auto reader = d->reader();
    for (size_t b = 0; b < batches.size(); ++b) {
      const Batch& batch = batches[b];
      EXPECT_EQ(batch.index, static_cast<int64_t>(b));
      EXPECT_EQ(batch.size, b == 6 ? 5 : 8);
      EXPECT_EQ(batch.length, 12);
      EXPECT_EQ(batch.codes.shape(), (runtime::Shape{batch.size, 12}));
      EXPECT_EQ(batch.codes.dtype(), DType::kU8);
      EXPECT_EQ(batch.labels.shape(), (runtime::Shape{batch.size, 1}));
      EXPECT_EQ(batch.one_hot.shape(), (runtime::Shape{batch.size, 4, 12}));
      EXPECT_TRUE(batch.codes.device().is_cpu());
      for (int64_t r = 0; r < batch.size; ++r) {
        const int64_t ex = batch.examples[r];
        seen.push_back(ex);
        std::vector<uint8_t> codes(12);
        float label = 0;
        reader.read(ex, codes.data(), &label);
        EXPECT_TRUE(std::equal(codes.begin(), codes.end(), batch.codes.data<uint8_t>() + r * 12));
        EXPECT_EQ(batch.labels.data<float>()[r], label);
        EXPECT_EQ(label, ex + 0.5f);
        const auto oh = one_hot(codes);
        EXPECT_TRUE(std::equal(oh.begin(), oh.end(), batch.one_hot.data<float>() + r * 48));
      }
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, all);
  }
}

TEST(Loader, ShuffleIsSeededPerEpochAndIndependentOfWorkers) {
  TempDir dir;
  const auto d = make(dir, 40);
  const std::vector<int64_t> all = first_n(40);
  LoaderOptions o;
  o.batch_size = 7;
  o.seed = 9;
  o.reverse_complement = true;
  BatchLoader one(d, all, o);
  o.workers = 4;
  BatchLoader four(d, all, o);
  EXPECT_NE(one.epoch_order(0), one.epoch_order(1));
  EXPECT_NE(one.epoch_order(0), all);
  for (int64_t epoch : {0, 1}) {
    const auto a = drain(one, epoch), b = drain(four, epoch);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].examples, b[k].examples);
      EXPECT_EQ(a[k].codes.to_vector<uint8_t>(), b[k].codes.to_vector<uint8_t>());
      EXPECT_EQ(a[k].reverse_complemented, b[k].reverse_complemented);
    }
  }
  o.shuffle = false;
  EXPECT_EQ(BatchLoader(d, all, o).epoch_order(3), all);
}

TEST(Loader, ReverseComplementAugmentationFlipsAboutHalf) {
  TempDir dir;
  const auto d = make(dir, 200);
  const std::vector<int64_t> all = first_n(200);
  LoaderOptions o;
  o.batch_size = 50;
  o.reverse_complement = true;
  BatchLoader loader(d, all, o);
  int flipped = 0;
  auto reader = d->reader();
  for (const auto& batch : drain(loader, 0)) {
    for (int64_t r = 0; r < batch.size; ++r) {
      std::vector<uint8_t> codes(12);
      reader.read(batch.examples[r], codes.data(), nullptr);
      if (batch.reverse_complemented[r]) {
        reverse_complement_codes(codes.data(), 12, codes.data());
        ++flipped;
      }
      EXPECT_TRUE(std::equal(codes.begin(), codes.end(), batch.codes.data<uint8_t>() + r * 12));
    }
  }
  EXPECT_GT(flipped, 70);
  EXPECT_LT(flipped, 130);
}

TEST(Loader, DropLast) {
  TempDir dir;
  const auto d = make(dir, 10);
  LoaderOptions o;
  o.batch_size = 4;
  o.drop_last = true;
  BatchLoader loader(d, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, o);
  EXPECT_EQ(drain(loader, 0).size(), 2u);
}

// Data-parallel shards: 3 ranks at batch 4 see disjoint rows that, batch by batch, are exactly the
// batches of one process at batch 12 (same order, same augmentation), the last ones short or empty.
TEST(Loader, DataParallelShardsMakeTheSingleProcessBatches) {
  TempDir dir;
  const auto d = make(dir, 29);
  const std::vector<int64_t> all = first_n(29);
  LoaderOptions o;
  o.seed = 4;
  o.reverse_complement = true;
  o.batch_size = 12;
  BatchLoader single(d, all, o);
  const auto reference = drain(single, 1);
  ASSERT_EQ(reference.size(), 3u);
  std::vector<std::vector<Batch>> ranks;
  o.batch_size = 4;
  o.world_size = 3;
  for (int r = 0; r < 3; ++r) {
    o.rank = r;
    BatchLoader loader(d, all, o);
    EXPECT_EQ(loader.batches_per_epoch(), 3);
    ranks.push_back(drain(loader, 1));
    ASSERT_EQ(ranks.back().size(), 3u);
  }
  for (size_t b = 0; b < reference.size(); ++b) {
    std::vector<int64_t> examples;
    std::vector<uint8_t> codes, flipped;
    for (int r = 0; r < 3; ++r) {
      const Batch& part = ranks[r][b];
      EXPECT_EQ(part.global_size, reference[b].size);
      examples.insert(examples.end(), part.examples.begin(), part.examples.end());
      const auto c = part.codes.to_vector<uint8_t>();
      codes.insert(codes.end(), c.begin(), c.end());
      flipped.insert(flipped.end(), part.reverse_complemented.begin(),
                     part.reverse_complemented.end());
    }
    EXPECT_EQ(examples, reference[b].examples);
    EXPECT_EQ(codes, reference[b].codes.to_vector<uint8_t>());
    EXPECT_EQ(flipped, reference[b].reverse_complemented);
  }
  // 29 = 12 + 12 + 5: the last global batch gives rank 0 four rows, rank 1 one, rank 2 none.
  EXPECT_EQ(ranks[0][2].size, 4);
  EXPECT_EQ(ranks[1][2].size, 1);
  EXPECT_EQ(ranks[2][2].size, 0);
  EXPECT_EQ(ranks[2][2].codes.shape(), (runtime::Shape{0, 12}));
  o.rank = 3;
  EXPECT_THAT([&] { BatchLoader l(d, all, o); },
              ThrowsMessage<Error>(HasSubstr("rank 3 is outside a world of 3 ranks")));
}

// Poisson sampling over 3 ranks: each step's global draw (at the global rate) is what one process
// draws, dealt into 3 near-equal consecutive parts.
TEST(Loader, DataParallelPoissonPartsMakeTheSingleProcessDraws) {
  TempDir dir;
  const auto d = make(dir, 60);
  const std::vector<int64_t> all = first_n(60);
  LoaderOptions o;
  o.seed = 8;
  o.sampling = Sampling::kPoisson;
  o.batch_size = 12;
  BatchLoader single(d, all, o);
  const auto reference = drain(single, 2);
  o.batch_size = 4;
  o.world_size = 3;
  std::vector<std::vector<Batch>> ranks;
  for (int r = 0; r < 3; ++r) {
    o.rank = r;
    BatchLoader loader(d, all, o);
    EXPECT_DOUBLE_EQ(loader.sampling_rate(), single.sampling_rate());
    EXPECT_EQ(loader.batches_per_epoch(), single.batches_per_epoch());
    ranks.push_back(drain(loader, 2));
  }
  ASSERT_EQ(reference.size(), 5u);  // round(1 / (12 / 60))
  for (size_t b = 0; b < reference.size(); ++b) {
    std::vector<int64_t> joined;
    int64_t first = 0;
    for (int r = 0; r < 3; ++r) {
      const Batch& part = ranks[r][b];
      EXPECT_EQ(part.global_size, reference[b].size);
      EXPECT_EQ(part.global_first, first);
      EXPECT_LE(std::abs(part.size - reference[b].size / 3), 1);
      joined.insert(joined.end(), part.examples.begin(), part.examples.end());
      first += part.size;
    }
    EXPECT_EQ(joined, reference[b].examples);
  }
}

TEST(Loader, WorkerErrorIsRethrownInConsumer) {
  TempDir dir;
  const auto d = make(dir, 30, /*bad_record=*/17);
  const std::vector<int64_t> all = first_n(30);
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  o.workers = 2;
  BatchLoader loader(d, all, o);
  loader.start_epoch(0);
  try {
    while (loader.next()) {
    }
    FAIL() << "no error reached the consumer";
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("record 's17' position 3: '?'"));
  }
  // The loader is usable again afterwards (and fails the same way).
  loader.start_epoch(1);
  EXPECT_THROW(
      {
        while (loader.next()) {
        }
      },
      Error);
}

TEST(Loader, StopsCleanlyMidEpoch) {
  TempDir dir;
  const auto d = make(dir, 100);
  const std::vector<int64_t> all = first_n(100);
  LoaderOptions o;
  o.batch_size = 2;
  o.workers = 3;
  {
    BatchLoader loader(d, all, o);
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    loader.start_epoch(1);  // abandons epoch 0 with workers blocked on a full queue
    const auto b = loader.next();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->epoch, 1);
  }  // destructor joins the workers of epoch 1
}

TEST(Loader, SplitDatasetKeepsTestSealed) {
  TempDir dir;
  const auto d = make(dir, 60);
  SplitDataset splits(d);
  LoaderOptions o;
  BatchLoader train(splits, Split::kTrain, o);
  EXPECT_EQ(train.num_examples(), static_cast<int64_t>(splits.train().size()));
  EXPECT_THAT([&] { BatchLoader test(splits, Split::kTest, o); },
              ThrowsMessage<Error>(HasSubstr("the test split is sealed")));
  ::testing::internal::CaptureStderr();
  BatchLoader test(d, splits.unseal_test("final evaluation"), o);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(test.num_examples(), splits.test_size());
}

TEST(Loader, CudaDeviceWithoutOneIsAClearError) {
  if (runtime::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  TempDir dir;
  const auto d = make(dir, 4);
  LoaderOptions o;
  o.device = runtime::Device::cuda(0);
  EXPECT_THROW(BatchLoader(d, {0, 1}, o), Error);
}

TEST(Loader, BadOptions) {
  TempDir dir;
  const auto d = make(dir, 4);
  LoaderOptions o;
  o.batch_size = 0;
  EXPECT_THAT([&] { BatchLoader l(d, {0}, o); }, ThrowsMessage<Error>(HasSubstr("batch size")));
  EXPECT_THAT([&] { BatchLoader l(d, {}, LoaderOptions{}); },
              ThrowsMessage<Error>(HasSubstr("no examples")));
  EXPECT_THAT([&] { BatchLoader l(d, {7}, LoaderOptions{}); },
              ThrowsMessage<Error>(HasSubstr("example 7 is outside the dataset [0, 4)")));
  BatchLoader l(d, {0}, LoaderOptions{});
  EXPECT_THAT([&] { l.next(); }, ThrowsMessage<Error>(HasSubstr("before start_epoch")));
}

}  // namespace
}  // namespace strand::data

namespace strand::data {
namespace {

TEST(Loader, PoissonSamplingIncludesEachExampleWithProbabilityQ) {
  TempDir dir;
  auto ds = make(dir, 200);
  LoaderOptions o;
  o.batch_size = 20;  // q = 20 / 200
  o.sampling = Sampling::kPoisson;
  o.seed = 3;
  o.workers = 2;
  BatchLoader loader(ds, first_n(200), o);
  EXPECT_DOUBLE_EQ(loader.sampling_rate(), 0.1);
  EXPECT_EQ(loader.batches_per_epoch(), 10);
  std::vector<int64_t> counts(200, 0);
  std::set<int64_t> sizes;
  int64_t total = 0;
  for (int64_t epoch = 0; epoch < 30; ++epoch) {
    const std::vector<Batch> batches = drain(loader, epoch);
    ASSERT_EQ(batches.size(), 10u);
    const auto plan = loader.epoch_batches(epoch);
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(batches[b].examples, plan[b]);
      EXPECT_EQ(batches[b].size, static_cast<int64_t>(plan[b].size()));
      EXPECT_TRUE(std::is_sorted(plan[b].begin(), plan[b].end()));  // no repeats within a step
      EXPECT_TRUE(std::adjacent_find(plan[b].begin(), plan[b].end()) == plan[b].end());
      sizes.insert(batches[b].size);
      total += batches[b].size;
      for (int64_t e : batches[b].examples) ++counts[e];
    }
  }
  EXPECT_GT(sizes.size(), 5u);                                 // batch sizes vary
  EXPECT_NEAR(static_cast<double>(total) / 300.0, 20.0, 1.0);  // 300 steps, mean q N
  // Each example in 300 steps ~ Binomial(300, 0.1): mean 30, sd 5.2.
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  EXPECT_GT(*lo, 8);
  EXPECT_LT(*hi, 55);
  // Seeded: the same plan again, another seed another plan.
  EXPECT_EQ(loader.epoch_batches(4), BatchLoader(ds, first_n(200), o).epoch_batches(4));
  o.seed = 4;
  EXPECT_NE(loader.epoch_batches(4), BatchLoader(ds, first_n(200), o).epoch_batches(4));
}

TEST(Loader, PoissonSamplingDeliversEmptyBatches) {
  TempDir dir;
  auto ds = make(dir, 10);
  LoaderOptions o;
  o.sampling = Sampling::kPoisson;
  o.sampling_rate = 0.02;  // 50 steps, most of them empty
  BatchLoader loader(ds, first_n(10), o);
  const std::vector<Batch> batches = drain(loader, 0);
  ASSERT_EQ(batches.size(), 50u);
  int64_t empty = 0;
  for (const Batch& b : batches) {
    if (b.size > 0) continue;
    ++empty;
    EXPECT_EQ(b.codes.shape(), (runtime::Shape{0, 12}));
    EXPECT_EQ(b.labels.shape(), (runtime::Shape{0, 1}));
  }
  EXPECT_GT(empty, 30);
  o.sampling_rate = 1.5;
  EXPECT_THAT([&] { BatchLoader(ds, first_n(10), o); },
              ThrowsMessage<Error>(HasSubstr("Poisson sampling rate must be in (0, 1], got 1.5")));
}

TEST(Loader, BedWindowsWithoutTargetsGiveEmptyLabelRows) {
  testing::TempDir dir;
  const auto ref = testing::write_text(dir.file("g.fa"), ">chr1\nACGTACGTACGTACGT\n");
  const auto bed =
      testing::write_text(dir.file("p.bed"), "chr1\t0\t2\nchr1\t6\t10\nchr1\t14\t16\n");
  auto d = std::make_shared<Dataset>(Dataset::from_bed(bed, ref, 6));
  LoaderOptions o;
  o.batch_size = 8;
  o.shuffle = false;
  BatchLoader loader(d, {0, 1, 2}, o);
  loader.start_epoch(0);
  const auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->labels.shape(), (runtime::Shape{3, 0}));
  EXPECT_EQ(decode_bases(b->codes.data<uint8_t>(), 18), "NNACGTCGTACGACGTNN");
  EXPECT_FALSE(loader.next().has_value());
}

}  // namespace
}  // namespace strand::data
