// RDP and PLD accountants for the Poisson-subsampled Gaussian, and the noise-multiplier search.
// RDP follows Mironov, Talwar and Zhang (2019) in log space; PLD discretises the privacy loss of
// both neighbouring orders (remove: mixture vs N(0); add: N(0) vs mixture) on a grid with the
// "connect the dots" rule (Doroshenko et al. 2022), which keeps the result an upper bound, and
// composes by repeated FFT squaring with pessimistic tail truncation after each product.
#include "rules/privacy_accountant.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>

#include "core/error.h"

namespace strand::rules {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_common(double q, int64_t steps, double delta) {
  STRAND_CHECK(std::isfinite(q) && q > 0 && q <= 1, "sampling rate q must be in (0, 1], got {}", q);
  STRAND_CHECK(steps >= 1, "steps must be at least 1, got {}", steps);
  STRAND_CHECK(std::isfinite(delta) && delta > 0 && delta < 1, "delta must be in (0, 1), got {}",
               delta);
}

void check_sigma(double sigma) {
  STRAND_CHECK(std::isfinite(sigma) && sigma > 0,
               "noise multiplier sigma must be positive and finite, got {}", sigma);
}

double log_add(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

// log(a - b) for a >= b in log space (rounding can make b a hair larger: then -inf).
double log_sub(double a, double b) {
  if (b == -kInf) return a;
  if (b >= a) return -kInf;
  return a + std::log(-std::expm1(b - a));
}

// log(erfc(x)), accurate far into the right tail where erfc underflows.
double log_erfc(double x) {
  if (x < 25) return std::log(std::erfc(x));
  const double x2 = x * x;
  // Asymptotic series of erfc(x) * x * sqrt(pi) * exp(x^2): 1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6).
  const double series = 1 - 0.5 / x2 + 0.75 / (x2 * x2) - 1.875 / (x2 * x2 * x2);
  return -x2 - std::log(x) - 0.5 * std::log(std::numbers::pi) + std::log(series);
}

double log_a_integer(double q, double sigma, int64_t alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double two_s2 = 2 * sigma * sigma;
  double log_a = -kInf;
  for (int64_t i = 0; i <= alpha; ++i) {
    const double log_binom = std::lgamma(alpha + 1.0) - std::lgamma(i + 1.0) -
                             std::lgamma(static_cast<double>(alpha - i) + 1.0);
    const double di = static_cast<double>(i);
    log_a =
        log_add(log_a, log_binom + di * log_q + (alpha - di) * log_1mq + (di * di - di) / two_s2);
  }
  return log_a;
}

// Fractional alpha: the integral split at z0 where the mixture's two parts are equal, each side
// expanded with the generalised binomial series (whose coefficients change sign past alpha + 1).
double log_a_fractional(double q, double sigma, double alpha) {
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double s2 = sigma * sigma;
  const double z0 = s2 * std::log(1 / q - 1) + 0.5;
  double pos0 = -kInf, pos1 = -kInf, neg0 = -kInf, neg1 = -kInf;
  double log_abs_binom = 0;  // log|binom(alpha, 0)|
  bool positive = true;
  for (int i = 0; i < 100000; ++i) {
    if (i > 0) {
      const double factor = (alpha - i + 1) / i;
      log_abs_binom += std::log(std::abs(factor));
      if (factor < 0) positive = !positive;
    }
    const double j = alpha - i;
    const double log_t0 = log_abs_binom + i * log_q + j * log_1mq;
    const double log_t1 = log_abs_binom + j * log_q + i * log_1mq;
    const double log_e0 = std::log(0.5) + log_erfc((i - z0) / (std::sqrt(2.0) * sigma));
    const double log_e1 = std::log(0.5) + log_erfc((z0 - j) / (std::sqrt(2.0) * sigma));
    const double log_s0 = log_t0 + (1.0 * i * i - i) / (2 * s2) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * s2) + log_e1;
    if (positive) {
      pos0 = log_add(pos0, log_s0);
      pos1 = log_add(pos1, log_s1);
    } else {
      neg0 = log_add(neg0, log_s0);
      neg1 = log_add(neg1, log_s1);
    }
    if (i > alpha + 1 && std::max(log_s0, log_s1) < -30) break;
  }
  return log_add(log_sub(pos0, neg0), log_sub(pos1, neg1));
}

// ---- PLD ----

// Mass of N(mean, sigma^2) in [a, b], from whichever tail keeps it accurate.
double normal_mass(double a, double b, double mean, double sigma) {
  if (!(b > a)) return 0;
  const double s = sigma * std::sqrt(2.0);
  const double za = (a - mean) / s, zb = (b - mean) / s;
  if (za >= 0) return 0.5 * (std::erfc(za) - std::erfc(zb));
  if (zb <= 0) return 0.5 * (std::erfc(-zb) - std::erfc(-za));
  return 1 - 0.5 * std::erfc(-za) - 0.5 * std::erfc(zb);
}

// A discrete privacy loss distribution: mass pmf[k] at loss (offset + k) * interval, plus mass at
// +infinity (the part whose loss is unbounded or was truncated pessimistically).
struct Pld {
  double interval = 0;
  int64_t offset = 0;
  std::vector<double> pmf;
  double infinity_mass = 0;
};

// One step of the subsampled Gaussian, noise std sigma, sensitivity 1. remove: P is the mixture
// (1-q) N(0) + q N(1) and Q is N(0); add: the reverse. The privacy loss log(P/Q)(x) is monotone in
// x, so masses of loss intervals are normal masses of x intervals.
class SubsampledGaussianLoss {
 public:
  SubsampledGaussianLoss(double q, double sigma, bool remove)
      : q_(q), sigma_(sigma), remove_(remove) {}

  // The x where the mixture-to-N(0) log ratio equals r (r > log(1-q)); -inf at or below.
  double x_of_ratio(double r) const {
    const double inner = q_ == 1 ? r : std::log((std::exp(r) - 1 + q_) / q_);
    if (std::isnan(inner) || inner == -kInf) return -kInf;
    return sigma_ * sigma_ * inner + 0.5;
  }
  double ratio_of_x(double x) const {
    const double t = (2 * x - 1) / (2 * sigma_ * sigma_);
    if (q_ == 1) return t;
    return log_add(std::log1p(-q_), std::log(q_) + t);
  }

  // Loss range holding all but `tail` of P's mass on each side.
  std::pair<double, double> loss_range(double tail) const {
    const double z = inverse_normal_tail(tail) * sigma_;
    if (remove_) {
      // P is the mixture: its mass lies in [0 - z, 1 + z]; the loss increases with x.
      return {ratio_of_x(-z), ratio_of_x(1 + z)};
    }
    // P is N(0): the loss -ratio(x) decreases with x.
    return {-ratio_of_x(z), -ratio_of_x(-z)};
  }

  // (P mass, Q mass) of the loss interval [a, b].
  std::pair<double, double> masses(double a, double b) const {
    if (remove_) {
      const double xa = x_of_ratio(a), xb = x_of_ratio(b);
      const double n0 = normal_mass(xa, xb, 0, sigma_), n1 = normal_mass(xa, xb, 1, sigma_);
      return {(1 - q_) * n0 + q_ * n1, n0};
    }
    const double xa = x_of_ratio(-b), xb = x_of_ratio(-a);
    const double n0 = normal_mass(xa, xb, 0, sigma_), n1 = normal_mass(xa, xb, 1, sigma_);
    return {n0, (1 - q_) * n0 + q_ * n1};
  }

  // P mass with loss above a (remove: x above x(a); add: x below x(-a)).
  double mass_above(double a) const {
    if (remove_) {
      const double xa = x_of_ratio(a);
      return (1 - q_) * normal_mass(xa, kInf, 0, sigma_) + q_ * normal_mass(xa, kInf, 1, sigma_);
    }
    return normal_mass(-kInf, x_of_ratio(-a), 0, sigma_);
  }

 private:
  static double inverse_normal_tail(double tail) {
    double lo = 0, hi = 40;  // 0.5 erfc(z / sqrt 2) = tail
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
    }
    return hi;
  }

  double q_, sigma_;
  bool remove_;
};

// Connect-the-dots discretisation on the grid k * interval: the mass of each loss interval
// [e_k, e_k+1] is split between its ends so that both the P mass and the Q mass (E_P[e^-L]) are
// kept; the hockey-stick curve then matches the true one at every grid point and lies above it
// in between (it is linear in e^epsilon there, the true curve convex).
Pld discretise(const SubsampledGaussianLoss& loss, double interval, double tail) {
  auto [lo, hi] = loss.loss_range(tail);
  Pld out;
  out.interval = interval;
  out.offset = static_cast<int64_t>(std::floor(lo / interval));
  const int64_t top =
      std::max<int64_t>(static_cast<int64_t>(std::ceil(hi / interval)), out.offset + 1);
  out.pmf.assign(static_cast<size_t>(top - out.offset + 1), 0.0);
  const double keep_fraction = -std::expm1(-interval);  // 1 - e^-interval
  for (int64_t k = out.offset; k < top; ++k) {
    const double a = k * interval, b = (k + 1) * interval;
    auto [p, qm] = loss.masses(a, b);
    if (k == out.offset) {
      // Everything below the grid lands on its first point (a larger loss: pessimistic).
      auto [p_below, q_below] = loss.masses(-kInf, a);
      out.pmf[0] += p_below;
      (void)q_below;
    }
    if (p <= 0) continue;
    const double upper = std::clamp((p - std::exp(a) * qm) / keep_fraction, 0.0, p);
    out.pmf[static_cast<size_t>(k - out.offset)] += p - upper;
    out.pmf[static_cast<size_t>(k + 1 - out.offset)] += upper;
  }
  out.infinity_mass = loss.mass_above(top * interval);
  return out;
}

using Complex = std::complex<double>;

// Written out: std::complex's operator* checks for NaN and infinity on every product (C99 Annex G)
// and costs several times more.
inline Complex mul(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

// In-place radix-2 FFT; twiddles for each level are stored contiguously, computed straight from
// cos/sin (no error growth from repeated multiplication).
void fft(std::vector<Complex>& a, bool inverse) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  std::vector<Complex> root(n / 2);
  const double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < n / 2; ++k) {
    const double angle = sign * 2 * std::numbers::pi * static_cast<double>(k) / n;
    root[k] = {std::cos(angle), std::sin(angle)};
  }
  std::vector<Complex> w(n / 2);
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2, stride = n / len;
    for (size_t k = 0; k < half; ++k) w[k] = root[k * stride];
    for (size_t i = 0; i < n; i += len) {
      Complex* lo = &a[i];
      Complex* hi = &a[i + half];
      for (size_t k = 0; k < half; ++k) {
        const Complex u = lo[k], v = mul(hi[k], w[k]);
        lo[k] = u + v;
        hi[k] = u - v;
      }
    }
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(n);
    for (auto& x : a) x *= scale;
  }
}

std::vector<double> convolve(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size() + b.size() - 1;
  std::vector<double> out(n, 0.0);
  if (std::min(a.size(), b.size()) <= 64) {
    for (size_t i = 0; i < a.size(); ++i) {
      for (size_t j = 0; j < b.size(); ++j) out[i + j] += a[i] * b[j];
    }
    return out;
  }
  size_t size = 1;
  while (size < n) size <<= 1;
  // Both real inputs in one complex transform: x = a + i b, then A B from X(k) and X(n-k).
  std::vector<Complex> x(size);
  for (size_t i = 0; i < a.size(); ++i) x[i].real(a[i]);
  for (size_t i = 0; i < b.size(); ++i) x[i].imag(b[i]);
  fft(x, false);
  std::vector<Complex> y(size);
  for (size_t k = 0; k < size; ++k) {
    const Complex xk = x[k], xr = std::conj(x[(size - k) & (size - 1)]);
    const Complex fa = 0.5 * (xk + xr), d = 0.5 * (xk - xr);
    const Complex fb = {d.imag(), -d.real()};  // d / i
    y[k] = mul(fa, fb);
  }
  fft(y, true);
  for (size_t i = 0; i < n; ++i) out[i] = std::max(0.0, y[i].real());
  return out;
}

// Drops at most `tail` of mass from each end: the low end moves up to the first kept point, the
// high end goes to infinity; both only make the loss larger.
void truncate(Pld& d, double tail) {
  size_t first = 0;
  double low = 0;
  while (first + 1 < d.pmf.size() && low + d.pmf[first] <= tail) low += d.pmf[first++];
  size_t last = d.pmf.size() - 1;
  double high = 0;
  while (last > first && high + d.pmf[last] <= tail) high += d.pmf[last--];
  std::vector<double> kept(d.pmf.begin() + static_cast<std::ptrdiff_t>(first),
                           d.pmf.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  kept.front() += low;
  d.pmf = std::move(kept);
  d.offset += static_cast<int64_t>(first);
  d.infinity_mass += high;
}

Pld compose(const Pld& a, const Pld& b, double tail) {
  Pld out;
  out.interval = a.interval;
  out.offset = a.offset + b.offset;
  out.pmf = convolve(a.pmf, b.pmf);
  out.infinity_mass = 1 - (1 - a.infinity_mass) * (1 - b.infinity_mass);
  truncate(out, tail);
  return out;
}

Pld self_compose(Pld base, int64_t steps, double tail) {
  Pld result;
  bool have = false;
  while (steps > 0) {
    if (steps & 1) {
      result = have ? compose(result, base, tail) : base;
      have = true;
    }
    steps >>= 1;
    if (steps > 0) base = compose(base, base, tail);
  }
  return result;
}

// Smallest epsilon >= 0 with delta(epsilon) = inf_mass + sum_{l > eps} p_l (1 - e^(eps - l)) <=
// delta. Between grid points delta(eps) = A - e^eps B, solved exactly; B is kept as log B because
// e^-l underflows for the losses of long, weakly private runs.
double epsilon_for_delta(const Pld& d, double delta) {
  if (d.infinity_mass > delta) return kInf;
  double a = d.infinity_mass, log_b = -kInf;
  for (size_t k = d.pmf.size(); k-- > 0;) {
    const double loss = (d.offset + static_cast<int64_t>(k)) * d.interval;
    if (loss <= 0) break;
    if (d.pmf[k] > 0) {
      a += d.pmf[k];
      log_b = log_add(log_b, std::log(d.pmf[k]) - loss);
    }
    const double below = k > 0 ? (d.offset + static_cast<int64_t>(k) - 1) * d.interval : -kInf;
    const double at_below = below == -kInf ? a : a - std::exp(below + log_b);
    if (at_below > delta) return std::max(0.0, std::log(a - delta) - log_b);
  }
  return 0;
}

double mean_and_spread(const Pld& d, double* stddev) {
  double m = 0, m2 = 0, mass = 0;
  for (size_t k = 0; k < d.pmf.size(); ++k) {
    const double l = (d.offset + static_cast<int64_t>(k)) * d.interval;
    m += d.pmf[k] * l;
    m2 += d.pmf[k] * l * l;
    mass += d.pmf[k];
  }
  m /= mass;
  *stddev = std::sqrt(std::max(0.0, m2 / mass - m * m));
  return m;
}

double pld_epsilon_one_side(double q, double sigma, int64_t steps, double delta, bool remove,
                            const PldOptions& options) {
  const SubsampledGaussianLoss loss(q, sigma, remove);
  const double tail = options.tail_mass_truncation;
  // Widen the grid when the composed distribution would need more than kMaxPoints points.
  constexpr double kMaxPoints = 1 << 20;
  auto [lo, hi] = loss.loss_range(tail);
  const Pld coarse = discretise(loss, std::max((hi - lo) / 2000, 1e-12), tail);
  double sd = 0;
  mean_and_spread(coarse, &sd);
  const double spread = std::min(static_cast<double>(steps) * (hi - lo),
                                 (hi - lo) + 24 * std::sqrt(static_cast<double>(steps)) * sd);
  const double interval = std::max(options.value_discretization_interval, spread / kMaxPoints);
  return epsilon_for_delta(self_compose(discretise(loss, interval, tail), steps, tail), delta);
}

}  // namespace

std::string_view accountant_name(AccountantKind kind) {
  return kind == AccountantKind::kRdp ? "rdp" : "pld";
}

AccountantKind parse_accountant(std::string_view name) {
  if (name == "rdp") return AccountantKind::kRdp;
  if (name == "pld") return AccountantKind::kPld;
  STRAND_FAIL("unknown accountant '{}': choose rdp or pld", name);
}

std::vector<double> default_rdp_orders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1 + x / 10.0);
  for (int a = 11; a < 64; ++a) orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0}) orders.push_back(a);
  return orders;
}

double rdp_subsampled_gaussian(double q, double sigma, double alpha) {
  STRAND_CHECK(std::isfinite(q) && q > 0 && q <= 1, "sampling rate q must be in (0, 1], got {}", q);
  check_sigma(sigma);
  STRAND_CHECK(alpha > 1, "RDP order must be above 1, got {}", alpha);
  if (q == 1) return alpha / (2 * sigma * sigma);
  const bool integer = alpha == std::floor(alpha) && alpha < 1e6;
  const double log_a = integer ? log_a_integer(q, sigma, static_cast<int64_t>(alpha))
                               : log_a_fractional(q, sigma, alpha);
  return std::max(0.0, log_a / (alpha - 1));
}

double rdp_to_epsilon(std::span<const double> orders, std::span<const double> rdp, double delta,
                      double* best_order) {
  STRAND_CHECK(orders.size() == rdp.size() && !orders.empty(),
               "rdp_to_epsilon needs one RDP value per order, got {} orders and {} values",
               orders.size(), rdp.size());
  STRAND_CHECK(std::isfinite(delta) && delta > 0 && delta < 1, "delta must be in (0, 1), got {}",
               delta);
  double best = kInf, order = orders[0];
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i], r = rdp[i];
    STRAND_CHECK(a >= 1 && r >= 0, "RDP order {} with value {}: need order >= 1, value >= 0", a, r);
    double eps = kInf;
    if (delta * delta + std::expm1(-r) > 0) {
      eps = 0;  // the KL bound delta <= sqrt(1 - e^-KL) already holds
    } else if (a > 1.01) {
      eps = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    }
    if (eps < best) {
      best = eps;
      order = a;
    }
  }
  if (best_order) *best_order = order;
  return std::max(0.0, best);
}

double pld_epsilon(double q, double sigma, int64_t steps, double delta, const PldOptions& options) {
  check_common(q, steps, delta);
  check_sigma(sigma);
  STRAND_CHECK(options.value_discretization_interval > 0 && options.tail_mass_truncation > 0 &&
                   options.tail_mass_truncation < delta,
               "PLD options need a positive interval and a tail mass in (0, delta), got {} and {}",
               options.value_discretization_interval, options.tail_mass_truncation);
  return std::max(pld_epsilon_one_side(q, sigma, steps, delta, true, options),
                  pld_epsilon_one_side(q, sigma, steps, delta, false, options));
}

double epsilon(AccountantKind kind, double q, double sigma, int64_t steps, double delta) {
  check_common(q, steps, delta);
  check_sigma(sigma);
  if (kind == AccountantKind::kPld) return pld_epsilon(q, sigma, steps, delta);
  const auto orders = default_rdp_orders();
  std::vector<double> rdp(orders.size());
  for (size_t i = 0; i < orders.size(); ++i) {
    rdp[i] = static_cast<double>(steps) * rdp_subsampled_gaussian(q, sigma, orders[i]);
  }
  return rdp_to_epsilon(orders, rdp, delta);
}

namespace {

// Smallest sigma (to a factor 1.001, on the safe side) with eps_at(sigma) <= target, given a
// starting guess; eps_at decreases in sigma and eps_at(kMaxNoiseMultiplier) <= target.
template <typename EpsAt>
double bisect_sigma(const EpsAt& eps_at, double target, double guess, double step) {
  double hi = std::min(guess, kMaxNoiseMultiplier);
  while (hi < kMaxNoiseMultiplier && eps_at(hi) > target)
    hi = std::min(hi * step, kMaxNoiseMultiplier);
  double lo = hi / step;
  while (lo > 1e-3 && eps_at(lo) <= target) {
    hi = lo;
    lo /= step;
  }
  if (lo <= 1e-3) return hi;
  while (hi / lo > 1.001) {
    const double mid = std::sqrt(lo * hi);
    (eps_at(mid) > target ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace

double noise_multiplier_for(AccountantKind kind, double target_epsilon, double q, int64_t steps,
                            double delta) {
  check_common(q, steps, delta);
  STRAND_CHECK(std::isfinite(target_epsilon) && target_epsilon > 0,
               "target epsilon must be positive and finite, got {}", target_epsilon);
  const double at_max = epsilon(kind, q, kMaxNoiseMultiplier, steps, delta);
  STRAND_CHECK(at_max <= target_epsilon,
               "target epsilon {} is unreachable: even noise multiplier {} gives epsilon {} "
               "(sampling rate {}, {} steps, delta {}); sample less, take fewer steps or raise "
               "the target",
               target_epsilon, kMaxNoiseMultiplier, at_max, q, steps, delta);
  const double rdp =
      bisect_sigma([&](double s) { return epsilon(AccountantKind::kRdp, q, s, steps, delta); },
                   target_epsilon, 1.0, 2.0);
  if (kind == AccountantKind::kRdp) return rdp;
  // PLD evaluations are costly: narrow the bracket on a coarse grid (still an upper bound, a
  // little looser, so its sigma is a little larger), then finish on the default grid.
  PldOptions coarse;
  coarse.value_discretization_interval = 1e-3;
  const double rough = bisect_sigma(
      [&](double s) { return pld_epsilon(q, s, steps, delta, coarse); }, target_epsilon, rdp, 1.25);
  return bisect_sigma([&](double s) { return pld_epsilon(q, s, steps, delta); }, target_epsilon,
                      rough, 1.01);
}

}  // namespace strand::rules
