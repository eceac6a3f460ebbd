// Test support for data-parallel equivalence: a small two-layer perceptron with fixed weights,
// seeded data, one process's SGD run at the global batch (the reference) and one rank's run at its
// share of each batch; the thread tests and the mpirun tests compare the two.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "runtime/comm.h"
#include "runtime/data_parallel.h"
#include "runtime/ops.h"
#include "runtime/optim.h"
#include "runtime/zero_optimizer.h"

namespace strand::runtime::testing {

// A two-layer perceptron 6 -> 5 -> 3 with fixed weights; `extra` is used only when asked, to play
// a parameter some steps or ranks leave without a gradient.
struct Mlp {
  std::vector<Tensor> params;  // w1, b1, w2, b2, extra
  explicit Mlp(DType dtype) {
    const TensorOptions o{.dtype = dtype};
    for (const Shape& s : std::vector<Shape>{{5, 6}, {5}, {3, 5}, {3}, {3}}) {
      params.push_back(mul(rand(s, 11 + params.size(), o, -1, 1), 0.7).detach());
      params.back().set_requires_grad(true);
    }
  }
  Tensor loss(const Tensor& x, const Tensor& y, bool use_extra = false) const {
    Tensor out = linear(tanh(linear(x, params[0], params[1])), params[2], params[3]);
    if (use_extra) out = out + params[4];
    return mse_loss(out, y);
  }
  std::vector<std::vector<double>> values() const {
    std::vector<std::vector<double>> v;
    for (const Tensor& p : params) v.push_back(p.to_vector<double>());
    return v;
  }
  std::vector<std::vector<double>> grads() const {
    std::vector<std::vector<double>> v;
    for (const Tensor& p : params)
      v.push_back(p.grad().defined() ? p.grad().to_vector<double>() : std::vector<double>{});
    return v;
  }
};

struct Data {
  Tensor x, y;
};
inline Data data(int64_t rows, DType dtype, uint64_t seed) {
  return {rand({rows, 6}, seed, {.dtype = dtype}, -1, 1),
          rand({rows, 3}, seed + 100, {.dtype = dtype}, -1, 1)};
}

inline void expect_close(const std::vector<std::vector<double>>& a,
                         const std::vector<std::vector<double>>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].size(), b[k].size()) << "tensor " << k;
    for (size_t i = 0; i < a[k].size(); ++i)
      EXPECT_NEAR(a[k][i], b[k][i], tol * (1 + std::abs(b[k][i])))
          << "tensor " << k << " [" << i << "]";
  }
}

using Values = std::vector<std::vector<double>>;

struct RunResult {
  std::vector<double> losses;  // the global batch's loss at every step
  std::vector<Values> grads;   // the gradients the optimiser saw at every step
  Values weights;              // after the last step
  ReduceStats stats;
};

constexpr int kEquivalenceSteps = 3;

inline std::unique_ptr<Optimizer> make_sgd(std::vector<Tensor> params) {
  return std::make_unique<SGD>(std::move(params), kernels::SgdConfig{.lr = 0.3, .momentum = 0.9});
}

// One process: SGD with momentum on all `total` rows of each step's batch.
inline RunResult reference_run(int64_t total, DType dtype) {
  Mlp m(dtype);
  auto opt = make_sgd(m.params);
  RunResult run;
  for (int s = 0; s < kEquivalenceSteps; ++s) {
    const Data d = data(total, dtype, 40 + s);
    opt->zero_grad();
    const Tensor loss = m.loss(d.x, d.y);
    run.losses.push_back(loss.item());
    loss.backward();
    run.grads.push_back(m.grads());
    opt->step();
  }
  run.weights = m.values();
  return run;
}

// One rank of a data-parallel run: its rows[rank] rows of each step's batch (the ranks' rows in
// rank order make the global batch), gradients averaged by a GradReducer, or with zero1 the
// optimiser sharded by a ZeroOptimizer (grads then reports the local gradients).
inline RunResult rank_run(const std::shared_ptr<Communicator>& comm,
                          const std::vector<int64_t>& rows, DType dtype, ReducerOptions options,
                          bool zero1 = false) {
  const int rank = comm->rank();
  int64_t total = 0, first = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    total += rows[r];
    if (static_cast<int>(r) < rank) first += rows[r];
  }
  Mlp m(dtype);
  std::unique_ptr<GradReducer> reducer;
  std::unique_ptr<Optimizer> opt;
  ZeroOptimizer* zero = nullptr;
  if (zero1) {
    auto z = std::make_unique<ZeroOptimizer>(comm, m.params, make_sgd);
    zero = z.get();
    opt = std::move(z);
  } else {
    reducer = std::make_unique<GradReducer>(comm, m.params, options);
    opt = make_sgd(m.params);
  }
  RunResult run;
  for (int s = 0; s < kEquivalenceSteps; ++s) {
    const Data d = data(total, dtype, 40 + s);
    opt->zero_grad();
    const auto weight = static_cast<double>(rows[rank]), all = static_cast<double>(total);
    if (reducer) reducer->prepare(weight, all);
    if (zero) zero->prepare(weight, all);
    double local = 0;
    if (rows[rank] > 0) {
      const Tensor loss =
          m.loss(d.x.slice(0, first, first + rows[rank]), d.y.slice(0, first, first + rows[rank]));
      local = loss.item() * weight;
      loss.backward();
    }
    if (reducer) reducer->finish();
    // The step's loss over the global batch: the examples-weighted sum of the ranks' means.
    Tensor l = from_vector<double>({local}, {1});
    comm->all_reduce(l, ReduceOp::kSum)->wait();
    run.losses.push_back(l.item() / all);
    run.grads.push_back(m.grads());
    opt->step();
  }
  run.weights = m.values();
  if (reducer) run.stats = reducer->total();
  return run;
}

inline void expect_same_run(const RunResult& run, const RunResult& reference, double tol,
                            bool grads = true) {
  ASSERT_EQ(run.losses.size(), reference.losses.size());
  for (size_t s = 0; s < run.losses.size(); ++s) {
    EXPECT_NEAR(run.losses[s], reference.losses[s], tol) << "step " << s;
    if (grads) expect_close(run.grads[s], reference.grads[s], tol);
  }
  expect_close(run.weights, reference.weights, tol);
}

}  // namespace strand::runtime::testing
