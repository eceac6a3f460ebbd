// Rule 10, privacy accounting: turns DP-SGD's (sampling rate q, noise multiplier sigma, steps,
// delta) into the epsilon spent, and finds the sigma that meets a target epsilon, for the
// Poisson-subsampled Gaussian mechanism. Two accountants: RDP (Renyi DP of Mironov, Talwar and
// Zhang 2019, with the improved RDP -> (epsilon, delta) conversion of Balle et al. 2020) and PLD
// (privacy loss distributions, pessimistically discretised and composed exactly: tight).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strand::rules {

enum class AccountantKind { kRdp, kPld };

// "rdp" / "pld"; parse_accountant rejects anything else with an error naming the choices.
std::string_view accountant_name(AccountantKind kind);
AccountantKind parse_accountant(std::string_view name);

// Epsilon spent by `steps` steps of the Poisson-subsampled Gaussian mechanism (each example in a
// step with probability q; noise std sigma times the clipping norm) at the given delta.
// Errors: q not in (0, 1], sigma <= 0 (or not finite), steps < 1, delta not in (0, 1).
double epsilon(AccountantKind kind, double q, double sigma, int64_t steps, double delta);

// The smallest noise multiplier whose epsilon is <= target_epsilon (to within 0.1% of sigma,
// always on the safe side: epsilon(kind, q, result, steps, delta) <= target_epsilon).
// Errors: the arguments above, target_epsilon <= 0, and a target no sigma up to kMaxNoiseMultiplier
// reaches (the message says the epsilon that sigma gives).
inline constexpr double kMaxNoiseMultiplier = 1000.0;
double noise_multiplier_for(AccountantKind kind, double target_epsilon, double q, int64_t steps,
                            double delta);

// --- RDP pieces, exposed for tests and for callers composing other mechanisms ---

// The standard order grid of dp_accounting (a superset of Opacus's): 1.1, 1.2, ..., 10.9, then the
// integers 11..63, then 128, 256, 512, 1024.
std::vector<double> default_rdp_orders();

// RDP of one step of the Poisson-subsampled Gaussian at order alpha > 1: the exact binomial
// expansion for integer alpha, the two-series expansion of Mironov et al. for fractional alpha.
// q = 1 gives the plain Gaussian alpha / (2 sigma^2).
double rdp_subsampled_gaussian(double q, double sigma, double alpha);

// Smallest epsilon over the orders given the RDP curve (total over all steps) at those orders,
// with the conversion eps = rdp + log1p(-1/a) - (log(delta) + log(a)) / (a - 1).
// best_order, when given, receives the order that achieved it.
double rdp_to_epsilon(std::span<const double> orders, std::span<const double> rdp, double delta,
                      double* best_order = nullptr);

// --- PLD pieces ---

struct PldOptions {
  // Width of the privacy-loss grid. Pessimistic rounding makes the result an upper bound; the
  // excess shrinks with the interval (1e-4 keeps it well under 1% for the usual grids).
  double value_discretization_interval = 1e-4;
  // Probability mass dropped from each tail before discretising; added to delta (pessimistic).
  double tail_mass_truncation = 1e-15;
};

// Epsilon from the composed privacy loss distribution of the Poisson-subsampled Gaussian (both
// neighbouring relations, add and remove, taking the worse), composed `steps` times by FFT.
double pld_epsilon(double q, double sigma, int64_t steps, double delta,
                   const PldOptions& options = {});

}  // namespace strand::rules
