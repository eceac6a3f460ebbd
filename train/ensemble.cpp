// Ensembles of trained models; see ensemble.h.
#include "train/ensemble.h"

#include <cmath>

#include "core/error.h"

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

}  // namespace strand::train
