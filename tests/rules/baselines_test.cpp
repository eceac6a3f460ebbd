// Baselines learn a planted k-mer (binary, multi-class, regression); the prevalence model has
// AUROC exactly 0.5; a one-class training split is a clear error.
#include "rules/baselines.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "data/encoding.h"
#include "core/error.h"
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
  config.which = {"kmer_logistic", "kmer_trees", "kmer_knn", "gc_only", "prevalence"};
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

// Aligned task: the motif sits at offset 20 in positives and at offset 80 in negatives, so k-mer
// counts cannot tell them apart but position-specific features can.
SplitData aligned_split(std::mt19937_64& rng, int n) {
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
}

TEST(Baselines, NewRepresentationsPlugInAsSpecs) {
  std::mt19937_64 rng(8);
  BaselineProblem p;
  p.tasks = {"aligned"};
  p.train = aligned_split(rng, 400);
  p.test = aligned_split(rng, 200);
  BaselineConfig config;
  config.specs.push_back({"custom_onehot",
                          [](const BaselineConfig& c) -> std::unique_ptr<FeatureExtractor> {
                            return std::make_unique<OneHotFlat>(c.sequence_length);
                          },
                          ModelKind::kLinear,
                          {1.0}});
  config.which = {"kmer_logistic", "custom_onehot"};
  config.panel.bootstrap.replicates = 0;
  const auto r = run_baselines(p, config);
  EXPECT_LT(r[0].metrics["tasks"]["aligned"]["auroc"].get<double>(), 0.75);
  EXPECT_GT(r[1].metrics["tasks"]["aligned"]["auroc"].get<double>(), 0.95);
  EXPECT_THAT(r[1].metrics["features"].get<std::string>(), HasSubstr("onehot (flattened, 120"));
}

TEST(Baselines, PositionSpecificLearnAnAlignedTaskKmersAnUnalignedOne) {
  std::mt19937_64 rng(9);
  BaselineConfig config;
  config.which = {"kmer_logistic", "kmer_trees",     "onehot_logistic",
                  "onehot_trees",  "dinuc_logistic", "dinuc_trees"};
  config.trees.rounds = 60;
  config.panel.bootstrap.replicates = 0;
  auto run = [&](BaselineProblem& p) {
    std::map<std::string, double> auroc;
    const auto results = run_baselines(p, config);
    for (const auto& r : results) {
      auroc[r.name] = r.metrics["tasks"][p.tasks[0]]["auroc"].get<double>();
      EXPECT_TRUE(std::isfinite(r.valid_metric)) << r.name;
      EXPECT_EQ(r.valid_scores.size(), p.valid.seqs.size()) << r.name;
    }
    auroc["strongest_is_positional"] =
        strongest_on_valid(results)->name.find("kmer") == std::string::npos;
    EXPECT_EQ(results[2].metrics["chosen"][p.tasks[0]]["cross_validated_on_train"], 3);
    EXPECT_FALSE(results[2].metrics["chosen"][p.tasks[0]]["tuned_on_valid"].get<bool>());
    return auroc;
  };
  BaselineProblem aligned;
  aligned.tasks = {"aligned"};
  aligned.train = aligned_split(rng, 400);
  aligned.valid = aligned_split(rng, 100);
  aligned.test = aligned_split(rng, 200);
  auto a = run(aligned);
  EXPECT_LT(a["kmer_logistic"], 0.75);
  EXPECT_GT(a["onehot_logistic"], 0.95);
  EXPECT_GT(a["onehot_trees"], 0.9);
  EXPECT_GT(a["dinuc_logistic"], 0.95);
  EXPECT_EQ(a["strongest_is_positional"], 1.0);

  BaselineProblem unaligned;
  unaligned.tasks = {"motif"};
  unaligned.train = planted_split(rng, 600, "GATAAGC");
  unaligned.valid = planted_split(rng, 150, "GATAAGC");
  unaligned.test = planted_split(rng, 300, "GATAAGC");
  auto u = run(unaligned);
  EXPECT_GT(u["kmer_logistic"], 0.9);
  EXPECT_LT(u["onehot_logistic"], u["kmer_logistic"] - 0.1);
  EXPECT_EQ(u["strongest_is_positional"], 0.0);
}

TEST(Baselines, CrossValidationReadsTheTrainingSplitOnly) {
  // With C chosen by cross-validation on train, flipping every validation label changes neither
  // the chosen C nor a single test score (only the validation metric, which it inverts).
  std::mt19937_64 rng(10);
  BaselineProblem p;
  p.tasks = {"aligned"};
  p.train = aligned_split(rng, 300);
  p.valid = aligned_split(rng, 100);
  p.test = aligned_split(rng, 100);
  BaselineConfig config;
  config.which = {"onehot_logistic"};
  config.panel.bootstrap.replicates = 0;
  const auto before = run_baselines(p, config);
  for (double& y : p.valid.labels) y = 1 - y;
  const auto after = run_baselines(p, config);
  EXPECT_EQ(before[0].test_scores, after[0].test_scores);
  EXPECT_EQ(before[0].metrics["chosen"], after[0].metrics["chosen"]);
  EXPECT_NEAR(before[0].valid_metric, 1 - after[0].valid_metric, 1e-12);
}

TEST(Baselines, PositionSpecificNeedOneLength) {
  std::mt19937_64 rng(11);
  BaselineProblem p;
  p.tasks = {"motif"};
  p.train = planted_split(rng, 100, "GATAAGC");
  p.test = planted_split(rng, 50, "GATAAGC");
  p.test.seqs[3] += "ACGT";  // one sequence of another length
  BaselineConfig config;
  config.which = {};
  config.specs = {default_baselines()[3], default_baselines()[5]};  // gc_only, onehot_logistic
  config.panel.bootstrap.replicates = 0;
  const auto r = run_baselines(p, config);  // the fixed-length one is left out
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "gc_only");
  EXPECT_EQ(applicable_baselines(config, 0), std::vector<std::string>{"gc_only"});
  config.which = {"onehot_logistic"};
  try {
    run_baselines(p, config);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("'onehot_logistic' reads position-specific features and "
                                       "needs sequences of one length"));
  }
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
