#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/version.h"
#include "interpret/arrays.h"
#include "report/plots.h"
#include "rules/curves.h"
#include "rules/report.h"
#include "runtime/file_io.h"

namespace strand::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- reading the run ----------------------------------------------------------------------

// j[key] converted to T, or fallback when j is not an object, lacks the key or holds another type:
// a report reads files of any age and shows what they have.
template <class T>
T get(const json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}
std::string get(const json& j, const char* key, const char* fallback) {
  return get<std::string>(j, key, fallback);
}

// j[key], or null when j is not an object or lacks the key.
const json& at(const json& j, const char* key) {
  static const json null;
  return j.is_object() && j.contains(key) ? j[key] : null;
}

struct Tsv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Tsv read_tsv(const std::string& path) {
  std::ifstream in(path);
  STRAND_CHECK(in.good(), "cannot read '{}'", path);
  Tsv t;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) cells.push_back(cell);
    if (number == 1) {
      t.header = cells;
      continue;
    }
    STRAND_CHECK(cells.size() == t.header.size(), "'{}' line {}: {} columns, the header has {}",
                 path, number, cells.size(), t.header.size());
    t.rows.push_back(std::move(cells));
  }
  STRAND_CHECK(!t.header.empty(), "'{}' is empty", path);
  return t;
}

double number_at(const std::string& text, const std::string& path, size_t row) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  STRAND_FAIL("'{}' row {}: '{}' is not a number", path, row + 2, text);
}

struct Run {
  std::string dir;
  json status;                  // run.json
  json metrics;                 // metrics.json (null while missing)
  std::vector<json> epochs;     // log.jsonl "epoch" records
  std::vector<json> steps;      // log.jsonl "step" records
  std::string command;          // the train command line, when run.json recorded it
  std::string data_args;        // its data flags, for the commands of checks not run
  json tune;                    // tune.json of --tune (null: not given)
  std::vector<json> tune_lock;  // its tune_log.jsonl test_lock / test_unsealed records
  json learning_curve;          // learning_curve.json of --learning-curve (null: not given)
  std::string interpret_dir;    // --interpret ("": not given)
  bool checks_only = false;     // a `strand check all` directory: no training yet
  json inspection;              // checks.json "inspection" (strand check data), or null
};

// "--fasta a.fa --labels l.tsv" out of the run's command line, the data flags every command takes
// (apps::add_data_options; a line from before the one flag set may spell --genome and --task as
// --reference and --kind); the built-in example's files when the run simulated its data.
std::string data_args_of(const Run& run) {
  std::string args;
  for (const auto& [flag, spellings] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"--fasta", {"--fasta"}},
           {"--labels", {"--labels"}},
           {"--bed", {"--bed"}},
           {"--genome", {"--genome", "--reference"}},
           {"--task", {"--task", "--kind"}}}) {
    for (const auto& spelling : spellings) {
      const std::regex re(spelling + R"((?:\s+|=)(\S+))");
      std::smatch m;
      if (!std::regex_search(run.command, m, re)) continue;
      args += std::string(args.empty() ? "" : " ") + flag + " " + m[1].str();
      break;
    }
  }
  if (args.empty() && fs::exists(run.dir + "/data/sequences.fa"))
    args = "--fasta " + run.dir + "/data/sequences.fa --labels " + run.dir + "/data/labels.tsv";
  return args.empty() ? "--fasta SEQS.fa --labels LABELS.tsv" : args;
}

// "0.1.0" -> "0.1": runs are read across patch releases only.
std::string minor_of(const std::string& v) { return v.substr(0, v.rfind('.')); }

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number)
    if (!line.empty())
      records.push_back(runtime::parse_json(line, strand::format("'{}' line {}", path, number)));
  return records;
}

Run load_run(const std::string& dir) {
  STRAND_CHECK(fs::is_directory(dir), "'{}' is not a directory", dir);
  Run run;
  run.dir = dir;
  // `strand check all --out DIR` writes checks.json: the data sections before any training.
  json checks;
  if (fs::exists(dir + "/checks.json")) {
    checks = runtime::read_json_file(dir + "/checks.json", "data checks");
    run.inspection = at(checks, "inspection");
  }
  if (!fs::exists(dir + "/run.json") && checks.is_object()) {
    run.checks_only = true;
    run.status = {{"status", "checked, not trained"}, {"started", get(checks, "date", "?")}};
    run.metrics = {{"data_checks", at(checks, "data_checks")},
                   {"splits", at(checks, "splits")},
                   {"strand", at(checks, "strand")}};
    run.command = get(checks, "command", "");
    run.data_args = data_args_of(run);
    return run;
  }
  STRAND_CHECK(fs::exists(dir + "/run.json"),
               "'{}' is not a strand run directory (no run.json; make one with strand train --out, "
               "or strand check all --out)",
               dir);
  run.status = runtime::read_json_file(dir + "/run.json", "run status");
  STRAND_CHECK(run.status.is_object(), "'{}/run.json' is not a JSON object", dir);
  if (fs::exists(dir + "/metrics.json"))
    run.metrics = runtime::read_json_file(dir + "/metrics.json", "run metrics");
  const json* recorded = run.metrics.is_object() && run.metrics.contains("strand")
                             ? &run.metrics["strand"]
                             : (run.status.contains("strand") ? &run.status["strand"] : nullptr);
  if (recorded && recorded->is_object()) {
    const std::string v = recorded->value("version", "?");
    STRAND_CHECK(minor_of(v) == minor_of(version()),
                 "'{}' was written by strand {} (commit {}); this is strand {}: make its report "
                 "with that version, or train again",
                 dir, v, recorded->value("commit", "?"), version());
  }
  run.command = get(run.status, "command", "");
  for (const json& record : read_jsonl(dir + "/log.jsonl")) {
    const std::string type = get(record, "type", "");
    if (type == "epoch") run.epochs.push_back(record);
    if (type == "step") run.steps.push_back(record);
  }
  run.data_args = data_args_of(run);
  return run;
}

// ---- HTML helpers -------------------------------------------------------------------------

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(const json& v, int digits = 4) {
  return v.is_number() ? rules::fixed(v.get<double>(), digits) : "undefined";
}

// A metric cell: the value with its interval when the panel has one; data-metric names the
// JSON path so a test can compare the page with metrics.json.
std::string metric_cell(const json& panel, const std::string& name, const std::string& path) {
  return "<td data-metric=\"" + esc(path + "." + name) + "\">" +
         esc(rules::format_metric(panel, name)) + "</td>";
}

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows_html) {
  std::string t = "<table><thead><tr>";
  for (const auto& h : header) t += "<th>" + esc(h) + "</th>";
  t += "</tr></thead><tbody>";
  for (const auto& row : rows_html) {
    t += "<tr>";
    for (const auto& cell : row) t += cell.rfind("<td", 0) == 0 ? cell : "<td>" + cell + "</td>";
    t += "</tr>";
  }
  return t + "</tbody></table>";
}

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure class=\"plot\">" + svg + "<figcaption>" + esc(caption) + "</figcaption></figure>";
}

std::string para(const std::string& text) { return "<p>" + esc(text) + "</p>"; }

Section not_run(int rule, const std::string& title, const std::string& reason,
                const std::string& command) {
  return {rule,   title,   "not run",
          reason, command, para("Run the command above, then make this report again.")};
}

std::string train_command(const Run& run) {
  return run.command.empty() || run.checks_only
             ? "strand train " + run.data_args + " --out " + run.dir
             : run.command;
}

// ---- the ten sections -------------------------------------------------------------------

Section data_and_splits(const Run& run) {
  const json& checks = at(run.metrics, "data_checks");
  const json& leak = at(checks, "leakage");
  if (!leak.is_object())
    return not_run(1, "Data and splits", "this run did not check its splits for leakage",
                   "strand check splits " + run.data_args);
  Section s{1, "Data and splits", "pass", get(leak, "sentence", ""), train_command(run), ""};
  const int64_t pairs = get(leak, "exact", 0) + get(leak, "reverse_complement", 0) +
                        get(leak, "near_duplicate", 0) + get(leak, "overlapping_intervals", 0);
  if (pairs > 0) {
    s.verdict = "fail";
    s.reason = "leakage: " + s.reason;
  }
  s.html +=
      table({"check", "pairs across splits"},
            {{"exact duplicates", std::to_string(get(leak, "exact", 0))},
             {"reverse-complement duplicates", std::to_string(get(leak, "reverse_complement", 0))},
             {"near-duplicates", std::to_string(get(leak, "near_duplicate", 0))},
             {"overlapping intervals", std::to_string(get(leak, "overlapping_intervals", 0))}});
  s.html += para("Splits: " + at(run.metrics, "splits").get<std::string>() +
                 ". Detector: " + get(leak, "check", std::string("strand check splits")) + ".");
  if (pairs > 0)
    s.html += para("List and remove the pairs with: strand check splits " + run.data_args +
                   " --dedup-out DEDUPED_PREFIX");
  const json& small = at(checks, "small_data");
  if (small.is_array() && !small.empty()) {
    if (s.verdict == "pass") s.verdict = "warn", s.reason = small[0].get<std::string>();
    s.html += "<ul>";
    for (const auto& w : small) s.html += "<li>" + esc(w.get<std::string>()) + "</li>";
    s.html += "</ul>";
  }
  // Class balance per split, from the panels.
  std::vector<std::vector<std::string>> rows;
  for (const char* split : {"valid", "test"}) {
    const json& tasks = at(at(run.metrics, split), "tasks");
    if (!tasks.is_object()) continue;
    for (const auto& [task, p] : tasks.items()) {
      if (!p.contains("positives")) continue;
      rows.push_back({split, esc(task), num(at(p, "n"), 0), num(at(p, "positives"), 0),
                      num(get(p, "prevalence", json()), 3)});
    }
  }
  if (!rows.empty())
    s.html += "<h3>Class balance</h3>" +
              table({"split", "task", "examples", "positives", "prevalence"}, rows);
  return s;
}

Section baselines(const Run& run) {
  const json& b = at(run.metrics, "baseline");
  if (!b.is_object())
    return not_run(2, "Baselines",
                   "no baseline was fitted (strand train --no-baseline, or no test)",
                   "strand baseline " + run.data_args);
  if (b.contains("error"))
    return {2,
            "Baselines",
            "fail",
            "the baseline comparison failed: " + get(b, "error", ""),
            train_command(run),
            ""};
  Section s{2, "Baselines", "pass", get(b, "verdict", ""), train_command(run), ""};
  const json& summary = at(b, "summary");
  if (get(summary, "b_better", 0) > 0)
    s.verdict = "fail";
  else if (get(b, "baseline_wins", false))
    s.verdict = "warn";
  std::vector<std::pair<double, std::string>> candidates;
  for (const auto& [name, v] : at(b, "candidates").items())
    if (v.is_number()) candidates.push_back({v.get<double>(), name});
  std::sort(candidates.rbegin(), candidates.rend());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [v, name] : candidates)
    rows.push_back(
        {esc(name) + (name == get(b, "name", "") ? " (strongest)" : ""), rules::fixed(v)});
  s.html += "<h3>Every baseline on validation</h3>" +
            para("Chosen by " + get(b, "chosen_by", std::string("validation")) + ".") +
            table({"baseline", "validation score"}, rows);
  const json& model_test = at(run.metrics, "test");
  const json& base_test = at(b, "test");
  std::vector<std::vector<std::string>> test_rows;
  for (const char* metric : {"auroc", "auprc"}) {
    if (!at(model_test, "macro").contains(metric)) continue;
    test_rows.push_back({metric, metric_cell(at(model_test, "macro"), metric, "test.macro"),
                         metric_cell(at(base_test, "macro"), metric, "baseline.test.macro")});
  }
  if (!test_rows.empty())
    s.html += "<h3>On test</h3>" +
              table({"macro metric", "model", get(b, "name", std::string("baseline"))}, test_rows);
  s.html += para(get(summary, "sentence", std::string()) + " (A: the model, B: the baseline).");
  return s;
}

std::vector<double> column(const std::vector<json>& records, const char* key,
                           const char* sub = nullptr) {
  std::vector<double> v;
  for (const auto& r : records) {
    const json& x = sub ? at(at(r, key), sub) : at(r, key);
    v.push_back(x.is_number() ? x.get<double>() : NAN);
  }
  return v;
}

Section training(const Run& run) {
  if (run.epochs.empty())
    return not_run(3, "Training", "no epoch was logged (log.jsonl is missing or empty)",
                   train_command(run));
  const std::string stop = at(run.metrics, "stop_reason").is_string()
                               ? run.metrics["stop_reason"].get<std::string>()
                               : "status: " + get(run.status, "status", std::string("?"));
  Section s{3, "Training", "pass", stop, train_command(run), ""};
  const bool diverged = stop.find("diverg") != std::string::npos ||
                        stop.find("NaN") != std::string::npos ||
                        stop.find("non-finite") != std::string::npos;
  if (diverged) s.verdict = "fail";
  if (get(run.status, "status", "") == "failed") {
    s.verdict = "fail";
    s.reason = "the run failed: " + get(run.status, "reason", std::string("?"));
  }
  const std::vector<double> epoch = column(run.epochs, "epoch");
  std::vector<double> valid_loss;
  for (const auto& r : run.epochs) {
    const json& l = at(at(r, "valid"), "loss");
    valid_loss.push_back(l.is_number() ? l.get<double>() : NAN);
  }
  LinePlot loss{"Loss per epoch", "epoch", "loss", {}, false, false};
  loss.series.push_back(
      line("train (mean over the epoch's steps)", epoch, column(run.epochs, "train_loss")));
  loss.series.push_back(line("train (eval mode, probe rows)", epoch,
                             column(run.epochs, "train_eval", "loss"), Series::Style::kDashed));
  loss.series.push_back(line("validation", epoch, valid_loss));
  s.html +=
      figure(line_plot(loss), "Training and validation loss; the chosen checkpoint is epoch " +
                                  num(at(run.metrics, "best_epoch"), 0) + ".");
  const std::string monitor =
      at(run.metrics, "monitor").is_string() ? run.metrics["monitor"].get<std::string>() : "auroc";
  if (run.epochs.front().contains(monitor)) {
    LinePlot metric{"Monitored metric per epoch", "epoch", monitor, {}, false, true};
    metric.series.push_back(line("validation", epoch, column(run.epochs, monitor.c_str())));
    metric.series.push_back(line("train (eval mode, probe rows)", epoch,
                                 column(run.epochs, "train_eval", monitor.c_str()),
                                 Series::Style::kDashed));
    s.html +=
        figure(line_plot(metric),
               "Validation " + monitor + " picks the checkpoint; the train curve shows the gap.");
  }
  if (!run.steps.empty()) {
    LinePlot lr{"Learning-rate schedule", "step", "learning rate", {}, false, false};
    lr.series.push_back(line("", column(run.steps, "step"), column(run.steps, "lr")));
    s.html += figure(line_plot(lr), "The learning rate at each logged step.");
  }
  s.html += table({"epochs", "steps", "samples/s", "seconds"},
                  {{num(at(run.metrics, "epochs"), 0), num(at(run.metrics, "steps"), 0),
                    num(at(run.metrics, "samples_per_s"), 0), num(at(run.metrics, "seconds"), 1)}});
  return s;
}

Section know_your_data(const Run& run) {
  const json& alignment = at(at(at(run.metrics, "data_checks"), "default_model"), "alignment");
  const json& in = run.inspection;
  if (!in.is_object()) {
    Section s = not_run(4, "Know your data",
                        "strand check data (GC and length confounds, label balance, N content, "
                        "duplicates) has not been run on this data",
                        "strand check all " + run.data_args + " --out " + run.dir);
    if (alignment.is_object())
      s.html =
          para("What train itself measured: " + get(alignment, "reason", std::string()) + ".") +
          s.html;
    return s;
  }
  const json& warnings = at(in, "warnings");
  Section s{4,
            "Know your data",
            get(in, "verdict", "") == "ok" ? "pass" : "warn",
            warnings.is_array() && !warnings.empty() ? warnings[0].get<std::string>()
                                                     : "no confound or imbalance warning",
            "strand check all " + run.data_args + " --out " + run.dir,
            ""};
  const json& length = at(in, "length");
  s.html += para(strand::format("{} sequences; length min {}, median {}, max {}.",
                                num(at(in, "n"), 0), num(at(length, "min"), 0),
                                num(at(length, "median"), 0), num(at(length, "max"), 0)));
  const json& group = at(in, "tasks").is_object() ? at(in, "tasks") : at(in, "classes");
  std::vector<std::vector<std::string>> rows;
  if (group.is_object())
    for (const auto& [task, t] : group.items()) {
      if (!t.contains("balance")) continue;
      rows.push_back({esc(task), num(at(t, "n"), 0), esc(rules::format_metric(t, "prevalence", 3)),
                      esc(get(t, "balance", "")),
                      esc(rules::format_metric(t, "gc_mean_positive", 3)),
                      esc(rules::format_metric(t, "gc_mean_negative", 3)),
                      esc(rules::format_metric(t, "gc_only_auroc", 3))});
    }
  if (!rows.empty())
    s.html += table({"task", "n", "prevalence", "balance", "GC of positives", "GC of negatives",
                     "GC-only AUROC"},
                    rows) +
              para(
                  "A GC-only AUROC well above 0.5 means GC content alone separates the classes: "
                  "a confound the model can learn instead of the biology.");
  const json& n_content = at(in, "n_content");
  s.html += para(
      strand::format("N content: {} sequences with N, {} over 10%. Duplicates within splits: {}.",
                     num(at(n_content, "sequences_with_n"), 0),
                     num(at(n_content, "sequences_over_10_percent_n"), 0),
                     at(in, "duplicates_within_split").dump()));
  if (warnings.is_array() && !warnings.empty()) {
    s.html += "<ul>";
    for (const auto& w : warnings) s.html += "<li>" + esc(w.get<std::string>()) + "</li>";
    s.html += "</ul>";
  }
  return s;
}

Section architecture(const Run& run) {
  const json& chosen = at(at(run.metrics, "data_checks"), "default_model");
  const std::string model = at(at(run.metrics, "model"), "name").is_string()
                                ? run.metrics["model"]["name"].get<std::string>()
                                : "?";
  if (!chosen.is_object())
    return not_run(5, "Architecture fit",
                   "the model (" + model +
                       ") was chosen by hand; the alignment diagnosis that "
                       "would check it was not run",
                   "strand check data " + run.data_args);
  const json& a = at(chosen, "alignment");
  Section s{
      5,
      "Architecture fit",
      "pass",
      "the task looks " + get(a, "verdict", std::string("?")) + "; the model used is " + model,
      train_command(run),
      ""};
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, v] : at(a, "scores").items()) rows.push_back({esc(name), num(v)});
  s.html += para(get(a, "reason", std::string())) +
            para("Representation that wins: " + get(a, "representation", std::string("?")) +
                 "; the model's head: " + get(a, "head", std::string("?")) + ".") +
            table({"probe (validation AUROC)", "score"}, rows);
  return s;
}

Section tuning(const Run& run) {
  if (!run.tune.is_object())
    return not_run(6, "Tuning",
                   "no hyper-parameter search was given (strand report --tune DIR); this model's "
                   "settings are the defaults or were set by hand",
                   "strand tune " + run.data_args + " --out TUNE_DIR");
  const json& t = run.tune;
  Section s{6,
            "Tuning",
            "pass",
            get(t, "sentence", std::string()),
            "strand tune " + run.data_args + " (tune.json, tune_log.jsonl)",
            ""};
  int unsealed = 0;
  for (const json& r : run.tune_lock) unsealed += get(r, "type", "") == "test_unsealed";
  if (unsealed > 1) {
    s.verdict = "fail";
    s.reason = strand::format("the test split was opened {} times during the search", unsealed);
  }
  std::vector<std::vector<std::string>> rows;
  Series points = line("trials", {}, {}, Series::Style::kPoints);
  for (const json& trial : at(t, "trials")) {
    const json& c = at(trial, "config");
    rows.push_back({num(at(trial, "rank"), 0), num(at(trial, "id"), 0),
                    esc(get(trial, "model", get(c, "model", std::string("?")))),
                    esc(at(c, "lr").is_number() ? rules::fixed(c["lr"].get<double>(), 5) : "-"),
                    num(at(c, "batch_size"), 0), num(at(trial, "epochs"), 0),
                    num(at(trial, "valid"))});
    if (at(trial, "valid").is_number() && at(trial, "epochs").is_number()) {
      points.x.push_back(trial["epochs"].get<double>());
      points.y.push_back(trial["valid"].get<double>());
    }
  }
  LinePlot budget{"Trials against their budget",
                  "epochs trained (rung)",
                  "validation " + get(at(t, "chosen"), "monitor", std::string("score")),
                  {},
                  false,
                  true};
  budget.series.push_back(points);
  s.html += figure(line_plot(budget),
                   "Successive halving: every trial gets the first rung; the best continue.") +
            para("Selection: " + get(t, "selection", std::string("validation only")) + ".") +
            table({"rank", "trial", "model", "lr", "batch", "epochs", "validation"}, rows);
  if (!run.tune_lock.empty()) {
    s.html += "<h3>Test lock</h3><ul>";
    for (const json& r : run.tune_lock)
      s.html += "<li>" + esc(get(r, "type", "") + ": " + get(r, "reason", r.dump())) + "</li>";
    s.html += "</ul>";
  }
  const json& privacy = at(t, "privacy");
  if (privacy.is_object())
    s.html += para("Privacy cost of the search: " + get(privacy, "sentence", ""));
  return s;
}

Section overfitting(const Run& run) {
  const json& o = at(run.metrics, "overfitting");
  const json& perm = at(run.metrics, "permutation");
  if (!o.is_object() && !perm.is_object())
    return not_run(7, "Overfitting", "no train/valid gap or permutation test was recorded",
                   train_command(run) + " --permutations 20");
  Section s{7, "Overfitting", "pass", get(o, "sentence", std::string()), train_command(run), ""};
  const double gap =
      at(at(o, "chosen_epoch"), "gap").is_number() ? at(o, "chosen_epoch")["gap"].get<double>() : 0;
  if (gap > 0.1) s.verdict = "warn";
  if (o.is_object())
    s.html += table(
        {"", "epoch", "train", "validation", "gap"},
        {{"chosen", num(at(at(o, "chosen_epoch"), "epoch"), 0),
          num(at(at(o, "chosen_epoch"), "train")), num(at(at(o, "chosen_epoch"), "valid")),
          num(at(at(o, "chosen_epoch"), "gap"))},
         {"last", num(at(at(o, "last_epoch"), "epoch"), 0), num(at(at(o, "last_epoch"), "train")),
          num(at(at(o, "last_epoch"), "valid")), num(at(at(o, "last_epoch"), "gap"))}});
  if (perm.is_object()) {
    std::vector<double> null;
    for (const auto& v : at(perm, "null"))
      if (v.is_number()) null.push_back(v.get<double>());
    s.html += figure(histogram("Label-permutation test", get(perm, "monitor", std::string("score")),
                               null, std::max(5, static_cast<int>(null.size()) / 2),
                               get(perm, "observed", 0.0), "the real run"),
                     get(perm, "sentence", std::string()));
    if (!get(perm, "better_than_chance", true)) {
      s.verdict = "fail";
      s.reason = get(perm, "sentence", std::string());
    }
  } else {
    s.html += para("No label-permutation test: add --permutations N to strand train.");
  }
  const json& curve = run.learning_curve;
  if (curve.is_object()) {
    Series points = line("validation " + get(curve, "monitor", std::string("score")), {}, {});
    for (const json& p : at(curve, "points"))
      if (at(p, "valid").is_number()) {
        points.x.push_back(get(p, "train_rows", 0.0));
        points.y.push_back(p["valid"].get<double>());
      }
    LinePlot lc{"Learning curve",
                "training rows",
                get(curve, "monitor", std::string("score")),
                {},
                false,
                true};
    lc.series.push_back(points);
    s.html += figure(line_plot(lc), get(curve, "sentence", std::string()));
  } else {
    s.html += para("No learning curve against training-set size: strand train " + run.data_args +
                   " --learning-curve --out CURVE_DIR, then strand report " + run.dir +
                   " --learning-curve CURVE_DIR/learning_curve.json.");
  }
  return s;
}

// Tracks of the three sequences the model scores highest for the first task: the contribution of
// the observed base at each position (attributions.npy [N, T, 4, L], rows of summary.tsv in
// sequence-major order).
std::string attribution_tracks(const std::string& dir, const Tsv& summary) {
  const std::string path = dir + "/attributions.npy";
  if (!fs::exists(path)) return "";
  const interpret::Array a = interpret::load_npy(path);
  const auto output = std::find(summary.header.begin(), summary.header.end(), "output");
  if (a.shape.size() != 4 || output == summary.header.end() ||
      static_cast<int64_t>(summary.rows.size()) != a.shape[0] * a.shape[1])
    return para("No attribution tracks: '" + path + "' does not match summary.tsv.");
  const int64_t N = a.shape[0], T = a.shape[1], L = a.shape[3];
  const size_t out_col = static_cast<size_t>(output - summary.header.begin());
  std::vector<std::pair<double, int64_t>> by_output;
  for (int64_t n = 0; n < N; ++n)
    by_output.push_back({number_at(summary.rows[n * T][out_col], dir + "/summary.tsv", n * T), n});
  std::sort(by_output.rbegin(), by_output.rend());
  std::string html = "<h3>Attribution tracks</h3><div class=\"pair\">";
  for (size_t k = 0; k < std::min<size_t>(3, by_output.size()); ++k) {
    const int64_t n = by_output[k].second;
    std::vector<double> x(L), y(L, 0.0);
    for (int64_t l = 0; l < L; ++l) {
      x[l] = static_cast<double>(l);
      for (int64_t b = 0; b < 4; ++b) y[l] += a.values[((n * T) * 4 + b) * L + l];
    }
    LinePlot track{summary.rows[n * T][0] + " (" + summary.rows[n * T][1] + ")",
                   "position",
                   "contribution",
                   {},
                   false,
                   false};
    track.series.push_back(line("", x, y));
    html += figure(line_plot(track), "Output " + rules::fixed(by_output[k].first, 3) +
                                         ", the highest " + std::to_string(k + 1) + " of " +
                                         std::to_string(N) + " sequences for this task.");
  }
  return html + "</div>";
}

Section interpretation(const Run& run) {
  const std::string fasta = run.data_args.substr(0, run.data_args.find(" --labels"));
  const std::string command = "strand interpret attributions --model " + run.dir +
                              "/model.safetensors " + fasta + " --out INTERPRET_DIR";
  if (run.interpret_dir.empty())
    return not_run(8, "Interpretation",
                   "no attributions or motifs were given (strand report --interpret DIR)", command);
  const std::string& dir = run.interpret_dir;
  Section s{8, "Interpretation", "pass", "", command, ""};
  std::vector<std::string> found;
  if (fs::exists(dir + "/summary.tsv")) {  // attributions: the convergence delta per example
    const Tsv summary = read_tsv(dir + "/summary.tsv");
    const auto col = std::find(summary.header.begin(), summary.header.end(), "delta");
    double worst = 0;
    if (col != summary.header.end())
      for (size_t r = 0; r < summary.rows.size(); ++r)
        worst = std::max(worst, std::abs(number_at(summary.rows[r][col - summary.header.begin()],
                                                   dir + "/summary.tsv", r)));
    found.push_back(strand::format("attributions of {} sequence-task pairs", summary.rows.size()));
    s.html +=
        para(strand::format("Attributions: {} sequence-task pairs; the largest convergence "
                            "delta (sum of attributions vs f(x) - f(reference)) is {}.",
                            summary.rows.size(), rules::fixed(worst, 6)));
    if (worst > 1e-3) {
      s.verdict = "warn";
      s.reason = "attributions do not sum to the output change (delta up to " +
                 rules::fixed(worst, 4) + ")";
    }
    s.html += attribution_tracks(dir, summary);
  }
  for (const std::string stem : {"motifs", "filters"}) {
    const std::string index = dir + "/" + stem + ".tsv";
    if (!fs::exists(index)) continue;
    const Tsv t = read_tsv(index);
    auto cell = [&](const std::vector<std::string>& row, const char* name) {
      const auto it = std::find(t.header.begin(), t.header.end(), name);
      return it == t.header.end() ? std::string() : row[it - t.header.begin()];
    };
    found.push_back(strand::format("{} {}", t.rows.size(), stem));
    s.html += "<h3>" +
              std::string(stem == "motifs" ? "Motifs from attributions" : "First-layer filters") +
              "</h3>";
    std::vector<std::vector<std::string>> rows;
    for (size_t r = 0; r < t.rows.size() && r < 12; ++r) {
      const auto& row = t.rows[r];
      std::string logo;
      const std::string logo_path = dir + "/" + cell(row, "logo");
      if (!cell(row, "logo").empty() && fs::is_regular_file(logo_path)) {
        std::ifstream in(logo_path);
        std::stringstream svg;
        svg << in.rdbuf();
        logo = svg.str();
        logo = logo.substr(std::min(logo.find("<svg"), logo.size()));  // no XML prolog inline
      }
      rows.push_back({esc(cell(row, "motif")), "<td class=\"logo\">" + logo + "</td>",
                      esc(cell(row, "sites")),
                      esc(cell(row, "best_match") + " " + cell(row, "best_match_name")),
                      esc(cell(row, "strand")), esc(cell(row, "q_value"))});
    }
    s.html += table({"motif", "logo", "sites", "best database match", "strand", "q"}, rows);
    if (t.rows.size() > 12)
      s.html += para(strand::format("The first 12 of {}; all are in {}.", t.rows.size(), index));
  }
  if (found.empty())
    return not_run(8, "Interpretation",
                   "'" + dir + "' holds no summary.tsv, motifs.tsv or filters.tsv", command);
  if (s.reason.empty()) {
    s.reason = found[0];
    for (size_t i = 1; i < found.size(); ++i) s.reason += ", " + found[i];
    s.reason += " from " + dir;
  }
  return s;
}

Section predictions(const Run& run) {
  const json& test = at(run.metrics, "test");
  if (!test.is_object())
    return not_run(9, "Predictions", "no test split was evaluated",
                   train_command(run) + " --test-fraction 0.1");
  Section s{9, "Predictions", "pass", "", train_command(run), ""};
  const std::string kind = get(test, "kind", std::string());
  const std::string unsealed = at(run.metrics, "test_unsealed").is_string()
                                   ? run.metrics["test_unsealed"].get<std::string>()
                                   : "";
  s.reason = "test evaluated once: " + unsealed;
  // Per-task table with intervals.
  std::vector<std::string> metrics;
  if (kind == "regression")
    metrics = {"pearson", "spearman", "mse"};
  else if (kind == "multi-class")
    metrics = {"accuracy", "balanced_accuracy", "macro_auroc"};
  else
    metrics = {"auroc", "auprc", "prevalence", "f1", "mcc", "ece"};
  std::vector<std::string> header = {"task"};
  header.insert(header.end(), metrics.begin(), metrics.end());
  std::vector<std::vector<std::string>> rows;
  const json& tasks = at(test, "tasks");
  if (tasks.is_object() && !tasks.empty()) {
    for (const auto& [task, p] : tasks.items()) {
      std::vector<std::string> row = {esc(task)};
      for (const auto& m : metrics) row.push_back(metric_cell(p, m, "test.tasks." + task));
      rows.push_back(row);
    }
  } else {
    std::vector<std::string> row = {"all"};
    for (const auto& m : metrics) row.push_back(metric_cell(test, m, "test"));
    rows.push_back(row);
  }
  s.html += "<h3>Test metrics with 95% bootstrap intervals</h3>" + table(header, rows);

  // Curves from the run's scores and labels.
  const std::string scores_path = run.dir + "/scores.tsv", labels_path = run.dir + "/labels.tsv";
  if (!fs::exists(scores_path) || !fs::exists(labels_path)) {
    s.verdict = "warn";
    s.reason = "the run has no scores.tsv/labels.tsv, so no curves: " + s.reason;
    return s;
  }
  const Tsv scores = read_tsv(scores_path), labels = read_tsv(labels_path);
  STRAND_CHECK(scores.rows.size() == labels.rows.size(), "'{}' has {} rows, '{}' has {}",
               scores_path, scores.rows.size(), labels_path, labels.rows.size());
  const rules::BootstrapOptions boot{200, 1, 0.95};
  if (kind == "binary" || kind == "multi-label") {
    const size_t shown = std::min<size_t>(scores.header.size() - 1, 6);
    for (size_t c = 1; c <= shown; ++c) {
      const auto lc = std::find(labels.header.begin(), labels.header.end(), scores.header[c]);
      if (lc == labels.header.end()) continue;
      const size_t li = static_cast<size_t>(lc - labels.header.begin());
      std::vector<int> y;
      std::vector<double> p;
      for (size_t r = 0; r < scores.rows.size(); ++r) {
        const std::string& label = labels.rows[r][li];
        if (label == "NA" || label.empty()) continue;  // a missing label for this task
        y.push_back(number_at(label, labels_path, r) > 0.5);
        p.push_back(number_at(scores.rows[r][c], scores_path, r));
      }
      const std::string& task = scores.header[c];
      try {
        const rules::Curve roc = rules::roc_curve(y, p, boot);
        const rules::Curve pr = rules::precision_recall_curve(y, p, boot);
        LinePlot rp{"ROC: " + task, "false positive rate", "true positive rate", {}, true, true};
        rp.series.push_back(
            {"model (AUROC " + rules::fixed(roc.area, 3) + ")", roc.x, roc.y, roc.lo, roc.hi});
        rp.series.push_back(line("chance", {0, 1}, {0, 1}, Series::Style::kDashed));
        LinePlot pp{"Precision-recall: " + task, "recall", "precision", {}, true, false};
        pp.series.push_back(
            {"model (AP " + rules::fixed(pr.area, 3) + ")", pr.x, pr.y, pr.lo, pr.hi});
        pp.series.push_back(line("prevalence " + rules::fixed(pr.prevalence, 3), {0, 1},
                                 {pr.prevalence, pr.prevalence}, Series::Style::kDashed));
        s.html += "<div class=\"pair\">" +
                  figure(line_plot(rp), "Shaded: 95% bootstrap band (200 resamples of test).") +
                  figure(line_plot(pp), "The dashed line is a random ranking's precision.") +
                  "</div>";
      } catch (const Error& e) {
        s.html += para("No curves for " + task + ": " + e.message());
      }
    }
    if (scores.header.size() - 1 > shown)
      s.html += para("Curves are drawn for the first " + std::to_string(shown) + " of " +
                     std::to_string(scores.header.size() - 1) + " tasks; the table has them all.");
  } else if (kind == "multi-class") {
    const std::vector<std::string> classes(scores.header.begin() + 1, scores.header.end());
    std::vector<std::vector<double>> counts(classes.size(), std::vector<double>(classes.size(), 0));
    for (size_t r = 0; r < scores.rows.size(); ++r) {
      size_t best = 0;
      for (size_t c = 1; c < scores.rows[r].size(); ++c)
        if (number_at(scores.rows[r][c], scores_path, r) >
            number_at(scores.rows[r][best + 1], scores_path, r))
          best = c - 1;
      const auto truth = std::find(classes.begin(), classes.end(), labels.rows[r][1]);
      STRAND_CHECK(truth != classes.end(), "'{}' row {}: class '{}' is not a score column",
                   labels_path, r + 2, labels.rows[r][1]);
      counts[static_cast<size_t>(truth - classes.begin())][best] += 1;
    }
    s.html +=
        figure(heatmap("Confusion matrix (test)", "predicted class", "true class", classes, counts),
               "Rows: true class; columns: the class with the highest probability.");
  }
  // Reliability before and after calibration (fitted on validation, applied to test).
  const json& cal = at(at(run.metrics, "calibration"), "test");
  if (cal.is_object()) {
    const json& before = at(at(cal, "before"), "tasks");
    const json& after = at(at(cal, "after"), "tasks");
    size_t drawn = 0;
    for (const auto& [task, b] : before.items()) {
      if (drawn++ == 3) break;
      LinePlot rel{"Reliability: " + task,
                   "mean predicted probability",
                   "fraction positive",
                   {},
                   true,
                   true};
      for (const auto& [label, panel] :
           {std::pair{"before calibration", b}, std::pair{"after", at(after, task.c_str())}}) {
        Series pts = line(std::string(label) + " (ECE " + num(at(panel, "ece"), 3) + ")", {}, {},
                          Series::Style::kPoints);
        for (const auto& bin : at(panel, "reliability")) {
          pts.x.push_back(get(bin, "mean_score", 0.0));
          pts.y.push_back(get(bin, "fraction_positive", 0.0));
        }
        rel.series.push_back(pts);
      }
      rel.series.push_back(line("perfect calibration", {0, 1}, {0, 1}, Series::Style::kDashed));
      s.html +=
          figure(line_plot(rel), at(run.metrics["calibration"], "method").is_string()
                                     ? run.metrics["calibration"]["method"].get<std::string>() +
                                           ", fitted on validation, shown on test."
                                     : "Calibration fitted on validation, shown on test.");
    }
    const json& crossed = at(run.metrics["calibration"], "valid_cross_fitted");
    if (crossed.is_object() && at(run.metrics["calibration"], "recommended").is_boolean())
      s.html += para(
          "Judged on validation alone (each fifth calibrated by a fit on the rest), "
          "calibration takes the log loss from " +
          num(at(crossed, "log_loss_before"), 4) + " to " + num(at(crossed, "log_loss_after"), 4) +
          (run.metrics["calibration"]["recommended"].get<bool>()
               ? ": recommended; strand predict --calibrated applies it."
               : ": not recommended; keep the raw scores."));
    const double ece_after =
        at(at(cal, "after"), "ece").is_number() ? cal["after"]["ece"].get<double>() : 0;
    if (ece_after > 0.1) {
      s.verdict = "warn";
      s.reason = "poorly calibrated even after calibration (test ECE " +
                 rules::fixed(ece_after, 3) + "): read probabilities as ranks";
    }
  }
  return s;
}

Section privacy(const Run& run) {
  const json& p = at(run.metrics, "privacy");
  if (!p.is_object())
    return not_run(10, "Privacy", "the run recorded no privacy settings", train_command(run));
  const bool sensitive = get(p, "sensitive", false), dp = get(p, "dp", false);
  Section s{10, "Privacy", "pass", "", train_command(run), ""};
  if (!sensitive && !dp) {
    s.reason = "the data was not marked sensitive; no differential privacy was needed or used";
  } else if (dp) {
    s.reason = strand::format("DP-SGD: epsilon {} at delta {} ({})", num(at(p, "epsilon"), 3),
                              num(at(p, "delta"), 8),
                              get(p, "accountant", std::string("accountant not recorded")));
    if (!get(p, "guaranteed", true)) {
      s.verdict = "warn";
      s.reason += "; the guarantee does not hold for this run (see the training log)";
    }
  } else {
    s.verdict = "warn";
    s.reason =
        "the data is marked sensitive but the model was trained without differential "
        "privacy: export is refused";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : p.items())
    rows.push_back({esc(k), esc(v.is_string() ? v.get<std::string>() : v.dump())});
  s.html += table({"setting", "value"}, rows);
  s.html += para("Membership-inference audit: not run (strand audit membership --model " + run.dir +
                 "/model.safetensors " + run.data_args + ").");
  return s;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-top:1px solid #ddd;padding-top:1em;margin-top:1.6em}
h3{font-size:1.05em;margin-top:1.2em}
.verdict{display:inline-block;min-width:4.5em;text-align:center;border-radius:4px;padding:.1em .5em;font-weight:600;font-size:.85em;color:#fff;margin-right:.6em}
.v-pass{background:#2c7a3f}.v-warn{background:#b7791f}.v-fail{background:#c53030}.v-not-run{background:#718096}
.reason{font-size:1.02em}code,.cmd{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
.cmd{background:#f4f4f4;border:1px solid #e2e2e2;padding:.4em .6em;border-radius:4px;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.92em}
th{background:#f7f7f7}figure.plot{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure.plot svg{width:480px;height:auto}figcaption{font-size:.85em;color:#555;max-width:480px}
.pair{display:flex;flex-wrap:wrap}td.logo svg{height:60px;width:auto}nav ol{columns:2}
@media print{figure.plot svg{width:45vw}}
)";

}  // namespace

static std::vector<Section> sections_of(const Run& run) {
  if (!run.metrics.is_object()) {
    const std::string status = get(run.status, "status", std::string("?"));
    STRAND_CHECK(status != "running",
                 "'{}' is still training (run.json: running, process {}); make the report when it "
                 "has finished",
                 run.dir, get(run.status, "pid", 0));
  }
  return {data_and_splits(run), baselines(run), training(run),    know_your_data(run),
          architecture(run),    tuning(run),    overfitting(run), interpretation(run),
          predictions(run),     privacy(run)};
}

static Run load_inputs(const ReportInputs& in) {
  Run run = load_run(in.run_dir);
  if (!in.tune_dir.empty()) {
    run.tune = runtime::read_json_file(in.tune_dir + "/tune.json", "tuning results");
    for (const json& r : read_jsonl(in.tune_dir + "/tune_log.jsonl")) {
      const std::string type = get(r, "type", "");
      if (type == "test_lock" || type == "test_unsealed") run.tune_lock.push_back(r);
    }
  }
  if (!in.learning_curve.empty())
    run.learning_curve = runtime::read_json_file(in.learning_curve, "learning curve");
  if (!in.interpret_dir.empty()) {
    STRAND_CHECK(fs::is_directory(in.interpret_dir), "'{}' is not a directory", in.interpret_dir);
    run.interpret_dir = in.interpret_dir;
  }
  return run;
}

std::vector<Section> build_sections(const ReportInputs& inputs) {
  return sections_of(load_inputs(inputs));
}

std::string render_report(const ReportInputs& inputs) {
  const std::string& run_dir = inputs.run_dir;
  const Run run = load_inputs(inputs);
  const std::vector<Section> sections = sections_of(run);
  const json& model = at(run.metrics, "model");
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>strand report: " +
      esc(run_dir) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  h += "<h1>The ten rules, checked: " + esc(fs::path(run_dir).filename().string()) + "</h1>\n";
  h += para("Model " +
            (model.is_object()
                 ? get(model, "name", std::string("?")) + " (" +
                       get(model, "kind", std::string("?")) + ", " +
                       std::to_string(get(model, "outputs", 0)) + " outputs, input length " +
                       std::to_string(get(model, "length", 0)) + ")"
                 : std::string("?")) +
            "; run " + get(run.status, "status", std::string("?")) + ", started " +
            get(run.status, "started", std::string("?")) + ", ended " +
            get(run.status, "ended", std::string("?")) + ". Report by strand " + version() + " (" +
            git_commit() + ") from " + run_dir + ".");
  h += "<nav><ol>";
  for (const Section& s : sections)
    h += "<li><a href=\"#rule-" + std::to_string(s.rule) + "\">" + esc(s.title) +
         "</a>: <span class=\"verdict-word\">" + esc(s.verdict) + "</span></li>";
  h += "</ol></nav>\n";
  for (const Section& s : sections) {
    std::string cls = s.verdict;
    std::replace(cls.begin(), cls.end(), ' ', '-');
    h += "<section id=\"rule-" + std::to_string(s.rule) + "\" data-verdict=\"" + esc(s.verdict) +
         "\">\n<h2>" + std::to_string(s.rule) + ". " + esc(s.title) + "</h2>\n";
    h += "<p class=\"reason\"><span class=\"verdict v-" + cls + "\">" + esc(s.verdict) + "</span>" +
         esc(s.reason) + "</p>\n";
    h += "<p class=\"cmd\">$ " + esc(s.command) + "</p>\n" + s.html + "\n</section>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

void write_report(const ReportInputs& inputs, const std::string& out_path) {
  runtime::write_file_atomic(out_path, {render_report(inputs)});
}

}  // namespace strand::report
