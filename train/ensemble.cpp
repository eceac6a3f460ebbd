// Ensembles of trained models; see ensemble.h.
#include "train/ensemble.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "runtime/autograd.h"
#include "train/evaluate.h"

namespace strand::train {

Ensemble load_ensemble(const std::vector<std::string>& paths) {
  STRAND_CHECK(!paths.empty(), "--ensemble needs at least one model file");
  Ensemble e;
  for (const std::string& path : paths) {
    LoadedModel m = load_model(path);
    if (e.members.empty()) {
      e.info = m.info;
    } else {
      const ModelInfo& a = e.info;
      const ModelInfo& b = m.info;
      const std::string& first = e.paths.front();
      STRAND_CHECK(b.kind == a.kind, "--ensemble: '{}' is a {} model but '{}' is {}", path, b.kind,
                   first, a.kind);
      STRAND_CHECK(b.tasks == a.tasks, "--ensemble: '{}' outputs {} but '{}' outputs {}", path,
                   nlohmann::json(b.tasks).dump(), first, nlohmann::json(a.tasks).dump());
      STRAND_CHECK(b.length == a.length,
                   "--ensemble: '{}' takes sequences of length {} but '{}' takes {}", path,
                   b.length, first, a.length);
    }
    e.paths.push_back(path);
    e.members.push_back(std::move(m));
  }
  return e;
}

EnsembleScores combine_scores(const std::vector<std::vector<double>>& per_member) {
  STRAND_CHECK(!per_member.empty(), "combine_scores: no members");
  const size_t n = per_member.front().size();
  for (const auto& s : per_member)
    STRAND_CHECK(s.size() == n, "combine_scores: {} scores beside {}", s.size(), n);
  EnsembleScores out{std::vector<double>(n, 0), std::vector<double>(n, 0)};
  const double m = static_cast<double>(per_member.size());
  for (const auto& s : per_member)
    for (size_t i = 0; i < n; ++i) out.mean[i] += s[i] / m;
  if (per_member.size() > 1) {
    for (const auto& s : per_member)
      for (size_t i = 0; i < n; ++i) out.sd[i] += (s[i] - out.mean[i]) * (s[i] - out.mean[i]);
    for (double& v : out.sd) v = std::sqrt(v / (m - 1));
  }
  return out;
}

EnsembleScores score_sequences(const Ensemble& models, const data::SequenceSource& input,
                               runtime::Device device, int64_t batch_size, bool rc_average,
                               bool calibrated) {
  STRAND_CHECK(batch_size > 0, "--batch-size must be positive, got {}", batch_size);
  // Every member's, looked up before any work: a member without one is an error naming it.
  std::vector<const rules::Calibrator*> calibrators;
  for (size_t m = 0; calibrated && m < models.members.size(); ++m)
    calibrators.push_back(&stored_calibrator(models.members[m], models.paths[m]));
  const int64_t L = models.info.length;
  const int64_t rows = static_cast<int64_t>(input.names.size());
  std::vector<std::vector<double>> per_member;
  runtime::NoGradGuard no_grad;
  for (size_t m = 0; m < models.members.size(); ++m) {
    const auto& member = models.members[m];
    member.model->to(device);
    const auto model = for_prediction(member.model, rc_average);
    std::vector<double> scores;
    for (int64_t begin = 0; begin < rows; begin += batch_size) {
      const int64_t end = std::min(rows, begin + batch_size);
      std::vector<uint8_t> codes((end - begin) * L);
      for (int64_t i = begin; i < end; ++i) input.read(i, codes.data() + (i - begin) * L);
      const Tensor x = runtime::from_vector(codes, {end - begin, L}).to(device);
      const auto s = scores_of(models.info.kind, (*model)(x));
      scores.insert(scores.end(), s.begin(), s.end());
    }
    if (calibrated) scores = calibrators[m]->apply(scores);
    per_member.push_back(std::move(scores));
  }
  return combine_scores(per_member);
}

}  // namespace strand::train
