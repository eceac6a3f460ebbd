// `strand privacy epsilon|sigma`: the DP-SGD accountant from the command line (Rule 10): the
// epsilon a run spends, or the noise multiplier a target epsilon needs.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "rules/privacy_accountant.h"

namespace strand::apps {
namespace {

struct PrivacyArgs {
  double q = 0, sigma = 0, target = 0, delta = 0;
  int64_t steps = 0;
  std::string accountant = "pld";
  bool json = false;
};

void add_common(CLI::App* cmd, PrivacyArgs& a) {
  cmd->add_option("--sampling-rate", a.q, "Poisson sampling rate q (expected batch / dataset size)")
      ->required();
  cmd->add_option("--steps", a.steps, "Optimiser steps (epochs x dataset size / batch)")
      ->required();
  cmd->add_option("--delta", a.delta, "Target delta; below 1 / dataset size")->required();
  cmd->add_option("--accountant", a.accountant, "pld (tight, default) or rdp")
      ->check(CLI::IsMember({"rdp", "pld"}));
  cmd->add_flag("--json", a.json, "Machine-readable output");
}

nlohmann::json inputs(const PrivacyArgs& a) {
  return {
      {"accountant", a.accountant}, {"sampling_rate", a.q}, {"steps", a.steps}, {"delta", a.delta}};
}

}  // namespace

void add_privacy_commands(CLI::App& app) {
  auto* privacy = app.add_subcommand(
      "privacy", "Differential-privacy accounting for DP-SGD (Poisson-subsampled Gaussian)");
  privacy->require_subcommand(1);

  auto eps_args = std::make_shared<PrivacyArgs>();
  auto* eps = privacy->add_subcommand("epsilon", "Epsilon spent by a DP-SGD run");
  eps->footer(
      "Example:\n  strand privacy epsilon --sampling-rate 0.01 --noise-multiplier 1.1 "
      "--steps 5000 --delta 1e-5 --json");
  add_common(eps, *eps_args);
  eps->add_option("--noise-multiplier", eps_args->sigma, "Noise std / clipping norm (sigma)")
      ->required();
  eps->callback([a = eps_args] {
    const auto kind = rules::parse_accountant(a->accountant);
    const double e = rules::epsilon(kind, a->q, a->sigma, a->steps, a->delta);
    nlohmann::json out = inputs(*a);
    out["epsilon"] = e;
    out["noise_multiplier"] = a->sigma;
    if (a->json) {
      std::cout << out.dump() << "\n";
      return;
    }
    std::cout << "epsilon " << e << " at delta " << a->delta << " (" << a->accountant
              << " accountant; sampling rate " << a->q << ", noise multiplier " << a->sigma << ", "
              << a->steps << " steps)\n";
  });

  auto sigma_args = std::make_shared<PrivacyArgs>();
  auto* sigma = privacy->add_subcommand("sigma", "Noise multiplier needed for a target epsilon");
  sigma->footer(
      "Example:\n  strand privacy sigma --target-epsilon 8 --sampling-rate 0.01 --steps 5000 "
      "--delta 1e-5");
  add_common(sigma, *sigma_args);
  sigma->add_option("--target-epsilon", sigma_args->target, "Epsilon to stay within")->required();
  sigma->callback([a = sigma_args] {
    const auto kind = rules::parse_accountant(a->accountant);
    const double s = rules::noise_multiplier_for(kind, a->target, a->q, a->steps, a->delta);
    const double e = rules::epsilon(kind, a->q, s, a->steps, a->delta);
    nlohmann::json out = inputs(*a);
    out["noise_multiplier"] = s;
    out["target_epsilon"] = a->target;
    out["epsilon"] = e;
    if (a->json) {
      std::cout << out.dump() << "\n";
      return;
    }
    std::cout << "noise multiplier " << s << " gives epsilon " << e << " <= " << a->target
              << " at delta " << a->delta << " (" << a->accountant << " accountant; sampling rate "
              << a->q << ", " << a->steps << " steps)\n";
  });
}

}  // namespace strand::apps
