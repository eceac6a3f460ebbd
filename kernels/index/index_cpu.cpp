// CPU twins of index.cu: casts, fills and index moves, with every index checked; and the log
// through which the CUDA twins report bad indices.
#include <string>
#include <vector>

#include "core/bfloat16.h"
#include "core/error.h"
#include "kernels/common/type_lists.h"
#include "kernels/elementwise/elementwise_ops.h"
#include "kernels/index/index.h"

namespace strand::kernels {

// Beyond this many checks in flight, add() first releases the completed good ones.
constexpr size_t kReleaseAbove = 256;

void IndexErrorLog::add(Check check) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (checks_.size() >= kReleaseAbove) release_completed_good();
  checks_.push_back(std::move(check));
}

namespace {

// Splits checks into those taken (released after reading) and those kept. Every done() is asked
// before anything changes, so a CUDA error raised there leaves the log as it was.
template <typename Take>
void take_checks(std::vector<IndexErrorLog::Check>& checks, Take&& take) {
  std::vector<bool> taken(checks.size());
  for (size_t i = 0; i < checks.size(); ++i) taken[i] = take(checks[i]);
  std::vector<IndexErrorLog::Check> kept;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (taken[i]) {
      checks[i].release();
    } else {
      kept.push_back(std::move(checks[i]));
    }
  }
  checks = std::move(kept);
}

}  // namespace

void IndexErrorLog::release_completed_good() {
  take_checks(checks_, [](const Check& c) { return c.done() && *c.position == kNoBadIndex; });
}

void IndexErrorLog::raise_completed(int device) {
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    take_checks(checks_, [&](const Check& c) {
      if (c.device != device || !c.done()) return false;
      if (*c.position != kNoBadIndex && error.empty()) {
        error = ::strand::format("{}: index at position {} is out of range [0, {})", c.op,
                                 *c.position, c.dim);
      }
      return true;
    });
  }
  STRAND_CHECK(error.empty(), "{}", error);
}

size_t IndexErrorLog::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return checks_.size();
}

}  // namespace strand::kernels

namespace strand::kernels::cpu {
namespace {

template <typename T>
double load_as_double(const void* p, int64_t i) {
  return static_cast<double>(static_cast<const T*>(p)[i]);
}

template <typename T>
void store_from_double(void* p, int64_t i, double v) {
  if constexpr (std::is_same_v<T, bool>) {
    static_cast<T*>(p)[i] = v != 0.0;
  } else {
    static_cast<T*>(p)[i] = static_cast<T>(v);
  }
}

void check_index(int64_t value, int64_t dim, int64_t position) {
  STRAND_CHECK(value >= 0 && value < dim, "index {} at position {} is out of range [0, {})", value,
               position, dim);
}

}  // namespace

void cast(const Context&, int64_t n, DType src_type, const void* in, DType dst_type, void* out) {
  dispatch_all(src_type, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_all(dst_type, [&](auto dst_tag) {
      using D = decltype(dst_tag);
#pragma omp parallel for if (n > (1 << 15))
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<S, BFloat16> && std::is_same_v<D, float>) {
          static_cast<float*>(out)[i] = static_cast<float>(static_cast<const BFloat16*>(in)[i]);
        } else {
          store_from_double<D>(out, i, load_as_double<S>(in, i));
        }
      }
    });
  });
}

void fill(const Context&, int64_t n, DType type, void* out, double value) {
  dispatch_all(type, [&](auto tag) {
    using T = decltype(tag);
    T v;
    if constexpr (std::is_same_v<T, bool>) {
      v = value != 0.0;
    } else {
      v = static_cast<T>(value);
    }
    T* p = static_cast<T*>(out);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

void arange(const Context&, int64_t n, DType type, void* out, double start, double step) {
  dispatch_all(type, [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < n; ++i)
      store_from_double<T>(out, i, start + static_cast<double>(i) * step);
  });
}

template <typename T>
void index_select(const Context&, int64_t outer, int64_t dim, int64_t inner, const T* src,
                  int64_t count, const int64_t* index, T* out) {
  for (int64_t j = 0; j < count; ++j) check_index(index[j], dim, j);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      const T* from = src + (o * dim + index[j]) * inner;
      T* to = out + (o * count + j) * inner;
      for (int64_t i = 0; i < inner; ++i) to[i] = from[i];
    }
  }
}

template <typename T>
void index_add(const Context&, int64_t outer, int64_t dim, int64_t inner, const T* src,
               int64_t count, const int64_t* index, T* dst) {
  for (int64_t j = 0; j < count; ++j) check_index(index[j], dim, j);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      const T* from = src + (o * count + j) * inner;
      T* to = dst + (o * dim + index[j]) * inner;
      for (int64_t i = 0; i < inner; ++i) to[i] = T(acc_t<T>(to[i]) + acc_t<T>(from[i]));
    }
  }
}

template <typename T>
void gather(const Context&, int64_t outer, int64_t dim, int64_t inner, const T* src, int64_t count,
            const int64_t* index, T* out) {
  const int64_t n = outer * count * inner;
  for (int64_t p = 0; p < n; ++p) check_index(index[p], dim, p);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t p = (o * count + j) * inner + i;
        out[p] = src[(o * dim + index[p]) * inner + i];
      }
    }
  }
}

template <typename T>
void scatter_add(const Context&, int64_t outer, int64_t dim, int64_t inner, const T* src,
                 int64_t count, const int64_t* index, T* dst) {
  const int64_t n = outer * count * inner;
  for (int64_t p = 0; p < n; ++p) check_index(index[p], dim, p);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t p = (o * count + j) * inner + i;
        T& to = dst[(o * dim + index[p]) * inner + i];
        to = T(acc_t<T>(to) + acc_t<T>(src[p]));
      }
    }
  }
}

STRAND_FLOATING_TYPES(STRAND_INDEX_INSTANTIATE)

}  // namespace strand::kernels::cpu
