// `strand report`: one self-contained HTML page that says, rule by rule, whether a training run's
// claims hold. Each of the ten sections opens with a verdict (pass / warn / fail / not run), a
// one-line reason and the command that produced it (or would); plots are inline SVG
// (report/plots.h). The run's JSON files stay the source of truth: every number shown is read
// from them (metrics.json, log.jsonl, run.json) or computed from the run's scores.tsv/labels.tsv.
#pragma once

#include <string>
#include <vector>

namespace strand::report {

struct Section {
  int rule = 0;         // 1..10
  std::string title;    // "Data and splits"
  std::string verdict;  // "pass", "warn", "fail" or "not run"
  std::string reason;   // one line
  std::string command;  // what produced it, or what would
  std::string html;     // the body
};

// What the page is made from: a `strand train --out` directory, and optionally the outputs of the
// commands that run beside it (each its own directory or file).
struct ReportInputs {
  std::string run_dir{};
  std::string tune_dir{};        // `strand tune --out`: tune.json and tune_log.jsonl (Rule 6)
  std::string learning_curve{};  // `strand train --learning-curve`: learning_curve.json (Rule 7)
  std::string interpret_dir{};   // `strand interpret ... --out`: summary.tsv, motifs.tsv or
                                 // filters.tsv with logos/ (Rule 8)
};

// Reads the inputs and builds the ten sections. Errors name the problem: not a run directory, a
// run written by another strand version, truncated JSON (file and position), a missing file.
std::vector<Section> build_sections(const ReportInputs& inputs);

// The whole page.
std::string render_report(const ReportInputs& inputs);

// render_report written atomically to OUT_PATH.
void write_report(const ReportInputs& inputs, const std::string& out_path);

}  // namespace strand::report
