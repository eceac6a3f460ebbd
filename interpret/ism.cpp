// Saturation mutagenesis over a sequence (see ism.h).
#include "interpret/ism.h"

#include "core/error.h"
#include "data/encoding.h"

namespace strand::interpret {

IsmResult saturation_mutagenesis(MutationScorer& scorer, const uint8_t* codes,
                                 const IsmOptions& options) {
  const int64_t L = scorer.length(), outputs = scorer.outputs();
  const int64_t start = options.start, end = options.end == 0 ? L : options.end;
  STRAND_CHECK(start >= 0 && start < end && end <= L,
               "ISM window [{}, {}) must lie inside the sequence [0, {}) and be non-empty", start,
               end, L);
  STRAND_CHECK(options.batch_size > 0, "ISM batch size must be positive, got {}",
               options.batch_size);
  std::vector<int64_t> tasks = options.tasks;
  if (tasks.empty())
    for (int64_t t = 0; t < outputs; ++t) tasks.push_back(t);
  for (int64_t t : tasks)
    STRAND_CHECK(t >= 0 && t < outputs, "ISM task index {} is outside the model's {} outputs", t,
                 outputs);
  const int64_t T = static_cast<int64_t>(tasks.size()), W = end - start;
  const int64_t strands = options.rc_average ? 2 : 1;

  // Row 0: the sequence; row 1: its reverse complement, where position p base b is position
  // L - 1 - p base 3 - b.
  std::vector<uint8_t> rows(codes, codes + L);
  if (options.rc_average) {
    rows.resize(2 * L);
    data::reverse_complement_codes(codes, L, rows.data() + L);
  }
  const std::vector<float> ref = scorer.set_references(rows.data(), strands);
  IsmResult r;
  r.tasks = T;
  r.width = W;
  r.reference.assign(T, 0.0f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t s = 0; s < strands; ++s) r.reference[t] += ref[s * outputs + tasks[t]] / strands;
  r.effects.assign(T * 4 * W, 0.0f);

  struct Site {
    int64_t position;
    uint8_t base;
  };
  std::vector<Site> sites;
  for (int64_t p = start; p < end; ++p)
    for (uint8_t b = 0; b < 4; ++b)
      if (b != codes[p]) sites.push_back({p, b});
  const int64_t total = static_cast<int64_t>(sites.size());
  const int64_t per_batch = std::max<int64_t>(1, options.batch_size / strands);
  for (int64_t first = 0; first < total; first += per_batch) {
    const int64_t last = std::min(total, first + per_batch);
    std::vector<Mutation> batch;
    for (int64_t i = first; i < last; ++i) {
      batch.push_back({0, sites[i].position, sites[i].base});
      if (strands == 2)
        batch.push_back({1, L - 1 - sites[i].position, static_cast<uint8_t>(3 - sites[i].base)});
    }
    const std::vector<float> out = scorer.score(batch);
    for (int64_t i = first; i < last; ++i) {
      const int64_t k = (i - first) * strands;
      for (int64_t t = 0; t < T; ++t) {
        float v = 0;
        for (int64_t s = 0; s < strands; ++s) v += out[(k + s) * outputs + tasks[t]] / strands;
        r.effects[(t * 4 + sites[i].base) * W + sites[i].position - start] = v - r.reference[t];
      }
    }
    if (options.progress) options.progress(last, total);
  }
  return r;
}

std::vector<float> mean_centered(const IsmResult& r) {
  std::vector<float> c = r.effects;
  for (int64_t t = 0; t < r.tasks; ++t)
    for (int64_t i = 0; i < r.width; ++i) {
      float mean = 0;
      for (int64_t b = 0; b < 4; ++b) mean += r.effects[(t * 4 + b) * r.width + i] / 4;
      for (int64_t b = 0; b < 4; ++b) c[(t * 4 + b) * r.width + i] -= mean;
    }
  return c;
}

}  // namespace strand::interpret
