// Platt and temperature scaling, ECE and reliability curves; see calibration.h.
#include "rules/calibration.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "rules/metrics.h"

namespace strand::rules {
namespace {

constexpr double kEps = 1e-12;
// The methods' names in to_json, read back by from_json.
constexpr const char* kTemperature = "temperature scaling";
constexpr const char* kPlatt = "Platt scaling (per task)";

double logit(double p) {
  p = std::clamp(p, kEps, 1 - kEps);
  return std::log(p / (1 - p));
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Platt's fit of sigmoid(a x + b) to 0/1 labels by Newton's method on the log loss, with his
// smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) so a separable set keeps a finite slope.
std::pair<double, double> fit_platt(const std::vector<double>& x, const std::vector<int>& y) {
  double pos = 0;
  for (int v : y) pos += v;
  const double neg = static_cast<double>(y.size()) - pos;
  const double hi = (pos + 1) / (pos + 2), lo = 1 / (neg + 2);
  double a = 1, b = 0;
  auto loss = [&](double aa, double bb) {
    double l = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double t = y[i] ? hi : lo, z = aa * x[i] + bb;
      // log(1 + e^z) - t z, computed stably.
      l += (z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z))) - t * z;
    }
    return l;
  };
  double current = loss(a, b);
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (size_t i = 0; i < x.size(); ++i) {
      const double t = y[i] ? hi : lo, p = sigmoid(a * x[i] + b), d = p - t, w = p * (1 - p);
      ga += d * x[i], gb += d;
      haa += w * x[i] * x[i], hab += w * x[i], hbb += w;
    }
    const double det = haa * hbb - hab * hab;
    if (std::abs(det) < 1e-300) break;
    const double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    double step = 1, next = loss(a - da, b - db);
    while (next > current && step > 1e-8) {  // backtracking keeps every step a descent
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (next > current) break;
    a -= step * da, b -= step * db;
    const bool converged = current - next < 1e-12 * (1 + std::abs(current));
    current = next;
    if (converged) break;
  }
  return {a, b};
}

std::vector<double> softmax_scaled(const std::vector<double>& probs, size_t C, double T) {
  std::vector<double> out(probs.size());
  for (size_t i = 0; i * C < probs.size(); ++i) {
    double mx = -INFINITY;
    for (size_t c = 0; c < C; ++c)
      mx = std::max(mx, std::log(std::max(probs[i * C + c], kEps)) / T);
    double sum = 0;
    for (size_t c = 0; c < C; ++c) {
      out[i * C + c] = std::exp(std::log(std::max(probs[i * C + c], kEps)) / T - mx);
      sum += out[i * C + c];
    }
    for (size_t c = 0; c < C; ++c) out[i * C + c] /= sum;
  }
  return out;
}

double nll(const std::vector<double>& probs, const std::vector<int>& y, size_t C) {
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i) l -= std::log(std::max(probs[i * C + y[i]], kEps));
  return l;
}

// The temperature minimising the validation log loss: golden-section search on log T in
// [log 0.05, log 20] (the loss is convex in 1/T, so unimodal in log T).
double fit_temperature(const std::vector<double>& probs, const std::vector<int>& y, size_t C) {
  double lo = std::log(0.05), hi = std::log(20.0);
  const double g = (std::sqrt(5.0) - 1) / 2;
  auto f = [&](double u) { return nll(softmax_scaled(probs, C, std::exp(u)), y, C); };
  double c = hi - g * (hi - lo), d = lo + g * (hi - lo), fc = f(c), fd = f(d);
  for (int iter = 0; iter < 60; ++iter) {
    if (fc < fd) {
      hi = d, d = c, fd = fc;
      c = hi - g * (hi - lo), fc = f(c);
    } else {
      lo = c, c = d, fc = fd;
      d = lo + g * (hi - lo), fd = f(d);
    }
  }
  return std::exp((lo + hi) / 2);
}

std::vector<int> class_labels(const std::vector<double>& labels, size_t C) {
  std::vector<int> y;
  for (double v : labels) {
    STRAND_CHECK(!std::isnan(v) && v >= 0 && v < static_cast<double>(C) && v == std::floor(v),
                 "calibration: class label {} is not one of the {} classes", v, C);
    y.push_back(static_cast<int>(v));
  }
  return y;
}

nlohmann::json curve_json(const std::vector<ReliabilityBin>& curve) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : curve)
    out.push_back({{"lo", b.lo},
                   {"hi", b.hi},
                   {"count", b.count},
                   {"mean_score", b.mean_score},
                   {"fraction_positive", b.fraction_positive}});
  return out;
}

nlohmann::json ece_json(const std::vector<int>& y, const std::vector<double>& s, int bins) {
  std::vector<ReliabilityBin> curve;
  const auto ece = expected_calibration_error(y, s, bins, {}, &curve);
  return {{"ece", ece.defined ? nlohmann::json(ece.value) : nlohmann::json()},
          {"n", y.size()},
          {"reliability", curve_json(curve)}};
}

}  // namespace

std::vector<double> Calibrator::apply(const std::vector<double>& scores) const {
  if (kind == TaskKind::kMultiClass) {
    STRAND_CHECK(classes > 0 && scores.size() % classes == 0,
                 "calibrator: {} scores for {} classes", scores.size(), classes);
    return softmax_scaled(scores, static_cast<size_t>(classes), temperature);
  }
  const size_t T = a.size();
  STRAND_CHECK(T > 0 && scores.size() % T == 0, "calibrator: {} scores for {} tasks", scores.size(),
               T);
  std::vector<double> out(scores.size());
  for (size_t i = 0; i < scores.size(); ++i)
    out[i] = sigmoid(a[i % T] * logit(scores[i]) + b[i % T]);
  return out;
}

nlohmann::json Calibrator::to_json() const {
  if (kind == TaskKind::kMultiClass)
    return {{"method", kTemperature}, {"temperature", temperature}};
  return {{"method", kPlatt}, {"a", a}, {"b", b}};
}

Calibrator Calibrator::from_json(const nlohmann::json& j, TaskKind kind, int64_t columns) {
  STRAND_CHECK(kind != TaskKind::kRegression, "calibration applies to classifiers, not regression");
  STRAND_CHECK(j.is_object() && j.contains("method") && j["method"].is_string(),
               "calibration: expected an object with a \"method\", got {}", j.dump());
  const auto method = j["method"].get<std::string>();
  auto finite = [&](const nlohmann::json& v, const char* name) {
    STRAND_CHECK(v.is_number() && std::isfinite(v.get<double>()),
                 "calibration: '{}' must be a finite number, got {}", name, v.dump());
    return v.get<double>();
  };
  Calibrator cal;
  cal.kind = kind;
  if (kind == TaskKind::kMultiClass) {
    STRAND_CHECK(method == kTemperature, "calibration: a multi-class model needs {}, got '{}'",
                 kTemperature, method);
    STRAND_CHECK(j.contains("temperature"), "calibration: no 'temperature'");
    cal.temperature = finite(j["temperature"], "temperature");
    STRAND_CHECK(cal.temperature > 0, "calibration: temperature {} must be positive",
                 cal.temperature);
    cal.classes = columns;
    return cal;
  }
  STRAND_CHECK(method == kPlatt, "calibration: a binary or multi-label model needs {}, got '{}'",
               kPlatt, method);
  for (const char* key : {"a", "b"}) {
    STRAND_CHECK(
        j.contains(key) && j[key].is_array() && static_cast<int64_t>(j[key].size()) == columns,
        "calibration: '{}' must list one number per task ({})", key, columns);
    for (const auto& v : j[key]) (key[0] == 'a' ? cal.a : cal.b).push_back(finite(v, key));
  }
  return cal;
}

Calibrator fit_calibrator(TaskKind kind, int64_t columns, const std::vector<double>& labels,
                          const std::vector<double>& scores) {
  STRAND_CHECK(kind != TaskKind::kRegression, "calibration applies to classifiers, not regression");
  STRAND_CHECK(columns > 0 && scores.size() % columns == 0, "calibration: {} scores for {} columns",
               scores.size(), columns);
  const size_t C = static_cast<size_t>(columns), n = scores.size() / C;
  Calibrator cal;
  cal.kind = kind;
  if (kind == TaskKind::kMultiClass) {
    STRAND_CHECK(labels.size() == n, "calibration: {} labels for {} rows", labels.size(), n);
    cal.classes = columns;
    cal.temperature = n == 0 ? 1.0 : fit_temperature(scores, class_labels(labels, C), C);
    return cal;
  }
  STRAND_CHECK(labels.size() == n * C, "calibration: {} labels for {} rows x {} tasks",
               labels.size(), n, C);
  for (size_t t = 0; t < C; ++t) {
    std::vector<double> x;
    std::vector<int> y;
    for (size_t i = 0; i < n; ++i) {
      const double v = labels[i * C + t];
      if (std::isnan(v)) continue;
      x.push_back(logit(scores[i * C + t]));
      y.push_back(v > 0.5);
    }
    const auto [a, b] = x.empty() ? std::pair{1.0, 0.0} : fit_platt(x, y);
    cal.a.push_back(a);
    cal.b.push_back(b);
  }
  return cal;
}

double log_loss(TaskKind kind, size_t C, const std::vector<double>& labels,
                const std::vector<double>& scores) {
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) continue;
    STRAND_CHECK(kind != TaskKind::kMultiClass || (labels[i] >= 0 && labels[i] < double(C) &&
                                                   labels[i] == std::floor(labels[i])),
                 "log loss: class label {} is not one of the {} classes", labels[i], C);
    const double p = kind == TaskKind::kMultiClass ? scores[i * C + static_cast<size_t>(labels[i])]
                                                   : (labels[i] > 0.5 ? scores[i] : 1 - scores[i]);
    sum -= std::log(std::max(p, kEps));
    ++count;
  }
  return count ? sum / static_cast<double>(count) : 0;
}

nlohmann::json calibration_report(TaskKind kind, const std::vector<std::string>& columns,
                                  const std::vector<double>& labels,
                                  const std::vector<double>& scores, int bins) {
  const size_t C = columns.size(), n = C ? scores.size() / C : 0;
  STRAND_CHECK(C > 0 && scores.size() == n * C, "calibration: {} scores for {} columns",
               scores.size(), C);
  if (kind == TaskKind::kMultiClass) {
    const auto y = class_labels(labels, C);
    std::vector<int> correct(n);
    std::vector<double> confidence(n);
    for (size_t i = 0; i < n; ++i) {
      const auto row = scores.begin() + i * C;
      const auto top = std::max_element(row, row + C);
      confidence[i] = *top;
      correct[i] = static_cast<int>(top - row) == y[i];
    }
    auto out = ece_json(correct, confidence, bins);
    out["of"] = "top-label confidence against accuracy";
    return out;
  }
  nlohmann::json out = {{"tasks", nlohmann::json::object()}};
  double sum = 0;
  int defined = 0;
  for (size_t t = 0; t < C; ++t) {
    std::vector<int> y;
    std::vector<double> s;
    for (size_t i = 0; i < n; ++i)
      if (!std::isnan(labels[i * C + t])) {
        y.push_back(labels[i * C + t] > 0.5);
        s.push_back(scores[i * C + t]);
      }
    auto task = ece_json(y, s, bins);
    if (task["ece"].is_number()) sum += task["ece"].get<double>(), ++defined;
    out["tasks"][columns[t]] = task;
  }
  out["ece"] = defined ? nlohmann::json(sum / defined) : nlohmann::json();
  return out;
}

nlohmann::json calibrate_on_valid(TaskKind kind, const std::vector<std::string>& columns,
                                  const std::vector<double>& valid_labels,
                                  const std::vector<double>& valid_scores,
                                  const std::vector<double>& test_labels,
                                  const std::vector<double>& test_scores, int bins,
                                  std::vector<double>* test_calibrated) {
  const auto cal =
      fit_calibrator(kind, static_cast<int64_t>(columns.size()), valid_labels, valid_scores);
  const auto valid_after = cal.apply(valid_scores);
  const auto test_after = cal.apply(test_scores);
  nlohmann::json out = cal.to_json();
  out["fitted_on"] = "valid";
  out["bins"] = bins;
  out["valid"] = {{"before", calibration_report(kind, columns, valid_labels, valid_scores, bins)},
                  {"after", calibration_report(kind, columns, valid_labels, valid_after, bins)}};
  out["test"] = {{"before", calibration_report(kind, columns, test_labels, test_scores, bins)},
                 {"after", calibration_report(kind, columns, test_labels, test_after, bins)}};
  // Whether it helps, judged on valid alone: each of kCrossFolds interleaved parts of valid
  // (rows i, i + K, ...) calibrated by a fit on the other parts, so no row is scored by a
  // calibrator fitted on it. Five parts, not two, so each fit sees 80% of valid, near the final
  // fit's noise. Valid also chose the epoch, so its raw scores are at their best there and the
  // verdict leans towards keeping them.
  constexpr size_t kCrossFolds = 5;
  const size_t C = columns.size(), n = valid_scores.size() / C;
  const size_t per_row = n ? valid_labels.size() / n : 0;  // tasks, or 1 class index
  std::vector<double> cross_fitted(valid_scores.size());
  for (size_t part = 0; part < std::min(kCrossFolds, n); ++part) {
    std::vector<double> fit_labels, fit_scores, held_scores;
    for (size_t i = 0; i < n; ++i) {
      const auto row = valid_scores.begin() + i * C;
      if (i % kCrossFolds == part) {
        held_scores.insert(held_scores.end(), row, row + C);
        continue;
      }
      fit_labels.insert(fit_labels.end(), valid_labels.begin() + i * per_row,
                        valid_labels.begin() + (i + 1) * per_row);
      fit_scores.insert(fit_scores.end(), row, row + C);
    }
    const auto held =
        fit_calibrator(kind, static_cast<int64_t>(C), fit_labels, fit_scores).apply(held_scores);
    for (size_t i = part, j = 0; i < n; i += kCrossFolds, ++j)
      std::copy_n(held.begin() + j * C, C, cross_fitted.begin() + i * C);
  }
  // Judged by the log loss (what both fits minimise): binned ECE favours scores pulled towards
  // the base rate even when they were calibrated already.
  const double loss_before = log_loss(kind, C, valid_labels, valid_scores),
               loss_after = log_loss(kind, C, valid_labels, cross_fitted);
  out["valid_cross_fitted"] = {
      {"log_loss_before", loss_before},
      {"log_loss_after", loss_after},
      {"ece_before", out["valid"]["before"]["ece"]},
      {"ece_after", calibration_report(kind, columns, valid_labels, cross_fitted, bins)["ece"]}};
  out["recommended"] = n > 0 && loss_after < loss_before;
  if (test_calibrated) *test_calibrated = test_after;
  return out;
}

}  // namespace strand::rules
