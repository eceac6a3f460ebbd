// ZeroOptimizer: sharded Adam / SGD over 2 and 3 ranks (threads) equals the unsharded optimizer on
// the averaged gradient, with clipping; the gathered state is the unsharded state and loads into
// a different number of ranks (and into one process) and continues identically.
#include "runtime/zero_optimizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/autograd.h"
#include "runtime/ops.h"
#include "tests/runtime/thread_comm.h"

namespace strand::runtime {
namespace {

using ::testing::HasSubstr;
using testing::run_ranks;
using testing::ThreadCommunicator;
using ::testing::ThrowsMessage;

// Parameters of a few shapes (13 + 6 + 4 = 23 elements: shards are uneven and padded).
std::vector<Tensor> make_params() {
  std::vector<Tensor> params;
  uint64_t seed = 3;
  for (const Shape& s : std::vector<Shape>{{13}, {2, 3}, {4}}) {
    params.push_back(rand(s, seed++, {.dtype = DType::kF64}, -1, 1));
    params.back().set_requires_grad(true);
  }
  return params;
}

// Gradient of rank `rank` at step `step` (deterministic); the global one is their mean.
void set_grads(std::vector<Tensor>& params, int rank, int step) {
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].set_grad(
        rand(params[i].shape(), 1000 * step + 10 * rank + i, {.dtype = DType::kF64}, -2, 2));
  }
}
void set_mean_grads(std::vector<Tensor>& params, int ranks, int step) {
  std::vector<Tensor> sum(params.size());
  for (int r = 0; r < ranks; ++r) {
    set_grads(params, r, step);
    for (size_t i = 0; i < params.size(); ++i)
      sum[i] = sum[i].defined() ? add(sum[i], params[i].grad()) : params[i].grad().clone();
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(mul(sum[i], 1.0 / ranks));
}

std::vector<double> flat(const std::vector<Tensor>& ts) {
  std::vector<double> out;
  for (const Tensor& t : ts) {
    const auto v = t.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
std::vector<double> flat_state(const std::vector<std::pair<std::string, Tensor>>& s,
                               std::vector<std::string>* names = nullptr) {
  std::vector<Tensor> ts;
  for (const auto& [name, t] : s) {
    ts.push_back(t);
    if (names) names->push_back(name);
  }
  return flat(ts);
}

void expect_near(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "element " << i;
}

using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;
const Make kAdam = [](std::vector<Tensor> p) {
  return std::make_unique<AdamW>(std::move(p),
                                 kernels::AdamConfig{.lr = 0.05, .weight_decay = 0.1});
};
const Make kSgd = [](std::vector<Tensor> p) {
  return std::make_unique<SGD>(std::move(p), kernels::SgdConfig{.lr = 0.1, .momentum = 0.9});
};

TEST(ZeroOptimizer, EqualsTheUnshardedUpdateForAdamAndSgdWithClipping) {
  for (const Make* make : {&kAdam, &kSgd}) {
    for (int ranks : {2, 3}) {
      for (double clip : {0.0, 0.5}) {
        SCOPED_TRACE(strand::format("{} ranks, clip {}", ranks, clip));
        std::vector<Tensor> ref = make_params();
        auto ref_opt = (*make)(ref);
        for (int s = 0; s < 3; ++s) {
          set_mean_grads(ref, ranks, s);
          if (clip > 0) clip_grad_norm(ref, clip);
          ref_opt->step();
        }
        std::vector<std::vector<double>> weights(ranks), state(ranks);
        std::vector<std::string> names;
        run_ranks(ranks, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
          std::vector<Tensor> params = make_params();
          ZeroOptimizer opt(comm, params, *make);
          opt.set_clip_norm(clip);
          EXPECT_EQ(opt.shard_size(), (23 + ranks - 1) / ranks);
          for (int s = 0; s < 3; ++s) {
            set_grads(params, rank, s);
            opt.step();
          }
          opt.gather_state();
          weights[rank] = flat(params);
          state[rank] = flat_state(opt.state(), rank == 0 ? &names : nullptr);
        });
        std::vector<std::string> ref_names;
        const auto ref_state = flat_state(ref_opt->state(), &ref_names);
        EXPECT_EQ(names, ref_names);
        for (int r = 0; r < ranks; ++r) {
          expect_near(weights[r], flat(ref), 1e-12);
          expect_near(state[r], ref_state, 1e-12);
        }
      }
    }
  }
}

TEST(ZeroOptimizer, StateSavedFromThreeRanksResumesOnTwoAndOnOneProcess) {
  // Three steps on 3 ranks, then two more on 2 ranks from the gathered state.
  std::vector<std::pair<std::string, Tensor>> saved;
  std::vector<double> saved_weights;
  run_ranks(3, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    std::vector<Tensor> params = make_params();
    ZeroOptimizer opt(comm, params, kAdam);
    for (int s = 0; s < 3; ++s) {
      set_grads(params, rank, s);
      opt.step();
    }
    opt.gather_state();
    if (rank == 0) {
      for (const auto& [name, t] : opt.state()) saved.emplace_back(name, t.clone());
      saved_weights = flat(params);
    }
  });
  auto load_weights = [&](std::vector<Tensor>& params) {
    int64_t offset = 0;
    for (Tensor& p : params) {
      std::vector<double> v(saved_weights.begin() + offset,
                            saved_weights.begin() + offset + p.numel());
      p.copy_(from_vector<double>(v, p.shape()));
      offset += p.numel();
    }
  };
  // One process continues with the mean of 2 ranks' gradients.
  std::vector<Tensor> ref = make_params();
  load_weights(ref);
  auto ref_opt = kAdam(ref);
  ref_opt->load_state(saved, 3);
  for (int s = 3; s < 5; ++s) {
    set_mean_grads(ref, 2, s);
    ref_opt->step();
  }
  std::vector<std::vector<double>> weights(2);
  run_ranks(2, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    std::vector<Tensor> params = make_params();
    load_weights(params);
    ZeroOptimizer opt(comm, params, kAdam);
    opt.load_state(saved, 3);
    EXPECT_EQ(opt.shard_optimizer().steps(), 3);
    for (int s = 3; s < 5; ++s) {
      set_grads(params, rank, s);
      opt.step();
    }
    weights[rank] = flat(params);
  });
  for (int r = 0; r < 2; ++r) expect_near(weights[r], flat(ref), 1e-12);
}

TEST(ZeroOptimizer, WeightsAndBadInput) {
  run_ranks(2, [&](int rank, std::shared_ptr<ThreadCommunicator> comm) {
    std::vector<Tensor> params = make_params();
    // Rank 1 contributes nothing (an empty last batch): the update uses rank 0's gradient alone.
    std::vector<Tensor> ref = make_params();
    auto ref_opt = kSgd(ref);
    set_grads(ref, 0, 7);
    ref_opt->step();
    ZeroOptimizer opt(comm, params, kSgd);
    set_grads(params, 0, 7);
    if (rank == 1) {
      for (Tensor& p : params) p.zero_grad();
    }
    opt.prepare(rank == 0 ? 5 : 0, 5);
    opt.step();
    expect_near(flat(params), flat(ref), 1e-12);
    EXPECT_THAT([&] { opt.prepare(2, 1); }, ThrowsMessage<Error>(HasSubstr("weight 2 must lie")));
    std::vector<Tensor> mixed = {zeros({2}, {.dtype = DType::kF64}), zeros({2})};
    for (Tensor& t : mixed) t.set_requires_grad(true);
    EXPECT_THAT([&] { ZeroOptimizer z(comm, mixed, kSgd); },
                ThrowsMessage<Error>(HasSubstr("the flat shards need one dtype")));
  });
}

}  // namespace
}  // namespace strand::runtime
