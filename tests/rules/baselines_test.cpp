// Baselines learn a planted k-mer (binary, multi-class, regression); the prevalence model has
// AUROC exactly 0.5; a one-class training split is a clear error.
#include "rules/baselines.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "data/encoding.h"
#include "kernels/error.h"
#include "tests/rules/dna.h"

namespace strand::rules {
namespace {

using ::testing::HasSubstr;
using testing::random_dna;

// Builds "<prefix><i>" without operator+(const char*, string&&), which trips GCC 12's -Wrestrict.
std::string row_name(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Label 1 sequences carry the motif once, at a random place, on a random strand.
SplitData planted_split(std::mt19937_64& rng, int n, const std::string& motif) {
  SplitData s;
  for (int i = 0; i < n; ++i) {
    std::string seq = random_dna(rng, 150);
    const int y = static_cast<int>(rng() % 2);
    if (y) {
      const std::string m = rng() % 2 ? motif : data::reverse_complement(motif);
      seq.replace(rng() % (150 - m.size()), m.size(), m);
    }
    s.names.push_back(row_name("s", i));
    s.seqs.push_back(seq);
    s.labels.push_back(y);
  }
  return s;
}

TEST(Baselines, LearnAPlantedKmer) {
  std::mt19937_64 rng(5);
  BaselineProblem p;
  p.tasks = {"motif"};
  p.train = planted_split(rng, 600, "GATAAGC");
  p.valid = planted_split(rng, 150, "GATAAGC");
  p.test = planted_split(rng, 300, "GATAAGC");
  BaselineConfig config;
  config.panel.bootstrap.replicates = 50;
  config.trees.rounds = 60;
  const auto results = run_baselines(p, config);
  ASSERT_EQ(results.size(), 5u);
  std::map<std::string, double> auroc;
  for (const auto& r : results) {
    auroc[r.name] = r.metrics["tasks"]["motif"]["auroc"].get<double>();
    EXPECT_EQ(r.metrics["baseline"], r.name);
    EXPECT_EQ(r.test_scores.size(), 300u);
  }
  EXPECT_GT(auroc["kmer_logistic"], 0.9);
  EXPECT_GT(auroc["kmer_trees"], 0.75);
  EXPECT_DOUBLE_EQ(auroc["prevalence"], 0.5);
  EXPECT_LT(std::abs(auroc["gc_only"] - 0.5), 0.15);
  EXPECT_TRUE(results[0].metrics["chosen"]["motif"]["tuned_on_valid"].get<bool>());
}

TEST(Baselines, NeighboursFollowComposition) {
  std::mt19937_64 rng(6);
  auto split = [&](int n) {
    SplitData s;
    for (int i = 0; i < n; ++i) {
      const int y = static_cast<int>(rng() % 2);
      std::string seq(200, 'A');
      for (auto& c : seq) c = (rng() % 100) < (y ? 60u : 40u) ? "GC"[rng() % 2] : "AT"[rng() % 2];
      s.names.push_back(row_name("r", i));
      s.seqs.push_back(seq);
      s.labels.push_back(y);
    }
    return s;
  };
  BaselineProblem p;
  p.tasks = {"gc_rich"};
  p.train = split(400);
  p.test = split(200);
  BaselineConfig config;
  config.which = {"kmer_knn", "gc_only"};
  config.panel.bootstrap.replicates = 0;
  const auto r = run_baselines(p, config);
  EXPECT_GT(r[0].metrics["tasks"]["gc_rich"]["auroc"].get<double>(), 0.9);
  EXPECT_GT(r[1].metrics["tasks"]["gc_rich"]["auroc"].get<double>(), 0.95);
}

TEST(Baselines, MultiClassAndRegression) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> motifs = {"GATAAGC", "CCGCGGT", "TTTAAAC"};
  auto split = [&](int n, bool regression) {
    SplitData s;
    for (int i = 0; i < n; ++i) {
      std::string seq = random_dna(rng, 150);
      const int c = static_cast<int>(rng() % 3);
      const int copies = regression ? c : 1;
      for (int k = 0; k < copies; ++k)
        seq.replace(10 + 45 * k, 7, regression ? motifs[0] : motifs[c]);
      s.names.push_back(row_name("m", i));
      s.seqs.push_back(seq);
      s.labels.push_back(c);
    }
    return s;
  };
  BaselineProblem mc;
  mc.kind = TaskKind::kMultiClass;
  mc.tasks = {"site"};
  mc.classes = {"a", "b", "c"};
  mc.train = split(450, false);
  mc.test = split(150, false);
  BaselineConfig config;
  config.which = {"kmer_logistic", "kmer_trees", "prevalence"};
  config.trees.rounds = 40;
  config.panel.bootstrap.replicates = 0;
  const auto r = run_baselines(mc, config);
  EXPECT_GT(r[0].metrics["accuracy"].get<double>(), 0.9);
  EXPECT_GT(r[1].metrics["macro_auroc"].get<double>(), 0.9);
  EXPECT_EQ(r[0].test_scores.size(), 450u);

  BaselineProblem reg;
  reg.kind = TaskKind::kRegression;
  reg.tasks = {"copies"};
  reg.train = split(450, true);
  reg.test = split(150, true);
  const auto rr = run_baselines(reg, config);
  EXPECT_GT(rr[0].metrics["tasks"]["copies"]["pearson"].get<double>(), 0.7);
  EXPECT_GT(rr[1].metrics["tasks"]["copies"]["pearson"].get<double>(), 0.8);
}

// A position-specific representation (as issue 11 adds): one-hot of every position, flattened.
class FlatOneHot : public FeatureExtractor {
 public:
  explicit FlatOneHot(int64_t length) : length_(length) {}
  std::string name() const override { return "onehot-flat"; }
  int64_t dimension() const override { return 4 * length_; }
  void extract(std::string_view seq, std::vector<SparseEntry>& out) const override {
    for (int64_t i = 0; i < length_ && i < static_cast<int64_t>(seq.size()); ++i) {
      const auto b = data::base_code(seq[i]);
      if (b < 4) out.emplace_back(static_cast<int32_t>(4 * i + b), 1.0f);
    }
  }

 private:
  int64_t length_;
};

TEST(Baselines, NewRepresentationsPlugInAsSpecs) {
  // Aligned task: the motif sits at offset 20 in positives and at offset 80 in negatives, so
  // k-mer counts cannot tell them apart but position-specific features can.
  std::mt19937_64 rng(8);
  auto split = [&](int n) {
    SplitData s;
    for (int i = 0; i < n; ++i) {
      std::string seq = random_dna(rng, 120);
      const int y = i % 2;
      seq.replace(y ? 20 : 80, 7, "GATAAGC");
      s.names.push_back(row_name("p", i));
      s.seqs.push_back(seq);
      s.labels.push_back(y);
    }
    return s;
  };
  BaselineProblem p;
  p.tasks = {"aligned"};
  p.train = split(400);
  p.test = split(200);
  BaselineConfig config;
  config.specs.push_back({"onehot_logistic",
                          [](const BaselineConfig&) -> std::unique_ptr<FeatureExtractor> {
                            return std::make_unique<FlatOneHot>(120);
                          },
                          ModelKind::kLinear,
                          {1.0}});
  config.which = {"kmer_logistic", "onehot_logistic"};
  config.panel.bootstrap.replicates = 0;
  const auto r = run_baselines(p, config);
  EXPECT_LT(r[0].metrics["tasks"]["aligned"]["auroc"].get<double>(), 0.75);
  EXPECT_GT(r[1].metrics["tasks"]["aligned"]["auroc"].get<double>(), 0.95);
  EXPECT_EQ(r[1].metrics["features"], "onehot-flat");
}

TEST(Baselines, OneClassTrainingSplitAndUnknownNamesRaise) {
  BaselineProblem p;
  p.tasks = {"t"};
  p.train = {{"a", "b"}, {"ACGTACGT", "TTGACCAA"}, {1, 1}};
  p.test = {{"c"}, {"ACGTTTTT"}, {0}};
  BaselineConfig config;
  config.which = {"kmer_logistic"};
  try {
    run_baselines(p, config);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("only one class in the training split"));
  }
  config.which = {"svm"};
  try {
    run_baselines(p, config);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("unknown baseline 'svm' (known: kmer_logistic,"));
  }
}

}  // namespace
}  // namespace strand::rules
