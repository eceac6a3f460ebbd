// Hyper-parameter search by random sampling and successive halving; see tune.h.
#include "train/tune.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/suggest.h"
#include "data/random.h"
#include "rules/privacy_accountant.h"
#include "rules/report.h"
#include "runtime/file_io.h"
#include "train/cross_validation.h"
#include "train/evaluate.h"
#include "train/run_directory.h"
#include "train/trainer.h"

namespace strand::train {
namespace {

const std::vector<std::string> kKeys = {"model",      "optimizer",    "lr",
                                        "batch_size", "weight_decay", "depth",
                                        "kernel",     "filters",      "dropout"};
// The cnn variant's settings when the space does not search them.
const std::map<std::string, nlohmann::json> kVariantDefaults = {
    {"depth", 2}, {"kernel", 15}, {"filters", 64}, {"dropout", 0.2}};

bool integer_key(const std::string& k) {
  return k == "batch_size" || k == "depth" || k == "kernel" || k == "filters";
}
bool string_key(const std::string& k) { return k == "model" || k == "optimizer"; }

// Why value v is impossible for key k, or "" when it is fine.
std::string impossible(const std::string& k, const nlohmann::json& v) {
  if (string_key(k)) {
    if (!v.is_string()) return "must be a name";
    if (k == "optimizer" && v != "adam" && v != "adamw" && v != "sgd")
      return "must be adam, adamw or sgd";
    return "";
  }
  if (!v.is_number()) return "must be a number";
  const double x = v.get<double>();
  if (integer_key(k) && !v.is_number_integer()) return "must be an integer";
  if (k == "lr" && !(x > 0)) return "must be > 0";
  if (k == "weight_decay" && !(x >= 0)) return "must be >= 0";
  if (k == "dropout" && !(x >= 0 && x < 1)) return "must be in [0, 1)";
  if (k == "depth" && !(x >= 1 && x <= 8)) return "must be in [1, 8]";
  if ((k == "batch_size" || k == "kernel" || k == "filters") && !(x >= 1)) return "must be >= 1";
  return "";
}

nlohmann::json scalar_json(const YAML::Node& n) {
  const std::string s = n.as<std::string>();
  try {
    size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
  } catch (const std::exception&) {
  }
  try {
    size_t used = 0;
    const double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (const std::exception&) {
  }
  return s;
}

double uniform01(uint64_t seed, int trial, size_t dim) {
  const uint64_t h = data::mix64(data::mix64(seed ^ 0x7475ULL) +
                                 static_cast<uint64_t>(trial) * 0x9e3779b97f4a7c15ULL + dim);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Appends one JSON line to the log by rewriting it atomically: a kill leaves the old or the new
// file, never a torn line.
void append_line(const std::string& path, const nlohmann::json& record) {
  std::string old;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    old.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    STRAND_CHECK(in.good() || in.eof(), "cannot read '{}'", path);
  }
  runtime::write_file_atomic(path, {old, record.dump(), "\n"});
}

std::vector<nlohmann::json> read_log(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty())
      out.push_back(runtime::parse_json(line, strand::format("'{}' line {}", path, n)));
  }
  return out;
}

std::string key_of(const nlohmann::json& r) {
  const std::string type = r.value("type", "");
  if (type == "sampled" || type == "trial") return type + ":" + std::to_string(r.value("id", -1));
  if (type == "rung") return strand::format("rung:{}:{}", r.value("id", -1), r.value("rung", -1));
  // One promotion per trial and rung; every finish of a (resumed) search.
  if (type == "promote")
    return strand::format("promote:{}:{}", r.value("id", -1), r.value("rung", -1));
  if (type == "done") return "done:" + r.value("time", std::string());
  return type;
}

}  // namespace

SearchSpace SearchSpace::parse(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    STRAND_FAIL("search space '{}' line {}: {}", source, e.mark.line + 1, e.msg);
  }
  STRAND_CHECK(root.IsMap(), "search space '{}': expected a map of settings (model, lr, ...)",
               source);
  SearchSpace space;
  std::set<std::string> seen;
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    const int line = item.first.Mark().line + 1;
    STRAND_CHECK(std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end(),
                 "search space '{}' line {}: unknown key '{}'{}", source, line, key,
                 did_you_mean(key, kKeys));
    STRAND_CHECK(seen.insert(key).second, "search space '{}' line {}: '{}' given twice", source,
                 line, key);
    SearchDimension d;
    d.key = key;
    const YAML::Node& v = item.second;
    auto check = [&](const nlohmann::json& x) {
      const std::string why = impossible(key, x);
      STRAND_CHECK(why.empty(), "search space '{}' line {}: '{}' value {} {}", source, line, key,
                   x.dump(), why);
    };
    if (v.IsScalar()) {
      d.kind = "choice", d.choices = {scalar_json(v)};
    } else if (v.IsSequence()) {
      d.kind = "choice";
      STRAND_CHECK(v.size() > 0, "search space '{}' line {}: '{}' has no choices", source, line,
                   key);
      for (const auto& c : v) {
        STRAND_CHECK(c.IsScalar(), "search space '{}' line {}: '{}' choices must be scalars",
                     source, line, key);
        d.choices.push_back(scalar_json(c));
      }
    } else if (v.IsMap()) {
      STRAND_CHECK(v.size() == 1,
                   "search space '{}' line {}: '{}' needs one of uniform, log_uniform or "
                   "int_uniform: [lo, hi]",
                   source, line, key);
      d.kind = v.begin()->first.as<std::string>();
      const std::vector<std::string> kinds = {"uniform", "log_uniform", "int_uniform"};
      STRAND_CHECK(std::find(kinds.begin(), kinds.end(), d.kind) != kinds.end(),
                   "search space '{}' line {}: '{}': unknown range '{}'{}", source, line, key,
                   d.kind, did_you_mean(d.kind, kinds));
      const YAML::Node& r = v.begin()->second;
      STRAND_CHECK(r.IsSequence() && r.size() == 2,
                   "search space '{}' line {}: '{}': {} needs [lo, hi]", source, line, key, d.kind);
      const nlohmann::json lo = scalar_json(r[0]), hi = scalar_json(r[1]);
      STRAND_CHECK(!string_key(key), "search space '{}' line {}: '{}' takes a list of names",
                   source, line, key);
      STRAND_CHECK(!integer_key(key) || d.kind == "int_uniform",
                   "search space '{}' line {}: '{}' is an integer: use int_uniform or a list",
                   source, line, key);
      check(lo), check(hi);
      d.lo = lo.get<double>(), d.hi = hi.get<double>();
      STRAND_CHECK(d.lo <= d.hi, "search space '{}' line {}: '{}': {} range [{}, {}] is empty",
                   source, line, key, d.kind, d.lo, d.hi);
      STRAND_CHECK(d.kind != "log_uniform" || d.lo > 0,
                   "search space '{}' line {}: '{}': log_uniform needs lo > 0, got {}", source,
                   line, key, d.lo);
    } else {
      STRAND_FAIL("search space '{}' line {}: '{}' has no value", source, line, key);
    }
    for (const auto& c : d.choices) check(c);
    space.dims_.push_back(std::move(d));
  }
  return space;
}

SearchSpace SearchSpace::from_file(const std::string& path) {
  std::ifstream in(path);
  STRAND_CHECK(in.good(), "cannot read search space '{}'", path);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::string SearchSpace::default_text(const std::string& default_model) {
  // strand::format has no brace escapes, so the YAML maps are plain text.
  return "# strand tune's default space: the data's default model beside generated cnn variants.\n"
         "model: [" +
         default_model +
         ", cnn-variant]\n"
         "optimizer: [adam, adamw]\n"
         "lr: {log_uniform: [0.0005, 0.01]}\n"
         "batch_size: [32, 64]\n"
         "weight_decay: [0, 0.0001]\n"
         "depth: {int_uniform: [1, 3]}\n"
         "kernel: [9, 15, 21]\n"
         "filters: [32, 64]\n"
         "dropout: [0.0, 0.2, 0.4]\n";
}

SearchSpace SearchSpace::default_space(const std::string& default_model) {
  return parse(default_text(default_model), "default");
}

nlohmann::json SearchSpace::sample(uint64_t seed, int trial) const {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < dims_.size(); ++i) {
    const SearchDimension& d = dims_[i];
    const double u = uniform01(seed, trial, i);
    if (d.kind == "choice") {
      out[d.key] =
          d.choices[std::min(d.choices.size() - 1, static_cast<size_t>(u * d.choices.size()))];
    } else if (d.kind == "uniform") {
      out[d.key] = d.lo + u * (d.hi - d.lo);
    } else if (d.kind == "log_uniform") {
      out[d.key] = std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo)));
    } else {
      out[d.key] =
          static_cast<int64_t>(d.lo) +
          std::min(static_cast<int64_t>(u * (d.hi - d.lo + 1)), static_cast<int64_t>(d.hi - d.lo));
    }
  }
  return out;
}

nlohmann::json SearchSpace::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& d : dims_)
    out[d.key] = d.kind == "choice" ? nlohmann::json{{"choice", d.choices}}
                                    : nlohmann::json{{d.kind, {d.lo, d.hi}}};
  return out;
}

std::string cnn_variant_yaml(int64_t length, int64_t depth, int64_t kernel, int64_t filters,
                             double dropout) {
  const std::string p = strand::format("{}", dropout);
  std::string y =
      strand::format("name: cnn-variant-d{}-k{}-f{}-p{}\nlayers:\n", depth, kernel, filters, p);
  int64_t len = length;
  for (int64_t b = 0; b < depth; ++b) {
    y += "  - conv1d: {out: " + std::to_string(filters) + ", kernel: " + std::to_string(kernel) +
         ", padding: same}\n  - batchnorm1d\n  - relu\n";
    if (len >= 4) y += "  - maxpool1d: {kernel: 2}\n", len /= 2;
    if (dropout > 0) y += "  - dropout: {p: " + p + "}\n";
  }
  if (len > 1) y += "  - maxpool1d: {kernel: " + std::to_string(len) + "}\n";
  y += "  - flatten\n  - linear: {out: outputs}\n";
  return y;
}

std::vector<int> rung_epochs(const TuneOptions& o) {
  STRAND_CHECK(o.min_epochs >= 1 && o.max_epochs >= o.min_epochs,
               "tune: epochs per rung must satisfy 1 <= min ({}) <= max ({})", o.min_epochs,
               o.max_epochs);
  STRAND_CHECK(o.eta >= 2, "tune: eta must be >= 2, got {}", o.eta);
  std::vector<int> out = {o.min_epochs};
  while (out.back() < o.max_epochs) out.push_back(std::min(o.max_epochs, out.back() * o.eta));
  return out;
}

nlohmann::json tune(data::SplitDataset& splits, TrainConfig base, const SearchSpace& space,
                    const TuneOptions& o, const std::shared_ptr<runtime::Communicator>& comm,
                    const std::function<void(const std::string&)>& progress) {
  STRAND_CHECK(!o.out_dir.empty(), "tune needs an output directory");
  STRAND_CHECK(o.trials >= 1, "tune: --trials must be >= 1, got {}", o.trials);
  STRAND_CHECK(!base.dp.enabled || base.dp.noise_multiplier > 0,
               "tune --dp needs --noise-multiplier: with a target epsilon each rung would "
               "calibrate its noise anew, and the search's total could not be stated");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> rungs = rung_epochs(o);
  const bool writer = !comm || comm->rank() == 0;
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  const std::string log_path = o.out_dir + "/tune_log.jsonl";
  base.progress = false;
  base.schedule = "constant";
  base.patience = 0;
  base.warmup_steps = 0;

  // What the log already holds (a resumed search), and the settings it must share.
  const nlohmann::json settings = {{"space", space.to_json()}, {"trials", o.trials},
                                   {"rungs", rungs},           {"eta", o.eta},
                                   {"seed", o.seed},           {"base", to_json(base)}};
  // Every rank reads the log (a resumed search reuses finished rungs) and appends to it, taking
  // turns under an flock on DIR/tune.lock; each record is written once (by_key).
  std::map<std::string, nlohmann::json> by_key;
  if (writer) std::filesystem::create_directories(o.out_dir);
  if (comm) comm->barrier();
  auto locked = [&](const std::function<void()>& fn) {
    // The ranks of a search take turns at its log and job board.
    const runtime::FileLock lock(o.out_dir + "/tune.lock", runtime::FileLock::Mode::kWait);
    by_key.clear();
    for (const auto& r : read_log(log_path)) by_key[key_of(r)] = r;
    fn();
  };
  auto append = [&](const nlohmann::json& r) {  // inside locked() only
    if (by_key.count(key_of(r))) return;
    append_line(log_path, r);
    by_key[key_of(r)] = r;
  };
  locked([&] {
    if (by_key.count("start"))
      STRAND_CHECK(by_key["start"]["settings"] == settings,
                   "'{}' holds a search with other settings (space, trials, rungs, seed or "
                   "training config); resume it with the same ones or use another --out",
                   log_path);
    if (!writer) return;
    append({{"type", "start"}, {"settings", settings}, {"time", utc_now()}});
    append(
        {{"type", "test_lock"},
         {"state", "sealed"},
         {"test_rows", splits.test_size()},
         {"note", "the search reads train and valid only; test opens once, for the chosen model"}});
  });

  std::vector<nlohmann::json> configs(o.trials);
  for (int i = 0; i < o.trials; ++i) {
    configs[i] = space.sample(o.seed, i);
    // A cnn variant's shape comes from the space or the defaults; other models ignore it.
    for (const auto& [k, v] : kVariantDefaults)
      if (configs[i].value("model", base.model) != "cnn-variant")
        configs[i].erase(k);
      else if (!configs[i].contains(k))
        configs[i][k] = v;
  }
  if (writer)
    locked([&] {
      for (int i = 0; i < o.trials; ++i)
        append({{"type", "sampled"}, {"id", i}, {"config", configs[i]}});
    });

  // Trains trial i up to `epochs` epochs (continuing from its checkpoint when there is one).
  auto run_trial = [&](int i, int rung) {
    const std::string dir = o.out_dir + "/trials/" + std::to_string(i);
    std::filesystem::create_directories(dir);
    TrainConfig c = base;
    const nlohmann::json& t = configs[i];
    c.model = t.value("model", base.model);
    if (c.model == "cnn-variant") {
      const std::string yaml = dir + "/model.yaml";
      runtime::write_file_atomic(
          yaml, {cnn_variant_yaml(splits.dataset().length(), t["depth"].get<int64_t>(),
                                  t["kernel"].get<int64_t>(), t["filters"].get<int64_t>(),
                                  t["dropout"].get<double>())});
      c.model = yaml;
    }
    c.optimizer = t.value("optimizer", base.optimizer);
    c.lr = t.value("lr", base.lr);
    c.batch_size = t.value("batch_size", base.batch_size);
    c.weight_decay = t.value("weight_decay", base.weight_decay);
    c.epochs = rungs[rung];
    c.seed = base.seed + static_cast<uint64_t>(i);
    validate(c);
    auto shared = std::shared_ptr<const data::SplitDataset>(&splits, [](const auto*) {});
    Trainer trainer(shared, c, dir);
    if (std::filesystem::exists(trainer.checkpoint_path()))
      trainer.resume(trainer.checkpoint_path());
    const TrainResult r = trainer.fit();
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& h : trainer.state().history)
      curve.push_back({{"epoch", h["epoch"]},
                       {trainer.monitor(), h[trainer.monitor()]},
                       {"train_loss", h["train_loss"]},
                       {"valid_loss", h["valid_loss"]}});
    nlohmann::json rec = {
        {"type", "rung"},
        {"id", i},
        {"rung", rung},
        {"epochs", r.epochs},
        {"monitor", r.monitor},
        {"lower_is_better", trainer.lower_is_better()},
        {"valid", r.best_epoch > 0 && std::isfinite(r.best_metric) ? nlohmann::json(r.best_metric)
                                                                   : nlohmann::json()},
        {"best_epoch", r.best_epoch},
        {"curve", curve},
        {"model", trainer.model_path()},
        {"rank", rank}};
    if (r.dp)
      rec["dp"] = {{"epsilon", r.epsilon},
                   {"delta", r.delta},
                   {"noise_multiplier", r.noise_multiplier},
                   {"sampling_rate", r.sampling_rate},
                   {"steps", r.steps},
                   {"guaranteed", r.dp_guaranteed}};
    return rec;
  };

  // Asynchronous successive halving (ASHA): a free worker takes the next job at once. It promotes
  // a trial from rung r to r + 1 as soon as the trial is among the best floor(n / eta) of the n
  // results rung r has so far (top rung first), else starts the next unsampled trial, else waits
  // for jobs in flight (whose results may allow a promotion), else the search is done. Every
  // rank is a worker; they share the job board DIR/tune_board.jsonl (claims of this session)
  // under an flock, so under mpirun the ranks take trials as they free up (one host, or a
  // directory shared by the hosts).
  const std::string board_path = o.out_dir + "/tune_board.jsonl";
  // Unique per call (a resumed search in the same process, within the same second, is another
  // session: claims of the earlier call must not look in flight).
  static std::atomic<int> calls{0};
  std::string session =
      writer ? strand::format("{}-{}-{}-{}", utc_now(), ::getpid(), calls++,
                              std::chrono::steady_clock::now().time_since_epoch().count())
             : "";
  if (comm) session = runtime::all_gather_strings(*comm, session)[0];
  bool lower = false;
  auto score = [&](const nlohmann::json& r) {
    lower = r.value("lower_is_better", false);
    if (!r["valid"].is_number()) return -std::numeric_limits<double>::infinity();
    return lower ? -r["valid"].get<double>() : r["valid"].get<double>();
  };
  struct Job {
    int id = -1, rung = -1;
    bool wait = false;
  };
  auto next_job = [&]() -> Job {
    Job job;
    locked([&] {
      std::set<std::pair<int, int>> claimed;  // this session's claims
      for (const auto& c : read_log(board_path))
        if (c.value("session", "") == session)
          claimed.insert({c["id"].get<int>(), c["rung"].get<int>()});
      auto done = [&](int id, int r) { return by_key.count(strand::format("rung:{}:{}", id, r)); };
      bool in_flight = false;
      for (const auto& [id, r] : claimed) in_flight = in_flight || !done(id, r);
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      auto claim = [&](int id, int r) {
        append_line(board_path, {{"session", session}, {"id", id}, {"rung", r}, {"rank", rank}});
        job.id = id, job.rung = r;
      };
      if (o.max_seconds > 0 && elapsed > o.max_seconds) {
        append({{"type", "budget"},
                {"note", strand::format("time budget of {} s reached after {} s; no job "
                                        "starts after it",
                                        o.max_seconds, rules::fixed(elapsed, 1))}});
        job.wait = in_flight;
        return;
      }
      for (int r = static_cast<int>(rungs.size()) - 2; r >= 0; --r) {
        std::vector<nlohmann::json> results;
        for (int i = 0; i < o.trials; ++i)
          if (done(i, r)) results.push_back(by_key[strand::format("rung:{}:{}", i, r)]);
        std::stable_sort(results.begin(), results.end(),
                         [&](const auto& a, const auto& b) { return score(a) > score(b); });
        const size_t top = results.size() / static_cast<size_t>(o.eta);
        for (size_t k = 0; k < top; ++k) {
          const int id = results[k]["id"].get<int>();
          if (!std::isfinite(score(results[k])) || done(id, r + 1) || claimed.count({id, r + 1}))
            continue;
          append({{"type", "promote"},
                  {"id", id},
                  {"rung", r},
                  {"to_rung", r + 1},
                  {"place", k + 1},
                  {"among", results.size()},
                  {"rank", rank}});
          return claim(id, r + 1);
        }
      }
      for (int i = 0; i < o.trials; ++i)
        if (!done(i, 0) && !claimed.count({i, 0})) return claim(i, 0);
      job.wait = in_flight;
      if (in_flight) return;
      // The end of a finite search: when the highest rung with results is below the last (it
      // had fewer than eta results), its best goes up anyway, so the chosen trial trains to the
      // last rung.
      int top = -1;
      for (int r = 0; r < static_cast<int>(rungs.size()); ++r)
        for (int i = 0; i < o.trials; ++i)
          if (done(i, r)) top = r;
      if (top < 0 || top + 1 >= static_cast<int>(rungs.size())) return;
      int best = -1;
      for (int i = 0; i < o.trials; ++i) {
        if (!done(i, top)) continue;
        const double v = score(by_key[strand::format("rung:{}:{}", i, top)]);
        if (std::isfinite(v) &&
            (best < 0 || v > score(by_key[strand::format("rung:{}:{}", best, top)])))
          best = i;
      }
      if (best < 0) return;
      append({{"type", "promote"},
              {"id", best},
              {"rung", top},
              {"to_rung", top + 1},
              {"place", 1},
              {"final", true},
              {"rank", rank}});
      claim(best, top + 1);
    });
    return job;
  };
  for (;;) {
    const Job job = next_job();
    if (job.id < 0 && !job.wait) break;
    if (job.id < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    const nlohmann::json rec = run_trial(job.id, job.rung);
    locked([&] { append(rec); });
    if (progress)
      progress(strand::format("trial {} rung {} ({} epochs): validation {}", job.id, job.rung,
                              rungs[job.rung], rec["valid"].dump()));
  }
  if (comm) comm->barrier();
  locked([] {});
  std::map<int, nlohmann::json> last;  // each trial's latest rung record
  for (const auto& [k, r] : by_key)
    if (r.value("type", "") == "rung") {
      const int id = r["id"].get<int>();
      if (!last.count(id) || last[id]["rung"].get<int>() < r["rung"].get<int>()) last[id] = r;
    }
  const bool out_of_time = by_key.count("budget") > 0;

  // Rank: the highest rung reached first, then the validation score; the first is chosen.
  std::vector<nlohmann::json> trials;
  for (auto& [id, r] : last) {
    nlohmann::json t = {{"id", id},
                        {"config", configs[id]},
                        {"rung", r["rung"]},
                        {"epochs", r["epochs"]},
                        {"valid", r["valid"]},
                        {"monitor", r["monitor"]},
                        {"curve", r["curve"]},
                        {"model", r["model"]}};
    if (r.contains("dp")) t["dp"] = r["dp"];
    trials.push_back(t);
  }
  STRAND_CHECK(!trials.empty(), "tune: no trial finished a rung (time budget {} s too small?)",
               o.max_seconds);
  lower = last.begin()->second.value("lower_is_better", false);
  auto better = [&](const nlohmann::json& a, const nlohmann::json& b) {
    if (a["rung"] != b["rung"]) return a["rung"].get<int>() > b["rung"].get<int>();
    if (!b["valid"].is_number()) return a["valid"].is_number();
    if (!a["valid"].is_number()) return false;
    const double x = a["valid"].get<double>(), y = b["valid"].get<double>();
    return lower ? x < y : x > y;
  };
  std::stable_sort(trials.begin(), trials.end(), better);
  for (size_t k = 0; k < trials.size(); ++k) trials[k]["rank"] = k + 1;
  const nlohmann::json chosen = trials.front();
  STRAND_CHECK(chosen["valid"].is_number(), "tune: no trial produced a usable model");
  if (writer)
    locked([&] {
      for (auto t : trials) {
        t["type"] = "trial";
        append(t);
      }
    });

  nlohmann::json out = {{"trials", trials},
                        {"chosen", chosen},
                        {"rungs", rungs},
                        {"eta", o.eta},
                        {"out_of_time", out_of_time},
                        {"selection",
                         "validation only: highest rung reached, then the best "
                         "validation " +
                             chosen["monitor"].get<std::string>()},
                        {"ranks", ranks},
                        {"test", nullptr},
                        {"privacy", nullptr}};

  // DP: every trial trained on the same private rows, so their guarantees compose.
  if (base.dp.enabled) {
    double basic = 0, delta_sum = 0;
    const auto orders = rules::default_rdp_orders();
    std::vector<double> rdp(orders.size(), 0);
    bool all_guaranteed = true;
    for (const auto& t : trials) {
      const auto& d = t["dp"];
      basic += d["epsilon"].get<double>(), delta_sum += d["delta"].get<double>();
      all_guaranteed = all_guaranteed && d["guaranteed"].get<bool>();
      for (size_t a = 0; a < orders.size(); ++a)
        rdp[a] += d["steps"].get<double>() *
                  rules::rdp_subsampled_gaussian(d["sampling_rate"].get<double>(),
                                                 d["noise_multiplier"].get<double>(), orders[a]);
    }
    const double delta = trials.front()["dp"]["delta"].get<double>();
    const double composed = rules::rdp_to_epsilon(orders, rdp, delta);
    out["privacy"] = {
        {"per_trial", "each trial's epsilon at its last rung (trials[].dp)"},
        {"total_epsilon_rdp", composed},
        {"total_delta", delta},
        {"total_epsilon_basic", basic},
        {"total_delta_basic", delta_sum},
        {"guaranteed", all_guaranteed},
        {"sentence",
         strand::format(
             "the search spent epsilon {} at delta {} in total (RDP composition of all {} "
             "trials' subsampled Gaussian steps on the same training rows; basic composition "
             "gives {}); the chosen model alone reports {}, which understates what tuning on "
             "this data released{}",
             rules::fixed(composed, 3), delta, trials.size(), rules::fixed(basic, 3),
             rules::fixed(chosen["dp"]["epsilon"].get<double>(), 3),
             all_guaranteed ? "" : "; some trials used shuffled batches: NOT covered")}};
  }

  // The chosen model on valid, then test opened once.
  if (writer) {
    const auto best = load_model(chosen["model"].get<std::string>());
    const auto device = runtime::Device::parse(base.device);
    best.model->to(device);
    const auto predictor = for_prediction(best.model, base.rc_average);
    const int64_t batch = std::max<int64_t>(256, base.batch_size);
    out["valid"] = panel_of(best.info,
                            predict_rows(*predictor, best.info.kind, splits.shared_dataset(),
                                         splits.valid(), batch, device),
                            o.bootstrap);
    if (by_key.count("test_unsealed")) {
      out["test"] = by_key["test_unsealed"]["test"];  // opened in an earlier run of this search
    } else if (o.open_test && splits.test_size() > 0) {
      const std::string reason = strand::format(
          "strand tune: final evaluation of the chosen trial {} after {} trials, selected on "
          "validation",
          chosen["id"].get<int>(), trials.size());
      const auto& test_rows = splits.unseal_test(reason);
      out["test"] = panel_of(best.info,
                             predict_rows(*predictor, best.info.kind, splits.shared_dataset(),
                                          test_rows, batch, device),
                             o.bootstrap);
      locked([&] {
        append({{"type", "test_unsealed"},
                {"reason", reason},
                {"chosen", chosen["id"]},
                {"time", utc_now()},
                {"test", out["test"]}});
      });
    }
    locked([&] { append({{"type", "done"}, {"chosen", chosen["id"]}, {"time", utc_now()}}); });
  }
  nlohmann::json lock = nlohmann::json::array();
  for (const auto& [k, r] : by_key)
    if (k == "test_lock" || k == "test_unsealed") lock.push_back(r);
  out["test_lock"] = lock;
  out["sentence"] = strand::format(
      "{} trials, asynchronous successive halving over {} epochs (eta {}): chosen trial {} ({}) "
      "with "
      "validation {} {} at {} epochs; test {}",
      trials.size(), nlohmann::json(rungs).dump(), o.eta, chosen["id"].get<int>(),
      chosen["config"].dump(), chosen["monitor"].get<std::string>(),
      rules::fixed(chosen["valid"].get<double>(), 4), chosen["epochs"].get<int64_t>(),
      out["test"].is_object() ? "opened once for it" : "not opened");
  return out;
}

nlohmann::json tune_cross_validated(data::SplitDataset& splits, const TrainConfig& base,
                                    const SearchSpace& space, const TuneOptions& options,
                                    CrossValidationOptions cv,
                                    const std::shared_ptr<runtime::Communicator>& comm,
                                    const std::function<void(const std::string&)>& progress) {
  STRAND_CHECK(!base.dp.enabled,
               "tune --cv with --dp is refused: the {} outer folds' searches train on overlapping "
               "private rows, and composing their guarantees across folds is not implemented; "
               "tune without --cv (its total cost is accounted) or cross-validate without --dp",
               cv.folds);
  cv.out_dir = options.out_dir;
  const FoldFitter fit = [&](data::SplitDataset& fold, const std::string& dir,
                             nlohmann::json& record) {
    TuneOptions o = options;
    o.out_dir = dir;
    o.open_test = false;  // the held-out fold is scored by cross_validate_with, once
    const int k = record["fold"].get<int>();
    const nlohmann::json r = tune(fold, base, space, o, comm, [&](const std::string& line) {
      if (progress) progress(strand::format("fold {}: {}", k, line));
    });
    const nlohmann::json& c = r["chosen"];
    record["chosen"] = {{"trial", c["id"]},
                        {"config", c["config"]},
                        {"epochs", c["epochs"]},
                        {"monitor", c["monitor"]},
                        {"inner_valid", c["valid"]}};
    record["trials"] = r["trials"].size();
    return c["model"].get<std::string>();
  };
  nlohmann::json out = cross_validate_with(splits, base, cv, fit);
  out["nested"] =
      "outer folds for the estimate, inner selection: each outer fold's search trains on the "
      "other folds less an inner validation part, chooses its configuration on that part, and "
      "only then is its chosen model scored once on the held-out fold";
  out["final_model"] =
      "no refit: each outer fold's chosen model is the result (their configurations may differ: "
      "per_fold[].chosen); score new data with their ensemble (strand predict --ensemble)";
  out["sentence"] = "nested " + out["sentence"].get<std::string>() +
                    strand::format(" ({} trials per fold)", options.trials);
  return out;
}

}  // namespace strand::train
