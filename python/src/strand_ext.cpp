// strand._strand: the Python extension (nanobind), thin over the library. Arrays cross as
// nanobind ndarrays (NumPy, or any DLPack producer such as PyTorch, JAX or CuPy tensors: on the
// CPU read in place, without a copy; on a CUDA device, in a CUDA build, copied to the host once),
// results leave as NumPy arrays and JSON-shaped dicts, and a
// strand::Error leaves as strand.StrandError with strand's message. Training and prediction run
// without the GIL. The typed, documented API is the Python package around this (strand/*.py).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#if STRAND_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "core/error.h"
#include "core/version.h"
#include "data/encoding.h"
#include "data/simulate.h"
#include "data/simulation_files.h"
#include "data/split_name.h"
#include "interpret/attributions.h"
#include "interpret/ism.h"
#include "interpret/mutation_scorer.h"
#include "interpret/outputs.h"
#include "interpret/variants.h"
#include "layers/activation.h"
#include "layers/branches.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/reshape.h"
#include "layers/rnn.h"
#include "layers/sequential.h"
#include "rules/leakage.h"
#include "rules/panel.h"
#include "rules/privacy_accountant.h"
#include "runtime/autograd.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/pipeline.h"

namespace nb = nanobind;
using namespace nb::literals;
using nlohmann::json;

namespace strand::python {
namespace {

// JSON crosses as Python objects through Python's json module (NaN and infinities as null, as in
// every metrics.json strand writes).
nb::object to_py(const json& j) { return nb::module_::import_("json").attr("loads")(j.dump()); }
json from_py(const nb::handle& o) {
  return json::parse(nb::cast<std::string>(nb::module_::import_("json").attr("dumps")(o)));
}

using AnyArray = nb::ndarray<nb::ro>;

std::string shape_of(const AnyArray& a) {
  std::string s = "(";
  for (size_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

std::string dtype_name(const nb::dlpack::dtype& t) {
  const char* kind = t.code == uint8_t(nb::dlpack::dtype_code::Float)  ? "float"
                     : t.code == uint8_t(nb::dlpack::dtype_code::Int)  ? "int"
                     : t.code == uint8_t(nb::dlpack::dtype_code::UInt) ? "uint"
                     : t.code == uint8_t(nb::dlpack::dtype_code::Bool) ? "bool"
                                                                       : "other";
  return strand::format("{}{}", kind, t.bits);
}

bool is_c_contiguous(const AnyArray& a) {
  int64_t expected = 1;
  for (size_t d = a.ndim(); d-- > 0;) {
    if (a.shape(d) != 1 && a.stride(d) != expected) return false;
    expected *= static_cast<int64_t>(a.shape(d));
  }
  return true;
}

// The array's elements in C order as T (a strided view is gathered; the dtype must be T's). CPU
// arrays are read in place; a CUDA array (a CUDA build only) is copied to the host first.
template <typename T>
std::vector<T> c_order(const AnyArray& a, const char* what) {
  STRAND_CHECK(a.dtype() == nb::dtype<T>(), "{}: expected dtype {}, got {} (shape {})", what,
               dtype_name(nb::dtype<T>()), dtype_name(a.dtype()), shape_of(a));
  const size_t n = a.size();
  std::vector<T> out(n);
  if (a.device_type() == nb::device::cuda::value) {
#if STRAND_WITH_CUDA
    STRAND_CHECK(is_c_contiguous(a), "{}: a CUDA array must be contiguous (call .contiguous())",
                 what);
    STRAND_CHECK(
        cudaSetDevice(a.device_id()) == cudaSuccess &&
            cudaMemcpy(out.data(), a.data(), n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess,
        "{}: copying the CUDA array (device {}) to the host failed", what, a.device_id());
    return out;
#else
    STRAND_FAIL(
        "{}: the array lives on a CUDA device, but this strand was built without CUDA; "
        "pass a CPU array (e.g. tensor.cpu())",
        what);
#endif
  }
  STRAND_CHECK(a.device_type() == nb::device::cpu::value,
               "{}: the array lives on a device strand cannot read (DLPack device type {}); pass a "
               "CPU array",
               what, a.device_type());
  const T* base = static_cast<const T*>(a.data());
  if (is_c_contiguous(a)) {
    std::copy(base, base + n, out.begin());
    return out;
  }
  std::vector<int64_t> index(a.ndim(), 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < a.ndim(); ++d) offset += index[d] * a.stride(d);
    out[i] = base[offset];
    for (size_t d = a.ndim(); d-- > 0;) {
      if (++index[d] < static_cast<int64_t>(a.shape(d))) break;
      index[d] = 0;
    }
  }
  return out;
}

// A NumPy array that owns values (moved in).
template <typename T>
nb::ndarray<nb::numpy, T> numpy_of(std::vector<T> values, std::vector<size_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner);
}

nb::object tensor_to_numpy(const Tensor& t) {
  std::vector<size_t> shape(t.shape().begin(), t.shape().end());
  switch (t.dtype()) {
    case DType::kF64:
      return nb::cast(numpy_of(t.to_vector<double>(), shape));
    case DType::kI64:
      return nb::cast(numpy_of(t.to_vector<int64_t>(), shape));
    default:
      return nb::cast(numpy_of(t.to_vector<float>(), shape));
  }
}

Tensor numpy_to_tensor(const AnyArray& a, const std::string& what) {
  runtime::Shape shape;
  for (size_t d = 0; d < a.ndim(); ++d) shape.push_back(static_cast<int64_t>(a.shape(d)));
  if (a.dtype() == nb::dtype<double>())
    return runtime::from_vector(c_order<double>(a, what.c_str()), shape);
  if (a.dtype() == nb::dtype<int64_t>())
    return runtime::from_vector(c_order<int64_t>(a, what.c_str()), shape);
  return runtime::from_vector(c_order<float>(a, what.c_str()), shape);
}

// ---- models

// One layer of a model as a dict: its PyTorch type, constructor arguments and children (in
// registration order, so the names are state_dict's). strand.torch builds nn.Modules from it.
json describe(layers::Module& m) {
  using namespace layers;
  json j = {{"type", m.type_name()}};
  if (auto* c = dynamic_cast<Conv1d*>(&m)) {
    const auto& k = c->config();
    j["in_channels"] = k.in_channels, j["out_channels"] = k.out_channels;
    j["kernel_size"] = k.kernel_size, j["stride"] = k.stride, j["dilation"] = k.dilation;
    j["groups"] = k.groups, j["bias"] = c->bias().defined();
    j["padding"] = k.same_padding ? json("same") : json(k.padding);
  } else if (auto* l = dynamic_cast<Linear*>(&m)) {
    j["in_features"] = l->in_features(), j["out_features"] = l->out_features();
    j["bias"] = l->bias().defined();
  } else if (auto* p = dynamic_cast<Pool1d*>(&m)) {
    j["kernel_size"] = p->kernel(), j["stride"] = p->stride(), j["padding"] = p->padding();
  } else if (auto* b = dynamic_cast<BatchNorm1d*>(&m)) {
    j["num_features"] = b->channels(), j["eps"] = b->eps(), j["momentum"] = b->momentum();
  } else if (auto* n = dynamic_cast<LayerNorm*>(&m)) {
    j["normalized_shape"] = n->normalized_shape(), j["eps"] = n->eps();
  } else if (auto* g = dynamic_cast<GroupNorm*>(&m)) {
    j["num_groups"] = g->groups(), j["num_channels"] = g->channels(), j["eps"] = g->eps();
  } else if (auto* d = dynamic_cast<Dropout*>(&m)) {
    j["p"] = d->p();
  } else if (auto* r = dynamic_cast<Recurrent*>(&m)) {
    const auto& k = r->config();
    j["input_size"] = k.input_size, j["hidden_size"] = k.hidden_size;
    j["num_layers"] = k.num_layers, j["bidirectional"] = k.bidirectional;
    j["batch_first"] = k.batch_first, j["bias"] = k.bias, j["dropout"] = k.dropout;
  } else if (auto* f = dynamic_cast<Flatten*>(&m)) {
    j["start_dim"] = f->start(), j["end_dim"] = f->end();
  } else if (auto* p2 = dynamic_cast<Permute*>(&m)) {
    j["dims"] = p2->dims();
  } else if (auto* s = dynamic_cast<SumOfBranches*>(&m)) {
    j["drop"] = json::array();
    for (size_t i = 0; i < s->size(); ++i) j["drop"].push_back(s->drop(i));
  } else if (dynamic_cast<Sequential*>(&m) == nullptr && dynamic_cast<Activation*>(&m) == nullptr) {
    STRAND_FAIL("no PyTorch description of strand layer {}", m.type_name());
  }
  // Direct children: named_modules lists the whole tree; keep names without a dot below "".
  json children = json::array();
  for (auto& [name, child] : m.named_modules())
    if (!name.empty() && name.find('.') == std::string::npos)
      children.push_back({name, describe(*child)});
  if (!children.empty()) j["children"] = children;
  return j;
}

struct Model {
  train::LoadedModel loaded;
  std::string path;

  json info() const { return loaded.info.to_json(); }

  // Scores [N, outputs] as `strand predict` computes them (the same batches, the same kernels).
  nb::ndarray<nb::numpy, double> predict(const AnyArray& x, bool rc_average, int64_t batch_size,
                                         const std::string& device, bool calibrated) {
    const int64_t L = loaded.info.length;
    STRAND_CHECK(batch_size > 0, "predict: batch_size must be positive, got {}", batch_size);
    // Looked up before the work: a file without one is an error naming it.
    const rules::Calibrator* calibrator =
        calibrated ? &train::stored_calibrator(loaded, path) : nullptr;
    const bool codes = x.dtype() == nb::dtype<uint8_t>();
    STRAND_CHECK(
        (codes && x.ndim() == 2) || (x.dtype() == nb::dtype<float>() && x.ndim() == 3),
        "predict: x must be uint8 base codes [N, L] or float32 one-hot [N, 4, L], got {} with "
        "shape {}",
        dtype_name(x.dtype()), shape_of(x));
    const int64_t rows = static_cast<int64_t>(x.shape(0));
    const int64_t length = static_cast<int64_t>(x.shape(x.ndim() - 1));
    STRAND_CHECK(codes || x.shape(1) == 4,
                 "predict: one-hot x must have 4 channels (A, C, G, T), "
                 "got shape {}",
                 shape_of(x));
    STRAND_CHECK(length == L, "predict: sequences of length {}, but the model takes length {}",
                 length, L);
    const int64_t per_row = codes ? L : 4 * L;
    std::vector<uint8_t> code_values;
    std::vector<float> hot_values;
    if (codes) {
      code_values = c_order<uint8_t>(x, "predict");
      for (size_t i = 0; i < code_values.size(); ++i)
        STRAND_CHECK(code_values[i] <= 4,
                     "predict: base codes are 0-4 (A, C, G, T, N), got {} at sequence {} "
                     "position {}",
                     int(code_values[i]), int64_t(i) / L, int64_t(i) % L);
    } else {
      hot_values = c_order<float>(x, "predict");
    }
    std::vector<double> scores;
    {
      nb::gil_scoped_release release;
      const auto dev = runtime::Device::parse(device);
      loaded.model->to(dev);
      const auto model = train::for_prediction(loaded.model, rc_average);
      runtime::NoGradGuard no_grad;
      for (int64_t begin = 0; begin < rows; begin += batch_size) {
        const int64_t end = std::min(rows, begin + batch_size);
        Tensor batch;
        if (codes) {
          std::vector<uint8_t> part(code_values.begin() + begin * per_row,
                                    code_values.begin() + end * per_row);
          batch = runtime::from_vector(part, {end - begin, L});
        } else {
          std::vector<float> part(hot_values.begin() + begin * per_row,
                                  hot_values.begin() + end * per_row);
          batch = runtime::from_vector(part, {end - begin, 4, L});
        }
        const auto s = train::scores_of(loaded.info.kind, (*model)(batch.to(dev)));
        scores.insert(scores.end(), s.begin(), s.end());
      }
    }
    if (calibrator) scores = calibrator->apply(scores);
    return numpy_of(std::move(scores), {size_t(rows), loaded.info.tasks.size()});
  }

  // Base codes [N, L] of the model's length from a uint8 array (what the interpretation methods
  // take).
  std::vector<uint8_t> checked_codes(const AnyArray& x, const char* what) const {
    STRAND_CHECK(x.dtype() == nb::dtype<uint8_t>() && x.ndim() == 2,
                 "{}: x must be uint8 base codes [N, L] (strand.encode), got {} with shape {}",
                 what, dtype_name(x.dtype()), shape_of(x));
    STRAND_CHECK(static_cast<int64_t>(x.shape(1)) == loaded.info.length,
                 "{}: sequences of length {}, but the model takes length {}", what, x.shape(1),
                 loaded.info.length);
    std::vector<uint8_t> codes = c_order<uint8_t>(x, what);
    for (size_t i = 0; i < codes.size(); ++i)
      STRAND_CHECK(codes[i] <= 4, "{}: base codes are 0-4 (A, C, G, T, N), got {} at index {}",
                   what, int(codes[i]), i);
    return codes;
  }

  // `strand interpret ism`: effects [N, T, 4, W] on the logits, 0 at the reference base.
  nb::ndarray<nb::numpy, float> ism(const AnyArray& x, const std::vector<std::string>& tasks,
                                    int64_t start, int64_t end, bool rc_average,
                                    int64_t batch_size) {
    const std::vector<uint8_t> codes = checked_codes(x, "ism");
    const int64_t L = loaded.info.length, N = static_cast<int64_t>(codes.size()) / L;
    interpret::IsmOptions o;
    o.tasks = interpret::output_columns(tasks, loaded.info.tasks);
    o.start = start;
    o.end = end == 0 ? L : end;
    STRAND_CHECK(o.start >= 0 && o.start < o.end && o.end <= L,
                 "ism: start {} / end {} must give a non-empty window inside length {}", start,
                 o.end, L);
    STRAND_CHECK(batch_size > 0, "ism: batch_size must be positive, got {}", batch_size);
    o.rc_average = rc_average;
    o.batch_size = batch_size;
    std::vector<float> effects;
    {
      nb::gil_scoped_release release;
      loaded.model->to(runtime::Device::parse("cpu"));
      interpret::MutationScorer scorer(*loaded.model, L, false);
      for (int64_t n = 0; n < N; ++n) {
        const auto r = interpret::saturation_mutagenesis(scorer, codes.data() + n * L, o);
        effects.insert(effects.end(), r.effects.begin(), r.effects.end());
      }
    }
    return numpy_of(std::move(effects),
                    {size_t(N), o.tasks.size(), size_t(4), size_t(o.end - o.start)});
  }

  // `strand interpret attributions`, in the command's chunks and seeds (equal results).
  nb::dict attributions(const AnyArray& x, const std::string& method,
                        const std::vector<std::string>& tasks, int64_t references, int64_t steps,
                        const std::string& baseline, uint64_t seed, int64_t batch_size,
                        bool rc_average) {
    const std::vector<uint8_t> codes = checked_codes(x, "attributions");
    const int64_t L = loaded.info.length, N = static_cast<int64_t>(codes.size()) / L;
    interpret::AttributionOptions o;
    o.method = interpret::parse_attribution_method(method);
    o.baseline = interpret::parse_baseline(baseline);
    o.tasks = interpret::output_columns(tasks, loaded.info.tasks);
    o.references = references, o.steps = steps, o.seed = seed, o.batch_size = batch_size;
    STRAND_CHECK(references > 0 && steps > 0 && batch_size > 0,
                 "attributions: references, steps and batch_size must be positive, got {}, {}, {}",
                 references, steps, batch_size);
    const size_t T = o.tasks.size();
    std::vector<float> attributions, hypothetical;
    std::vector<double> output, reference_output, delta;
    {
      nb::gil_scoped_release release;
      loaded.model->to(runtime::Device::parse("cpu"));
      const auto model = train::for_prediction(loaded.model, rc_average);
      model->eval();
      for (int64_t begin = 0; begin < N; begin += batch_size) {
        const int64_t end = std::min(N, begin + batch_size);
        const std::vector<uint8_t> part(codes.begin() + begin * L, codes.begin() + end * L);
        const auto r = interpret::attribute_codes(*model, part, L, o, begin);
        attributions.insert(attributions.end(), r.attributions.begin(), r.attributions.end());
        hypothetical.insert(hypothetical.end(), r.hypothetical.begin(), r.hypothetical.end());
        output.insert(output.end(), r.output.begin(), r.output.end());
        reference_output.insert(reference_output.end(), r.reference_output.begin(),
                                r.reference_output.end());
        for (int64_t i = 0; i < r.sequences; ++i)
          for (size_t t = 0; t < T; ++t) delta.push_back(r.delta(i, static_cast<int64_t>(t)));
      }
    }
    nb::dict out;
    const std::vector<size_t> per_base = {size_t(N), T, size_t(4), size_t(L)},
                              per_task = {size_t(N), T};
    out["attributions"] = numpy_of(std::move(attributions), per_base);
    out["hypothetical"] = numpy_of(std::move(hypothetical), per_base);
    out["output"] = numpy_of(std::move(output), per_task);
    out["reference_output"] = numpy_of(std::move(reference_output), per_task);
    out["delta"] = numpy_of(std::move(delta), per_task);
    return out;
  }

  // `strand score-variants --out OUT`: the TSV written (atomically), the counts returned.
  nb::dict score_variants(const std::string& vcf, const std::string& genome, const std::string& out,
                          const std::vector<std::string>& tasks, const std::string& ref_mismatch,
                          bool rc_average, int64_t batch_size) {
    using RefMismatch = interpret::VariantOptions::RefMismatch;
    STRAND_CHECK(ref_mismatch == "fail" || ref_mismatch == "skip" || ref_mismatch == "swap",
                 "score_variants: ref_mismatch must be fail, skip or swap, got '{}'", ref_mismatch);
    STRAND_CHECK(batch_size > 0, "score_variants: batch_size must be positive, got {}", batch_size);
    interpret::VariantOptions o;
    o.vcf = vcf;
    o.genome = genome;
    o.tasks = loaded.info.tasks;
    o.columns = interpret::output_columns(tasks, loaded.info.tasks);
    o.rc_average = rc_average;
    o.ref_mismatch = ref_mismatch == "skip"   ? RefMismatch::kSkip
                     : ref_mismatch == "swap" ? RefMismatch::kSwap
                                              : RefMismatch::kFail;
    o.batch_size = batch_size;
    o.log_fold_change = loaded.info.kind != "regression";
    o.scores = [kind = loaded.info.kind](const Tensor& logits) {
      return train::scores_of(kind, logits);
    };
    interpret::VariantSummary s;
    std::ostringstream log;
    {
      nb::gil_scoped_release release;
      loaded.model->to(runtime::Device::parse("cpu"));
      interpret::MutationScorer scorer(*loaded.model, loaded.info.length, false);
      s = interpret::score_variants_to_file(scorer, o, out, log);
    }
    nb::dict d;
    d["rows"] = s.rows;
    d["ref_mismatches"] = s.ref_mismatches;
    d["swapped"] = s.swapped;
    d["records_without_alt"] = s.without_alt;
    d["log"] = log.str();
    return d;
  }

  nb::dict state_dict() const {
    nb::dict out;
    for (const auto& [name, t] : loaded.model->state_dict())
      out[nb::str(name.c_str())] = tensor_to_numpy(t);
    return out;
  }
};

// Weights of a matching architecture (a PyTorch state_dict as arrays) saved as a strand model
// file: the model `info` describes is built, loads them strictly (every name and shape) and is
// written with its metadata, so `strand predict` and strand.load_model read it.
void save_model(const std::string& path, const nb::dict& info, const nb::dict& state) {
  const auto model_info = train::ModelInfo::from_json(from_py(info));
  auto model = train::build_model(model_info);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto [key, value] : state) {
    const std::string name = nb::cast<std::string>(key);
    tensors.emplace_back(name, numpy_to_tensor(nb::cast<AnyArray>(value), "weight '" + name + "'"));
  }
  model->load_state_dict(tensors, true);
  train::save_model(path, *model, model_info, train::RunMetadata{});
}

// ---- training

const std::set<std::string> kRunKeys = {
    "fasta",          "labels",       "bed",          "genome",       "window",
    "task",           "split_method", "test_chroms",  "valid_chroms", "test_fraction",
    "valid_fraction", "split_seed",   "out",          "resume",       "bootstrap",
    "baseline",       "strict",       "permutations", "quiet",        "tune"};

json train_run(const json& options) {
  STRAND_CHECK(options.is_object(), "train: options must be a dict, got {}", options.dump());
  train::RunOptions o;
  json config = json::object();
  bool quiet = false;
  for (const auto& [key, v] : options.items()) try {
      if (!kRunKeys.count(key)) {
        config[key] = v;
        continue;
      }
      auto& d = o.data;
      if (key == "fasta") d.fasta = v.get<std::string>();
      if (key == "labels") d.labels = v.get<std::string>();
      if (key == "bed") d.bed = v.get<std::string>();
      if (key == "genome") d.genome = v.get<std::string>();
      if (key == "window") d.window = v.get<int64_t>();
      if (key == "task") d.task = v.get<std::string>();
      if (key == "split_method") d.split_method = v.get<std::string>();
      if (key == "test_chroms") d.test_chroms = v.get<std::vector<std::string>>();
      if (key == "valid_chroms") d.valid_chroms = v.get<std::vector<std::string>>();
      if (key == "test_fraction") d.test_fraction = v.get<double>();
      if (key == "valid_fraction") d.valid_fraction = v.get<double>();
      if (key == "split_seed") d.split_seed = v.get<uint64_t>();
      if (key == "out") o.out = v.get<std::string>();
      if (key == "resume") o.resume = v.get<std::string>();
      if (key == "bootstrap") o.replicates = v.get<int>();
      if (key == "baseline") o.baseline = v.get<bool>();
      if (key == "strict") o.strict = v.get<bool>();
      if (key == "permutations") o.permutations = v.get<int>();
      if (key == "quiet") quiet = v.get<bool>();
      if (key == "tune") o.default_tune = v.get<bool>();
    } catch (const json::exception& e) {
      STRAND_FAIL("train: option '{}' = {}: {}", key, v.dump(), e.what());
    }
  // TrainConfig keys: an unknown one is an error naming the closest valid key.
  try {
    o.config = train::config_from_json(config);
  } catch (const Error& e) {
    STRAND_FAIL("train: {}", e.message());
  }
  auto given = [&](const std::string& key) { return config.contains(key); };
  const auto notes = train::apply_run_defaults(o.config, given);
  o.choose_model = !given("model") && !o.config.dp.enabled && o.resume.empty();
  // As the CLI: the default tuning searches lr and batch size, so giving either turns it off.
  o.default_tune = o.default_tune && !given("lr") && !given("batch_size");
  if (!quiet) {
    o.note = [](const std::string& line) {
      nb::gil_scoped_acquire gil;
      nb::print(nb::str(line.c_str()));
    };
    for (const auto& n : notes) nb::print(nb::str(n.c_str()));
  } else {
    o.config.progress = false;
  }
  train::RunReport report;
  {
    nb::gil_scoped_release release;
    report = train::run_training(o);
  }
  return report.metrics;
}

// ---- data and rules

nb::dict simulate(const nb::dict& options, const std::string& out) {
  data::SimulationConfig c;
  const json j = from_py(options);
  for (const auto& [key, v] : j.items()) {
    if (key == "sequences")
      c.num_sequences = v.get<int64_t>();
    else if (key == "length")
      c.length = v.get<int64_t>();
    else if (key == "seed")
      c.seed = v.get<uint64_t>();
    else if (key == "gc")
      c.gc = v.get<double>();
    else if (key == "positive_fraction")
      c.positive_fraction = v.get<double>();
    else if (key == "valid_fraction")
      c.valid_fraction = v.get<double>();
    else if (key == "test_fraction")
      c.test_fraction = v.get<double>();
    else
      STRAND_FAIL(
          "simulate: unknown option '{}' (sequences, length, seed, gc, "
          "positive_fraction, valid_fraction, test_fraction)",
          key);
  }
  STRAND_CHECK(c.num_sequences > 0, "simulate: sequences must be positive, got {}",
               c.num_sequences);
  STRAND_CHECK(c.length > 0, "simulate: length must be positive, got {}", c.length);
  const auto sim = data::simulate(c);
  const size_t n = sim.records.size(), L = size_t(c.length);
  std::vector<uint8_t> codes(n * L);
  std::vector<std::string> names, splits;
  for (size_t i = 0; i < n; ++i) {
    data::encode_bases(sim.records[i].sequence, codes.data() + i * L, sim.records[i].name);
    names.push_back(sim.records[i].name);
    if (sim.labels.has_split()) splits.emplace_back(data::split_name(sim.labels.splits[i]));
  }
  nb::dict result;
  result["names"] = names;
  result["codes"] = numpy_of(std::move(codes), {n, L});
  result["labels"] =
      numpy_of(std::vector<float>(sim.labels.values), {n, size_t(sim.labels.num_columns())});
  result["tasks"] = sim.labels.columns;
  result["split"] = splits;
  if (!out.empty()) {
    const auto files = data::write_simulation(sim, out);
    result["fasta"] = files.fasta;
    result["labels_path"] = files.labels;
    result["ground_truth"] = files.ground_truth;
  }
  return result;
}

json metrics(const std::string& kind, const std::vector<std::string>& columns,
             const AnyArray& labels, const AnyArray& scores, double threshold, int bootstrap,
             uint64_t seed, int ece_bins) {
  rules::PanelOptions o;
  o.threshold = threshold;
  o.ece_bins = ece_bins;
  o.bootstrap.replicates = bootstrap;
  o.bootstrap.seed = seed;
  const auto y = c_order<double>(labels, "metrics: y");
  const auto s = c_order<double>(scores, "metrics: scores");
  const size_t rows = labels.ndim() ? labels.shape(0) : 0;
  STRAND_CHECK(scores.ndim() == 2 && scores.shape(0) == rows && scores.shape(1) == columns.size(),
               "metrics: scores must be [{}, {}] (one row per label row, one column per {}), "
               "got shape {}",
               rows, columns.size(), kind == "multi-class" ? "class" : "task", shape_of(scores));
  if (kind == "multi-class") {
    STRAND_CHECK(labels.ndim() == 1,
                 "metrics: multi-class y must be class indices [N], got shape {}",
                 shape_of(labels));
    std::vector<int> classes(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      STRAND_CHECK(y[i] >= 0 && y[i] < double(columns.size()) && y[i] == int(y[i]),
                   "metrics: y[{}] = {} is not a class index below {}", i, y[i], columns.size());
      classes[i] = int(y[i]);
    }
    return rules::multiclass_panel(columns, classes, s, o);
  }
  STRAND_CHECK(labels.ndim() == 2 && labels.shape(1) == columns.size(),
               "metrics: y must be [N, {}] (one column per task), got shape {}", columns.size(),
               shape_of(labels));
  if (kind == "regression") return rules::regression_panel(columns, y, s, o);
  STRAND_CHECK(kind == "binary" || kind == "multi-label",
               "metrics: kind must be binary, multi-label, multi-class or regression, got '{}'",
               kind);
  return rules::binary_panel(columns, y, s, o);
}

json check_splits(const std::vector<std::vector<std::string>>& splits,
                  const std::vector<std::string>& split_names, double min_identity, int k, int bins,
                  int top) {
  STRAND_CHECK(splits.size() >= 2, "check_splits: need at least two splits, got {}", splits.size());
  STRAND_CHECK(split_names.size() == splits.size(), "check_splits: {} splits but {} names",
               splits.size(), split_names.size());
  std::vector<std::string> seqs;
  std::vector<int> split;
  std::vector<int64_t> index;
  for (size_t s = 0; s < splits.size(); ++s)
    for (size_t i = 0; i < splits[s].size(); ++i) {
      seqs.push_back(splits[s][i]);
      split.push_back(int(s));
      index.push_back(int64_t(i));
    }
  rules::LeakageOptions o;
  o.sketch.k = k;
  o.sketch.bins = bins;
  o.min_identity = min_identity;
  rules::LeakageReport r;
  {
    nb::gil_scoped_release release;
    r = rules::find_duplicates(seqs, split, o);
  }
  json j = {{"sequences", seqs.size()},
            {"counts",
             {{"exact", r.exact},
              {"reverse_complement", r.reverse_complement},
              {"near_duplicate", r.near_duplicate}}},
            {"leak", r.exact + r.reverse_complement + r.near_duplicate > 0},
            {"min_identity", min_identity},
            {"k", k},
            {"candidates_verified", r.candidates},
            {"unsketched", r.unsketched},
            {"worst_pairs", json::array()}};
  for (size_t i = 0; i < r.pairs.size() && int(i) < top; ++i) {
    const auto& p = r.pairs[i];
    j["worst_pairs"].push_back({{"split_a", split_names[split[p.a]]},
                                {"index_a", index[p.a]},
                                {"split_b", split_names[split[p.b]]},
                                {"index_b", index[p.b]},
                                {"kind", rules::pair_kind_name(p.kind)},
                                {"identity", p.identity}});
  }
  return j;
}

}  // namespace
}  // namespace strand::python

using namespace strand;
using namespace strand::python;

NB_MODULE(_strand, m) {
  m.doc() = "strand's C++ library (see the strand package for the documented API)";
  nb::exception<Error>(m, "StrandError", PyExc_RuntimeError);
  // strand's message without the C++ source location that Error::what() adds.
  nb::register_exception_translator(
      [](const std::exception_ptr& p, void* type) {
        try {
          std::rethrow_exception(p);
        } catch (const Error& e) {
          PyErr_SetString(static_cast<PyObject*>(type), e.message().c_str());
        }
      },
      m.attr("StrandError").ptr());
  m.attr("__version__") = strand::version();
  m.attr("cuda") = bool(STRAND_WITH_CUDA);

  nb::class_<Model>(m, "Model")
      .def_prop_ro("info", [](const Model& self) { return to_py(self.info()); })
      .def_prop_ro("path", [](const Model& self) { return self.path; })
      .def_prop_ro("calibration",
                   [](const Model& self) -> nb::object {
                     const auto& m = self.loaded.metadata;
                     const auto it = m.find(train::kCalibrationMetadataKey);
                     return it == m.end() ? nb::none() : to_py(json::parse(it->second));
                   })
      .def("predict", &Model::predict, "x"_a, "rc_average"_a = false, "batch_size"_a = 256,
           "device"_a = "cpu", "calibrated"_a = false)
      .def("ism", &Model::ism, "x"_a, "tasks"_a, "start"_a, "end"_a, "rc_average"_a, "batch_size"_a)
      .def("attributions", &Model::attributions, "x"_a, "method"_a, "tasks"_a, "references"_a,
           "steps"_a, "baseline"_a, "seed"_a, "batch_size"_a, "rc_average"_a)
      .def("score_variants", &Model::score_variants, "vcf"_a, "genome"_a, "out"_a, "tasks"_a,
           "ref_mismatch"_a, "rc_average"_a, "batch_size"_a)
      .def("state_dict", &Model::state_dict)
      .def("describe", [](Model& self) { return to_py(describe(*self.loaded.model)); });

  m.def("load_model", [](const std::string& path) {
    auto model = std::make_unique<Model>();
    model->loaded = train::load_model(path);
    model->path = path;
    return model;
  });
  m.def("save_model", &save_model, "path"_a, "info"_a, "state"_a);
  m.def("describe_info", [](const nb::dict& info) {
    auto model = train::build_model(train::ModelInfo::from_json(from_py(info)));
    return to_py(describe(*model));
  });
  m.def("train", [](const nb::dict& options) { return to_py(train_run(from_py(options))); });
  m.def("simulate", &simulate, "options"_a, "out"_a = "");
  m.def(
      "metrics",
      [](const std::string& kind, const std::vector<std::string>& columns, const AnyArray& y,
         const AnyArray& scores, double threshold, int bootstrap, uint64_t seed, int ece_bins) {
        return to_py(metrics(kind, columns, y, scores, threshold, bootstrap, seed, ece_bins));
      },
      "kind"_a, "columns"_a, "y"_a, "scores"_a, "threshold"_a, "bootstrap"_a, "seed"_a,
      "ece_bins"_a);
  m.def(
      "check_splits",
      [](const std::vector<std::vector<std::string>>& splits, const std::vector<std::string>& names,
         double min_identity, int k, int bins,
         int top) { return to_py(check_splits(splits, names, min_identity, k, bins, top)); },
      "splits"_a, "names"_a, "min_identity"_a, "k"_a, "bins"_a, "top"_a);
  m.def("epsilon",
        [](double q, double sigma, int64_t steps, double delta, const std::string& accountant) {
          return rules::epsilon(rules::parse_accountant(accountant), q, sigma, steps, delta);
        });
  m.def("noise_multiplier",
        [](double target, double q, int64_t steps, double delta, const std::string& accountant) {
          return rules::noise_multiplier_for(rules::parse_accountant(accountant), target, q, steps,
                                             delta);
        });
  m.def("encode", [](const std::vector<std::string>& seqs) {
    STRAND_CHECK(!seqs.empty(), "encode: no sequences");
    const size_t L = seqs[0].size();
    std::vector<uint8_t> codes(seqs.size() * L);
    for (size_t i = 0; i < seqs.size(); ++i) {
      STRAND_CHECK(seqs[i].size() == L, "encode: sequence {} has length {}, sequence 0 has {}", i,
                   seqs[i].size(), L);
      data::encode_bases(seqs[i], codes.data() + i * L, strand::format("sequence {}", i));
    }
    return numpy_of(std::move(codes), {seqs.size(), L});
  });
  m.def("one_hot", [](const AnyArray& codes) {
    STRAND_CHECK(codes.ndim() == 2, "one_hot: codes must be [N, L], got shape {}", shape_of(codes));
    const auto c = c_order<uint8_t>(codes, "one_hot");
    const size_t n = codes.shape(0), L = codes.shape(1);
    std::vector<float> out(n * 4 * L);
    for (size_t i = 0; i < n; ++i)
      data::one_hot(c.data() + i * L, int64_t(L), out.data() + i * 4 * L);
    return numpy_of(std::move(out), {n, 4, L});
  });
}
